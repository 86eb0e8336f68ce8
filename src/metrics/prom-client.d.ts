// prom-client's classes, each imported from its own file. Its index also loads the default
// process metrics, whose CPU metric requires @opentelemetry/api, which the bundle replaces by a
// module that throws (scripts/build.mjs): importing 'prom-client' itself would fail in dist/.
// The types are the package's own (index.d.ts).
declare module 'prom-client/lib/registry.js' {
  import type { Registry } from 'prom-client';
  const RegistryClass: typeof Registry;
  export = RegistryClass;
}

declare module 'prom-client/lib/gauge.js' {
  import type { Gauge } from 'prom-client';
  const GaugeClass: typeof Gauge;
  export = GaugeClass;
}

declare module 'prom-client/lib/counter.js' {
  import type { Counter } from 'prom-client';
  const CounterClass: typeof Counter;
  export = CounterClass;
}
