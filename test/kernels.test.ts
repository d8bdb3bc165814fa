import { describe, expect, it } from 'vitest';
import { QuantumDB } from '../src/quantumdb.js';
import { Kernels } from '../src/wasm/abi.js';
import { clustered, idsFor, uniform } from './data.js';

/** Puts `values` in fresh kernel memory; returns the address. */
function put(k: Kernels, values: ArrayLike<number>): number {
  const ptr = k.raw.arenaAlloc(Math.max(16, values.length * 4));
  k.f32(ptr, values.length).set(values);
  return ptr;
}

describe('distance kernels', () => {
  const k = new Kernels();
  const random = uniform(11);
  it.each([1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 768])('SIMD equals the scalar twin and the definition at dim %i', (dim) => {
    const a = Array.from({ length: dim }, () => random() * 2 - 1);
    const b = Array.from({ length: dim }, () => random() * 2 - 1);
    const pa = put(k, a), pb = put(k, b);
    const l2 = a.reduce((s, x, i) => s + (x - (b[i] as number)) ** 2, 0);
    const dot = a.reduce((s, x, i) => s + x * (b[i] as number), 0);
    const close = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
    close(k.raw.kernelL2(pa, pb, dim), k.raw.kernelL2Scalar(pa, pb, dim));
    close(k.raw.kernelDot(pa, pb, dim), k.raw.kernelDotScalar(pa, pb, dim));
    close(k.raw.kernelL2(pa, pb, dim), l2);
    close(k.raw.kernelDot(pa, pb, dim), dot);
  });
});

/** A built database plus raw access to its kernels (white-box: tests only). */
async function builtKernels(metric: 'l2' | 'ip' | 'cosine', dim: number, m: number, n = 600) {
  const data = clustered(n, dim, 21);
  const db = new QuantumDB({ dim, metric, m, seed: 4 });
  await db.addBatch(idsFor(n), data).buildIndex();
  return { db, data, kernels: (db as unknown as { kernels: Kernels }).kernels };
}

describe('product quantization and ADC', () => {
  it.each([['l2', 16], ['ip', 16], ['l2', 12], ['cosine', 6]] as const)('ADC (%s, m=%i) equals the distance to the decoded vector', async (metric, m) => {
    const dim = 48;
    const { kernels: k, data } = await builtKernels(metric, dim, m);
    const raw = k.raw;
    const q = data.subarray(3 * dim, 4 * dim);
    k.f32(raw.queryPtr(), dim).set(q);
    expect(raw.queryPrepare()).toBe(0);
    const query = Array.from(k.f32(raw.queryPtr(), dim));
    const rotation = k.f32(raw.rotationPtr(), dim * dim);
    const mean = Array.from(k.f32(raw.meanPtr(), dim));
    const decoded = raw.arenaAlloc(dim * 4);
    for (const slot of [0, 1, 250, 599]) {
      raw.decodeRow(slot, decoded);
      // decodeRow gives R·x̂ in the rotated frame; map back with Rᵀ (R is orthonormal at targetDim = dim).
      const rx = Array.from(k.f32(decoded, dim));
      const xhat = Array.from({ length: dim }, (_, c) => rx.reduce((s, v, t) => s + v * (rotation[t * dim + c] as number), 0));
      const expected = metric === 'l2'
        ? xhat.reduce((s, v, j) => s + (v - (query[j] as number)) ** 2, 0)
        : -xhat.reduce((s, v, j) => s + v * (query[j] as number), 0);
      expect(raw.queryAdcDistance(slot)).toBeCloseTo(expected, 3);
      expect(Math.abs(raw.queryAdcDistance(slot) - expected)).toBeLessThan(1e-3 * Math.max(1, Math.abs(expected)));
    }
    expect(mean).toHaveLength(dim);
  });

  it('scores four codes at once exactly as one at a time, in any order', async () => {
    const { kernels: k, data } = await builtKernels('l2', 32, 16, 500);
    const raw = k.raw;
    k.f32(raw.queryPtr(), 32).set(data.subarray(0, 32));
    raw.queryPrepare();
    const random = uniform(5);
    for (const count of [1, 3, 4, 5, 9, 64]) {
      const slots = Uint32Array.from({ length: count }, () => Math.floor(random() * 500));
      const sp = raw.arenaAlloc(count * 4), a = raw.arenaAlloc(count * 4), b = raw.arenaAlloc(count * 4);
      k.u32(sp, count).set(slots);
      raw.kernelAdcSlots(sp, count, a);
      raw.kernelAdcSlotsScalar(sp, count, b);
      expect(Array.from(k.f32(a, count))).toEqual(Array.from(k.f32(b, count)));
    }
  });

  it('decodes a code to its centroids plus the rotated mean, whatever the code', async () => {
    const { kernels: k } = await builtKernels('l2', 32, 16, 500);
    const raw = k.raw;
    const out = raw.arenaAlloc(32 * 4);
    const codes = k.u8(raw.codesPtr(), 500 * 16);
    const codebooks = k.f32(raw.codebooksPtr(), 16 * 256 * 2);
    const centroid = (slot: number, t: number) => codebooks[(Math.floor(t / 2) * 256 + (codes[slot * 16 + Math.floor(t / 2)] as number)) * 2 + (t % 2)] as number;
    raw.decodeRow(10, out);
    const a = Array.from(k.f32(out, 32));
    raw.decodeRow(11, out);
    const b = Array.from(k.f32(out, 32));
    expect(codes.subarray(160, 176)).not.toEqual(codes.subarray(176, 192));
    for (let t = 0; t < 32; t++) expect((a[t] as number) - centroid(10, t)).toBeCloseTo((b[t] as number) - centroid(11, t), 5);
  });
});

describe('PCA rotation', () => {
  it('is orthonormal and keeps the directions of largest variance', async () => {
    // Data spread along 4 known axes of a 24-d space; the rotation to 8 dims must span them.
    const dim = 24, n = 2000, random = uniform(9);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const data = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) data[i * dim + j] = (j < 4 ? 5 * (j + 1) : 0.01) * gauss();
    const db = new QuantumDB({ dim, metric: 'l2', m: 4, targetDim: 8, seed: 2 });
    await db.addBatch(idsFor(n), data).buildIndex();
    const k = (db as unknown as { kernels: Kernels }).kernels;
    const r = k.f32(k.raw.rotationPtr(), 8 * dim);
    for (let a = 0; a < 8; a++) {
      for (let b = 0; b < 8; b++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += (r[a * dim + j] as number) * (r[b * dim + j] as number);
        expect(s).toBeCloseTo(a === b ? 1 : 0, 4);
      }
    }
    for (let j = 0; j < 4; j++) {
      let captured = 0;
      for (let t = 0; t < 8; t++) captured += (r[t * dim + j] as number) ** 2;
      expect(captured).toBeCloseTo(1, 3);
    }
  });
});
