// The ways the app can lie about its spend, or go blind, beyond the limits themselves: an app
// state file that under-reports or has stopped, retry storms, a burn rate that will reach the
// daily kill limit, a cost log that has gone silent while the app runs, clocks that disagree,
// models without a price, calls logged at cost 0. Each is a finding with a key; a finding is
// alerted once when it appears (see announce.ts) and shown by `status` while it lasts. Pure.
// One family per file; this index only gathers their public names.

export { announce, EPISODE_GAP_MS, STANDING_GAP_MS } from './announce.js';
export {
  type AppRules,
  type AppStateView,
  type AppWindowFigure,
  appFindings,
  tolerance,
} from './app-state.js';
export { type BurnFacts, burnLimit, burnRate } from './burn-rate.js';
export { BEHIND_TOLERANCE_MS, clockFindings } from './clocks.js';
export { type Finding, type FindingKind, findingKey, NAMED_AT_MOST, quoted } from './finding.js';
export { currencyFindings, UNPRICED_RECENT_MS, unpricedFindings, zeroCostFinding } from './prices.js';
export { silentLog } from './silent-log.js';
export {
  findingsToSay,
  SHAPE_STORM_SIGNAL,
  STORM_SIGNAL,
  shapeStormFindings,
  shapeStormSignal,
  shapeStormText,
  stormFindings,
  stormSignal,
  stormText,
} from './storms.js';
