/**
 * @module opq
 * Optimized Product Quantization, non-parametric (Ge et al., "Optimized Product Quantization",
 * TPAMI 2014, Algorithm 1): with the codebooks fixed, the rotation that best maps the training rows
 * onto their reconstructions is the orthogonal Procrustes solution Q = polar(Yᵀ Ŷ); the caller then
 * refreshes the codebooks with a few warm Lloyd iterations, and the two steps alternate.
 *
 *   sample  (n, targetDim) f32   centred rotated training rows, rotated in place by Q
 *   polar(M) = M (MᵀM)^(−1/2), from the eigendecomposition of MᵀM
 */
import { allocZeroed, release } from './arena';
import { KSUB } from './constants';
import { symmetricEigen } from './linalg';
import { pqCodebooks, pqDim, pqDsub, pqEncode, pqM, pqRotation, pqTargetDim } from './pq';

/**
 * One Procrustes step: rotates the `n` sample rows and the codec's rotation by the Q that best
 * aligns the rows with their current reconstructions.
 * @returns the mean squared reconstruction error before the step
 */
export function opqRotateStep(sample: usize, n: i32): f64 {
  const t = pqTargetDim;
  const subBytes = <usize>pqDsub << 2;
  const bookBytes = <usize>KSUB * subBytes;
  const m = allocZeroed(<usize>t * <usize>t << 3);
  const code = allocZeroed(<usize>pqM);
  const recon = allocZeroed(<usize>t << 2);
  let error = 0.0;
  for (let r = 0; r < n; r++) {
    const y = sample + ((<usize>r * <usize>t) << 2);
    pqEncode(y, code);
    for (let s = 0; s < pqM; s++) memory.copy(recon + <usize>s * subBytes, pqCodebooks + <usize>s * bookBytes + <usize>load<u8>(code + s) * subBytes, subBytes);
    for (let i = 0; i < t; i++) {
      const yi = <f64>load<f32>(y + (<usize>i << 2));
      const d = yi - <f64>load<f32>(recon + (<usize>i << 2));
      error += d * d;
      const row = m + ((<usize>i * <usize>t) << 3);
      for (let j = 0; j < t; j++) store<f64>(row + (<usize>j << 3), load<f64>(row + (<usize>j << 3)) + yi * <f64>load<f32>(recon + (<usize>j << 2)));
    }
  }
  const q = polar(m, t);
  // Rows: y ← y·Q. Rotation (rows are directions): R ← Qᵀ·R, so that (x − mean)·Rᵀ·Q = (x − mean)·(QᵀR)ᵀ.
  const tmp = allocZeroed(<usize>(t > pqDim ? t : pqDim) << 3);
  for (let r = 0; r < n; r++) {
    const y = sample + ((<usize>r * <usize>t) << 2);
    for (let j = 0; j < t; j++) {
      let acc = 0.0;
      for (let i = 0; i < t; i++) acc += <f64>load<f32>(y + (<usize>i << 2)) * load<f64>(q + ((<usize>i * <usize>t + <usize>j) << 3));
      store<f64>(tmp + (<usize>j << 3), acc);
    }
    for (let j = 0; j < t; j++) store<f32>(y + (<usize>j << 2), <f32>load<f64>(tmp + (<usize>j << 3)));
  }
  const rotated = allocZeroed(<usize>t * <usize>pqDim << 2);
  for (let j = 0; j < t; j++) {
    for (let c = 0; c < pqDim; c++) {
      let acc = 0.0;
      for (let i = 0; i < t; i++) acc += load<f64>(q + ((<usize>i * <usize>t + <usize>j) << 3)) * <f64>load<f32>(pqRotation + ((<usize>i * <usize>pqDim + <usize>c) << 2));
      store<f32>(rotated + ((<usize>j * <usize>pqDim + <usize>c) << 2), <f32>acc);
    }
  }
  memory.copy(pqRotation, rotated, <usize>t * <usize>pqDim << 2);
  release(rotated); release(tmp); release(q); release(recon); release(code); release(m);
  return error / <f64>max(1, n);
}

/** The orthogonal polar factor `M (MᵀM)^(−1/2)` of the `(t, t)` f64 matrix `m`; a new block. */
function polar(m: usize, t: i32): usize {
  const mtm = allocZeroed(<usize>t * <usize>t << 3);
  for (let i = 0; i < t; i++) {
    for (let j = i; j < t; j++) {
      let acc = 0.0;
      for (let r = 0; r < t; r++) acc += load<f64>(m + ((<usize>r * <usize>t + <usize>i) << 3)) * load<f64>(m + ((<usize>r * <usize>t + <usize>j) << 3));
      store<f64>(mtm + ((<usize>i * <usize>t + <usize>j) << 3), acc);
      store<f64>(mtm + ((<usize>j * <usize>t + <usize>i) << 3), acc);
    }
  }
  const values = allocZeroed(<usize>t << 3);
  const vectors = allocZeroed(<usize>t * <usize>t << 3);
  symmetricEigen(mtm, t, values, vectors);
  let largest = 0.0;
  for (let i = 0; i < t; i++) largest = Math.max(largest, load<f64>(values + (<usize>i << 3)));
  // inverseRoot = Σ_k λ_k^(−1/2) v_k v_kᵀ, with near-zero λ clamped so a rank-deficient M stays finite.
  const inverseRoot = allocZeroed(<usize>t * <usize>t << 3);
  for (let k = 0; k < t; k++) {
    const scale = 1.0 / Math.sqrt(Math.max(load<f64>(values + (<usize>k << 3)), largest * 1e-12 + 1e-300));
    const v = vectors + ((<usize>k * <usize>t) << 3);
    for (let i = 0; i < t; i++) {
      const vi = load<f64>(v + (<usize>i << 3)) * scale;
      for (let j = 0; j < t; j++) {
        const p = inverseRoot + ((<usize>i * <usize>t + <usize>j) << 3);
        store<f64>(p, load<f64>(p) + vi * load<f64>(v + (<usize>j << 3)));
      }
    }
  }
  const q = allocZeroed(<usize>t * <usize>t << 3);
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < t; j++) {
      let acc = 0.0;
      for (let r = 0; r < t; r++) acc += load<f64>(m + ((<usize>i * <usize>t + <usize>r) << 3)) * load<f64>(inverseRoot + ((<usize>r * <usize>t + <usize>j) << 3));
      store<f64>(q + ((<usize>i * <usize>t + <usize>j) << 3), acc);
    }
  }
  release(inverseRoot); release(vectors); release(values); release(mtm);
  return q;
}
