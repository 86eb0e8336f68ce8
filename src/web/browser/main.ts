// The pages' one script (bundled by scripts/web-bundle.mjs): `<body data-page>` says which page it
// is on. Any Content-Security-Policy violation is kept in window.__cspViolations, so that the
// headless-browser test can hold the pages to their policy.
import type { ReplayJson } from '../../replay/types.js';
import { Dashboard } from './dashboard.js';
import { showReplay } from './replay.js';
import { showFiguresIn } from '../../core/money.js';

declare global {
  interface Window {
    __cspViolations: string[];
  }
}

window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`);
});

const page = document.body.dataset.page;
if (page === 'dashboard') new Dashboard().start();
else if (page === 'replay') {
  const data = document.getElementById('replay-data')?.textContent ?? 'null';
  const [code, rate] = (document.getElementById('charts')?.dataset.currency ?? 'USD 1').split(' ');
  showFiguresIn({ code: code ?? 'USD', rate: Number(rate) });
  showReplay(JSON.parse(data) as ReplayJson);
}
