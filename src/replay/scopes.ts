// Which scope instances a replayed line counts into: every scope whose `match` holds, and under
// `each` the instance of the line's value (at most MAX_VALUES per scope, the rest under "(other)",
// as the scope counter does). Pure.
import type { ScopeConfig } from '../config/sections/scopes.js';
import type { CostRecord } from '../core/fields.js';
import { MAX_VALUES, OTHER_VALUE } from '../scopes/counter.js';
import { eachLabelId, matchesAll, type ScopeField, type ScopeValues } from '../scopes/match.js';
import type { Instance, Timeline } from './timeline.js';

interface Resolved {
  config: ScopeConfig;
  single: Instance | null;
  values: Map<string, Instance> | null;
  /** Under `each` on agent, model or provider: instances by the parser's label id. */
  byId: (Instance | undefined)[] | null;
}

export class ScopeResolver {
  private readonly resolved: Resolved[];
  private readonly values: ScopeValues = {
    agent: null,
    model: null,
    provider: null,
    task: null,
    source: null,
  };
  readonly overflowed = new Set<string>();

  constructor(
    scopes: readonly ScopeConfig[],
    private readonly timeline: Timeline,
  ) {
    this.resolved = scopes.map((config) => ({
      config,
      single:
        config.each === null ? timeline.newInstance({ scope: config.name, key: null }, config.windows) : null,
      values: config.each === null ? null : new Map(),
      byId: config.each === 'agent' || config.each === 'model' || config.each === 'provider' ? [] : null,
    }));
  }

  /** The instances `record` (read from `source`) counts into, into `out` (emptied first). */
  instancesOf(record: CostRecord, source: string, out: Instance[]): Instance[] {
    out.length = 0;
    const v = this.values;
    v.agent = record.agent;
    v.model = record.model;
    v.provider = record.provider;
    v.task = record.task;
    v.source = source === '' ? null : source;
    for (const r of this.resolved) {
      if (r.config.match.length > 0 && !matchesAll(r.config.match, v)) continue;
      if (r.single !== null) {
        out.push(r.single);
        continue;
      }
      const each = r.config.each as ScopeField;
      const id = r.byId === null ? -1 : eachLabelId(record, each);
      let instance = id >= 0 ? r.byId?.[id] : undefined;
      if (instance === undefined) {
        const value = v[each];
        if (value === null) continue;
        instance = this.valueInstance(r, each, value);
        if (id >= 0 && r.byId !== null) r.byId[id] = instance;
      }
      out.push(instance);
    }
    return out;
  }

  private valueInstance(r: Resolved, each: ScopeField, value: string): Instance {
    const values = r.values as Map<string, Instance>;
    let instance = values.get(value);
    if (instance !== undefined) return instance;
    if (values.size >= MAX_VALUES) {
      this.overflowed.add(r.config.name);
      instance = values.get(OTHER_VALUE);
      if (instance !== undefined) return instance;
      value = OTHER_VALUE;
    }
    instance = this.timeline.newInstance({ scope: r.config.name, key: { [each]: value } }, r.config.windows);
    values.set(value, instance);
    return instance;
  }
}
