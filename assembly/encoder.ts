/**
 * @module encoder
 * Inference side of the learned codec (issue 3): the MLP encoder `dim → hidden (ReLU) → targetDim`
 * whose weights `src/codec/train.ts` trains with TF.js and copies here, plus the small PQ toolkit
 * (codes and lookup tables for explicit codebooks) that `src/codec/learned-codec.ts` uses to
 * compare codecs on a validation split. Each SIMD kernel has a scalar twin for tests.
 *
 *   w1  (hidden, dim) f32        row j = weights of hidden unit j (PyTorch `Linear` layout)
 *   b1  (hidden) f32
 *   w2  (targetDim, hidden) f32
 *   b2  (targetDim) f32
 *   h   (hidden) f32             scratch for one row's hidden activations
 *
 * The latent vector `z = w2 · relu(w1 · x + b1) + b2` replaces the codec-v1 projection `R x`:
 * codes are the nearest codewords of `z` per subspace and the lookup table of a query is built
 * from its `z`, so the rest of the kernels do not change. The dense kernel computes four output
 * rows per pass over `x`, so each load of `x` feeds four independent multiply-add chains
 * (register blocking, as in BLAS GEMV kernels).
 */
import { allocZeroed, release } from './arena';
import { KSUB } from './constants';
import { dot, l2Sq } from './distance';

export let encDim: i32 = 0;
export let encHidden: i32 = 0;
export let encTargetDim: i32 = 0;
export let encW1: usize = 0;
export let encB1: usize = 0;
export let encW2: usize = 0;
export let encB2: usize = 0;
/** True when encoding and query preparation use the MLP instead of the linear rotation. */
export let encEnabled: bool = false;
let encH: usize = 0;

/** (Re)allocates zeroed weights for `dim → hidden → targetDim`; disables the encoder. */
export function encoderAlloc(dim: i32, hidden: i32, targetDim: i32): void {
  release(encW1); release(encB1); release(encW2); release(encB2); release(encH);
  encDim = dim; encHidden = hidden; encTargetDim = targetDim;
  encW1 = allocZeroed(<usize>hidden * <usize>dim << 2);
  encB1 = allocZeroed(<usize>hidden << 2);
  encW2 = allocZeroed(<usize>targetDim * <usize>hidden << 2);
  encB2 = allocZeroed(<usize>targetDim << 2);
  encH = allocZeroed(<usize>hidden << 2);
  encEnabled = false;
}

/** Turns the MLP path on or off (it stays off until weights exist). */
export function encoderSetEnabled(on: bool): void { encEnabled = on && encW1 != 0; }

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/**
 * One dense layer for one row: `out[o] = act(b[o] + w[o, :] · x)`, `o < outDim`.
 * @param w `(outDim, inDim)` f32 row-major
 * @param b `outDim` f32
 * @param relu clamp negatives to 0
 */
export function denseForward(x: usize, inDim: i32, w: usize, b: usize, outDim: i32, relu: bool, out: usize): void {
  const rowBytes = <usize>inDim << 2;
  const zero = f32x4.splat(0);
  let o = 0;
  for (; o + 4 <= outDim; o += 4) {
    const w0 = w + <usize>o * rowBytes;
    const w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    let i = 0;
    for (; i + 4 <= inDim; i += 4) {
      const off = <usize>i << 2;
      const xv = v128.load(x + off);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(w0 + off), xv));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(w1 + off), xv));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(w2 + off), xv));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(w3 + off), xv));
    }
    let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (; i < inDim; i++) {
      const off = <usize>i << 2;
      const xi = load<f32>(x + off);
      s0 += load<f32>(w0 + off) * xi; s1 += load<f32>(w1 + off) * xi;
      s2 += load<f32>(w2 + off) * xi; s3 += load<f32>(w3 + off) * xi;
    }
    const ob = <usize>o << 2;
    let v = f32x4.add(f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(s0), 1, s1), 2, s2), 3, s3), v128.load(b + ob));
    if (relu) v = f32x4.max(v, zero);
    v128.store(out + ob, v);
  }
  for (; o < outDim; o++) {
    let s = load<f32>(b + (<usize>o << 2)) + dot(w + <usize>o * rowBytes, x, inDim);
    if (relu && s < 0) s = 0;
    store<f32>(out + (<usize>o << 2), s);
  }
}

/** Reference twin of {@link denseForward}: one scalar accumulator per output, in input order. */
export function denseForwardScalar(x: usize, inDim: i32, w: usize, b: usize, outDim: i32, relu: bool, out: usize): void {
  const rowBytes = <usize>inDim << 2;
  for (let o = 0; o < outDim; o++) {
    const row = w + <usize>o * rowBytes;
    let s: f32 = 0;
    for (let i = 0; i < inDim; i++) s += load<f32>(row + (<usize>i << 2)) * load<f32>(x + (<usize>i << 2));
    s += load<f32>(b + (<usize>o << 2));
    if (relu && s < 0) s = 0;
    store<f32>(out + (<usize>o << 2), s);
  }
}

/** The latent vector of one row: `out = w2 · relu(w1 · x + b1) + b2`, `targetDim` f32. */
export function encoderForward(x: usize, out: usize): void {
  denseForward(x, encDim, encW1, encB1, encHidden, true, encH);
  denseForward(encH, encHidden, encW2, encB2, encTargetDim, false, out);
}

/** Reference twin of {@link encoderForward}. */
export function encoderForwardScalar(x: usize, out: usize): void {
  denseForwardScalar(x, encDim, encW1, encB1, encHidden, true, encH);
  denseForwardScalar(encH, encHidden, encW2, encB2, encTargetDim, false, out);
}

/**
 * Nearest codeword (squared L2, ties to the lowest index) of each of the `m` subvectors of `n`
 * rows of `targetDim` floats.
 * @param codebooks `(m, KSUB, targetDim / m)` f32
 * @param codesOut `(n, m)` u8
 */
export function codesAssign(z: usize, n: i32, targetDim: i32, m: i32, codebooks: usize, codesOut: usize): void {
  const dsub = targetDim / m;
  const subBytes = <usize>dsub << 2;
  const bookBytes = <usize>KSUB * subBytes;
  for (let r = 0; r < n; r++) {
    const row = z + ((<usize>r * <usize>targetDim) << 2);
    for (let s = 0; s < m; s++) {
      const x = row + <usize>s * subBytes;
      const book = codebooks + <usize>s * bookBytes;
      let best = 0;
      let bestDist = l2Sq(x, book, dsub);
      for (let c = 1; c < KSUB; c++) {
        const d = l2Sq(x, book + <usize>c * subBytes, dsub);
        if (d < bestDist) { bestDist = d; best = c; }
      }
      store<u8>(codesOut + <usize>r * <usize>m + <usize>s, <u8>best);
    }
  }
}

/**
 * The `(m, KSUB)` lookup table of one latent query: squared L2 (`l2`) or negative inner product
 * per subspace and codeword.
 */
export function lutBuild(q: usize, targetDim: i32, m: i32, codebooks: usize, l2: bool, lutOut: usize): void {
  const dsub = targetDim / m;
  const subBytes = <usize>dsub << 2;
  for (let s = 0; s < m; s++) {
    const qs = q + <usize>s * subBytes;
    const book = codebooks + <usize>s * <usize>KSUB * subBytes;
    const row = lutOut + ((<usize>s * <usize>KSUB) << 2);
    for (let c = 0; c < KSUB; c++) {
      const cw = book + <usize>c * subBytes;
      store<f32>(row + (<usize>c << 2), l2 ? l2Sq(qs, cw, dsub) : -dot(qs, cw, dsub));
    }
  }
}

/** ADC distances of `n` codes of `m` bytes against a `(m, KSUB)` table, to `out` (n f32). */
export function adcScan(lut: usize, m: i32, codes: usize, n: i32, out: usize): void {
  for (let r = 0; r < n; r++) {
    const code = codes + <usize>r * <usize>m;
    let sum: f32 = 0;
    for (let s = 0; s < m; s++) sum += load<f32>(lut + ((<usize>s * <usize>KSUB + <usize>load<u8>(code + s)) << 2));
    store<f32>(out + (<usize>r << 2), sum);
  }
}
