/**
 * @module kmeans
 * Lloyd's k-means for one PQ subspace, and the nearest-centroid search that PQ encoding shares.
 * Centroids are searched four at a time from an interleaved copy (`interleaveCentroids`), using
 * ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖² with the ‖x‖² term dropped, since it does not change the argmin.
 * Initialisation picks k distinct training rows with the seeded PRNG (Faiss's default); an empty
 * cluster takes half of the largest one by splitting its centroid with a ±1/1024 perturbation
 * (Faiss `Clustering.cpp`, `split_clusters`), choosing the largest by count, lowest index on ties.
 */
import { allocZeroed, release } from './arena';
import { rngNextU32, rngSeed } from './rng';

/**
 * Interleaves `(k, dsub)` centroids (k a multiple of 4) into blocks of four, `(k/4, dsub, 4)`, so one
 * v128 multiply-add advances four dot products; also writes each centroid's squared norm.
 */
export function interleaveCentroids(centroids: usize, k: i32, dsub: i32, interleaved: usize, norms: usize): void {
  for (let c = 0; c < k; c++) {
    let norm: f32 = 0;
    for (let d = 0; d < dsub; d++) {
      const v = load<f32>(centroids + ((<usize>c * <usize>dsub + <usize>d) << 2));
      store<f32>(interleaved + ((((<usize>(c >> 2) * <usize>dsub + <usize>d) << 2) + <usize>(c & 3)) << 2), v);
      norm += v * v;
    }
    store<f32>(norms + (<usize>c << 2), norm);
  }
}

/** Dot products of `x` (dsub floats) with the four centroids of each interleaved block, to `out` (k f32). */
export function dotsInterleaved(x: usize, interleaved: usize, k: i32, dsub: i32, out: usize): void {
  const blockBytes = <usize>dsub << 4;
  for (let b = 0; b < (k >> 2); b++) {
    const block = interleaved + <usize>b * blockBytes;
    let acc = f32x4.splat(0);
    for (let d = 0; d < dsub; d++) acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(x + (<usize>d << 2))), v128.load(block + (<usize>d << 4))));
    v128.store(out + (<usize>b << 4), acc);
  }
}

/** Squared distance to the centroid found by the last {@link nearestCentroid} call (up to ‖x‖²). */
export let nearestDistance: f32 = 0;

/**
 * Index of the centroid nearest to `x` by `‖c‖² − 2 x·c` (ties to the lowest index), over
 * interleaved centroids and their norms.
 */
export function nearestCentroid(x: usize, interleaved: usize, norms: usize, k: i32, dsub: i32): i32 {
  const blockBytes = <usize>dsub << 4;
  const minusTwo = f32x4.splat(-2);
  let best = 0;
  let bestDist: f32 = Infinity;
  for (let b = 0; b < (k >> 2); b++) {
    const block = interleaved + <usize>b * blockBytes;
    let acc = f32x4.splat(0);
    for (let d = 0; d < dsub; d++) acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(x + (<usize>d << 2))), v128.load(block + (<usize>d << 4))));
    const dist = f32x4.add(v128.load(norms + (<usize>b << 4)), f32x4.mul(minusTwo, acc));
    const d0 = f32x4.extract_lane(dist, 0), d1 = f32x4.extract_lane(dist, 1), d2 = f32x4.extract_lane(dist, 2), d3 = f32x4.extract_lane(dist, 3);
    if (d0 < bestDist) { bestDist = d0; best = b << 2; }
    if (d1 < bestDist) { bestDist = d1; best = (b << 2) + 1; }
    if (d2 < bestDist) { bestDist = d2; best = (b << 2) + 2; }
    if (d3 < bestDist) { bestDist = d3; best = (b << 2) + 3; }
  }
  nearestDistance = bestDist;
  return best;
}

/**
 * Lloyd's update step: each centroid becomes the mean (summed in f64) of the `n` rows of `dsub`
 * f32 assigned to it; a centroid with no rows stays where it is. `sums` (k × dsub f64) and
 * `counts` (k i32) are scratch; `counts` holds each cluster's size afterwards.
 */
export function updateMeans(rows: usize, n: i32, dsub: i32, k: i32, assign: usize, sums: usize, counts: usize, centroidsOut: usize): void {
  const rowBytes = <usize>dsub << 2;
  memory.fill(sums, 0, <usize>k * <usize>dsub << 3);
  memory.fill(counts, 0, <usize>k << 2);
  for (let r = 0; r < n; r++) {
    const c = load<i32>(assign + (<usize>r << 2));
    store<i32>(counts + (<usize>c << 2), load<i32>(counts + (<usize>c << 2)) + 1);
    const row = rows + <usize>r * rowBytes;
    const acc = sums + ((<usize>c * <usize>dsub) << 3);
    for (let d = 0; d < dsub; d++) store<f64>(acc + (<usize>d << 3), load<f64>(acc + (<usize>d << 3)) + <f64>load<f32>(row + (<usize>d << 2)));
  }
  for (let c = 0; c < k; c++) {
    const cnt = load<i32>(counts + (<usize>c << 2));
    if (cnt == 0) continue;
    for (let d = 0; d < dsub; d++) {
      store<f32>(centroidsOut + <usize>c * rowBytes + (<usize>d << 2), <f32>(load<f64>(sums + ((<usize>c * <usize>dsub + <usize>d) << 3)) / <f64>cnt));
    }
  }
}

/**
 * Trains `k` centroids (k a multiple of 4, for the interleaved nearest-centroid search; the codecs
 * always use 256) on column block `[offset, offset + dsub)` of `n` rows of `stride` floats.
 * Fewer rows than centroids: each row becomes a centroid and the rest repeat them. `warm` keeps the
 * centroids already in `centroidsOut` as the starting point (OPQ's alternating refinement).
 * @param centroidsOut `(k, dsub)` f32
 * @returns the number of iterations run
 */
export function kmeansTrain(x: usize, n: i32, stride: i32, offset: i32, dsub: i32, k: i32, maxIter: i32, seed: u32, centroidsOut: usize, warm: bool): i32 {
  const subBytes = <usize>dsub << 2;
  const sub = allocZeroed(<usize>n * subBytes);
  for (let r = 0; r < n; r++) memory.copy(sub + <usize>r * subBytes, x + ((<usize>r * <usize>stride + <usize>offset) << 2), subBytes);
  if (!warm) initialCentroids(sub, n, dsub, k, seed, centroidsOut);
  if (n <= k) { release(sub); return 0; }

  const assign = allocZeroed(<usize>n << 2);
  memory.fill(assign, 0xff, <usize>n << 2);
  const interleaved = allocZeroed(<usize>k * subBytes);
  const norms = allocZeroed(<usize>k << 2);
  const sums = allocZeroed(<usize>k * <usize>dsub << 3);
  const counts = allocZeroed(<usize>k << 2);
  let iter = 0;
  while (iter < maxIter) {
    iter++;
    let changed = 0;
    interleaveCentroids(centroidsOut, k, dsub, interleaved, norms);
    for (let r = 0; r < n; r++) {
      const c = nearestCentroid(sub + <usize>r * subBytes, interleaved, norms, k, dsub);
      if (load<i32>(assign + (<usize>r << 2)) != c) { changed++; store<i32>(assign + (<usize>r << 2), c); }
    }
    if (changed == 0) break;
    updateMeans(sub, n, dsub, k, assign, sums, counts, centroidsOut);
    splitEmptyClusters(centroidsOut, counts, k, dsub);
  }
  release(norms); release(interleaved); release(counts); release(sums); release(assign); release(sub);
  return iter;
}

/** Seeded random distinct rows as the initial centroids (Faiss's default); fewer rows than centroids repeat. */
function initialCentroids(sub: usize, n: i32, dsub: i32, k: i32, seed: u32, centroidsOut: usize): void {
  const subBytes = <usize>dsub << 2;
  rngSeed(seed);
  const order = allocZeroed(<usize>n << 2);
  for (let r = 0; r < n; r++) store<i32>(order + (<usize>r << 2), r);
  const picks = min(k, n);
  for (let c = 0; c < picks; c++) {
    const j = c + <i32>(rngNextU32() % <u32>(n - c));
    const t = load<i32>(order + (<usize>j << 2));
    store<i32>(order + (<usize>j << 2), load<i32>(order + (<usize>c << 2)));
    store<i32>(order + (<usize>c << 2), t);
  }
  for (let c = 0; c < k; c++) memory.copy(centroidsOut + <usize>c * subBytes, sub + <usize>load<i32>(order + (<usize>(c % picks) << 2)) * subBytes, subBytes);
  release(order);
}

function splitEmptyClusters(centroids: usize, counts: usize, k: i32, dsub: i32): void {
  const subBytes = <usize>dsub << 2;
  const eps: f32 = 1.0 / 1024.0;
  for (let c = 0; c < k; c++) {
    if (load<i32>(counts + (<usize>c << 2)) != 0) continue;
    let big = 0;
    for (let j = 1; j < k; j++) if (load<i32>(counts + (<usize>j << 2)) > load<i32>(counts + (<usize>big << 2))) big = j;
    const src = centroids + <usize>big * subBytes, dst = centroids + <usize>c * subBytes;
    for (let d = 0; d < dsub; d++) {
      const v = load<f32>(src + (<usize>d << 2));
      store<f32>(dst + (<usize>d << 2), v * (1 + eps));
      store<f32>(src + (<usize>d << 2), v * (1 - eps));
    }
    const half = load<i32>(counts + (<usize>big << 2)) / 2;
    store<i32>(counts + (<usize>c << 2), half);
    store<i32>(counts + (<usize>big << 2), load<i32>(counts + (<usize>big << 2)) - half);
  }
}
