/**
 * @module bench/measure
 * The one measuring loop every engine goes through (ours and the peers), the summary figures the
 * tables use ("QPS at R≥0.90/0.95/0.99", "max R@10 (QPS)"), and the resident-memory probe that
 * re-opens a saved index in a fresh Node process.
 *
 * An engine is anything with `search(query: Float32Array, options) → [{ id: string, … }]`, best
 * first, where `id` is the base row index written as a decimal string. Only `id` is read.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, totalmem } from 'node:os';
import { recallAt } from './datasets.mjs';

/** Package root: the working directory of child processes, so bare imports resolve there. */
const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * A setting's label as the tables print it, e.g. `ef=64,rerank=32`; `exact` when it is empty.
 * @param {Record<string, unknown>} setting search options other than `k`.
 * @returns {string}
 */
export function labelOf(setting) {
  const parts = Object.entries(setting).map(([key, value]) => (value === true ? key : `${key}=${value}`));
  return parts.length ? parts.join(',') : 'exact';
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Measures `engine` on each search setting, one query per call, on one thread.
 * QPS = queries / (sum of the search calls' wall time); the loop's own bookkeeping (turning ids
 * into numbers) happens outside the timed calls. Before the timed pass of each setting, the first
 * `warmup` queries run once untimed.
 * @param {{ search(q: Float32Array, options: object): Array<{ id: string }> }} engine
 * @param {{ dim: number, queries: Float32Array, nQueries: number }} dataset
 * @param {Int32Array} gt exact neighbours, (nQueries, gtK) row-major.
 * @param {Array<Record<string, unknown>>} settings search options per setting (`k` is added).
 * @param {{ k?: number, queryCount?: number, warmup?: number, gtK?: number, log?: (line: string) => void }} [options]
 *   `queryCount` measures only the first queries (for slow exact engines).
 * @returns {Array<{ setting: object, label: string, nQueries: number, qps: number, recall10: number,
 *   p50us: number, p99us: number } | { setting: object, label: string, error: string }>}
 * @example const sweep = measureSearch(engine, ds, gt, [{ ef: 20 }, { ef: 40 }]);
 */
export function measureSearch(engine, dataset, gt, settings, options = {}) {
  const { k = 10, warmup = 20, gtK = 100, log = () => {} } = options;
  const { dim } = dataset;
  const nQueries = Math.min(options.queryCount ?? dataset.nQueries, dataset.nQueries);
  const queries = [];
  for (let q = 0; q < nQueries; q++) queries.push(dataset.queries.subarray(q * dim, (q + 1) * dim));
  const rows = [];
  for (const setting of settings) {
    const label = labelOf(setting);
    const searchOptions = { ...setting, k };
    try {
      for (let q = 0; q < Math.min(warmup, nQueries); q++) engine.search(queries[q], searchOptions);
      const micros = new Float64Array(nQueries);
      const found = [];
      let total = 0;
      for (let q = 0; q < nQueries; q++) {
        const t0 = performance.now();
        const res = engine.search(queries[q], searchOptions);
        const t1 = performance.now();
        total += t1 - t0;
        micros[q] = (t1 - t0) * 1000;
        const ids = new Int32Array(Math.min(k, res.length));
        for (let i = 0; i < ids.length; i++) ids[i] = Number(res[i].id);
        found.push(ids);
      }
      micros.sort();
      const row = {
        setting, label, nQueries,
        qps: nQueries / (total / 1000),
        recall10: recallAt(found, gt, k, gtK),
        p50us: percentile(micros, 0.5),
        p99us: percentile(micros, 0.99),
      };
      log(`  ${label.padEnd(22)} R@${k} ${row.recall10.toFixed(4)}  QPS ${row.qps.toFixed(0).padStart(6)}  p50 ${row.p50us.toFixed(0)} µs  p99 ${row.p99us.toFixed(0)} µs`);
      rows.push(row);
    } catch (err) {
      log(`  ${label.padEnd(22)} failed: ${err && err.message ? err.message : String(err)}`);
      rows.push({ setting, label, error: err && err.message ? err.message : String(err) });
    }
    if (typeof globalThis.gc === 'function') globalThis.gc();
  }
  return rows;
}

/**
 * The table figures of one sweep: for each recall threshold, the QPS and label of the setting that
 * reaches it, and the best recall with its QPS.
 * @param {Array<{ label: string, qps?: number, recall10?: number, error?: string }>} sweep
 * @param {{ thresholds?: number[], pick?: 'first' | 'fastest' }} [options] `first` (default): the
 *   first setting in sweep order that reaches the threshold, as DATASETS.md's tables do for a
 *   sweep of growing `ef`; `fastest`: the fastest of those that reach it (for a grid of settings).
 * @returns {{ at: Record<string, { qps: number, label: string } | null>,
 *   max: { recall10: number, qps: number, label: string } | null }} `at` keyed by the threshold
 *   written with two decimals (`'0.90'`); ties on the best recall go to the faster setting.
 * @example summarize(sweep).at['0.95'] // { qps: 2792, label: 'ef=40' }
 */
export function summarize(sweep, { thresholds = [0.9, 0.95, 0.99], pick = 'first' } = {}) {
  const ok = sweep.filter((r) => !r.error && Number.isFinite(r.recall10));
  const at = {};
  for (const t of thresholds) {
    const reaching = ok.filter((r) => r.recall10 >= t);
    let best = reaching[0] ?? null;
    if (pick === 'fastest') for (const r of reaching) if (r.qps > best.qps) best = r;
    at[t.toFixed(2)] = best ? { qps: best.qps, label: best.label } : null;
  }
  let max = null;
  for (const r of ok) {
    if (!max || r.recall10 > max.recall10 || (r.recall10 === max.recall10 && r.qps > max.qps)) max = r;
  }
  return { at, max: max ? { recall10: max.recall10, qps: max.qps, label: max.label } : null };
}

const RESIDENT_CHILD = `
(async () => {
  const args = JSON.parse(process.env.QDB_BENCH_ARGS);
  const settle = () => { for (let i = 0; i < 4; i++) globalThis.gc(); };
  const outside = () => { const m = process.memoryUsage(); return m.rss - m.heapUsed; };
  const keep = [];
  const prepare = new Function('args', 'require', 'keep', 'importModule', 'return (async () => {' + args.prepare + '})()');
  const load = new Function('args', 'require', 'keep', 'importModule', 'return (async () => {' + args.load + '})()');
  const importModule = (specifier) => import(specifier);
  await prepare(args, require, keep, importModule);
  settle();
  const before = outside();
  await load(args, require, keep, importModule);
  settle();
  const after = outside();
  process.stdout.write(JSON.stringify({ before, after, kept: keep.length }));
})().catch((err) => { console.error(err && err.stack ? err.stack : err); process.exit(1); });
`;

/**
 * Resident bytes of a saved index: how much (RSS − V8 heapUsed) grows when a fresh Node process
 * (started with `--expose-gc`, working directory = package root) runs `load` after `prepare`.
 * Both are async function bodies with `args`, `require`, `keep` (push what must stay alive) and
 * `importModule(specifier)` in scope; module loading belongs in `prepare` so it is not counted.
 * @param {{ prepare: string, load: string, [key: string]: unknown }} args code and parameters.
 * @returns {Promise<number>} bytes.
 * @example await residentBytes({ prepare: "args.fs = require('node:fs')", load: 'keep.push(args.fs.readFileSync(args.file))', file })
 */
export function residentBytes(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '-e', RESIDENT_CHILD], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, QDB_BENCH_ARGS: JSON.stringify(args) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`resident probe exited with ${code}: ${err.trim()}`));
      const { before, after } = JSON.parse(out);
      resolve(after - before);
    });
  });
}

/**
 * Nanoseconds for one 768-d f32 dot product in a plain JS loop with four accumulators, on data in
 * L1 (median of 5 rounds). The same model of CPU can run slower when the host is busy; this number
 * shows it next to the results.
 */
function speedProbeNs() {
  const dim = 768;
  const a = new Float32Array(dim).map((_, i) => Math.sin(i));
  const b = new Float32Array(dim).map((_, i) => Math.cos(i));
  const dot = () => {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let i = 0; i < dim; i += 4) {
      s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3];
    }
    return s0 + s1 + s2 + s3;
  };
  let sink = 0;
  const rounds = [];
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) sink += dot();
    rounds.push((performance.now() - t0) * 10);
  }
  rounds.shift();
  rounds.sort((x, y) => x - y);
  return Number.isFinite(sink) ? rounds[2] : NaN;
}

export function machineInfo() {
  return {
    cpu: cpus()[0]?.model?.trim() ?? 'unknown CPU',
    cores: cpus().length,
    totalMemBytes: totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
    load1: round(loadavg()[0], 2),
    jsDot768Ns: round(speedProbeNs(), 0),
  };
}

export function round(x, digits) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
