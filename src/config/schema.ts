// The config file's schema, composed of one named sub-schema per section (sections/*.ts) in the
// order DESIGN.md and docs/configuration.md list them; unknown keys are refused at every level.
import * as z from 'zod';
import { alertsSchema, silenceSchema, slackSchema } from './sections/alerts.js';
import { appStateSchema } from './sections/app-state.js';
import { costSchema } from './sections/cost.js';
import { fieldsSchema } from './sections/fields.js';
import { fleetSchema } from './sections/fleet.js';
import { heartbeatSchema } from './sections/heartbeat.js';
import { topLimitsSchema } from './sections/limits.js';
import { scopesSchema } from './sections/scopes.js';
import { burnRateSchema, retryStormSchema, stormsSchema } from './sections/storms.js';
import { reconcileSchema } from './sections/reconcile.js';
import { sourcesShape } from './sections/sources.js';
import { httpSchema, metricsSchema } from './sections/surfaces.js';
import { targetSchema } from './sections/target.js';
import { topLevelSchema } from './sections/top-level.js';
import { watchSchema } from './sections/watch.js';

/** The schema itself: test/unit/config-reference.test.ts holds docs/configuration.md to it. */
export const configSchema = z.strictObject({
  ...sourcesShape,
  ...topLevelSchema.shape,
  limits: topLimitsSchema,
  target: targetSchema,
  cost: costSchema,
  app_state: appStateSchema,
  retry_storm: retryStormSchema,
  storms: stormsSchema,
  burn_rate: burnRateSchema,
  silence: silenceSchema,
  slack: slackSchema,
  alerts: alertsSchema,
  heartbeat: heartbeatSchema,
  watch: watchSchema,
  fields: fieldsSchema,
  scopes: scopesSchema,
  fleet: fleetSchema,
  metrics: metricsSchema,
  http: httpSchema,
  reconcile: reconcileSchema,
});

/** The config as parsed: YAML's names, defaults filled in, durations still text. */
export type RawConfig = z.output<typeof configSchema>;
