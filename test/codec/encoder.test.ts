import { describe, expect, it } from 'vitest';
import { CodecEvaluator } from '../../src/codec/codec-evaluator.js';
import { initFromLinear, type LearnedCodecWeights } from '../../src/codec/learned-codec.js';
import { encodeWithTf, loadTensorflow } from '../../src/codec/tf-runtime.js';
import { Kernels } from '../../src/wasm/abi.js';
import { uniform } from '../data.js';
import { randomLinearCodec, randomWeights } from './fixtures.js';

/** The definition, in float64: `w2 · relu(w1 · x + b1) + b2` per row. */
function referenceEncode(w: LearnedCodecWeights, rows: Float32Array): Float64Array {
  const n = rows.length / w.dim;
  const out = new Float64Array(n * w.targetDim);
  const h = new Float64Array(w.hidden);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < w.hidden; j++) {
      let s = w.b1[j] as number;
      for (let i = 0; i < w.dim; i++) s += (w.w1[j * w.dim + i] as number) * (rows[r * w.dim + i] as number);
      h[j] = Math.max(0, s);
    }
    for (let t = 0; t < w.targetDim; t++) {
      let s = w.b2[t] as number;
      for (let j = 0; j < w.hidden; j++) s += (w.w2[t * w.hidden + j] as number) * (h[j] as number);
      out[r * w.targetDim + t] = s;
    }
  }
  return out;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs((got[i] as number) - (want[i] as number)) / Math.max(1, Math.abs(want[i] as number));
    worst = Math.max(worst, err);
  }
  expect(worst).toBeLessThan(tol);
}

/** f32 sums of n terms drift by about n·ε relative to their terms; allow 1e-7 per term (ε ≈ 1.2e-7), at least 1e-5. */
const tolerance = (dim: number, hidden: number): number => Math.max(1e-5, 1e-7 * (dim + hidden));

// Sizes chosen to exercise every SIMD tail: dims not multiples of 4, hidden and targetDim of 1–3 mod 4.
const SIZES: [number, number, number, number][] = [
  [1, 1, 1, 1], [3, 5, 2, 2], [5, 7, 3, 3], [7, 9, 6, 2], [15, 17, 15, 5], [17, 33, 16, 4], [33, 66, 12, 4], [784, 512, 256, 16],
];

describe('WASM MLP encoder', () => {
  const ev = new CodecEvaluator();
  it.each(SIZES)('SIMD = scalar twin = float64 definition (dim %i, hidden %i, targetDim %i)', (dim, hidden, targetDim, m) => {
    const w = randomWeights(dim, hidden, targetDim, m, dim * 7 + hidden);
    const random = uniform(dim + 1);
    const rows = Float32Array.from({ length: 5 * dim }, () => random() * 2 - 1);
    ev.loadEncoder(w);
    const simd = ev.encoderRows(rows, dim, targetDim, false);
    const scalar = ev.encoderRows(rows, dim, targetDim, true);
    const want = referenceEncode(w, rows);
    expectClose(simd, scalar, tolerance(dim, hidden));
    expectClose(simd, want, tolerance(dim, hidden));
  });

  it.each(SIZES)('WASM inference equals TF.js inference (dim %i, hidden %i, targetDim %i)', async (dim, hidden, targetDim, m) => {
    const rt = await loadTensorflow();
    const w = randomWeights(dim, hidden, targetDim, m, dim * 11 + targetDim);
    const random = uniform(dim + 2);
    const rows = Float32Array.from({ length: 9 * dim }, () => random() * 2 - 1);
    ev.loadEncoder(w);
    expectClose(ev.encoderRows(rows, dim, targetDim, false), encodeWithTf(rt, w, rows), tolerance(dim, hidden));
  });

  it('the dense kernel handles one layer with and without ReLU', () => {
    const k = new Kernels();
    const raw = k.raw;
    const [inDim, outDim, n] = [13, 7, 3];
    const random = uniform(5);
    const put = (v: Float32Array) => { const p = raw.arenaAlloc(Math.max(16, v.byteLength)); k.f32(p, v.length).set(v); return p; };
    const x = Float32Array.from({ length: n * inDim }, () => random() * 2 - 1);
    const w = Float32Array.from({ length: outDim * inDim }, () => random() * 2 - 1);
    const b = Float32Array.from({ length: outDim }, () => random() * 2 - 1);
    const [px, pw, pb, po] = [put(x), put(w), put(b), raw.arenaAlloc(n * outDim * 4)];
    for (const relu of [0, 1]) {
      for (const scalar of [0, 1]) {
        raw.kernelDense(px, n, inDim, pw, pb, outDim, relu, po, scalar);
        const got = k.f32(po, n * outDim);
        for (let r = 0; r < n; r++) {
          for (let o = 0; o < outDim; o++) {
            let s = b[o] as number;
            for (let i = 0; i < inDim; i++) s += (w[o * inDim + i] as number) * (x[r * inDim + i] as number);
            expect(got[r * outDim + o]).toBeCloseTo(relu ? Math.max(0, s) : s, 5);
          }
        }
      }
    }
  });
});

describe('initialisation from the linear codec', () => {
  it('reproduces R·x exactly and gives the codes of v1 (R (x − mean) against centred codebooks)', () => {
    const [dim, targetDim, m] = [24, 12, 4];
    const pq = randomLinearCodec(dim, targetDim, m, 3);
    const w = initFromLinear(pq);
    expect(w.hidden).toBe(2 * targetDim);
    const random = uniform(4);
    const n = 50;
    const rows = Float32Array.from({ length: n * dim }, () => random() * 2 - 1);
    const ev = new CodecEvaluator();
    ev.loadEncoder(w);
    const z = ev.encoderRows(rows, dim, targetDim, false);
    const centred = new Float32Array(n * targetDim);
    for (let r = 0; r < n; r++) {
      for (let t = 0; t < targetDim; t++) {
        let s = 0, c = 0;
        for (let j = 0; j < dim; j++) {
          s += (pq.rotation[t * dim + j] as number) * (rows[r * dim + j] as number);
          c += (pq.rotation[t * dim + j] as number) * ((rows[r * dim + j] as number) - (pq.mean[j] as number));
        }
        expect(z[r * targetDim + t]).toBeCloseTo(s, 4);
        centred[r * targetDim + t] = c;
      }
    }
    const learnedCodes = ev.codes(z, targetDim, m, w.codebooks);
    const v1Codes = ev.codes(centred, targetDim, m, pq.codebooks);
    expect([...learnedCodes]).toEqual([...v1Codes]);
  });

  it('extra hidden units leave z unchanged; rows of R left at zero need no hidden units', () => {
    const [dim, targetDim, m] = [10, 8, 4];
    const pq = randomLinearCodec(dim, targetDim, m, 5);
    const x = Float32Array.from({ length: 3 * dim }, (_, j) => Math.sin(j));
    const ev = new CodecEvaluator();
    const encode = (w: LearnedCodecWeights) => { ev.loadEncoder(w); return ev.encoderRows(x, dim, targetDim, false); };
    const wide = initFromLinear(pq, 40);
    expect(wide.hidden).toBe(40);
    expect(wide.w1.subarray(16 * dim).some((v) => v !== 0)).toBe(true);
    expectClose(encode(wide), encode(initFromLinear(pq)), 1e-6);
    pq.rotation.fill(0, 2 * dim, 4 * dim);
    expect(initFromLinear(pq).hidden).toBe(12);
  });

  it('its decoder inverts the projection on the span of R', () => {
    const [dim, targetDim, m] = [8, 8, 2];
    const pq = randomLinearCodec(dim, targetDim, m, 9);
    // An orthogonal R (a signed permutation) makes the decoder an exact inverse.
    pq.rotation.fill(0);
    for (let t = 0; t < dim; t++) pq.rotation[t * dim + ((t * 3) % dim)] = t % 2 ? -1 : 1;
    const w = initFromLinear(pq);
    const x = Float32Array.from({ length: dim }, (_, j) => j * 0.25 - 1);
    const z = referenceEncode(w, x);
    for (let j = 0; j < dim; j++) {
      let s = w.decoderB[j] as number;
      for (let t = 0; t < targetDim; t++) s += (w.decoderW[j * targetDim + t] as number) * (z[t] as number);
      expect(s).toBeCloseTo(x[j] as number, 5);
    }
  });
});
