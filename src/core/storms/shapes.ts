// Re-runs without ids (issue 16): a line that carries no request id and no fingerprint is followed
// by its call shape, (model, agent, input tokens, output tokens), or the task in the agent's place
// when the line names a task and no agent. A task queue that re-runs a batch makes fresh calls,
// but each call of the batch has the same shape each time. The shape is hashed from numbers (a
// name's hash is made once per label id, not once per line) and kept by a second StormTracker:
// named only from its second sighting on, like an id. Pure.
import type { CostRecord } from '../fields.js';
import type { Labels } from '../labels.js';
import { MAX_LABELS } from '../labels.js';
import { idHashOfString } from './ids.js';

/** What a shape's name says, for status --json. */
export interface Shape {
  model: string | null;
  /** The agent, or null when the shape is of a task (or of neither). */
  agent: string | null;
  /** The task, only when the line names no agent. */
  task: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
}

const WHO_NONE = 0;
const WHO_AGENT = 1;
const WHO_TASK = 2;
const KINDS = [null, 'agent', 'task'] as const;
/** Names in a shape's name are cut to this: the whole name stays under the tracker's 200 characters. */
const NAME_MAX = 60;

/** Whether a record is a shape at all: it must have tokens (a line without them is no call shape). */
export function hasShapeTokens(record: CostRecord): boolean {
  return (record.inputTokens ?? 0) > 0 || (record.outputTokens ?? 0) > 0;
}

// A token count's two 32-bit words, exactly (any double, not only whole numbers).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** A name's part of the hash: of the name as the shape's name keeps it (cut), +1 (0: no name). */
function partHash(name: string | null): number {
  return name === null ? 0 : idHashOfString(cut(name) as string) + 1;
}

let h1 = 0;
let h2 = 0;
function mix(word: number): void {
  h1 = Math.imul(h1 ^ word, 0x01000193);
  h2 = Math.imul(h2 ^ word, 0x5bd1e995);
  h2 ^= h2 >>> 15;
}

/** The 53-bit hash of a shape from its parts' hashes (partHash) and its token counts. */
function combine(
  kind: number,
  model: number,
  who: number,
  input: number | null,
  output: number | null,
): number {
  h1 = 0x811c9dc5 ^ kind;
  h2 = 0x9747b28c ^ kind;
  mix(Math.floor(model / 2_097_152));
  mix(model % 2_097_152);
  mix(Math.floor(who / 2_097_152));
  mix(who % 2_097_152);
  // A missing count is -1 (no count of tokens is negative); + 0 makes -0 the 0 its name says.
  f64[0] = (input ?? -1) + 0;
  mix(u32[0] as number);
  mix(u32[1] as number);
  f64[0] = (output ?? -1) + 0;
  mix(u32[0] as number);
  mix(u32[1] as number);
  return (h1 >>> 0) * 2_097_152 + ((h2 >>> 0) & 0x1fffff);
}

/**
 * The hash of a shape's name (shapeName): the same as ShapeHasher gives the lines of that shape,
 * so that a shape saved by name (the checkpoint, a helper thread's part) is found again.
 */
export function shapeHashOfName(name: string): number {
  const shape = shapeOfName(name);
  const kind = shape.agent !== null ? WHO_AGENT : shape.task !== null ? WHO_TASK : WHO_NONE;
  const who = kind === WHO_AGENT ? shape.agent : kind === WHO_TASK ? shape.task : null;
  return combine(kind, partHash(shape.model), partHash(who), shape.input_tokens, shape.output_tokens);
}

/** The shape tracker's settings: its names hashed as its lines are. */
export function shapeTrackerSettings(settings: { count: number; windowMs: number }): {
  count: number;
  windowMs: number;
  hashOf: (name: string) => number;
} {
  return { count: settings.count, windowMs: settings.windowMs, hashOf: shapeHashOfName };
}

/**
 * Shape hashes of records read by one Labels' parsers. A model's or agent's part is kept per label
 * id (a name without an id, or a task, is hashed as a string each time).
 */
export class ShapeHasher {
  private labels: Labels | null = null;
  /** Per label id, its name's partHash (0: not made yet; a made one is never 0). */
  private readonly byId = new Float64Array(MAX_LABELS);

  private nameHash(id: number, name: string | null, labels: Labels): number {
    if (name === null) return 0;
    if (id < 0 || id >= MAX_LABELS) return partHash(name);
    if (this.labels !== labels) {
      this.labels = labels;
      this.byId.fill(0);
    }
    const held = this.byId[id] as number;
    if (held !== 0) return held;
    const made = partHash(name);
    this.byId[id] = made;
    return made;
  }

  /** The record's shape hash (53 bits), or -1 when it has no tokens. */
  hash(record: CostRecord, labels: Labels): number {
    if (!hasShapeTokens(record)) return -1;
    const model = this.nameHash(record.modelId, record.model, labels);
    if (record.agent !== null)
      return combine(
        WHO_AGENT,
        model,
        this.nameHash(record.agentId, record.agent, labels),
        record.inputTokens,
        record.outputTokens,
      );
    if (record.task !== null)
      return combine(WHO_TASK, model, partHash(record.task), record.inputTokens, record.outputTokens);
    return combine(WHO_NONE, model, 0, record.inputTokens, record.outputTokens);
  }
}

function cut(name: string | null): string | null {
  return name === null || name.length <= NAME_MAX ? name : `${name.slice(0, NAME_MAX)}…`;
}

/**
 * A shape's name, as the tracker keeps it: JSON text of [model, "agent" | "task" | null, who,
 * input, output] (names cut short). shapeOfName reads it back.
 */
export function shapeName(record: CostRecord): string {
  const kind = record.agent !== null ? WHO_AGENT : record.task !== null ? WHO_TASK : WHO_NONE;
  const who = kind === WHO_AGENT ? record.agent : kind === WHO_TASK ? record.task : null;
  return shapeNameOf(record.model, kind, who, record.inputTokens, record.outputTokens);
}

export function shapeNameOf(
  model: string | null,
  kind: number,
  who: string | null,
  input: number | null,
  output: number | null,
): string {
  return JSON.stringify([cut(model), KINDS[kind] ?? null, cut(who), input, output]);
}

/** A shape from its name (a name that does not read back is given whole as the model). */
export function shapeOfName(name: string): Shape {
  try {
    const v = JSON.parse(name) as unknown;
    if (Array.isArray(v) && v.length === 5) {
      const [model, kind, who, input, output] = v as unknown[];
      const text = (x: unknown): string | null => (typeof x === 'string' ? x : null);
      const num = (x: unknown): number | null => (typeof x === 'number' ? x : null);
      return {
        model: text(model),
        agent: kind === 'agent' ? text(who) : null,
        task: kind === 'task' ? text(who) : null,
        input_tokens: num(input),
        output_tokens: num(output),
      };
    }
  } catch {
    // fall through
  }
  return { model: name, agent: null, task: null, input_tokens: null, output_tokens: null };
}

/** A shape in words: `model "m", agent "a", 1200 input / 300 output tokens`. */
export function shapeWords(shape: Shape): string {
  const parts = [`model ${shape.model === null ? '(none)' : JSON.stringify(shape.model)}`];
  if (shape.agent !== null) parts.push(`agent ${JSON.stringify(shape.agent)}`);
  else if (shape.task !== null) parts.push(`task ${JSON.stringify(shape.task)}`);
  else parts.push('no agent or task');
  const tokens: string[] = [];
  if (shape.input_tokens !== null) tokens.push(`${shape.input_tokens} input`);
  if (shape.output_tokens !== null) tokens.push(`${shape.output_tokens} output`);
  parts.push(`${tokens.join(' / ')} tokens`);
  return parts.join(', ');
}

/**
 * The shapes a helper thread saw (src/parallel/worker.ts): what it needs to name one later,
 * without a string per line. Each note is [model, who * 3 + kind, input, output], names by index
 * into `names` (-1: none; a missing count is NaN).
 */
export class ShapeNotes {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();
  data: Float64Array;
  n = 0;
  /** The name looked up last, and its index: most lines name the model and agent of the line before. */
  private lastModel: string | null = null;
  private lastModelAt = -1;
  private lastWho: string | null = null;
  private lastWhoAt = -1;

  /** `capacity` notes are taken from the system only as they are written (no copies while growing). */
  constructor(capacity = 4096) {
    this.data = new Float64Array(Math.max(16, Math.floor(capacity)) * 4);
  }

  private nameIndex(name: string | null): number {
    if (name === null) return -1;
    let at = this.index.get(name);
    if (at === undefined) {
      at = this.names.length;
      this.names.push(name);
      this.index.set(name, at);
    }
    return at;
  }

  /** Note a record's shape; its ref (1 and up) for StormTracker.add. */
  note(record: CostRecord): number {
    if ((this.n + 1) * 4 > this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    const kind = record.agent !== null ? WHO_AGENT : record.task !== null ? WHO_TASK : WHO_NONE;
    const who = kind === WHO_AGENT ? record.agent : kind === WHO_TASK ? record.task : null;
    const at = this.n * 4;
    const model = record.model;
    if (model !== this.lastModel || this.lastModelAt < 0) {
      this.lastModel = model;
      this.lastModelAt = this.nameIndex(model);
    }
    if (who !== this.lastWho || this.lastWhoAt < 0) {
      this.lastWho = who;
      this.lastWhoAt = this.nameIndex(who);
    }
    this.data[at] = model === null ? -1 : this.lastModelAt;
    this.data[at + 1] = (who === null ? -1 : this.lastWhoAt) * 3 + kind;
    this.data[at + 2] = record.inputTokens ?? NaN;
    this.data[at + 3] = record.outputTokens ?? NaN;
    this.n++;
    return this.n;
  }

  /** The name of the shape noted under `ref`. */
  nameOf(ref: number): string {
    return noteName(this.data, (ref - 1) * 4, this.names);
  }
}

/** The name of the note at data[at, at + 4) (see ShapeNotes). */
export function noteName(data: Float64Array, at: number, names: readonly string[]): string {
  const model = data[at] as number;
  const whoKind = data[at + 1] as number;
  const kind = ((whoKind % 3) + 3) % 3;
  const who = (whoKind - kind) / 3;
  const input = data[at + 2] as number;
  const output = data[at + 3] as number;
  return shapeNameOf(
    model >= 0 ? (names[model] ?? null) : null,
    kind,
    who >= 0 ? (names[who] ?? null) : null,
    Number.isNaN(input) ? null : input,
    Number.isNaN(output) ? null : output,
  );
}
