// The pages' own stylesheet (beside uPlot's): plain, readable in light and dark schemes, colours
// by level as `status` prints them (warn amber, emergency orange, kill red).
export const PAGE_CSS = `
:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1d2129;--muted:#6b7280;--card:#fff;--line:#e3e5e8;
--ok:#1f8a4c;--warn:#b7791f;--emergency:#dd5a1e;--kill:#c0182b}
@media (prefers-color-scheme:dark){:root{--bg:#15171b;--fg:#e6e7ea;--muted:#9aa0aa;--card:#1d2026;
--line:#30343c}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);
color:var(--fg)}
header{display:flex;gap:1em;align-items:center;flex-wrap:wrap;padding:.8em 1.2em;
border-bottom:1px solid var(--line)}
h1{font-size:1.2em;margin:0}h1 span{font-weight:400;color:var(--muted)}
h2{font-size:1em;margin:1.2em 0 .5em}h3{font-size:.95em;margin:.8em 0 .3em}
main{padding:0 1.2em 1.2em;max-width:1400px}
.muted{color:var(--muted)}
.verdict{font-weight:700;padding:.1em .6em;border-radius:4px;color:#fff;background:var(--muted)}
.verdict-OK{background:var(--ok)}.verdict-WARNING{background:var(--warn)}
.verdict-CRITICAL{background:var(--kill)}.verdict-UNKNOWN{background:#6b4fbb}
.live{color:var(--muted)}.live.lost{color:var(--kill);font-weight:700}
.banner{margin:.8em 1.2em 0;padding:.6em .9em;border-radius:4px;background:var(--kill);color:#fff;
font-weight:600}
.windows{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:.8em}
.window{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--ok);
border-radius:6px;padding:.7em .9em}
.window.level-warn{border-left-color:var(--warn)}.window.level-emergency{border-left-color:var(--emergency)}
.window.level-kill{border-left-color:var(--kill)}
.window-head{display:flex;gap:.6em;align-items:baseline}.window-name{font-weight:700}
.window-span{color:var(--muted);flex:1;font-size:.9em}
.spend{font-size:1.9em;font-weight:700;font-variant-numeric:tabular-nums;margin:.15em 0}
.badge{font-size:.75em;font-weight:700;padding:.05em .45em;border-radius:3px;color:#fff;
background:var(--ok)}
.badge.level-warn{background:var(--warn)}.badge.level-emergency{background:var(--emergency)}
.badge.level-kill{background:var(--kill)}
.gauge{position:relative;height:12px;border-radius:3px;background:var(--line);overflow:visible;
margin:.3em 0}
.gauge-fill{height:100%;border-radius:3px;background:var(--ok)}
.gauge-fill.level-warn{background:var(--warn)}.gauge-fill.level-emergency{background:var(--emergency)}
.gauge-fill.level-kill{background:var(--kill)}
.gauge-mark{position:absolute;top:-3px;bottom:-3px;width:2px;margin-left:-1px;background:var(--fg)}
.mark-warn{background:var(--warn)}.mark-emergency{background:var(--emergency)}
.mark-kill{background:var(--kill)}
.limits{display:flex;gap:.8em;font-size:.85em;color:var(--muted)}
.limit-warn{color:var(--warn)}.limit-emergency{color:var(--emergency)}.limit-kill{color:var(--kill)}
.chart{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.4em;width:100%;
overflow:hidden}
.chart-note{font-size:.85em;color:var(--muted);min-height:1.2em}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:1.2em}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{border:1px solid var(--line);padding:.3em .5em;text-align:left;vertical-align:top}
td ol{margin:0;padding-left:1.2em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1em;margin:0}
dt{color:var(--muted)}dd{margin:0}dd.bad{color:var(--kill);font-weight:600}dd.good{color:var(--ok)}
footer{padding:1em 1.2em;color:var(--muted);font-size:.85em}
.u-legend{font-size:.85em}
`;
