/**
 * @module bench/peers
 * The peers we compare against, wrapped as engines for {@link measureSearch}: `hnswlib-node`
 * (HNSW in C++, M=16, efConstruction=200, seed 100, as DATASETS.md measured it) and
 * `bruteforce-js` (an exact single-thread JS scan). Each `run…` function builds the peer from the
 * data set, times the build, measures the search sweep, the serialized size and the resident size
 * (in a fresh process, see {@link residentBytes}). Nothing of a peer is cached between runs: its
 * build is part of the measurement.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectTopK } from './datasets.mjs';
import { measureSearch, residentBytes } from './measure.mjs';

/** The `ef` sweep of DATASETS.md's hnswlib rows. */
export const HNSW_EFS = [10, 20, 40, 80, 120, 200, 400];
export const HNSW_M = 16;
export const HNSW_EF_CONSTRUCTION = 200;
/** hnswlib's default random seed. */
export const HNSW_SEED = 100;

/**
 * hnswlib-node index as an engine. Its binding accepts only plain arrays, so each query is copied
 * into one reused array (part of the timed call, as it is for any user of the binding).
 */
export class HnswlibEngine {
  constructor(index, dim) {
    this.index = index;
    this.ef = -1;
    this.scratch = new Array(dim).fill(0);
  }

  search(query, { k = 10, ef = 10 } = {}) {
    if (ef !== this.ef) { this.index.setEf(ef); this.ef = ef; }
    const arr = this.scratch;
    for (let i = 0; i < arr.length; i++) arr[i] = query[i];
    const { neighbors, distances } = this.index.searchKnn(arr, k);
    const out = new Array(neighbors.length);
    for (let i = 0; i < neighbors.length; i++) out[i] = { id: String(neighbors[i]), distance: distances[i] };
    return out;
  }
}

/** Dot product of two equal-length rows, float64 accumulation in four independent sums. */
function dotRow(row, query) {
  const dim = row.length;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let d = 0;
  for (; d + 3 < dim; d += 4) {
    s0 += row[d] * query[d];
    s1 += row[d + 1] * query[d + 1];
    s2 += row[d + 2] * query[d + 2];
    s3 += row[d + 3] * query[d + 3];
  }
  for (; d < dim; d++) s0 += row[d] * query[d];
  return s0 + s1 + s2 + s3;
}

/** Squared L2 distance of two equal-length rows, float64 accumulation in four independent sums. */
function l2Row(row, query) {
  const dim = row.length;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let d = 0;
  for (; d + 3 < dim; d += 4) {
    const a0 = row[d] - query[d];
    const a1 = row[d + 1] - query[d + 1];
    const a2 = row[d + 2] - query[d + 2];
    const a3 = row[d + 3] - query[d + 3];
    s0 += a0 * a0; s1 += a1 * a1; s2 += a2 * a2; s3 += a3 * a3;
  }
  for (; d < dim; d++) { const a = row[d] - query[d]; s0 += a * a; }
  return s0 + s1 + s2 + s3;
}

/**
 * Exact search by a plain single-thread JS scan (cosine: dot on unit vectors; l2: squared L2),
 * float64 accumulation, bounded heap for the top k. Rows are views made once, which V8 reads
 * faster than offsets into one large array (about 1.0 against 1.3 ns per multiply-add here).
 */
export class BruteforceEngine {
  constructor(dataset) {
    const { base, dim, nBase } = dataset;
    this.rows = Array.from({ length: nBase }, (_, i) => base.subarray(i * dim, (i + 1) * dim));
    this.l2 = dataset.metric === 'l2';
    this.dist = new Float64Array(nBase);
    this.heapD = new Float64Array(0);
    this.heapI = new Int32Array(0);
  }

  search(query, { k = 10 } = {}) {
    const { rows, dist } = this;
    const n = rows.length;
    if (this.l2) for (let i = 0; i < n; i++) dist[i] = l2Row(rows[i], query);
    else for (let i = 0; i < n; i++) dist[i] = -dotRow(rows[i], query);
    if (this.heapD.length !== k) { this.heapD = new Float64Array(k); this.heapI = new Int32Array(k); }
    const count = selectTopK(dist, 0, n, k, this.heapD, this.heapI);
    const out = new Array(count);
    for (let i = 0; i < count; i++) out[i] = { id: String(this.heapI[i]), distance: this.l2 ? this.heapD[i] : 1 + this.heapD[i] };
    return out;
  }
}

function withTempDir(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'qdb-bench-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/**
 * Builds hnswlib-node's HierarchicalNSW on the base set and measures it.
 * Space: `cosine` for cosine data (hnswlib normalises and uses inner product), `l2` otherwise.
 * @param {object} dataset see `bench/datasets.mjs`.
 * @param {Int32Array} gt exact top-100, (nQueries, 100).
 * @param {{ efs?: number[], log?: (line: string) => void }} [options]
 * @returns {Promise<object>} `{ engine, params, buildSeconds, bytesPerVecSerialized,
 *   bytesPerVecResident, sweep }` (sweep rows from {@link measureSearch}).
 * @example const result = await runHnswlib(ds, gt, { log: console.log });
 */
export async function runHnswlib(dataset, gt, { efs = HNSW_EFS, log = () => {} } = {}) {
  const { HierarchicalNSW } = createRequire(import.meta.url)('hnswlib-node');
  const { dim, nBase, base } = dataset;
  const space = dataset.metric === 'cosine' ? 'cosine' : dataset.metric === 'ip' ? 'ip' : 'l2';
  log(`hnswlib: building (space ${space}, M=${HNSW_M}, efConstruction=${HNSW_EF_CONSTRUCTION}, ${nBase} vectors)`);
  const t0 = performance.now();
  const index = new HierarchicalNSW(space, dim);
  index.initIndex(nBase, HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_SEED);
  const row = new Array(dim);
  const step = Math.max(1, Math.floor(nBase / 10));
  for (let i = 0; i < nBase; i++) {
    for (let d = 0; d < dim; d++) row[d] = base[i * dim + d];
    index.addPoint(row, i);
    if ((i + 1) % step === 0) log(`  ${i + 1}/${nBase} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const buildSeconds = (performance.now() - t0) / 1000;
  log(`hnswlib: built in ${buildSeconds.toFixed(1)} s; sweeping ef`);
  const sweep = measureSearch(new HnswlibEngine(index, dim), dataset, gt, efs.map((ef) => ({ ef })), { log });
  const sizes = await withTempDir(async (dir) => {
    const file = join(dir, 'hnswlib.bin');
    index.writeIndexSync(file);
    const serialized = statSync(file).size;
    const resident = await residentBytes({
      file, space, dim,
      prepare: "args.HierarchicalNSW = require('hnswlib-node').HierarchicalNSW;",
      load: 'const index = new args.HierarchicalNSW(args.space, args.dim); index.readIndexSync(args.file); keep.push(index);',
    });
    return { serialized, resident };
  });
  return {
    engine: 'hnswlib',
    params: { space, M: HNSW_M, efConstruction: HNSW_EF_CONSTRUCTION, seed: HNSW_SEED },
    buildSeconds,
    bytesPerVecSerialized: sizes.serialized / nBase,
    bytesPerVecResident: sizes.resident / nBase,
    sweep,
  };
}

/**
 * Measures {@link BruteforceEngine}: build time 0 (it searches the array as given), serialized =
 * the raw float32 file, resident = that file read back into a fresh process.
 * @param {object} dataset see `bench/datasets.mjs`.
 * @param {Int32Array} gt exact top-100.
 * @param {{ queryCount?: number, log?: (line: string) => void }} [options] by default as many
 *   queries as cost about 5·10^9 multiply-adds (at least 20), to keep the run short.
 * @returns {Promise<object>} same shape as {@link runHnswlib}.
 * @example const result = await runBruteforce(ds, gt);
 */
export async function runBruteforce(dataset, gt, { queryCount, log = () => {} } = {}) {
  const { nBase, dim, base } = dataset;
  const count = queryCount ?? Math.min(dataset.nQueries, Math.max(20, Math.ceil(5e9 / (nBase * dim))));
  log(`bruteforce-js: ${count} queries`);
  const sweep = measureSearch(new BruteforceEngine(dataset), dataset, gt, [{}], { queryCount: count, warmup: 2, log });
  const sizes = await withTempDir(async (dir) => {
    const file = join(dir, 'vectors.f32');
    writeFileSync(file, new Uint8Array(base.buffer, base.byteOffset, base.byteLength));
    const serialized = statSync(file).size;
    const resident = await residentBytes({
      file,
      prepare: "args.fs = require('node:fs');",
      load: 'const buf = args.fs.readFileSync(args.file); keep.push(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4));',
    });
    return { serialized, resident };
  });
  return {
    engine: 'bruteforce-js',
    params: { queries: count },
    buildSeconds: 0,
    bytesPerVecSerialized: sizes.serialized / nBase,
    bytesPerVecResident: sizes.resident / nBase,
    sweep,
  };
}
