// PLACEHOLDER (wt-dash): the metrics helper writes the real module (prom-client, textfile after
// every check); the coordinator keeps theirs when merging. Only what /metrics of `watch`'s HTTP
// server (src/http/) calls is here: the text of the latest check's metrics, or null before any.
export function latestMetrics(): { text: string; contentType: string } | null {
  return null;
}
