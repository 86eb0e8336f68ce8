// The page `replay --html` writes (src/web/replay-page.ts): self-contained (nothing fetched,
// opens from file://), its inline script and style allowed by their hashes and nothing else, and
// the report inside it as data that no name out of a log can break out of.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { replayHtml } from '../../src/web/replay-page.js';
import { sampleReplay } from './replay-sample.js';

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

function parts(html: string) {
  const policy = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
  const scripts = [...html.matchAll(/<script( [^>]*)?>([\s\S]*?)<\/script>/g)].map((m) => ({
    attrs: m[1] ?? '',
    body: m[2] ?? '',
  }));
  return { policy, style, scripts };
}

describe('replayHtml', () => {
  it('is one self-contained page: its script and style inline, allowed by hash, nothing else', () => {
    const html = replayHtml(sampleReplay());
    const { policy, style, scripts } = parts(html);
    const code = scripts.filter((s) => s.attrs === '');
    expect(code).toHaveLength(1);
    expect(policy).toBe(
      `default-src 'none'; script-src ${hash(code[0]?.body ?? '')}; style-src ${hash(style)}; ` +
        "img-src data:; base-uri 'none'; form-action 'none'",
    );
    // Nothing is loaded from anywhere: no src= or href= but the empty icon.
    expect(html).not.toMatch(/<script[^>]* src=/);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?https?:\/\//i);
    expect([...html.matchAll(/ (?:src|href)="([^"]*)"/g)].map((m) => m[1])).toEqual(['data:,']);
    expect(html).toContain('<body data-page="replay">');
    expect(style).toContain('.u-legend'); // uPlot's stylesheet is in it
  });

  it('says the display currency to the page, a code and a rate only', () => {
    expect(replayHtml(sampleReplay())).toContain('<section id="charts" data-currency="USD 1">');
    expect(replayHtml(sampleReplay(), { code: 'EUR', rate: 1.08 })).toContain('data-currency="EUR 1.08"');
    expect(replayHtml(sampleReplay(), { code: '"><x', rate: 2 })).toContain('data-currency="USD 1"');
  });

  it('carries the report as data that parses back to it', () => {
    const report = sampleReplay();
    const { scripts } = parts(replayHtml(report));
    const data = scripts.find((s) => s.attrs.includes('id="replay-data"'));
    expect(data?.attrs).toBe(' type="application/json" id="replay-data"');
    expect(JSON.parse(data?.body ?? '')).toEqual(report);
  });

  it.each([
    ['a closing script tag', '</script><script>alert(1)</script>'],
    ['an HTML comment opener', '<!--'],
    ['a closing tag in capitals', '</SCRIPT>'],
  ])('keeps a model name with %s inside the data', (_what, model) => {
    const report = sampleReplay();
    report.unpriced[0] = { model, lines: 1, tokens: 1, spend_usd: 0 };
    const html = replayHtml(report);
    const { scripts } = parts(html);
    expect(scripts).toHaveLength(2);
    const data = scripts.find((s) => s.attrs.includes('replay-data'));
    expect((JSON.parse(data?.body ?? '') as typeof report).unpriced[0]?.model).toBe(model);
    expect(data?.body).not.toContain('<');
  });

  it('titles the page with its time span, escaped', () => {
    const report = { ...sampleReplay(), from: '<b>', to: null };
    expect(replayHtml(report)).toContain('<title>cost-watchdog replay &#60;b&#62; to </title>');
  });
});
