/**
 * @module codec/codec-evaluator
 * The validation harness of the codecs: a private WASM kernel instance (its memory goes when the
 * instance does) that maps rows into a codec's latent frame, assigns PQ codes against explicit
 * codebooks, scans them with ADC and measures 10-recall@10, all through `assembly/encoder.ts`.
 * It reads and writes that instance's memory through typed views, a departure from "only abi.ts
 * touches pointers" kept to the codec modules.
 */
import { Kernels, KSUB } from '../wasm/abi.js';
import type { LearnedCodecWeights, ValidationSet } from './learned-codec.js';

/** A codec seen from the validation harness: how rows become latent vectors, and its codebooks in that frame. */
export type LatentCodec =
  | { kind: 'linear'; targetDim: number; m: number; rotation: Float32Array; codebooks: Float32Array }
  | { kind: 'mlp'; weights: LearnedCodecWeights };

/**
 * Scratch WASM for validation: latent maps, PQ codes against explicit codebooks and flat ADC
 * scans, all through the kernels of `assembly/encoder.ts`.
 */
export class CodecEvaluator {
  private readonly k = new Kernels();

  /** Latent vectors `(n, targetDim)` of `rows` under `codec`. */
  latent(codec: LatentCodec, rows: Float32Array, dim: number): Float32Array {
    const raw = this.k.raw;
    const n = rows.length / dim;
    const t = codec.kind === 'linear' ? codec.targetDim : codec.weights.targetDim;
    const x = this.put(rows);
    const out = raw.arenaAlloc(Math.max(16, n * t * 4));
    try {
      if (codec.kind === 'linear') {
        const w = this.put(codec.rotation);
        const b = raw.arenaAlloc(t * 4);
        raw.kernelDense(x, n, dim, w, b, t, 0, out, 0);
        raw.arenaFree(w); raw.arenaFree(b);
      } else {
        this.loadEncoder(codec.weights);
        raw.encoderRows(x, n, out, 0);
      }
      return this.k.f32(out, n * t).slice();
    } finally {
      raw.arenaFree(x); raw.arenaFree(out);
    }
  }

  /** One dense layer over `(n, inDim)` rows: `w` `(outDim, inDim)`, `b` `outDim` (a decoder, for instance). */
  dense(rows: Float32Array, inDim: number, w: Float32Array, b: Float32Array, outDim: number): Float32Array {
    const raw = this.k.raw;
    const n = rows.length / inDim;
    const [x, wp, bp] = [this.put(rows), this.put(w), this.put(b)];
    const out = raw.arenaAlloc(Math.max(16, n * outDim * 4));
    raw.kernelDense(x, n, inDim, wp, bp, outDim, 0, out, 0);
    const y = this.k.f32(out, n * outDim).slice();
    for (const p of [x, wp, bp, out]) raw.arenaFree(p);
    return y;
  }

  /**
   * Exact top 10 of each query among `base` (squared L2, or largest inner product), by brute force
   * in WASM: the dense kernel with the base rows as its weight matrix gives every inner product.
   * @returns `(nq, 10)` i32 base row indices, nearest first
   */
  exactTop10(queries: Float32Array, base: Float32Array, dim: number, l2: boolean): Int32Array {
    const raw = this.k.raw;
    const nq = queries.length / dim, nb = base.length / dim;
    const bias = new Float32Array(nb);
    if (l2) for (let i = 0; i < nb; i++) { let s = 0; for (let j = 0; j < dim; j++) s += (base[i * dim + j] as number) ** 2; bias[i] = -0.5 * s; }
    const [bp, zp] = [this.put(base), this.put(bias)];
    const block = 32;
    const xp = raw.arenaAlloc(block * dim * 4);
    const out = raw.arenaAlloc(block * nb * 4);
    const found = new Int32Array(nq * 10);
    const neg = new Float32Array(nb);
    for (let q0 = 0; q0 < nq; q0 += block) {
      const rows = Math.min(block, nq - q0);
      this.k.f32(xp, rows * dim).set(queries.subarray(q0 * dim, (q0 + rows) * dim));
      // score = q·b − ‖b‖²/2 ranks like −‖q − b‖²/2 (l2), or q·b (inner product).
      raw.kernelDense(xp, rows, dim, bp, zp, nb, 0, out, 0);
      const scores = this.k.f32(out, rows * nb);
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < nb; i++) neg[i] = -(scores[r * nb + i] as number);
        found.set(top10(neg), (q0 + r) * 10);
      }
    }
    for (const p of [bp, zp, xp, out]) raw.arenaFree(p);
    return found;
  }

  /** Copies the MLP weights into this instance's encoder. */
  loadEncoder(w: LearnedCodecWeights): void {
    const raw = this.k.raw;
    this.k.check(raw.encoderConfigure(w.dim, w.hidden, w.targetDim), 'configuring the encoder');
    this.k.f32(raw.encoderW1Ptr(), w.w1.length).set(w.w1);
    this.k.f32(raw.encoderB1Ptr(), w.b1.length).set(w.b1);
    this.k.f32(raw.encoderW2Ptr(), w.w2.length).set(w.w2);
    this.k.f32(raw.encoderB2Ptr(), w.b2.length).set(w.b2);
  }

  /** The latent vectors through the encoder: the SIMD kernel, or its scalar twin. */
  encoderRows(rows: Float32Array, dim: number, targetDim: number, scalar: boolean): Float32Array {
    const raw = this.k.raw;
    const n = rows.length / dim;
    const x = this.put(rows);
    const out = raw.arenaAlloc(Math.max(16, n * targetDim * 4));
    raw.encoderRows(x, n, out, scalar ? 1 : 0);
    const z = this.k.f32(out, n * targetDim).slice();
    raw.arenaFree(x); raw.arenaFree(out);
    return z;
  }

  /** `(n, m)` codes of latent rows. */
  codes(z: Float32Array, targetDim: number, m: number, codebooks: Float32Array): Uint8Array {
    const raw = this.k.raw;
    const n = z.length / targetDim;
    const zp = this.put(z), bp = this.put(codebooks);
    const cp = raw.arenaAlloc(Math.max(16, n * m));
    raw.codecAssign(zp, n, targetDim, m, bp, cp);
    const codes = this.k.u8(cp, n * m).slice();
    raw.arenaFree(zp); raw.arenaFree(bp); raw.arenaFree(cp);
    return codes;
  }

  /**
   * Flat-ADC top 10 of each latent query among coded rows: `(nq, 10)` i32 row indices.
   */
  adcTop10(zq: Float32Array, targetDim: number, m: number, codebooks: Float32Array, codes: Uint8Array, l2: boolean): Int32Array {
    const raw = this.k.raw;
    const nq = zq.length / targetDim;
    const n = codes.length / m;
    const qp = this.put(zq), bp = this.put(codebooks);
    const cp = raw.arenaAlloc(Math.max(16, codes.length));
    this.k.u8(cp, codes.length).set(codes);
    const lut = raw.arenaAlloc(m * KSUB * 4);
    const dist = raw.arenaAlloc(Math.max(16, n * 4));
    const out = new Int32Array(nq * 10).fill(-1);
    for (let q = 0; q < nq; q++) {
      raw.codecLut(qp + q * targetDim * 4, targetDim, m, bp, l2 ? 1 : 0, lut);
      raw.codecAdcScan(lut, m, cp, n, dist);
      out.set(top10(this.k.f32(dist, n)), q * 10);
    }
    for (const p of [qp, bp, cp, lut, dist]) raw.arenaFree(p);
    return out;
  }

  /** 10-recall@10 and 1-recall@1 of a flat ADC scan with `codec` on `set`. */
  recall(codec: LatentCodec, set: ValidationSet, l2: boolean, queryRange?: [number, number], baseCodes?: Uint8Array): { recall10: number; recall1: number; codes: Uint8Array } {
    const { targetDim, m, codebooks } = codec.kind === 'linear' ? codec : codec.weights;
    const nq = set.queries.length / set.dim;
    const [q0, q1] = queryRange ?? [0, nq];
    const codes = baseCodes ?? this.codes(this.latent(codec, set.base, set.dim), targetDim, m, codebooks);
    const zq = this.latent(codec, set.queries.subarray(q0 * set.dim, q1 * set.dim), set.dim);
    const found = this.adcTop10(zq, targetDim, m, codebooks, codes, l2);
    let hit10 = 0, hit1 = 0;
    for (let q = 0; q < q1 - q0; q++) {
      const truth = set.truth.subarray((q0 + q) * 10, (q0 + q + 1) * 10);
      const mine = found.subarray(q * 10, q * 10 + 10);
      for (const id of mine) if (truth.includes(id)) hit10++;
      if (mine[0] === truth[0]) hit1++;
    }
    return { recall10: hit10 / (10 * (q1 - q0)), recall1: hit1 / (q1 - q0), codes };
  }

  /**
   * Eigen-decomposition of a symmetric `(n, n)` f64 matrix (Householder + QL in the kernels).
   * @returns eigenvalues, descending (ties in index order), and the matching unit eigenvectors as rows `(n, n)`
   */
  eigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
    const { k } = this;
    const a = k.raw.arenaAlloc(matrix.byteLength);
    const valuesPtr = k.raw.arenaAlloc(n * 8);
    const vectorsPtr = k.raw.arenaAlloc(matrix.byteLength);
    try {
      k.f64(a, n * n).set(matrix);
      k.check(k.raw.kernelSymmetricEigen(a, n, valuesPtr, vectorsPtr), 'the eigen-decomposition of the latent covariance');
      const raw = k.f64(valuesPtr, n);
      const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => (raw[y] as number) - (raw[x] as number) || x - y);
      const rows = k.f64(vectorsPtr, n * n);
      const vectors = new Float64Array(n * n);
      order.forEach((i, r) => vectors.set(rows.subarray(i * n, (i + 1) * n), r * n));
      return { values: Float64Array.from(order, (i) => raw[i] as number), vectors };
    } finally {
      k.raw.arenaFree(vectorsPtr);
      k.raw.arenaFree(valuesPtr);
      k.raw.arenaFree(a);
    }
  }

  private put(values: Float32Array): number {
    const ptr = this.k.raw.arenaAlloc(Math.max(16, values.byteLength));
    this.k.f32(ptr, values.length).set(values);
    return ptr;
  }
}

/** Indices of the 10 smallest values (ties to the lower index), smallest first. */
function top10(d: Float32Array): Int32Array {
  const idx = new Int32Array(10).fill(-1);
  const val = new Float64Array(10).fill(Infinity);
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number;
    if (v >= (val[9] as number)) continue;
    let j = 9;
    while (j > 0 && (val[j - 1] as number) > v) { val[j] = val[j - 1] as number; idx[j] = idx[j - 1] as number; j--; }
    val[j] = v; idx[j] = i;
  }
  return idx;
}
