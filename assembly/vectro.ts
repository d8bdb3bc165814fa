/**
 * @module vectro
 * The product quantizer of Vectro+'s PQSTREAM1 files (wesleyscholl/vectro-plus
 * `vectro_lib/src/pq.rs`): the encoder `writePQStream1` runs and the per-subspace Lloyd's k-means
 * that `exportStream(…, { format: 'pqstream1' })` trains with.
 *
 * Both pick a centroid by Vectro+'s rule: the smallest left-to-right binary32 sum of squared
 * differences, ties to the lowest index, and a NaN distance never replaces the best (Rust's
 * `min_by` with `partial_cmp` falling back to `Equal`). Four centroids share a v128, in the
 * interleaved layout of kmeans.ts: each lane runs one centroid's sum in the scalar loop's order,
 * so the SIMD result is the scalar one bit for bit (wasm SIMD has no fused multiply-add and keeps
 * subnormals). Unlike kmeansTrain, any centroid count from 1 to KSUB works: Vectro+ files may
 * hold any.
 *
 *   codebooks    (m, KSUB, sub) f32        centroid c of subspace s at (s, c); subspace s uses counts[s]
 *   counts       (m) i32                   1 ≤ counts[s] ≤ KSUB
 *   rows         (n, dim) f32              dim = m · sub
 *   codes        (n, m) u8
 *   interleaved  (m, KSUB / 4, sub, 4) f32 scratch of one call
 */
import { allocZeroed, release } from './arena';
import { KSUB } from './constants';
import { interleaveCentroids, updateMeans } from './kmeans';

/** Norms below this leave a vector as it is before encoding, as in Vectro+. */
const NORM_EPSILON: f32 = <f32>1e-12;

// The running best of {@link nearest}: centroid index and its distance.
let bestCentroid: i32 = 0;
let bestDistance: f32 = 0;

/** Offers the four centroids `c … c + 3` (lanes of `dist`) to the running best, in index order. */
// @ts-ignore: decorator
@inline function offer4(dist: v128, c: i32, count: i32): void {
  const d0 = f32x4.extract_lane(dist, 0), d1 = f32x4.extract_lane(dist, 1), d2 = f32x4.extract_lane(dist, 2), d3 = f32x4.extract_lane(dist, 3);
  if (c == 0 || bestDistance > d0) { bestDistance = d0; bestCentroid = c; }
  if (c + 1 < count && bestDistance > d1) { bestDistance = d1; bestCentroid = c + 1; }
  if (c + 2 < count && bestDistance > d2) { bestDistance = d2; bestCentroid = c + 2; }
  if (c + 3 < count && bestDistance > d3) { bestDistance = d3; bestCentroid = c + 3; }
}

/** `acc` plus the squared differences between `xs` and the four centroid values at `block` (one dimension of one block). */
// @ts-ignore: decorator
@inline function accumulate(acc: v128, xs: v128, block: usize): v128 {
  const diff = f32x4.sub(xs, v128.load(block));
  return f32x4.add(acc, f32x4.mul(diff, diff));
}

/**
 * Vectro+'s nearest of the first `count` centroids to `x` (sub f32). Sixteen centroids (four
 * blocks) go at once, so four independent add chains hide the add latency; the offers still run
 * in index order.
 */
function nearest(x: usize, interleaved: usize, count: i32, sub: i32): i32 {
  const blockBytes = <usize>sub << 4;
  const blocks = (count + 3) >> 2;
  bestCentroid = 0;
  bestDistance = 0;
  let b = 0;
  for (; b + 4 <= blocks; b += 4) {
    const p = interleaved + <usize>b * blockBytes;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let d = 0; d < sub; d++) {
      const xs = f32x4.splat(load<f32>(x + (<usize>d << 2)));
      const at = p + (<usize>d << 4);
      a0 = accumulate(a0, xs, at);
      a1 = accumulate(a1, xs, at + blockBytes);
      a2 = accumulate(a2, xs, at + 2 * blockBytes);
      a3 = accumulate(a3, xs, at + 3 * blockBytes);
    }
    offer4(a0, b << 2, count);
    offer4(a1, (b + 1) << 2, count);
    offer4(a2, (b + 2) << 2, count);
    offer4(a3, (b + 3) << 2, count);
  }
  for (; b < blocks; b++) {
    const p = interleaved + <usize>b * blockBytes;
    let acc = f32x4.splat(0);
    for (let d = 0; d < sub; d++) acc = accumulate(acc, f32x4.splat(load<f32>(x + (<usize>d << 2))), p + (<usize>d << 4));
    offer4(acc, b << 2, count);
  }
  return bestCentroid;
}

/** Reference twin of {@link nearest} over plain `(KSUB, sub)` centroids, one at a time. */
function nearestScalar(x: usize, centroids: usize, count: i32, sub: i32): i32 {
  let best = 0;
  let bestDist: f32 = 0;
  for (let c = 0; c < count; c++) {
    const centroid = centroids + ((<usize>c * <usize>sub) << 2);
    let sum: f32 = 0;
    for (let d = 0; d < sub; d++) {
      const diff = load<f32>(x + (<usize>d << 2)) - load<f32>(centroid + (<usize>d << 2));
      sum += diff * diff;
    }
    if (c == 0 || bestDist > sum) { bestDist = sum; best = c; }
  }
  return best;
}

/** Writes `x` divided by its binary32 L2 norm to `unit` (a copy when the norm is below {@link NORM_EPSILON}). */
function unitRow(x: usize, dim: i32, unit: usize): void {
  let sumSquares: f32 = 0;
  for (let j = 0; j < dim; j++) {
    const v = load<f32>(x + (<usize>j << 2));
    sumSquares += v * v;
  }
  const norm = Mathf.sqrt(sumSquares);
  const keep = norm < NORM_EPSILON;
  for (let j = 0; j < dim; j++) {
    const v = load<f32>(x + (<usize>j << 2));
    store<f32>(unit + (<usize>j << 2), keep ? v : v / norm);
  }
}

/**
 * PQ codes of `n` rows by Vectro+'s rule: each row is divided by its binary32 L2 norm (unless
 * that is below 1e-12), then each subspace takes its nearest centroid.
 * @param scalar use the one-centroid-at-a-time reference (tests)
 */
export function vectroPqEncode(rows: usize, n: i32, dim: i32, m: i32, codebooks: usize, counts: usize, codesOut: usize, scalar: bool): void {
  const sub = dim / m;
  const bookBytes = (<usize>KSUB * <usize>sub) << 2;
  const unit = allocZeroed(<usize>dim << 2);
  const interleaved: usize = scalar ? 0 : allocZeroed(<usize>m * bookBytes);
  const norms = allocZeroed(<usize>KSUB << 2);
  if (!scalar) for (let s = 0; s < m; s++) interleaveCentroids(codebooks + <usize>s * bookBytes, KSUB, sub, interleaved + <usize>s * bookBytes, norms);
  for (let r = 0; r < n; r++) {
    unitRow(rows + ((<usize>r * <usize>dim) << 2), dim, unit);
    for (let s = 0; s < m; s++) {
      const x = unit + ((<usize>s * <usize>sub) << 2);
      const count = load<i32>(counts + (<usize>s << 2));
      const code = scalar ? nearestScalar(x, codebooks + <usize>s * bookBytes, count, sub) : nearest(x, interleaved + <usize>s * bookBytes, count, sub);
      store<u8>(codesOut + <usize>r * <usize>m + <usize>s, <u8>code);
    }
  }
  release(norms); release(interleaved); release(unit);
}

/**
 * Lloyd's k-means on column block `[offset, offset + sub)` of `n` rows of `stride` floats, as
 * Vectro+ trains a subspace: the initial centroids are the evenly spaced rows `⌊c·n/k⌋` (the host
 * shuffles the sample), assignments use {@link nearest}, means are summed in binary64, a centroid
 * that loses every row keeps its place, and training stops early once no assignment changes.
 * @param k centroids, 1 ≤ k ≤ min(n, KSUB)
 * @param centroidsOut `(KSUB, sub)` f32; the first `k` rows are written
 * @returns the iterations run
 */
export function vectroKmeans(x: usize, n: i32, stride: i32, offset: i32, sub: i32, k: i32, maxIter: i32, centroidsOut: usize): i32 {
  const subBytes = <usize>sub << 2;
  const sample = allocZeroed(<usize>n * subBytes);
  for (let r = 0; r < n; r++) memory.copy(sample + <usize>r * subBytes, x + ((<usize>r * <usize>stride + <usize>offset) << 2), subBytes);
  for (let c = 0; c < k; c++) memory.copy(centroidsOut + <usize>c * subBytes, sample + <usize>(<i64>c * n / k) * subBytes, subBytes);
  const k4 = (k + 3) & ~3;
  const interleaved = allocZeroed(<usize>k4 * subBytes);
  const norms = allocZeroed(<usize>k4 << 2);
  const assign = allocZeroed(<usize>n << 2);
  memory.fill(assign, 0xff, <usize>n << 2);
  const sums = allocZeroed((<usize>k * <usize>sub) << 3);
  const sizes = allocZeroed(<usize>k << 2);
  let iter = 0;
  while (iter < maxIter) {
    iter++;
    // Lanes past k read whatever the caller's (KSUB, sub) block holds there; nearest() never picks them.
    interleaveCentroids(centroidsOut, k4, sub, interleaved, norms);
    let changed = 0;
    for (let r = 0; r < n; r++) {
      const c = nearest(sample + <usize>r * subBytes, interleaved, k, sub);
      if (load<i32>(assign + (<usize>r << 2)) != c) { changed++; store<i32>(assign + (<usize>r << 2), c); }
    }
    if (changed == 0) break;
    updateMeans(sample, n, sub, k, assign, sums, sizes, centroidsOut);
  }
  release(sizes); release(sums); release(assign); release(norms); release(interleaved); release(sample);
  return iter;
}
