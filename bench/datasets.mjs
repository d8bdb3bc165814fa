/**
 * @module bench/datasets
 * The benchmark data sets and their exact ground truth, as specified in the project's DATASETS.md:
 * synth-768 (seeded, clustered, anisotropic, unit-norm, cosine) and mnist-784 (from the `mnist`
 * package, L2). Generated arrays and ground truth are cached as raw little-endian files in
 * `bench/.cache/` (git-ignored). Both the generator and the brute-force ground truth split their
 * work over two `worker_threads` when the job is large; a worker runs this same module.
 *
 * Layouts: every vector set is a `Float32Array` of shape (n, dim), row-major. Ground truth is an
 * `Int32Array` of shape (nQueries, k), row-major, each row the base row indices of the k nearest
 * neighbours, nearest first (ties broken by the lower index).
 */
import { existsSync, mkdirSync, readdirSync, openSync, readSync, closeSync, writeFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

/** Directory of the on-disk cache, next to this file. */
export const CACHE_DIR = fileURLToPath(new URL('./.cache/', import.meta.url));

const SYNTH_DIM = 768;
const SYNTH_RANK = 96;
const SYNTH_CLUSTERS = 1000;
const SYNTH_NOISE = 0.01;
const SEED_STRUCTURE = 42;
const SEED_BASE = 43;
const SEED_QUERIES = 44;
/** Uniforms one synth point consumes: 1 for its cluster, 2 per normal, 96 + 768 normals. */
const UNIFORMS_PER_POINT = 1 + 2 * SYNTH_RANK + 2 * SYNTH_DIM;
const MULBERRY_STEP = 0x6d2b79f5;
/** Below this many rows the work stays on the calling thread (worker start-up is not free). */
const PARALLEL_MIN_ROWS = 4096;
const WORKERS = 2;

/**
 * mulberry32 PRNG (Tommy Ettinger's public-domain generator), exactly as DATASETS.md states it.
 * @param {number} seed 32-bit seed (the state before the first step).
 * @returns {() => number} a function returning uniforms in [0, 1).
 */
export function mulberry32(seed) {
  let a = seed | 0;
  return () => {
    a = (a + MULBERRY_STEP) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Standard normal draws by Box-Muller, cosine branch only: two uniforms per draw.
 * @param {() => number} uniform a uniform source such as {@link mulberry32}.
 * @returns {() => number} a function returning N(0, 1) draws (float64).
 */
export function boxMuller(uniform) {
  return () => {
    const u1 = uniform();
    const u2 = uniform();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  };
}

/**
 * The shared structure of synth-768, drawn from stream seed 42: the orthonormal basis W, the
 * spectrum and the 1,000 cluster centres and spreads. Costs about 0.1 s.
 * @returns {{ W: Float64Array, spectrum: Float64Array, mu: Float64Array, tau: Float64Array }}
 *   W: (768, 96) row-major, orthonormal columns; spectrum: 96; mu: (1000, 96); tau: 1000.
 */
export function synthStructure() {
  const uniform = mulberry32(SEED_STRUCTURE);
  const normal = boxMuller(uniform);
  const D = SYNTH_DIM;
  const R = SYNTH_RANK;
  const W = new Float64Array(D * R);
  for (let i = 0; i < D * R; i++) W[i] = normal();
  // Modified Gram-Schmidt on the columns, column 0 first: each column loses its projection on
  // every earlier (already normalised) column, each projection taken from the updated column.
  for (let j = 0; j < R; j++) {
    for (let i = 0; i < j; i++) {
      let r = 0;
      for (let k = 0; k < D; k++) r += W[k * R + i] * W[k * R + j];
      for (let k = 0; k < D; k++) W[k * R + j] -= r * W[k * R + i];
    }
    let sq = 0;
    for (let k = 0; k < D; k++) sq += W[k * R + j] * W[k * R + j];
    const norm = Math.sqrt(sq);
    for (let k = 0; k < D; k++) W[k * R + j] /= norm;
  }
  const spectrum = new Float64Array(R);
  for (let j = 0; j < R; j++) spectrum[j] = (j + 1) ** -0.5;
  const mu = new Float64Array(SYNTH_CLUSTERS * R);
  const tau = new Float64Array(SYNTH_CLUSTERS);
  for (let c = 0; c < SYNTH_CLUSTERS; c++) {
    for (let j = 0; j < R; j++) mu[c * R + j] = spectrum[j] * normal();
    tau[c] = 0.75 + 0.5 * uniform();
  }
  return { W, spectrum, mu, tau };
}

/**
 * Generates points [from, to) of one synth stream into `out` (row 0 of `out` is point `from`).
 * The stream is skipped ahead arithmetically: mulberry32's state advances by a constant per draw,
 * and every point consumes exactly {@link UNIFORMS_PER_POINT} uniforms.
 */
function synthRows(structure, seed, from, to, out) {
  const { W, spectrum, mu, tau } = structure;
  const D = SYNTH_DIM;
  const R = SYNTH_RANK;
  const skip = (from * UNIFORMS_PER_POINT) % 4294967296;
  const uniform = mulberry32((seed + Math.imul(skip | 0, MULBERRY_STEP)) | 0);
  const normal = boxMuller(uniform);
  const z = new Float64Array(R);
  const y = new Float64Array(D);
  for (let p = from; p < to; p++) {
    const c = Math.floor(uniform() * SYNTH_CLUSTERS);
    const t = tau[c];
    for (let j = 0; j < R; j++) z[j] = mu[c * R + j] + t * spectrum[j] * normal();
    let sq = 0;
    for (let k = 0; k < D; k++) {
      const g = normal();
      const row = k * R;
      let s = 0;
      for (let j = 0; j < R; j++) s += W[row + j] * z[j];
      const v = SYNTH_NOISE * g + s;
      y[k] = v;
      sq += v * v;
    }
    const norm = Math.sqrt(sq);
    const o = (p - from) * D;
    for (let k = 0; k < D; k++) out[o + k] = y[k] / norm;
  }
}

/** Runs `task` on {@link WORKERS} workers, each given a disjoint [from, to) share of `n`. */
function runWorkers(task, n, shared) {
  const per = Math.ceil(n / WORKERS);
  const jobs = [];
  for (let w = 0; w < WORKERS; w++) {
    const from = Math.min(n, w * per);
    const to = Math.min(n, from + per);
    if (from >= to) continue;
    jobs.push(new Promise((resolve, reject) => {
      const worker = new Worker(new URL(import.meta.url), { workerData: { task, from, to, ...shared } });
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => { if (code !== 0) reject(new Error(`bench worker exited with ${code}`)); });
    }));
  }
  return Promise.all(jobs);
}

async function generateSynth(seed, n, parallel) {
  if (!parallel || n < PARALLEL_MIN_ROWS) {
    const out = new Float32Array(n * SYNTH_DIM);
    synthRows(synthStructure(), seed, 0, n, out);
    return out;
  }
  const sab = new SharedArrayBuffer(n * SYNTH_DIM * 4);
  await runWorkers('synth', n, { seed, out: sab });
  return new Float32Array(sab).slice();
}

function cachePath(file) {
  return join(CACHE_DIR, file);
}

/** Reads the first `count` elements of a raw little-endian file into a new typed array. */
function readPrefix(path, TypedArray, count) {
  const out = new TypedArray(count);
  const bytes = new Uint8Array(out.buffer);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < bytes.length) {
      const got = readSync(fd, bytes, done, bytes.length - done, done);
      if (got === 0) throw new Error(`cache file ${path} is shorter than expected`);
      done += got;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Writes atomically (temp file + rename), so a concurrent reader never sees half a file. */
function writeCache(path, typed) {
  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
  renameSync(tmp, path);
}

/**
 * One synth stream, from the cache when a cached stream of at least `n` rows exists (every
 * shorter stream is a prefix of a longer one), else generated and cached.
 */
async function synthStream(kind, seed, n, cache) {
  const prefix = `synth-768-${kind}-n`;
  if (cache && existsSync(CACHE_DIR)) {
    const hit = readdirSync(CACHE_DIR)
      .map((f) => /^synth-768-(base|queries)-n(\d+)\.f32$/.exec(f))
      .filter((m) => m && m[1] === kind && Number(m[2]) >= n)
      .sort((a, b) => Number(a[2]) - Number(b[2]))[0];
    if (hit) return readPrefix(cachePath(hit[0]), Float32Array, n * SYNTH_DIM);
  }
  const data = await generateSynth(seed, n, cache);
  if (cache) writeCache(cachePath(`${prefix}${n}.f32`), data);
  return data;
}

/**
 * synth-768: clustered, anisotropic, unit-norm vectors (DATASETS.md recipe, bit-exact).
 * @param {{ nBase?: number, nQueries?: number, cache?: boolean }} [options] sizes (default the full
 *   100,000 / 1,000); `cache: false` neither reads nor writes `bench/.cache/` and stays on this thread.
 * @returns {Promise<{ name: string, metric: 'cosine', dim: number, base: Float32Array,
 *   queries: Float32Array, nBase: number, nQueries: number }>} base (nBase, 768) and queries
 *   (nQueries, 768), row-major.
 * @example const ds = await synth768({ nBase: 20000, nQueries: 200 });
 */
export async function synth768({ nBase = 100_000, nQueries = 1_000, cache = true } = {}) {
  const base = await synthStream('base', SEED_BASE, nBase, cache);
  const queries = await synthStream('queries', SEED_QUERIES, nQueries, cache);
  return { name: 'synth-768', metric: 'cosine', dim: SYNTH_DIM, base, queries, nBase, nQueries };
}

/**
 * mnist-784: the 10,000 digits of the `mnist` package, classes concatenated in order (class 0
 * first); every 10th digit (index % 10 == 0) is a query, the rest are base. Pixels in [0, 1].
 * @returns {{ name: string, metric: 'l2', dim: number, base: Float32Array, queries: Float32Array,
 *   nBase: number, nQueries: number, baseLabels: Uint8Array, queryLabels: Uint8Array }}
 * @example const ds = mnist784(); // ds.nBase === 9000, ds.nQueries === 1000
 */
export function mnist784() {
  const mnist = createRequire(import.meta.url)('mnist');
  const dim = 784;
  const classes = [];
  let total = 0;
  for (let c = 0; c < 10; c++) {
    classes.push(mnist[c].raw);
    total += mnist[c].raw.length / dim;
  }
  const nQueries = Math.ceil(total / 10);
  const nBase = total - nQueries;
  const base = new Float32Array(nBase * dim);
  const queries = new Float32Array(nQueries * dim);
  const baseLabels = new Uint8Array(nBase);
  const queryLabels = new Uint8Array(nQueries);
  let index = 0;
  let b = 0;
  let q = 0;
  for (let c = 0; c < 10; c++) {
    const raw = classes[c];
    for (let s = 0; s < raw.length / dim; s++, index++) {
      const isQuery = index % 10 === 0;
      const target = isQuery ? queries : base;
      const row = isQuery ? q : b;
      for (let d = 0; d < dim; d++) target[row * dim + d] = raw[s * dim + d];
      if (isQuery) queryLabels[q++] = c;
      else baseLabels[b++] = c;
    }
  }
  return { name: 'mnist-784', metric: 'l2', dim, base, queries, nBase, nQueries, baseLabels, queryLabels };
}

/** FNV-1a over a strided sample of both arrays' bits: cache keys change when the data change. */
function fingerprint(dataset) {
  let h = 0x811c9dc5;
  for (const arr of [dataset.base, dataset.queries]) {
    const bits = new Uint32Array(arr.buffer, arr.byteOffset, arr.length);
    for (let i = 0; i < bits.length; i += 1009) h = Math.imul(h ^ bits[i], 0x01000193);
    h = Math.imul(h ^ bits.length, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Exact k nearest base rows of queries [q0, q1) into `out` (row 0 = query q0). cosine: largest dot
 * (vectors are unit-norm); l2: smallest squared L2. Float64 accumulation; queries are processed in
 * blocks so each base row is read once per block rather than once per query.
 */
function exactTopK(base, queries, dim, nBase, metric, k, q0, q1, out) {
  const QB = 8;
  const dist = new Float64Array(QB * nBase);
  const heapD = new Float64Array(k);
  const heapI = new Int32Array(k);
  for (let qs = q0; qs < q1; qs += QB) {
    const qe = Math.min(q1, qs + QB);
    for (let i = 0; i < nBase; i++) {
      const r = i * dim;
      for (let q = qs; q < qe; q++) {
        const o = q * dim;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        let d = 0;
        if (metric === 'l2') {
          for (; d + 3 < dim; d += 4) {
            const a0 = base[r + d] - queries[o + d];
            const a1 = base[r + d + 1] - queries[o + d + 1];
            const a2 = base[r + d + 2] - queries[o + d + 2];
            const a3 = base[r + d + 3] - queries[o + d + 3];
            s0 += a0 * a0; s1 += a1 * a1; s2 += a2 * a2; s3 += a3 * a3;
          }
          for (; d < dim; d++) { const a = base[r + d] - queries[o + d]; s0 += a * a; }
          dist[(q - qs) * nBase + i] = s0 + s1 + s2 + s3;
        } else {
          for (; d + 3 < dim; d += 4) {
            s0 += base[r + d] * queries[o + d];
            s1 += base[r + d + 1] * queries[o + d + 1];
            s2 += base[r + d + 2] * queries[o + d + 2];
            s3 += base[r + d + 3] * queries[o + d + 3];
          }
          for (; d < dim; d++) s0 += base[r + d] * queries[o + d];
          dist[(q - qs) * nBase + i] = -(s0 + s1 + s2 + s3);
        }
      }
    }
    for (let q = qs; q < qe; q++) {
      const n = selectTopK(dist, (q - qs) * nBase, nBase, k, heapD, heapI);
      out.set(heapI.subarray(0, n), (q - q0) * k);
    }
  }
}

/** Is (da, ia) worse (farther, or equally far with a higher index) than (db, ib)? */
function worse(da, ia, db, ib) {
  return da > db || (da === db && ia > ib);
}

/**
 * The k smallest of dist[off .. off+n) by a bounded max-heap; leaves them sorted nearest first in
 * heapD/heapI and returns how many there are (min(k, n)).
 */
export function selectTopK(dist, off, n, k, heapD, heapI) {
  let size = 0;
  for (let i = 0; i < n; i++) {
    const d = dist[off + i];
    if (size < k) {
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(d, i, heapD[p], heapI[p])) break;
        heapD[c] = heapD[p]; heapI[c] = heapI[p]; c = p;
      }
      heapD[c] = d; heapI[c] = i;
    } else if (worse(heapD[0], heapI[0], d, i)) {
      siftDown(heapD, heapI, size, 0, d, i);
    }
  }
  for (let end = size - 1; end > 0; end--) {
    const d = heapD[end];
    const i = heapI[end];
    heapD[end] = heapD[0]; heapI[end] = heapI[0];
    siftDown(heapD, heapI, end, 0, d, i);
  }
  return size;
}

function siftDown(heapD, heapI, size, start, d, i) {
  let c = start;
  for (;;) {
    let m = 2 * c + 1;
    if (m >= size) break;
    if (m + 1 < size && worse(heapD[m + 1], heapI[m + 1], heapD[m], heapI[m])) m++;
    if (!worse(heapD[m], heapI[m], d, i)) break;
    heapD[c] = heapD[m]; heapI[c] = heapI[m]; c = m;
  }
  heapD[c] = d; heapI[c] = i;
}

function toShared(typed) {
  if (typed.buffer instanceof SharedArrayBuffer) return typed;
  const copy = new Float32Array(new SharedArrayBuffer(typed.byteLength));
  copy.set(typed);
  return copy;
}

/**
 * Exact top-k of every query by brute force (cosine: dot on unit vectors; l2: squared L2), split
 * over two worker threads and cached in `bench/.cache/` under the data's name, sizes and fingerprint.
 * @param {{ name: string, metric: string, dim: number, base: Float32Array, queries: Float32Array,
 *   nBase: number, nQueries: number }} dataset
 * @param {number} [k] neighbours per query (default 100).
 * @param {{ cache?: boolean, parallel?: boolean }} [options] `cache: false` skips the disk cache;
 *   `parallel: false` stays on this thread.
 * @returns {Promise<Int32Array>} (nQueries, k) row-major base row indices, nearest first.
 * @example const gt = await groundTruth(await synth768()); // 1000 * 100 indices
 */
export async function groundTruth(dataset, k = 100, { cache = true, parallel = true } = {}) {
  const { name, metric, dim, nBase, nQueries } = dataset;
  const file = cachePath(`gt-${name}-b${nBase}-q${nQueries}-k${k}-${fingerprint(dataset)}.i32`);
  if (cache && existsSync(file)) return readPrefix(file, Int32Array, nQueries * k);
  let gt;
  if (!parallel || nQueries * nBase < 1e6) {
    gt = new Int32Array(nQueries * k);
    exactTopK(dataset.base, dataset.queries, dim, nBase, metric, k, 0, nQueries, gt);
  } else {
    const out = new SharedArrayBuffer(nQueries * k * 4);
    await runWorkers('gt', nQueries, {
      base: toShared(dataset.base), queries: toShared(dataset.queries), dim, nBase, metric, k, out,
    });
    gt = new Int32Array(out).slice();
  }
  if (cache) writeCache(file, gt);
  return gt;
}

/**
 * Mean k-recall@k: for each query, |first k results ∩ true top k| / k, averaged over the queries
 * given (results may cover only the first queries of the ground truth).
 * @param {ArrayLike<ArrayLike<number>>} results per query, the found base row indices, best first.
 * @param {Int32Array} gt ground truth, (nQueries, gtK) row-major.
 * @param {number} k cut-off, at most gtK.
 * @param {number} [gtK] ground-truth row length (default 100).
 * @returns {number} recall in [0, 1].
 * @example recallAt([[1, 2]], Int32Array.from([2, 3]), 2, 2) // 0.5
 */
export function recallAt(results, gt, k, gtK = 100) {
  if (results.length === 0) return 0;
  let hits = 0;
  for (let q = 0; q < results.length; q++) {
    const truth = new Set(gt.subarray(q * gtK, q * gtK + k));
    const found = results[q];
    const seen = new Set();
    for (let i = 0; i < Math.min(k, found.length); i++) {
      const id = found[i];
      if (truth.has(id) && !seen.has(id)) { hits++; seen.add(id); }
    }
  }
  return hits / (results.length * k);
}

if (!isMainThread && workerData && workerData.task) {
  const w = workerData;
  if (w.task === 'synth') {
    const out = new Float32Array(w.out, w.from * SYNTH_DIM * 4, (w.to - w.from) * SYNTH_DIM);
    synthRows(synthStructure(), w.seed, w.from, w.to, out);
  } else if (w.task === 'gt') {
    const out = new Int32Array(w.out, w.from * w.k * 4, (w.to - w.from) * w.k);
    exactTopK(w.base, w.queries, w.dim, w.nBase, w.metric, w.k, w.from, w.to, out);
  }
  parentPort.postMessage('done');
}
