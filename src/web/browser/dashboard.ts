// The live dashboard (GET / of `watch`): what `status` says, drawn, and redrawn on every event of
// GET /events (one after each check). Ages (heartbeat, last check) tick in the page between events,
// and a lost connection is said at the top with the time of the figures still shown.
import type { StatusBalanceJson, StatusJson, StatusWindowJson } from '../../commands/render/status-json.js';
import { figuresNote, showFiguresIn, usd } from '../../core/money.js';
import { chartableWindows, dashboardChart } from '../chart-data.js';
import type { DashboardSnapshot } from '../snapshot.js';
import { type Timeline, timeline } from './chart.js';
import { age, byId, clock, fill, h } from './dom.js';

const LIMITS = ['warn', 'emergency', 'kill'] as const;

/** The gauge's scale: the highest limit at 4/5 of it (as `status` draws its gauge). */
type Gauged = Pick<StatusWindowJson, 'limits' | 'spend_usd' | 'level'>;

function gaugeMax(w: Gauged): number {
  const top = Math.max(0, ...LIMITS.map((l) => w.limits[l] ?? 0));
  return top > 0 ? top * 1.25 : Math.max(w.spend_usd * 1.25, 1);
}

function gauge(w: Gauged): HTMLElement {
  const max = gaugeMax(w);
  const bar = h('div', { class: `gauge-fill level-${w.level}` });
  bar.style.width = `${Math.min(100, (w.spend_usd / max) * 100)}%`;
  const marks = LIMITS.flatMap((l) => {
    const v = w.limits[l];
    if (v === undefined) return [];
    const mark = h('div', { class: `gauge-mark mark-${l}`, title: `${l} ${usd(v)}` });
    mark.style.left = `${(v / max) * 100}%`;
    return [mark];
  });
  return h(
    'div',
    { class: 'gauge', role: 'img', 'aria-label': `${usd(w.spend_usd)} of ${usd(max)}` },
    bar,
    ...marks,
  );
}

/** The prepaid balance (limits.balance): what is left, and when it runs out at the last 15 minutes' rate. */
function balanceLine(b: StatusBalanceJson): HTMLElement {
  const left = b.left_usd < 0 ? `overspent by ${usd(-b.left_usd)}` : `${usd(b.left_usd)} left`;
  const ups = b.top_ups_usd > 0 ? ` (with ${usd(b.top_ups_usd)} of top-ups)` : '';
  const when =
    b.runs_out_at !== null
      ? ` · at ${usd(b.burn_usd_per_hour)}/h it runs out at ${clock(Date.parse(b.runs_out_at))}`
      : b.left_usd > 0
        ? ' · not burning'
        : '';
  const before =
    b.log_starts_at === null ? '' : ` · the log begins ${b.log_starts_at}: spend before is not known`;
  return h(
    'div',
    { class: 'balance-left', id: 'balance-left' },
    `${left} of ${usd(b.balance_usd)}${ups}${when}${before}`,
  );
}

function windowCard(name: string, w: StatusWindowJson | StatusBalanceJson): HTMLElement {
  const limits = LIMITS.filter((l) => w.limits[l] !== undefined).map((l) =>
    h('span', { class: `limit limit-${l}` }, `${l} ${usd(w.limits[l] as number)}`),
  );
  const span =
    'left_usd' in w
      ? `prepaid, since ${w.since}`
      : w.seconds === undefined
        ? `${w.date} (${w.timezone})`
        : `rolling ${name}`;
  return h(
    'div',
    { class: `window level-${w.level}`, 'data-window': name },
    h(
      'div',
      { class: 'window-head' },
      h('span', { class: 'window-name' }, name),
      h('span', { class: 'window-span' }, span),
      h('span', { class: `badge level-${w.level}` }, w.level.toUpperCase()),
    ),
    h('div', { class: 'spend', id: `spend-${name}` }, usd(w.spend_usd)),
    gauge(w),
    h('div', { class: 'limits' }, ...(limits.length > 0 ? limits : ['no limits'])),
    ...('left_usd' in w ? [balanceLine(w)] : []),
  );
}

function topTable(status: StatusJson): HTMLElement {
  // (The prepaid balance has no top spenders of its own: it reaches back to its since.)
  const windows = Object.entries(status.windows).filter(
    (e): e is [string, StatusWindowJson] => !('left_usd' in e[1]),
  );
  // A column only when some window has someone in it (logs: only with more than one log file).
  const columns = (
    [
      ['models', 'top_models'],
      ['agents', 'top_agents'],
      ['logs', 'top_sources'],
    ] as const
  ).filter(([, key]) => windows.some(([, w]) => w[key].length > 0));
  const rows = windows.map(([name, w]) =>
    h(
      'tr',
      {},
      h('th', {}, name),
      ...columns.map(([, key]) =>
        h(
          'td',
          {},
          w[key].length === 0
            ? h('span', { class: 'muted' }, '–')
            : h(
                'ol',
                {},
                ...w[key].slice(0, 5).map((t) => h('li', {}, `${t.name} `, h('b', {}, usd(t.spend_usd)))),
              ),
        ),
      ),
    ),
  );
  if (columns.length === 0) return h('p', { class: 'muted' }, 'No model, agent or log named yet.');
  return h(
    'table',
    { class: 'tops' },
    h('thead', {}, h('tr', {}, h('th', {}, 'window'), ...columns.map(([label]) => h('th', {}, label)))),
    h('tbody', {}, ...rows),
  );
}

function scopesTable(status: StatusJson): HTMLElement | null {
  if (status.scopes.length === 0) return null;
  const rows = status.scopes.map((s) =>
    h(
      'tr',
      {},
      h('td', {}, s.name),
      h(
        'td',
        {},
        Object.entries(s.key)
          .map(([f, v]) => `${f}=${v}`)
          .join(' ') || '–',
      ),
      h('td', {}, h('span', { class: `badge level-${s.level}` }, s.level.toUpperCase())),
      h(
        'td',
        {},
        Object.entries(s.windows)
          .map(([n, w]) => `${n} ${usd(w.spend_usd)}`)
          .join(', '),
      ),
      h('td', {}, s.flag === undefined ? '' : s.flag.active ? 'flag SET' : 'flag not set'),
    ),
  );
  const more = status.scope_counts
    .filter((c) => c.more > 0)
    .map((c) => h('p', { class: 'muted' }, `${c.name}: ${c.more} more ${c.each} value(s) not listed`));
  return h(
    'div',
    {},
    h('h2', {}, 'Scopes'),
    h(
      'table',
      { class: 'scopes' },
      h('thead', {}, h('tr', {}, ...['scope', 'key', 'level', 'spend', 'flag'].map((t) => h('th', {}, t)))),
      h('tbody', {}, ...rows),
    ),
    ...more,
  );
}

function fact(label: string, value: Node | string, cls = ''): HTMLElement[] {
  return [h('dt', {}, label), h('dd', { class: cls }, value)];
}

export class Dashboard {
  private snapshot: DashboardSnapshot | null = null;
  private chart: Timeline | null = null;
  private chartWindow: string | null = null;
  private connected = false;

  start(): void {
    const select = byId('chart-window') as HTMLSelectElement;
    select.addEventListener('change', () => {
      this.chartWindow = select.value;
      this.chart?.destroy();
      this.chart = null;
      this.drawChart();
    });
    const events = new EventSource('events');
    events.addEventListener('open', () => {
      this.connected = true;
      this.tick();
    });
    events.addEventListener('error', () => {
      this.connected = false;
      this.tick();
    });
    events.addEventListener('snapshot', (e) => {
      this.snapshot = JSON.parse((e as MessageEvent<string>).data) as DashboardSnapshot;
      showFiguresIn(this.snapshot.display ?? { code: 'USD', rate: 1 });
      this.render();
    });
    setInterval(() => this.tick(), 1000);
  }

  /** Seconds since the snapshot was built (the page's clock against the server's). */
  private sinceBuilt(): number {
    return this.snapshot === null ? 0 : (Date.now() - Date.parse(this.snapshot.generated_at)) / 1000;
  }

  private render(): void {
    const snap = this.snapshot;
    if (snap === null) return;
    const status = snap.status;
    byId('host').textContent = snap.host;
    byId('currency').textContent = figuresNote() ?? '';
    const verdict = byId('verdict');
    verdict.textContent = status.status;
    verdict.className = `verdict verdict-${status.status}`;
    if (!('windows' in status)) {
      fill(byId('problem'), `The check could not be made: ${status.error}`);
      byId('problem').hidden = false;
      this.tick();
      return;
    }
    byId('problem').hidden = true;
    fill(byId('windows'), ...Object.entries(status.windows).map(([name, w]) => windowCard(name, w)));
    fill(byId('tops'), topTable(status));
    fill(byId('scopes'), scopesTable(status));
    const warnings = status.warnings.map((w) => h('li', {}, w.text));
    fill(
      byId('warnings'),
      ...(warnings.length > 0 ? [h('h2', {}, 'Warnings'), h('ul', {}, ...warnings)] : []),
    );
    const first = Object.entries(status.windows)[0];
    document.title =
      `${status.status} · ${first === undefined ? '' : `${first[0]} ${usd(first[1].spend_usd)} · `}` +
      `cost-watchdog ${snap.host}`;
    this.drawChart();
    this.tick();
  }

  private drawChart(): void {
    const snap = this.snapshot;
    if (snap === null) return;
    const names = chartableWindows(snap);
    const select = byId('chart-window') as HTMLSelectElement;
    if (select.options.length !== names.length || names.some((n, i) => select.options[i]?.value !== n)) {
      fill(select, ...names.map((n) => h('option', { value: n }, n)));
      this.chart?.destroy();
      this.chart = null;
    }
    if (this.chartWindow === null || !names.includes(this.chartWindow)) this.chartWindow = names[0] ?? null;
    if (this.chartWindow === null) return;
    select.value = this.chartWindow;
    const spec = dashboardChart(snap, this.chartWindow);
    if (spec === null) return;
    byId('chart-title').textContent = spec.title;
    if (this.chart === null) this.chart = timeline(byId('chart'), spec);
    else this.chart.update(spec);
  }

  /** What changes with time alone: ages, staleness, the connection. */
  private tick(): void {
    const live = byId('live');
    const snap = this.snapshot;
    live.textContent = this.connected
      ? `live · updated ${snap === null ? 'never' : clock(Date.parse(snap.generated_at))}`
      : `DISCONNECTED · figures from ${snap === null ? 'nowhere yet' : clock(Date.parse(snap.generated_at))}`;
    live.className = this.connected ? 'live' : 'live lost';
    if (snap === null || !('windows' in snap.status)) return;
    const s = snap.status;
    const since = this.sinceBuilt();
    const flag = s.emergency;
    const flagText =
      typeof flag.error === 'string'
        ? `UNKNOWN: ${flag.error}`
        : flag.active
          ? `SET${typeof flag.triggered_at === 'string' ? ` since ${flag.triggered_at}` : ''}` +
            `${typeof flag.triggered_by === 'string' ? ` by ${flag.triggered_by}` : ''}` +
            `${typeof flag.reason === 'string' ? `: ${flag.reason}` : ''}`
          : 'not set';
    const hb = s.heartbeat;
    const hbAge = hb.age_seconds === null ? null : hb.age_seconds + since;
    const stale = hbAge === null || hbAge > hb.max_age_seconds;
    const target = !s.target.configured
      ? 'not configured (nothing to kill)'
      : s.target.running
        ? `running (pid ${s.target.pids.join(', ')})`
        : 'not running';
    const check = snap.check;
    fill(
      byId('facts'),
      ...fact('emergency flag', flagText, flag.active || flag.error !== undefined ? 'bad' : 'good'),
      ...(flag.kill_switch === null
        ? []
        : fact('kill switch', `ON since ${flag.kill_switch.since} (${flag.kill_switch.by})`, 'bad')),
      ...fact('target', target),
      ...fact(
        'heartbeat',
        hbAge === null
          ? 'none yet'
          : `${age(hbAge)} old${stale ? ` · STALE (older than ${age(hb.max_age_seconds)})` : ''}`,
        stale ? 'bad' : 'good',
      ),
      ...fact(
        'last check',
        check === null
          ? 'not yet'
          : `${clock(Date.parse(check.at))} (${age((Date.now() - Date.parse(check.at)) / 1000)} ago)` +
              `${check.ok ? '' : ` · FAILED: ${check.error ?? 'see the journal'}`}`,
        check !== null && !check.ok ? 'bad' : '',
      ),
      ...fact(
        'log',
        s.log.error === null ? `${s.log.path}` : `UNREADABLE: ${s.log.error}`,
        s.log.error ? 'bad' : '',
      ),
      ...fact('lines', `${s.lines_counted} counted, ${s.malformed_lines} malformed`),
      ...(s.alerts.pending > 0 ? fact('unsent alerts', String(s.alerts.pending), 'bad') : []),
      ...Object.entries(s.reconcile ?? {}).flatMap(([name, e]) =>
        fact(
          `reconcile ${name}`,
          (e.last_minute === null
            ? 'not read yet'
            : `provider ${usd(e.provider_usd)}, logs ${usd(e.logged_usd)}, unlogged ` +
              `${usd(e.unlogged_usd)} to ${clock(Date.parse(e.last_minute))}` +
              `${e.level === 'ok' ? '' : ` · ${e.level.toUpperCase()}`}`) +
            `${e.error === null ? '' : ` · last read failed: ${e.error}`}`,
          e.level !== 'ok' || e.error !== null ? 'bad' : '',
        ),
      ),
    );
    byId('disconnected').hidden = this.connected;
  }
}
