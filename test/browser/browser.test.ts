/**
 * The browser build in a real browser: bundle src/browser.ts, serve the example page
 * (examples/browser/) on loopback, run it in headless Chromium (Debian's `chromium` package, driven
 * by playwright-core), and compare what the page computes with what Node computes from the same
 * code: same neighbours, same scores, and `.qdb` bytes that open on either side.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { delimiter, extname, join, normalize } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuantumDB, type SearchHit } from '../../src/index.js';
import { createTempDir, type TempDir } from '../../src/testing/index.js';
import { bundle, ROOT } from '../packaging/bundle.js';
// @ts-expect-error -- plain JavaScript shared with the page; its shapes are checked by the assertions below.
import { runDemo, searchBytes } from '../../examples/browser/demo.js';

interface DemoResult {
  size: number; results: SearchHit[][]; filtered: SearchHit[][]; bytes: Uint8Array; roundTripSame: boolean;
}

/** Chromium from $CHROMIUM_PATH or the PATH (Debian's package installs /usr/bin/chromium). */
function findChromium(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-quic', '--disable-sync',
];
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.qdb': 'application/octet-stream' };
const executablePath = findChromium();
const skip = process.env.QDB_SKIP_BROWSER === '1';

describe.skipIf(skip)('browser build in headless Chromium', () => {
  let tmp: TempDir;
  let server: Server;
  let browser: Browser;
  let base = '';
  let bundleCode = '';
  let node: DemoResult;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!executablePath) {
      throw new Error('Chromium not found: install Debian\'s package (apt-get install chromium), set CHROMIUM_PATH, or set QDB_SKIP_BROWSER=1 to skip');
    }
    tmp = await createTempDir('qdb-browser-');
    bundleCode = await bundle({ entry: 'src/browser.ts', outFile: tmp.file('browser.js'), browser: true });
    node = (await runDemo(QuantumDB)) as DemoResult;
    const served: Record<string, () => Promise<Uint8Array | string>> = {
      '/dist/browser.js': async () => bundleCode,
      '/node.qdb': async () => node.bytes,
      '/favicon.ico': async () => '',
    };
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const fromRepo = normalize(path).startsWith('/examples/browser/') ? () => readFile(join(ROOT, normalize(path))) : undefined;
      const load = served[path] ?? fromRepo;
      if (!load) { res.writeHead(404).end(); return; }
      load().then(
        (body) => res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
    await page.goto(`${base}/examples/browser/index.html`);
    await page.waitForFunction(() => document.body.dataset.status !== 'running', undefined, { timeout: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server ? server.close(resolve) : resolve(undefined));
    await tmp?.cleanup();
  });

  it('bundles to one module with no node: imports and no native modules', () => {
    expect(bundleCode).not.toMatch(/\bfrom\s*['"]node:/);
    expect(bundleCode).not.toMatch(/\bimport\(\s*['"]node:/);
    expect(bundleCode).not.toMatch(/\brequire\(/);
    expect(bundleCode).not.toMatch(/from\s*['"]@riaskov\/mmap-io/);
    expect(bundleCode).not.toMatch(/\.node['"]\)/);
    expect(bundleCode).toMatch(/export \{[^}]*\bQuantumDB\b/);
  });

  it('builds, searches and round-trips .qdb bytes in the page with the same results as Node', async () => {
    const status = await page.evaluate(() => document.body.dataset.status);
    const failure = await page.evaluate(() => JSON.stringify((window as unknown as { quantumdbDemo?: { error?: unknown } }).quantumdbDemo?.error ?? null));
    expect({ status, failure, errors: pageErrors }).toEqual({ status: 'done', failure: 'null', errors: [] });

    const inPage = await page.evaluate(() => {
      const { demo } = (window as unknown as { quantumdbDemo: { demo: DemoResult } }).quantumdbDemo;
      // Base64: playwright moves one string far faster than an array of 300,000 numbers.
      let binary = '';
      for (let i = 0; i < demo.bytes.length; i += 0x8000) binary += String.fromCharCode(...demo.bytes.subarray(i, i + 0x8000));
      return { ...demo, bytes: btoa(binary) };
    });
    console.log(`build: page ${(inPage as unknown as { buildMs: number }).buildMs.toFixed(0)} ms, node ${(node as unknown as { buildMs: number }).buildMs.toFixed(0)} ms`);
    expect(inPage.size).toBe(node.size);
    expect(inPage.roundTripSame).toBe(true);
    expect(node.roundTripSame).toBe(true);
    const ids = (r: SearchHit[][]) => r.map((hits) => hits.map((h) => h.id));
    expect(ids(inPage.results)).toEqual(ids(node.results));
    expect(ids(inPage.filtered)).toEqual(ids(node.filtered));
    inPage.results.forEach((hits, q) => hits.forEach((h, i) => expect(h.score).toBeCloseTo(node.results[q]![i]!.score, 6)));
    expect(inPage.filtered.flat().every((h) => Number(h.id.slice(4)) % 4 === 2)).toBe(true);

    // The page's bytes open in Node; Node's bytes open in the page; both answer like the original.
    const pageBytes = new Uint8Array(Buffer.from(inPage.bytes, 'base64'));
    expect(ids(searchBytes(QuantumDB, pageBytes))).toEqual(ids(node.results));
    const nodeBytesInPage = await page.evaluate(async () => {
      const bytes = new Uint8Array(await (await fetch('/node.qdb')).arrayBuffer());
      return (window as unknown as { quantumdbDemo: { searchBytes(b: Uint8Array): SearchHit[][] } }).quantumdbDemo.searchBytes(bytes);
    });
    expect(ids(nodeBytesInPage)).toEqual(ids(node.results));
  });

  it('shows the results on the page', async () => {
    if (process.env.QDB_SCREENSHOT) await page.screenshot({ path: process.env.QDB_SCREENSHOT, fullPage: true });
    const rows = await page.locator('#hits tbody tr').count();
    expect(rows).toBe(10);
    expect(await page.locator('#status').textContent()).toContain('round trip: true');
    expect(await page.locator('#download').isDisabled()).toBe(false);
  });

  it('throws IO_ERROR for file paths, which a page does not have', async () => {
    // A string, so the test runner does not rewrite the page's dynamic import.
    const codes = await page.evaluate(`(async () => {
      const { QuantumDB } = await import('/dist/browser.js');
      const db = new QuantumDB({ dim: 4 });
      await db.addBatch(['a', 'b'], [[1, 0, 0, 0], [0, 1, 0, 0]]).buildIndex();
      const codeOf = async (fn) => { try { await fn(); return 'none'; } catch (e) { return e.code ?? String(e); } };
      return [await codeOf(() => db.save('x.qdb')), await codeOf(() => QuantumDB.open('x.qdb'))];
    })()`);
    expect(codes).toEqual(['IO_ERROR', 'IO_ERROR']);
  });
});
