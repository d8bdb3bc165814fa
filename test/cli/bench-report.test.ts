/**
 * `quantumdb bench`: the comparison with the previous run (which way is better per unit, noise,
 * "first run"), the text table, and the HTML summary rendered in a real browser (Debian's
 * headless Chromium through playwright-core), with a screenshot. Skipped, with the reason printed,
 * when /usr/bin/chromium is missing.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareRuns, renderHtmlReport, renderSweepSvg, renderTextTable, type BenchRun } from '../../src/cli/bench-report.js';
import { cli, tempDir } from './cli-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) console.warn(`${CHROMIUM} not found (Debian package "chromium"); skipping the browser rendering tests of the bench report.`);

const machine = { cpu: 'Test CPU', cores: 2, node: 'v20.0.0', platform: 'linux-x64' };
const config = { n: 1000, dim: 16, queries: 10, k: 10, seed: 42 };
const previous: BenchRun = {
  version: 1, date: '2026-01-01T00:00:00.000Z', machine, config,
  rows: [
    { name: 'search ef=64 (per query)', median: 100, mean: 110, unit: 'µs', better: 'lower', samples: 10 },
    { name: 'compress JSONL → STREAM1', median: 30_000, mean: 29_000, unit: 'embeddings/s', better: 'higher', samples: 3 },
    { name: 'buildIndex', median: 2, mean: 2, unit: 's', better: 'lower', samples: 1 },
    { name: 'save', median: 10, mean: 10, unit: 'ms', better: 'lower', samples: 3 },
  ],
  sweep: [{ ef: 16, recall: 0.82, qps: 9000 }, { ef: 64, recall: 0.95, qps: 4000 }, { ef: 256, recall: 0.99, qps: 1200 }],
};
const current: BenchRun = {
  ...previous,
  date: '2026-01-02T00:00:00.000Z',
  rows: [
    { name: 'search ef=64 (per query)', median: 90, mean: 95, unit: 'µs', better: 'lower', samples: 10 },
    { name: 'compress JSONL → STREAM1', median: 27_000, mean: 27_500, unit: 'embeddings/s', better: 'higher', samples: 3 },
    { name: 'buildIndex', median: 2.01, mean: 2.01, unit: 's', better: 'lower', samples: 1 },
    { name: 'save', median: 12, mean: 12, unit: 'ms', better: 'lower', samples: 3 },
    { name: 'open <new>', median: 5, mean: 5, unit: 'ms', better: 'lower', samples: 3 },
  ],
  sweep: [{ ef: 16, recall: 0.84, qps: 9500 }, { ef: 64, recall: 0.96, qps: 4200 }, { ef: 256, recall: 0.995, qps: 1300 }],
};

describe('comparing runs', () => {
  it('marks improvements and regressions by the direction of each unit', () => {
    const rows = compareRuns(current, previous);
    expect(rows.map((r) => [r.name, r.verdict, r.deltaPercent === undefined ? undefined : Number(r.deltaPercent.toFixed(2))])).toEqual([
      ['search ef=64 (per query)', 'improved', -10],
      ['compress JSONL → STREAM1', 'regressed', -10],
      ['buildIndex', 'unchanged', 0.5],
      ['save', 'regressed', 20],
      ['open <new>', 'first run', undefined],
    ]);
    expect(compareRuns(current, undefined).every((r) => r.verdict === 'first run')).toBe(true);
  });

  it('prints a text table like Vectro+ (median, mean, unit, delta)', () => {
    expect(renderTextTable(compareRuns(current, previous))).toMatchInlineSnapshot(`
      "benchmark                 median    mean  unit              delta
      ------------------------  ------  ------  ------------  ---------
      search ef=64 (per query)   90.00   95.00  µs               -10.0%
      compress JSONL → STREAM1  27,000  27,500  embeddings/s     -10.0%
      buildIndex                 2.010   2.010  s                 +0.5%
      save                       12.00   12.00  ms               +20.0%
      open <new>                 5.000   5.000  ms            first run
      "
    `);
  });

  it('plots one point per ef, and the previous run as a dashed line', () => {
    const svg = renderSweepSvg(current.sweep, previous.sweep);
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg).toContain('class="prev"');
    expect(svg).toContain('ef=256');
    expect(renderSweepSvg([{ ef: 64, recall: 1, qps: 10 }])).toMatch(/<circle /);
  });

  it('escapes names in the HTML', () => {
    const html = renderHtmlReport(current, compareRuns(current, previous), previous);
    expect(html).toContain('open &#60;new&#62;');
    expect(html).not.toContain('<new>');
  });
});

describe.skipIf(!HAS_CHROMIUM)('the HTML summary in headless Chromium', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let browser: import('playwright-core').Browser;
  beforeAll(async () => {
    tmp = await tempDir('qdb-bench-report-');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await tmp?.cleanup();
  });

  async function render(html: string, screenshot: string) {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('request', (r) => { if (!r.url().startsWith('data:') && !r.url().startsWith('about:')) problems.push(`request ${r.url()}`); });
    await page.setContent(html, { waitUntil: 'load' });
    await page.screenshot({ path: screenshot, fullPage: true });
    return { page, problems };
  }

  it('renders the table with green improvements, red regressions and "first run", and the plot', async () => {
    const shot = tmp.path('summary.png');
    const { page, problems } = await render(renderHtmlReport(current, compareRuns(current, previous), previous), shot);
    expect(problems).toEqual([]);
    expect(await page.title()).toBe('QuantumDB benchmark summary');
    expect(await page.locator('tbody tr').count()).toBe(5);
    const color = (cls: string) => page.locator(`tr.${cls} td.delta`).first().evaluate((el) => getComputedStyle(el).color);
    expect(await color('improved')).toBe('rgb(26, 127, 55)');
    expect(await color('regressed')).toBe('rgb(207, 34, 46)');
    expect(await page.locator('tr.first-run td.delta').textContent()).toBe('first run');
    expect(await page.locator('tr.first-run td.delta').evaluate((el) => getComputedStyle(el).fontStyle)).toBe('italic');
    const svg = page.locator('svg');
    const box = await svg.boundingBox();
    expect(box!.width).toBeGreaterThan(500);
    expect(box!.height).toBeGreaterThan(300);
    const points = await page.locator('svg circle.point').evaluateAll((els) => els.map((el) => el.getBoundingClientRect()).map((r) => ({ x: r.x, y: r.y })));
    expect(points).toHaveLength(3);
    // Faster settings sit further right; higher recall sits higher (smaller y).
    expect(points[0]!.x).toBeGreaterThan(points[2]!.x);
    expect(points[0]!.y).toBeGreaterThan(points[2]!.y);
    for (const p of points) {
      expect(p.x).toBeGreaterThanOrEqual(box!.x);
      expect(p.x).toBeLessThanOrEqual(box!.x + box!.width);
    }
    await page.close();
    const png = await readFile(shot);
    expect(png.length).toBeGreaterThan(10_000);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it('quantumdb bench --save-report: a first run, then deltas against it, rendered', async () => {
    const dir = tmp.path('reports');
    const args = ['bench', '--n', '400', '--dim', '16', '--queries', '12', '--save-report', dir];
    const first = await cli(args);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Benchmark summary \(400 × 16, 12 queries\):\nbenchmark +median +mean +unit +delta\n/);
    expect(first.stdout).toMatch(/compress JSONL → QSTREAM1 .* embeddings\/s +first run/);
    const html1 = await readFile(`${dir}/summary.html`, 'utf8');
    expect(html1).toContain('No previous run saved');
    const second = await cli([...args, '--json']);
    expect(second.code).toBe(0);
    const out = JSON.parse(second.stdout) as { rows: { verdict: string }[]; report: string };
    expect(out.rows.length).toBeGreaterThan(10);
    expect(out.rows.every((r) => r.verdict !== 'first run')).toBe(true);
    const html2 = await readFile(out.report, 'utf8');
    expect(html2).toContain('Compared with the run of');
    const shot = tmp.path('bench.png');
    const { page, problems } = await render(html2, shot);
    expect(problems).toEqual([]);
    expect(await page.locator('tbody tr').count()).toBe(out.rows.length);
    expect(await page.locator('svg circle.point').count()).toBe(5);
    await page.close();
    expect((await stat(shot)).size).toBeGreaterThan(10_000);
  });
});
