/**
 * @module pq
 * The product-quantization codec: an optional rotation (PCA with eigenvalue allocation, or the
 * identity), then `m` sub-quantizers of KSUB centroids, one u8 code each (Jégou et al., "Product
 * Quantization for Nearest Neighbor Search", TPAMI 2011).
 *
 *   rotation   (targetDim, dim) f32      row t = direction t; rows [s·dsub, (s+1)·dsub) = subspace s
 *   mean       (dim) f32                 training mean; stored vectors are centred before rotating
 *   rotMean    (targetDim) f32           rotation · mean, re-added when decoding for distances
 *   codebooks  (m, KSUB, dsub) f32
 *   interleaved (m, KSUB/4, dsub, 4) f32  the same centroids, four per v128 lane group (kmeans.ts)
 *   norms      (m, KSUB) f32             squared norm of each centroid
 *   code       m u8 per vector
 */
import { allocZeroed, release } from './arena';
import { KSUB, METRIC_L2 } from './constants';
import { dot } from './distance';
import { interleaveCentroids, nearestCentroid } from './kmeans';
import { projectRow } from './linalg';

export let pqMetric: i32 = METRIC_L2;
export let pqDim: i32 = 0;
export let pqTargetDim: i32 = 0;
export let pqM: i32 = 0;
export let pqDsub: i32 = 0;
export let pqRotation: usize = 0;
export let pqMean: usize = 0;
export let pqRotMean: usize = 0;
export let pqCodebooks: usize = 0;
export let pqInterleaved: usize = 0;
export let pqNorms: usize = 0;
let centreScratch: usize = 0;

/** Allocates the codec's regions; `targetDim` must be a multiple of `m`. */
export function pqConfigure(metric: i32, dim: i32, targetDim: i32, m: i32): void {
  release(pqRotation); release(pqMean); release(pqRotMean); release(pqCodebooks); release(pqInterleaved); release(pqNorms); release(centreScratch);
  pqMetric = metric; pqDim = dim; pqTargetDim = targetDim; pqM = m; pqDsub = targetDim / m;
  pqRotation = allocZeroed(<usize>targetDim * <usize>dim << 2);
  pqMean = allocZeroed(<usize>dim << 2);
  pqRotMean = allocZeroed(<usize>targetDim << 2);
  pqCodebooks = allocZeroed(<usize>m * <usize>KSUB * <usize>pqDsub << 2);
  pqInterleaved = allocZeroed(<usize>m * <usize>KSUB * <usize>pqDsub << 2);
  pqNorms = allocZeroed(<usize>m * <usize>KSUB << 2);
  centreScratch = allocZeroed(<usize>dim << 2);
}

/** Uses the identity rotation and a zero mean (`targetDim == dim`). */
export function pqUseIdentity(): void {
  memory.fill(pqRotation, 0, <usize>pqTargetDim * <usize>pqDim << 2);
  for (let t = 0; t < pqTargetDim; t++) store<f32>(pqRotation + ((<usize>t * <usize>pqDim + <usize>t) << 2), 1);
  memory.fill(pqMean, 0, <usize>pqDim << 2);
}

/** Recomputes what derives from the rotation, mean and codebooks (after training or loading). */
export function pqDerive(): void {
  const rowBytes = <usize>pqDim << 2;
  for (let t = 0; t < pqTargetDim; t++) store<f32>(pqRotMean + (<usize>t << 2), dot(pqRotation + <usize>t * rowBytes, pqMean, pqDim));
  const bookBytes = <usize>KSUB * <usize>pqDsub << 2;
  for (let s = 0; s < pqM; s++) {
    interleaveCentroids(pqCodebooks + <usize>s * bookBytes, KSUB, pqDsub, pqInterleaved + <usize>s * bookBytes, pqNorms + (<usize>s * <usize>KSUB << 2));
  }
}

/** Rotates a stored vector into the centred code space: `out = R (x − mean)`. */
export function pqProjectStored(x: usize, out: usize): void {
  projectRow(x, pqDim, pqRotation, pqTargetDim, pqMean, true, centreScratch, out);
}

/**
 * Rotates a query for the lookup table: centred for L2 (distances are translation-invariant),
 * uncentred for inner products, whose missing `q · mean` term is the same for every candidate.
 */
export function pqProjectQuery(q: usize, out: usize): void {
  projectRow(q, pqDim, pqRotation, pqTargetDim, pqMean, pqMetric == METRIC_L2, centreScratch, out);
}

/** Writes the `m`-byte code of a projected vector. */
export function pqEncode(xProj: usize, codeOut: usize): void {
  const subBytes = <usize>pqDsub << 2;
  const bookBytes = <usize>KSUB * subBytes;
  for (let s = 0; s < pqM; s++) {
    store<u8>(codeOut + s, <u8>nearestCentroid(xProj + <usize>s * subBytes, pqInterleaved + <usize>s * bookBytes, pqNorms + (<usize>s * <usize>KSUB << 2), KSUB, pqDsub));
  }
}

/** Reconstructs a code in the uncentred rotated frame (`R x̂`), the frame distances use. */
export function pqDecode(code: usize, out: usize): void {
  const subBytes = <usize>pqDsub << 2;
  const bookBytes = <usize>KSUB * subBytes;
  for (let s = 0; s < pqM; s++) {
    memory.copy(out + <usize>s * subBytes, pqCodebooks + <usize>s * bookBytes + <usize>load<u8>(code + s) * subBytes, subBytes);
  }
  let t = 0;
  for (; t + 4 <= pqTargetDim; t += 4) {
    const off = <usize>t << 2;
    v128.store(out + off, f32x4.add(v128.load(out + off), v128.load(pqRotMean + off)));
  }
  for (; t < pqTargetDim; t++) store<f32>(out + (<usize>t << 2), load<f32>(out + (<usize>t << 2)) + load<f32>(pqRotMean + (<usize>t << 2)));
}
