/**
 * @module cli/bench
 * `quantumdb bench [--summary] [--save-report DIR] [--open-report]`: the benchmark suite that ships
 * with the package (the repository's `bench/` harness compares against other engines and is not
 * installed). On seeded synthetic clustered vectors it times `addBatch`, `buildIndex`, search over an
 * `ef` sweep (with Recall@10 against an exact scan), `save`/`open`, `compress` to STREAM1/QSTREAM1 and
 * an exact search over the STREAM1 file; then prints median, mean, unit and the change against the
 * previous run saved in the report directory, and with --summary writes `summary.html` there.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compareRuns, renderHtmlReport, renderTextTable, type BenchRow, type BenchRun, type SweepPoint } from './bench-report.js';
import { EXIT, intOption, type Command, type CommandContext } from './command.js';
import { compressFile } from './compress.js';
import { QuantumDB } from './lib.js';
import { exactSearch } from './search.js';
import { mulberry32 } from '../random.js';

const EF_SWEEP = [16, 32, 64, 128, 256];
const K = 10;
const REPEATS = 3;
/** Isotropic noise added in the full space, relative to the unit latent noise. */
const NOISE = 0.25;

/** Suite size. */
export interface SuiteConfig {
  n: number;
  dim: number;
  queries: number;
  seed: number;
}

/**
 * n unit vectors with a low intrinsic dimension, as real embeddings have: 32 seeded cluster centres
 * in a 16-d latent space, each row a centre plus unit Gaussian noise there, mapped to `dim`
 * dimensions by one seeded random matrix, plus a little isotropic noise. (Isotropic noise in all
 * dimensions would make every neighbour nearly equidistant and no ANN index meaningful.)
 */
export function clusteredVectors(n: number, dim: number, seed: number): Float32Array {
  const latent = 16;
  const structure = mulberry32(12345);
  const gaussOf = (random: () => number) => () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const structureGauss = gaussOf(structure);
  const projection = Float32Array.from({ length: dim * latent }, structureGauss);
  const centres = Float32Array.from({ length: 32 * latent }, () => 2 * structureGauss());
  const random = mulberry32(seed);
  const gauss = gaussOf(random);
  const z = new Float64Array(latent);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(random() * 32);
    for (let l = 0; l < latent; l++) z[l] = centres[c * latent + l]! + gauss();
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      let v = NOISE * gauss();
      for (let l = 0; l < latent; l++) v += projection[j * latent + l]! * z[l]!;
      out[i * dim + j] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < dim; j++) out[i * dim + j]! /= norm;
  }
  return out;
}

function row(name: string, samples: readonly number[], unit: string, better: BenchRow['better']): BenchRow {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { name, median, mean: samples.reduce((s, x) => s + x, 0) / samples.length, unit, better, samples: samples.length };
}

/** Exact top-k row numbers by inner product of unit vectors (= cosine). */
function exactTopK(base: Float32Array, n: number, dim: number, q: Float32Array, k: number): number[] {
  const best: { i: number; s: number }[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += base[i * dim + j]! * q[j]!;
    if (best.length === k && s <= best[k - 1]!.s) continue;
    let at = best.length;
    while (at > 0 && s > best[at - 1]!.s) at--;
    best.splice(at, 0, { i, s });
    if (best.length > k) best.pop();
  }
  return best.map((b) => b.i);
}

async function time<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/**
 * Runs the suite and returns the results (nothing is written outside a temp directory).
 * @param config - Data size and seed.
 * @param options - `workerScript` for compress workers; `onStep` before each step.
 * @example
 * ```ts
 * const run = await runSuite({ n: 2000, dim: 32, queries: 50, seed: 42 }, {});
 * ```
 */
export async function runSuite(config: SuiteConfig, options: { workerScript?: URL; onStep?: (step: string, done: number, total: number) => void }): Promise<BenchRun> {
  const { n, dim, seed } = config;
  const steps = 7;
  let step = 0;
  const next = (name: string) => options.onStep?.(name, step++, steps);
  const rows: BenchRow[] = [];
  const sweep: SweepPoint[] = [];
  next('data');
  const base = clusteredVectors(n, dim, seed);
  const queries = Array.from({ length: config.queries }, (_, q) => clusteredVectors(1, dim, seed + 1 + q));
  const ids = Array.from({ length: n }, (_, i) => String(i));
  const scans = [];
  for (const q of queries) scans.push(await time(() => exactTopK(base, n, dim, q, K)));
  const truth = scans.map((s) => new Set(s.value));
  rows.push(row('exact scan in JS (per query)', scans.map((s) => s.ms * 1000), 'µs', 'lower'));

  next('addBatch');
  const adds = [];
  for (let r = 0; r < REPEATS; r++) adds.push((await time(() => new QuantumDB({ dim, seed }).addBatch(ids, base))).ms);
  rows.push(row(`addBatch ${n} vectors`, adds.map((ms) => n / (ms / 1000)), 'vectors/s', 'higher'));

  next('buildIndex');
  const db = new QuantumDB({ dim, seed }).addBatch(ids, base);
  const build = await time(() => db.buildIndex());
  rows.push(row('buildIndex', [build.ms / 1000], 's', 'lower'));
  const { codec, graph } = db.stats().buildSeconds;
  rows.push(row('buildIndex: codec', [codec], 's', 'lower'), row('buildIndex: graph', [graph], 's', 'lower'));

  next('search');
  for (const ef of EF_SWEEP) {
    for (const q of queries.slice(0, 20)) db.search(q, { k: K, ef });
    const micros: number[] = [];
    let hits = 0;
    for (let i = 0; i < queries.length; i++) {
      const t = await time(() => db.search(queries[i]!, { k: K, ef }));
      micros.push(t.ms * 1000);
      for (const h of t.value) if (truth[i]!.has(Number(h.id))) hits++;
    }
    const recall = hits / (queries.length * K);
    sweep.push({ ef, recall, qps: queries.length / (micros.reduce((s, x) => s + x, 0) / 1e6) });
    rows.push(row(`search ef=${ef} (per query)`, micros, 'µs', 'lower'));
    if (ef === 64) rows.push(row('Recall@10 at ef=64', [recall], 'ratio', 'higher'));
  }

  const dir = await mkdtemp(join(tmpdir(), 'quantumdb-bench-'));
  try {
    next('save/open');
    const file = join(dir, 'index.qdb');
    const saves = [];
    const opens = [];
    for (let r = 0; r < REPEATS; r++) {
      saves.push((await time(() => db.save(file))).ms);
      const opened = await time(() => QuantumDB.open(file, { readOnly: true }));
      opens.push(opened.ms);
      opened.value.close();
    }
    rows.push(row('save', saves, 'ms', 'lower'), row('open', opens, 'ms', 'lower'));

    next('compress');
    const jsonl = join(dir, 'vectors.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(`{"id":"${i}","vector":[${Array.from(base.subarray(i * dim, (i + 1) * dim), (x) => x.toFixed(7)).join(',')}]}`);
    await writeFile(jsonl, `${lines.join('\n')}\n`);
    const workers = Math.min(availableParallelism(), 8);
    for (const quantize of [false, true]) {
      const rates = [];
      for (let r = 0; r < REPEATS; r++) {
        const t = await time(() => compressFile(jsonl, join(dir, quantize ? 'q.bin' : 's.bin'), { quantize, workers, workerScript: options.workerScript }));
        rates.push(t.value.count / (t.ms / 1000));
      }
      rows.push(row(`compress JSONL → ${quantize ? 'QSTREAM1' : 'STREAM1'}`, rates, 'embeddings/s', 'higher'));
    }

    next('exact search over STREAM1');
    const scansFile = [];
    for (const q of queries.slice(0, REPEATS)) scansFile.push((await time(() => exactSearch(join(dir, 's.bin'), q, K))).ms);
    rows.push(row(`search STREAM1 file, ${n} records (exact)`, scansFile, 'ms', 'lower'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  options.onStep?.('done', steps, steps);
  return {
    version: 1,
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model?.trim() ?? 'unknown CPU', cores: availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}` },
    config: { n, dim, queries: config.queries, k: K, seed },
    rows,
    sweep,
  };
}

async function readPrevious(path: string): Promise<BenchRun | undefined> {
  try {
    const run = JSON.parse(await readFile(path, 'utf8')) as BenchRun;
    return run.version === 1 && Array.isArray(run.rows) ? run : undefined;
  } catch {
    return undefined;
  }
}

function openInBrowser(path: string, ctx: CommandContext): void {
  const [command, args] = process.platform === 'darwin' ? ['open', [path]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', path]] : ['xdg-open', [path]];
  const child = spawn(command as string, args as string[], { detached: true, stdio: 'ignore' });
  child.on('error', (e) => ctx.io.stderr.write(`quantumdb bench: could not open the report (${e.message}); open ${path} yourself\n`));
  child.unref();
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'run the benchmark suite; --summary writes an HTML report with deltas',
  positionals: [],
  options: {
    summary: { type: 'boolean' },
    'save-report': { type: 'string' },
    'open-report': { type: 'boolean' },
    quick: { type: 'boolean' },
    n: { type: 'string' },
    dim: { type: 'string' },
    queries: { type: 'string' },
    seed: { type: 'string' },
  },
  help: `Usage: quantumdb bench [--summary] [--save-report DIR] [--open-report] [--quick]

Runs the built-in benchmark suite on seeded synthetic vectors: addBatch, buildIndex,
search over an ef sweep with Recall@10, save/open, compress to STREAM1/QSTREAM1 and an
exact search over the STREAM1 file. Prints median, mean, unit and the change against
the previous run saved in the report directory.

Options:
  --summary             write summary.html (table + Recall@10-vs-QPS plot) to the report directory
  --save-report <dir>   report directory (default .quantumdb-bench); implies --summary
  --open-report         open the HTML summary in a browser; implies --summary
  --quick               a small run (2,000 × 32, 50 queries)
  --n <n>               base vectors (default 20000)
  --dim <n>             dimensions (default 128)
  --queries <n>         queries (default 200)
  --seed <n>            data seed (default 42)
`,
  async run(ctx) {
    const quick = ctx.values.quick === true;
    const config: SuiteConfig = {
      n: intOption(ctx.values, 'n', quick ? 2000 : 20_000, 100),
      dim: intOption(ctx.values, 'dim', quick ? 32 : 128, 2, 4096),
      queries: intOption(ctx.values, 'queries', quick ? 50 : 200, 1),
      seed: intOption(ctx.values, 'seed', 42, 0, 2 ** 31 - 1),
    };
    const saveDir = ctx.values['save-report'] as string | undefined;
    const openReport = ctx.values['open-report'] === true;
    const writeReport = ctx.values.summary === true || saveDir !== undefined || openReport;
    const dir = resolve(saveDir ?? '.quantumdb-bench');
    const bar = ctx.progress('benchmarking');
    let run: BenchRun;
    try {
      run = await runSuite(config, { workerScript: ctx.io.workerScript, onStep: (_, done, total) => bar.update(done, total) });
    } finally {
      bar.finish();
    }
    const historyPath = join(dir, 'results.json');
    const previous = await readPrevious(historyPath);
    const rows = compareRuns(run, previous);
    let reportPath: string | undefined;
    if (writeReport) {
      await mkdir(dir, { recursive: true });
      reportPath = join(dir, 'summary.html');
      await writeFile(reportPath, renderHtmlReport(run, rows, previous));
      await writeFile(historyPath, `${JSON.stringify(run, null, 1)}\n`);
    }
    ctx.printJson({ run, rows, report: reportPath ?? null });
    ctx.print(`Benchmark summary (${config.n} × ${config.dim}, ${config.queries} queries${previous ? `; delta against ${previous.date}` : ''}):`);
    ctx.print(renderTextTable(rows).trimEnd());
    if (reportPath !== undefined) {
      ctx.print(`HTML summary saved to ${reportPath} (${(await stat(reportPath)).size} bytes)`);
      if (openReport) openInBrowser(reportPath, ctx);
    }
    return EXIT.OK;
  },
};
