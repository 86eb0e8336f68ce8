// Preloaded into every measured process (node -r): reports its peak RSS on exit.
process.on('exit', () => {
  if (process.env.CW_BENCH_RSS_FILE) {
    require('node:fs').writeFileSync(process.env.CW_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS));
  }
});
