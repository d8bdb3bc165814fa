import { describe, expect, it } from 'vitest';
import { QuantumDB } from '../src/quantumdb.js';
import { Kernels } from '../src/wasm/abi.js';
import { trainPqCodebooks, PqEncoder } from '../src/formats/vectro-pq.js';
import { pqEncode, type ProductQuantizer } from '../src/formats/vectro-quant.js';
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

describe('file-scan kernels (assembly/scan.ts)', () => {
  const k = new Kernels();
  const random = uniform(31);
  it.each([1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 768])('cosine of rows at any byte offset: SIMD equals the scalar twin and the definition at dim %i', (dim) => {
    const query = Float32Array.from({ length: dim }, () => random() * 2 - 1);
    // Row 4 holds magnitudes whose squares overflow binary32; binary64 sums do not.
    const rows = Array.from({ length: 6 }, (_, r) => Float32Array.from({ length: dim }, () => (r === 2 ? 0 : (random() * 2 - 1) * (r === 4 ? 3e38 : 1))));
    // Rows at odd byte offsets, as STREAM1 records leave them after an id of any length.
    const offsets = rows.map((_, r) => 1 + r * (4 * dim + 7));
    const base = k.raw.arenaAlloc(offsets[5]! + 4 * dim + 16);
    rows.forEach((row, r) => k.u8(base + offsets[r]!, 4 * dim).set(new Uint8Array(row.buffer)));
    const q = k.raw.arenaAlloc(8 * dim), offs = k.raw.arenaAlloc(4 * rows.length), simd = k.raw.arenaAlloc(8 * rows.length), scalar = k.raw.arenaAlloc(8 * rows.length);
    k.f64(q, dim).set(query);
    k.u32(offs, rows.length).set(offsets);
    k.raw.scanCosine(q, base, offs, rows.length, dim, simd);
    k.raw.scanCosineScalar(q, base, offs, rows.length, dim, scalar);
    const got = Array.from(k.f64(simd, rows.length)), twin = Array.from(k.f64(scalar, rows.length));
    rows.forEach((row, r) => {
      const dot = row.reduce((s, x, i) => s + x * query[i]!, 0);
      const norms = Math.sqrt(row.reduce((s, x) => s + x * x, 0) * query.reduce((s, x) => s + x * x, 0));
      const want = r === 2 ? 0 : dot / norms;
      expect(Math.abs(got[r]! - twin[r]!)).toBeLessThan(1e-14);
      expect(Math.abs(got[r]! - want)).toBeLessThan(1e-14);
    });
    expect(got[2]).toBe(0);
  });

  it('expands codes through a per-position table, one value (QSTREAM1) or a sub-vector (PQSTREAM1) per code', () => {
    for (const [m, sub] of [[5, 1], [3, 4]] as const) {
      const table = Float32Array.from({ length: m * 256 * sub }, (_, i) => i * 0.5);
      const codes = [[0, 255, 7, 1, 2].slice(0, m), [9, 0, 128, 3, 4].slice(0, m)];
      const tablePtr = put(k, table);
      const base = k.raw.arenaAlloc(64), offs = k.raw.arenaAlloc(8), out = k.raw.arenaAlloc(4 * 2 * m * sub);
      k.u8(base + 3, m).set(codes[0]!);
      k.u8(base + 30, m).set(codes[1]!);
      k.u32(offs, 2).set([3, 30]);
      k.raw.scanDecodeCodes(base, offs, 2, m, sub, tablePtr, out);
      const want = codes.flatMap((row) => row.flatMap((c, s) => Array.from(table.subarray((s * 256 + c) * sub, (s * 256 + c + 1) * sub))));
      expect(Array.from(k.f32(out, 2 * m * sub))).toEqual(want);
    }
  });
});

describe('Vectro+ PQ kernels (assembly/vectro.ts)', () => {
  const random = uniform(41);
  /** A quantizer with `counts[s]` centroids in subspace s, some repeated so that distances tie. */
  const quantizer = (dim: number, counts: number[]): ProductQuantizer => {
    const sub = dim / counts.length;
    return {
      m: counts.length, k: Math.max(...counts), dim,
      codebooks: counts.map((count) => {
        const centroids = Array.from({ length: count }, () => Float32Array.from({ length: sub }, () => random() * 2 - 1));
        if (count > 5) centroids[5] = centroids[1]!.slice();
        return centroids;
      }),
    };
  };

  it.each([
    [8, [1, 2]], [12, [3, 5, 7]], [10, [4, 6, 9, 13, 16]], [24, [256, 17, 100]], [6, [255, 254, 253]],
  ] as const)('encodes dim %i with centroid counts %j: SIMD, the scalar twin and pqEncode agree code for code', (dim, counts) => {
    const pq = quantizer(dim, [...counts]);
    const rows = Array.from({ length: 40 }, (_, r) => Float32Array.from({ length: dim }, () => (r === 3 ? 0 : random() * 4 - 2)));
    rows[4]![0] = Number.NaN;
    rows[5] = Float32Array.from(pq.codebooks.flatMap((c) => Array.from(c[Math.min(1, c.length - 1)]!)));
    const encoder = new PqEncoder(pq);
    rows.forEach((row, r) => encoder.row(r).set(row));
    const simd = encoder.encode(rows.length);
    const scalar = encoder.encode(rows.length, true);
    const reference = rows.flatMap((row) => Array.from(pqEncode(pq, row)));
    expect(Array.from(scalar)).toEqual(reference);
    expect(Array.from(simd)).toEqual(reference);
  });

  /** The same Lloyd's k-means in JavaScript: evenly spaced start, Vectro+'s binary32 distance, binary64 sums. */
  function kmeansReference(rows: Float32Array, n: number, dim: number, offset: number, sub: number, k: number, maxIter: number) {
    const f32 = Math.fround;
    const centroids = Array.from({ length: k }, (_, c) => rows.slice(Math.floor((c * n) / k) * dim + offset, Math.floor((c * n) / k) * dim + offset + sub));
    const assign = new Int32Array(n).fill(-1);
    let iter = 0;
    while (iter < maxIter) {
      iter++;
      let changed = 0;
      for (let r = 0; r < n; r++) {
        let best = 0, bestDistance = 0;
        centroids.forEach((c, i) => {
          let sum = 0;
          for (let d = 0; d < sub; d++) { const diff = f32(rows[r * dim + offset + d]! - c[d]!); sum = f32(sum + f32(diff * diff)); }
          if (i === 0 || bestDistance > sum) { best = i; bestDistance = sum; }
        });
        if (assign[r] !== best) { assign[r] = best; changed++; }
      }
      if (changed === 0) break;
      const sums = new Float64Array(k * sub), sizes = new Int32Array(k);
      for (let r = 0; r < n; r++) { sizes[assign[r]!]!++; for (let d = 0; d < sub; d++) sums[assign[r]! * sub + d] += rows[r * dim + offset + d]!; }
      for (let c = 0; c < k; c++) if (sizes[c]! > 0) for (let d = 0; d < sub; d++) centroids[c]![d] = sums[c * sub + d]! / sizes[c]!;
    }
    return { centroids, iter };
  }

  it.each([[5, 10], [7, 3], [16, 25], [3, 1]] as const)('k-means with k = %i, %i iterations equals the JavaScript run of the same rule, bit for bit', (k, maxIter) => {
    const n = 90, dim = 12, m = 3, sub = 4;
    const rows = clustered(n, dim, 17, 6, 0.2);
    const books = trainPqCodebooks(rows, n, dim, m, k, maxIter);
    for (let s = 0; s < m; s++) {
      const { centroids } = kmeansReference(rows, n, dim, s * sub, sub, k, maxIter);
      expect(books[s]!.map((c) => Array.from(c))).toEqual(centroids.map((c) => Array.from(c)));
    }
  });
});
