/**
 * @module bench/persistence
 * Benchmarks for the `.qdb` file and for changing a database (issue 4):
 *  - save and open times, file size, resident memory after open (fresh process) and the time from
 *    `open` to the first answered query, for synth-768 100k and a generated 1M × 768 set;
 *  - Recall@10 and QPS on synth-768 100k before deletes, after deleting 10%, and after compact();
 *  - filtered search at 1%, 10% and 50% selectivity (predicate on metadata), against brute force.
 * Writes the `persistence` section of docs/benchmarks.md.
 *
 * Usage: `node --expose-gc bench/persistence.mjs [--skip-1m]` (after `npm run build`).
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QuantumDB } from '../dist/index.js';
import { CACHE_DIR, groundTruth, mulberry32, recallAt, synth768 } from './datasets.mjs';
import { machineInfo, residentBytes } from './measure.mjs';
import { machineLine, publishSection } from './report.mjs';

const SKIP_1M = process.argv.includes('--skip-1m');
const SEARCH = { k: 10, ef: 160, rerank: 160 };
mkdirSync(CACHE_DIR, { recursive: true });
const log = (line) => console.log(line);
const seconds = (t0) => (performance.now() - t0) / 1000;

function measure(db, queries, dim, truthOf, options = SEARCH) {
  const n = queries.length / dim;
  const found = [];
  const t0 = performance.now();
  for (let q = 0; q < n; q++) found.push(db.search(queries.subarray(q * dim, (q + 1) * dim), options).map((h) => h.id));
  const qps = n / seconds(t0);
  let hits = 0, wanted = 0;
  found.forEach((ids, q) => { const truth = truthOf(q); wanted += truth.size; hits += ids.filter((id) => truth.has(id)).length; });
  return { qps, recall: hits / wanted };
}

/** Fresh processes that open each file: the median of this many runs is reported, every run listed. */
const OPEN_RUNS = 7;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Saves, then re-opens `path` in fresh processes: open time, first-query time and resident growth. */
async function fileFigures(db, path, dim) {
  let t0 = performance.now();
  await db.save(path);
  const saveSeconds = seconds(t0);
  const bytes = statSync(path).size;
  return { saveSeconds, bytes, ...(await openFigures(path, dim, false)) };
}

/** Opens `path` read-only in OPEN_RUNS fresh processes (through a memory mapping when `mmap`). */
async function openFigures(path, dim, mmap) {
  const probe = `
    const { QuantumDB } = args.module;
    const q = new Float32Array(${dim}).map((_, i) => Math.sin(i));
    const t0 = performance.now();
    const db = await QuantumDB.open(args.file, { readOnly: true, mmap: ${mmap} });
    const opened = performance.now();
    db.search(q, { k: 10 });
    args.timing = { openMs: opened - t0, firstQueryMs: performance.now() - t0 };
    keep.push(db);
    require('node:fs').writeFileSync(args.out, JSON.stringify(args.timing));`;
  const timingFile = `${path}.timing.json`;
  const runs = [];
  for (let run = 0; run < OPEN_RUNS; run++) {
    const resident = await residentBytes({ prepare: 'args.module = await importModule(args.dist);', load: probe, dist: new URL('../dist/index.js', import.meta.url).href, file: path, out: timingFile });
    runs.push({ resident, ...JSON.parse(readFileSync(timingFile, 'utf8')) });
    rmSync(timingFile);
  }
  const pick = (key) => median(runs.map((r) => r[key]));
  return { resident: pick('resident'), openMs: pick('openMs'), firstQueryMs: pick('firstQueryMs'), firstQueryRuns: runs.map((r) => r.firstQueryMs) };
}

async function synthRun() {
  const ds = await synth768({ nBase: 100_000, nQueries: 1_000 });
  const gt = await groundTruth(ds, 100);
  const dim = ds.dim;
  const ids = Array.from({ length: ds.nBase }, (_, i) => String(i));
  const metadata = ids.map((_, i) => ({ bucket: i % 100 }));
  const db = new QuantumDB({ dim, metric: 'cosine', seed: 1 });
  let t0 = performance.now();
  await db.addBatch(ids, ds.base, metadata).buildIndex();
  log(`synth-768 100k built in ${seconds(t0).toFixed(1)} s`);
  const path = join(CACHE_DIR, 'synth-100k.qdb');
  const file = await fileFigures(db, path, dim);
  log(`  file ${(file.bytes / 2 ** 20).toFixed(1)} MiB, save ${file.saveSeconds.toFixed(2)} s, open ${file.openMs.toFixed(0)} ms, first query ${file.firstQueryMs.toFixed(0)} ms, resident ${(file.resident / 2 ** 20).toFixed(1)} MiB`);
  const mapped = { bytes: file.bytes, ...(await openFigures(path, dim, true)) };
  log(`  through a mapping: open ${mapped.openMs.toFixed(0)} ms, first query ${mapped.firstQueryMs.toFixed(0)} ms`);

  const truthFull = (q) => new Set(Array.from(gt.subarray(q * 100, q * 100 + 10), String));
  const before = measure(db, ds.queries, dim, truthFull);
  // Delete every 10th row; the truth becomes the first 10 survivors of the exact top-100.
  const gone = ids.filter((_, i) => i % 10 === 7);
  db.delete(gone);
  const truthAfter = (q) => new Set(Array.from(gt.subarray(q * 100, (q + 1) * 100)).filter((i) => i % 10 !== 7).slice(0, 10).map(String));
  const afterDelete = measure(db, ds.queries, dim, truthAfter);
  t0 = performance.now();
  await db.compact();
  const compactSeconds = seconds(t0);
  const afterCompact = measure(db, ds.queries, dim, truthAfter);
  log(`  R@10 before ${before.recall.toFixed(4)}, after 10% deletes ${afterDelete.recall.toFixed(4)}, after compact ${afterCompact.recall.toFixed(4)} (${compactSeconds.toFixed(1)} s)`);

  const filters = [];
  for (const selectivity of [0.01, 0.1, 0.5]) {
    const buckets = Math.round(selectivity * 100);
    const live = (i) => i % 10 !== 7;
    const allowed = (i) => live(i) && i % 100 < buckets;
    const truth = (q) => exactFiltered(ds, q, allowed);
    const result = measure(db, ds.queries.subarray(0, 200 * dim), dim, truth, { ...SEARCH, filter: (_, meta) => meta.bucket < buckets });
    filters.push({ selectivity, ...result });
    log(`  filter ${selectivity * 100}%: R@10 ${result.recall.toFixed(4)}, ${result.qps.toFixed(0)} QPS`);
  }
  return { file, mapped, before, afterDelete, afterCompact, compactSeconds, filters };
}

/** Exact top-10 ids of query `q` among the rows `allowed` accepts (cosine on unit vectors). */
function exactFiltered(ds, q, allowed) {
  const { dim } = ds;
  const query = ds.queries.subarray(q * dim, (q + 1) * dim);
  const best = [];
  for (let i = 0; i < ds.nBase; i++) {
    if (!allowed(i)) continue;
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += ds.base[i * dim + j] * query[j];
    if (best.length < 10 || dot > best[best.length - 1][0]) {
      best.push([dot, i]);
      best.sort((a, b) => b[0] - a[0]);
      if (best.length > 10) best.pop();
    }
  }
  return new Set(best.map(([, i]) => String(i)));
}

async function millionRun() {
  const n = 1_000_000, dim = 768;
  const path = join(CACHE_DIR, 'generated-1m.qdb');
  const random = mulberry32(5);
  let db = new QuantumDB({ dim, metric: 'cosine', seed: 1, efConstruction: 40, trainSampleSize: 10_000 });
  const block = 50_000;
  let t0 = performance.now();
  const centres = Array.from({ length: 256 }, () => Float32Array.from({ length: dim }, () => random() - 0.5));
  for (let first = 0; first < n; first += block) {
    const rows = new Float32Array(block * dim);
    for (let r = 0; r < block; r++) {
      const c = centres[(random() * 256) | 0];
      for (let j = 0; j < dim; j++) rows[r * dim + j] = c[j] + 0.3 * (random() - 0.5);
    }
    db.addBatch(Array.from({ length: block }, (_, i) => `r${first + i}`), rows);
  }
  await db.buildIndex();
  log(`generated 1M × 768 and built (efConstruction 40) in ${seconds(t0).toFixed(0)} s`);
  t0 = performance.now();
  await db.save(path);
  const saveSeconds = seconds(t0);
  // The opens run in fresh processes: this one lets its 3 GB database go first, so they do not share the machine with its collection.
  db.close();
  db = undefined;
  globalThis.gc?.();
  const file = { saveSeconds, bytes: statSync(path).size, ...(await openFigures(path, dim, false)) };
  log(`  file ${(file.bytes / 2 ** 30).toFixed(2)} GiB, save ${file.saveSeconds.toFixed(1)} s, open ${file.openMs.toFixed(0)} ms, first query ${file.firstQueryMs.toFixed(0)} ms, resident ${(file.resident / 2 ** 20).toFixed(0)} MiB`);
  rmSync(path, { force: true });
  return { file };
}

const machine = machineInfo();
const synth = await synthRun();
const million = SKIP_1M ? undefined : await millionRun();
const mib = (b) => (b / 2 ** 20).toFixed(1);
const fileRow = (name, f) => `| ${name} | ${mib(f.bytes)} | ${f.saveSeconds?.toFixed(2) ?? '–'} | ${f.openMs.toFixed(0)} | ${f.firstQueryMs.toFixed(0)} (${f.firstQueryRuns.map((ms) => ms.toFixed(0)).join(', ')}) | ${mib(f.resident)} |`;
const section = [
  '## Persistence, deletes and filters',
  '',
  `Machine: ${machineLine(machine)}; load average at start ${machine.load1}. Search settings ${JSON.stringify(SEARCH)}.`,
  '',
  '| database | file MiB | save s | open ms | open → first answer ms | resident after open MiB |',
  '|---|---:|---:|---:|---:|---:|',
  fileRow('synth-768 100k', synth.file),
  fileRow('synth-768 100k, opened with `{ mmap: true }`', synth.mapped),
  ...(million ? [fileRow('generated 1M × 768 (efConstruction 40)', million.file)] : []),
  '',
  `Open, first answer and resident are medians of ${OPEN_RUNS} fresh processes (every run's first-answer time in brackets); each opens the file read-only and answers one query, with the default positional reads (the \`{ mmap: true }\` row reads the sections through the optional \`@riaskov/mmap-io\` mapping instead). Resident = growth of (RSS − V8 heap); the re-rank vectors stay in the file and are read per query. The benchmark process drops its own 1M database before those opens. Most of a large open is the operating system faulting in fresh pages for codes and graph (see the kernels section: 64 MiB of fresh WebAssembly memory take 44 ms to write, 2.4 ms once touched).`,
  '',
  '| synth-768 100k | R@10 | QPS |',
  '|---|---:|---:|',
  `| before deletes | ${synth.before.recall.toFixed(4)} | ${synth.before.qps.toFixed(0)} |`,
  `| after deleting 10% (tombstones) | ${synth.afterDelete.recall.toFixed(4)} | ${synth.afterDelete.qps.toFixed(0)} |`,
  `| after compact() (${synth.compactSeconds.toFixed(1)} s) | ${synth.afterCompact.recall.toFixed(4)} | ${synth.afterCompact.qps.toFixed(0)} |`,
  '',
  '| filter (predicate on metadata, 200 queries) | R@10 vs exact filtered top-10 | QPS |',
  '|---|---:|---:|',
  ...synth.filters.map((f) => `| ${f.selectivity * 100}% of items match | ${f.recall.toFixed(4)} | ${f.qps.toFixed(0)} |`),
].join('\n');
publishSection('persistence', section);
log(section);
