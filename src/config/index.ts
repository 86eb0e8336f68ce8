// The configuration's public face: callers import from here, never from the modules behind it.
//   schema.ts    the zod schema, composed of one sub-schema per section (sections/*.ts)
//   resolve.ts   parsed YAML -> Config (defaults, absolute paths, durations in ms)
//   load.ts      which file, StrictModes, YAML, the secret file
//   messages.ts  a zod issue -> one line naming the key path and what was expected
export { CONFIG_ENV, configPath, DEFAULT_CONFIG_FILE, loadConfig } from './load.js';
export { MAX_ROLLING_SECONDS } from './primitives.js';
export { type Config, horizonSeconds, resolveConfig } from './resolve.js';
export { configSchema, type RawConfig } from './schema.js';
export type { AlertsConfig, SlackConfig } from './sections/alerts.js';
export type { AppStateConfig } from './sections/app-state.js';
export { type CostConfig, DEFAULT_UNPRICED_PER_MILLION } from './sections/cost.js';
export type { FieldsConfig } from './sections/fields.js';
export type { HeartbeatConfig } from './sections/heartbeat.js';
export type { BurnRateConfig, RetryStormConfig } from './sections/storms.js';
export type { ScopeConfig } from './sections/scopes.js';
export { DEFAULT_GRACE_SPEND_USD, type TargetConfig } from './sections/target.js';
export { DEFAULT_STATE_DIR, type TopLevelConfig } from './sections/top-level.js';
export { FORMATS, type LogFormat, type SourceSpec, sourcesKey } from './sections/sources.js';
export { DEFAULT_SCHEDULE, type WatchConfig } from './sections/watch.js';
