/**
 * @module kmeans
 * Lloyd's k-means for one PQ subspace, and the nearest-centroid search that PQ encoding shares.
 * Initialisation picks k distinct training rows with the seeded PRNG (Faiss's default); an empty
 * cluster takes half of the largest one by splitting its centroid with a ±1/1024 perturbation
 * (Faiss `Clustering.cpp`, `split_clusters`), choosing the largest by count, lowest index on ties.
 */
import { allocZeroed, release } from './arena';
import { l2Sq } from './distance';
import { rngNextU32, rngSeed } from './rng';

/** Squared distance to the centroid found by the last {@link nearestCentroid} call. */
export let nearestDistance: f32 = 0;

/** Index of the centroid nearest to `x` (ties to the lowest index). */
export function nearestCentroid(x: usize, centroids: usize, k: i32, dsub: i32): i32 {
  const stride = <usize>dsub << 2;
  let best = 0;
  let bestDist = l2Sq(x, centroids, dsub);
  for (let c = 1; c < k; c++) {
    const d = l2Sq(x, centroids + <usize>c * stride, dsub);
    if (d < bestDist) { bestDist = d; best = c; }
  }
  nearestDistance = bestDist;
  return best;
}

/**
 * Trains `k` centroids on column block `[offset, offset + dsub)` of `n` rows of `stride` floats.
 * Fewer rows than centroids: each row becomes a centroid and the rest repeat them.
 * @param centroidsOut `(k, dsub)` f32
 * @returns the number of iterations run
 */
export function kmeansTrain(x: usize, n: i32, stride: i32, offset: i32, dsub: i32, k: i32, maxIter: i32, seed: u32, centroidsOut: usize): i32 {
  const subBytes = <usize>dsub << 2;
  const sub = allocZeroed(<usize>n * subBytes);
  for (let r = 0; r < n; r++) memory.copy(sub + <usize>r * subBytes, x + ((<usize>r * <usize>stride + <usize>offset) << 2), subBytes);

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
  if (n <= k) { release(sub); return 0; }

  const assign = allocZeroed(<usize>n << 2);
  memory.fill(assign, 0xff, <usize>n << 2);
  const sums = allocZeroed(<usize>k * <usize>dsub << 3);
  const counts = allocZeroed(<usize>k << 2);
  let iter = 0;
  while (iter < maxIter) {
    iter++;
    let changed = 0;
    for (let r = 0; r < n; r++) {
      const c = nearestCentroid(sub + <usize>r * subBytes, centroidsOut, k, dsub);
      if (load<i32>(assign + (<usize>r << 2)) != c) { changed++; store<i32>(assign + (<usize>r << 2), c); }
    }
    if (changed == 0) break;
    memory.fill(sums, 0, <usize>k * <usize>dsub << 3);
    memory.fill(counts, 0, <usize>k << 2);
    for (let r = 0; r < n; r++) {
      const c = load<i32>(assign + (<usize>r << 2));
      store<i32>(counts + (<usize>c << 2), load<i32>(counts + (<usize>c << 2)) + 1);
      const row = sub + <usize>r * subBytes;
      const acc = sums + ((<usize>c * <usize>dsub) << 3);
      for (let d = 0; d < dsub; d++) store<f64>(acc + (<usize>d << 3), load<f64>(acc + (<usize>d << 3)) + <f64>load<f32>(row + (<usize>d << 2)));
    }
    for (let c = 0; c < k; c++) {
      const cnt = load<i32>(counts + (<usize>c << 2));
      if (cnt == 0) continue;
      for (let d = 0; d < dsub; d++) {
        store<f32>(centroidsOut + <usize>c * subBytes + (<usize>d << 2), <f32>(load<f64>(sums + ((<usize>c * <usize>dsub + <usize>d) << 3)) / <f64>cnt));
      }
    }
    splitEmptyClusters(centroidsOut, counts, k, dsub);
  }
  release(counts); release(sums); release(assign); release(sub);
  return iter;
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
