/**
 * @module bench/run
 * Runs the ANN benchmark: loads the data sets, computes (or reads cached) exact ground truth,
 * measures the peers (bruteforce-js, hnswlib-node) and QuantumDB from `dist/` with the same loop,
 * saves `bench/results/latest.json` and rewrites the `hnsw` section of `docs/benchmarks.md`.
 *
 * Usage: `node --expose-gc bench/run.mjs [--quick] [--dataset synth|mnist|all] [--only ours|peers|ENGINE]`
 *   --quick    synth-768 with 20k base / 200 queries (a fast check); results go to
 *              `bench/.cache/quick.json` and the tables to stdout, the committed files are untouched.
 *   --dataset  which data sets (default all).
 *   --only     measure only our engine, only the peers, or one engine (quantumdb, hnswlib,
 *              bruteforce-js); engines not measured keep their previous results in latest.json
 *              (each carries its own date).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, statSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { synth768, mnist784, groundTruth, CACHE_DIR } from './datasets.mjs';
import { runHnswlib, runBruteforce } from './peers.mjs';
import { machineInfo, measureSearch, residentBytes, round } from './measure.mjs';
import { renderSection, writeReport, DEFAULT_RESULTS } from './report.mjs';

/**
 * QuantumDB's search settings: every (ef, rerank) pair with ef >= rerank, in this order, then the
 * extra settings. rerank 0 = ranking by the 16-byte codes alone. Edit freely.
 */
const OURS_EF = [16, 32, 48, 64, 96, 128, 160, 200, 256, 320, 400];
/** Settings outside the ef = rerank line, each an object of search options (for example `{ flat: true, rerank: 64 }`). */
const OURS_EXTRA_SETTINGS = [{ ef: 64, rerank: 0 }, { ef: 256, rerank: 0 }, { ef: 128, rerank: 64 }, { ef: 256, rerank: 128 }, { flat: true, rerank: 0 }];
/** Constructor options added to `{ dim, metric, seed: 1 }`. */
const OURS_DB_OPTIONS = {};
/**
 * Build options: codec v1 (PCA + PQ). `codec: 'auto'` (the default) would add OPQ and up to 60 s of
 * learned-codec training at this size; bench/codec.mjs measures the codecs against each other.
 */
const OURS_BUILD_OPTIONS = { codec: 'pq' };

const OURS_SETTINGS = [...OURS_EF.map((ef) => ({ ef, rerank: ef })), ...OURS_EXTRA_SETTINGS];

const QUICK = { nBase: 20_000, nQueries: 200 };
/** `--only` values: a group or one engine. */
const ONLY = ['all', 'ours', 'peers', 'quantumdb', 'hnswlib', 'bruteforce-js'];
const DIST_URL = new URL('../dist/index.js', import.meta.url);
const QUICK_RESULTS = join(CACHE_DIR, 'quick.json');

function log(line) {
  console.log(line);
}

function parseArgs(argv) {
  const opts = { quick: false, dataset: 'all', only: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--dataset') opts.dataset = argv[++i];
    else if (a === '--only') opts.only = argv[++i];
    else if (a === '--help' || a === '-h') opts.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!['synth', 'mnist', 'all'].includes(opts.dataset)) throw new Error('--dataset must be synth, mnist or all');
  if (!ONLY.includes(opts.only)) throw new Error(`--only must be one of ${ONLY.join(', ')}`);
  return opts;
}

/** Keeps the JSON small and stable: fixed precision for every measured number. */
function compact(result) {
  const sweep = result.sweep.map((r) => (r.error ? r : {
    ...r, qps: round(r.qps, 1), recall10: round(r.recall10, 4), p50us: round(r.p50us, 1), p99us: round(r.p99us, 1),
  }));
  const out = { ...result, sweep, buildSeconds: round(result.buildSeconds, 2) };
  for (const key of ['bytesPerVecSerialized', 'bytesPerVecResident']) out[key] = round(result[key], 1);
  if (result.buildSplit) out.buildSplit = { codec: round(result.buildSplit.codec, 2), graph: round(result.buildSplit.graph, 2) };
  return out;
}

function sizeOnDisk(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, f) => sum + sizeOnDisk(join(path, f)), 0);
}

/** Serialized and resident size of our index, when this build of QuantumDB can save and re-open. */
async function oursSizes(db, QuantumDB, n) {
  const notes = [];
  const open = ['open', 'load'].find((m) => typeof QuantumDB[m] === 'function');
  if (typeof db.save !== 'function') {
    notes.push('no db.save(): serialized/resident size not measured');
    return { serialized: null, resident: null, notes };
  }
  const dir = mkdtempSync(join(tmpdir(), 'qdb-bench-'));
  try {
    const file = join(dir, 'index.qdb');
    await db.save(file);
    const serialized = sizeOnDisk(file) / n;
    if (!open) {
      notes.push('no QuantumDB.open(): resident size not measured');
      return { serialized, resident: null, notes };
    }
    const resident = await residentBytes({
      file, open, distUrl: DIST_URL.href,
      prepare: 'args.QuantumDB = (await importModule(args.distUrl)).QuantumDB;',
      load: 'keep.push(await args.QuantumDB[args.open](args.file));',
    }) / n;
    return { serialized, resident, notes };
  } catch (err) {
    notes.push(`size probe failed: ${err.message}`);
    return { serialized: null, resident: null, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Builds and measures QuantumDB from `dist/`; returns null (after saying why) when it cannot. */
async function runOurs(dataset, gt) {
  let QuantumDB;
  try {
    ({ QuantumDB } = await import(DIST_URL.href));
    if (typeof QuantumDB !== 'function') throw new Error('dist/index.js exports no QuantumDB class');
  } catch (err) {
    log(`quantumdb: skipped, cannot import dist/index.js (${err.message.split('\n')[0]}); run \`npm run build\` first`);
    return null;
  }
  const { dim, metric, nBase, base } = dataset;
  log(`quantumdb: building (${nBase} vectors)`);
  const ids = Array.from({ length: nBase }, (_, i) => String(i));
  let db;
  let buildSeconds;
  try {
    const t0 = performance.now();
    db = new QuantumDB({ dim, metric, seed: 1, ...OURS_DB_OPTIONS });
    db.addBatch(ids, base);
    let last = 0;
    await db.buildIndex({
      ...OURS_BUILD_OPTIONS,
      onProgress: (p) => {
        const now = performance.now();
        if (now - last < 5000) return;
        last = now;
        log(`  ${typeof p === 'object' ? JSON.stringify(p) : String(p)} (${((now - t0) / 1000).toFixed(1)} s)`);
      },
    });
    buildSeconds = (performance.now() - t0) / 1000;
  } catch (err) {
    log(`quantumdb: build failed: ${err.stack ?? err}`);
    return null;
  }
  const stats = typeof db.stats === 'function' ? db.stats() : undefined;
  log(`quantumdb: built in ${buildSeconds.toFixed(1)} s; sweeping ${OURS_SETTINGS.length} settings`);
  const sweep = measureSearch(db, dataset, gt, OURS_SETTINGS, { log });
  const sizes = await oursSizes(db, QuantumDB, nBase);
  const notes = [...sizes.notes];
  if (stats?.bytes?.total) notes.push(`stats(): ${round(stats.bytes.total / nBase, 1)} bytes/vec in memory`);
  return {
    engine: 'quantumdb',
    params: { ...OURS_DB_OPTIONS, ...OURS_BUILD_OPTIONS },
    pick: 'fastest',
    buildSeconds,
    buildSplit: stats?.buildSeconds,
    bytesPerVecSerialized: sizes.serialized,
    bytesPerVecResident: sizes.resident,
    stats: stats?.bytes,
    notes,
    sweep,
  };
}

async function loadDataset(which, quick) {
  const t0 = performance.now();
  const dataset = which === 'synth' ? await synth768(quick ? QUICK : {}) : mnist784();
  const loadSeconds = (performance.now() - t0) / 1000;
  log(`${dataset.name}: ${dataset.nBase} base, ${dataset.nQueries} queries, ${dataset.dim}-d ${dataset.metric} (${loadSeconds.toFixed(1)} s)`);
  const t1 = performance.now();
  const gt = await groundTruth(dataset);
  log(`${dataset.name}: ground truth ready (${((performance.now() - t1) / 1000).toFixed(1)} s)`);
  return { dataset, gt };
}

function readResults(path) {
  if (!existsSync(path)) return { datasets: {} };
  try {
    const results = JSON.parse(readFileSync(path, 'utf8'));
    for (const [key, { engines, ...meta }] of Object.entries(results.datasets ?? {})) {
      results.datasets[key] = { ...meta, engines: engines ?? {} };
    }
    return results;
  } catch {
    log(`warning: ${path} is not valid JSON; starting a new results file`);
    return { datasets: {} };
  }
}

/** JSON with one line per sweep row and per small record, so diffs between runs stay readable. */
function toJson(results) {
  const inline = [];
  const oneLine = new Set(['machine', 'params', 'stats', 'buildSplit', 'load1']);
  const text = JSON.stringify(results, (key, value) => {
    if (key === 'sweep' && Array.isArray(value)) {
      return value.map((row) => { inline.push(JSON.stringify(row)); return `@@inline:${inline.length - 1}@@`; });
    }
    if (oneLine.has(key) && value && typeof value === 'object') {
      inline.push(JSON.stringify(value));
      return `@@inline:${inline.length - 1}@@`;
    }
    return value;
  }, 1);
  return text.replace(/"@@inline:(\d+)@@"/g, (_, i) => inline[Number(i)]);
}

function saveResults(path, results) {
  mkdirSync(resolve(path, '..'), { recursive: true });
  writeFileSync(path, `${toJson(results)}\n`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(`node --expose-gc bench/run.mjs [--quick] [--dataset synth|mnist|all] [--only ${ONLY.slice(1).join('|')}]`);
    return;
  }
  if (typeof globalThis.gc !== 'function') log('note: run with `node --expose-gc` so memory is collected between settings');
  const resultsPath = opts.quick ? QUICK_RESULTS : DEFAULT_RESULTS;
  const machine = machineInfo();
  log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; load ${machine.load1}; speed probe: 768-d JS dot ${machine.jsDot768Ns} ns`);
  const results = readResults(resultsPath);
  results.schema = 1;
  results.machine = machine;
  results.datasets ??= {};
  const which = opts.dataset === 'all' ? ['synth', 'mnist'] : [opts.dataset];
  if (opts.quick && opts.dataset === 'all') which.splice(1);
  for (const w of which) {
    const { dataset, gt } = await loadDataset(w, opts.quick);
    const key = `${dataset.name}-${dataset.nBase}`;
    const entry = {
      name: dataset.name, metric: dataset.metric, dim: dataset.dim,
      nBase: dataset.nBase, nQueries: dataset.nQueries, groundTruthK: 100,
      engines: results.datasets[key]?.engines ?? {},
    };
    results.datasets[key] = entry;
    const measure = async (run) => {
      const loadBefore = loadavg()[0];
      const r = await run();
      if (!r) return;
      const load1 = [round(loadBefore, 2), round(loadavg()[0], 2)];
      entry.engines[r.engine] = { ...compact(r), measuredAt: new Date().toISOString(), load1, machine };
      saveResults(resultsPath, results);
    };
    const wanted = (engine, group) => opts.only === 'all' || opts.only === group || opts.only === engine;
    if (wanted('bruteforce-js', 'peers')) await measure(() => runBruteforce(dataset, gt, { log }));
    if (wanted('hnswlib', 'peers')) await measure(() => runHnswlib(dataset, gt, { log }));
    if (wanted('quantumdb', 'ours')) await measure(() => runOurs(dataset, gt));
    globalThis.gc?.();
  }
  saveResults(resultsPath, results);
  log(`results: ${resultsPath}`);
  if (opts.quick) {
    console.log(`\n${renderSection(results)}`);
  } else {
    log(`report: ${writeReport(results)}`);
  }
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
