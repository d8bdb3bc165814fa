/**
 * Checks the benchmark data generator and helpers in `bench/datasets.mjs` on tiny sizes, without
 * touching the on-disk cache. The pinned values were taken after the 100k set passed DATASETS.md's
 * calibration (hnswlib, M=16: Recall@10 ≈ 0.95 at ef=40).
 */
import { describe, expect, it } from 'vitest';
import { boxMuller, groundTruth, mulberry32, recallAt, selectTopK, synth768 } from '../bench/datasets.mjs';

const DIM = 768;

describe('synth768', () => {
  it('is deterministic, unit-norm, and a shorter base is a prefix of a longer one', async () => {
    const a = await synth768({ nBase: 50, nQueries: 5, cache: false });
    const b = await synth768({ nBase: 50, nQueries: 5, cache: false });
    const short = await synth768({ nBase: 20, nQueries: 2, cache: false });
    expect(a).toMatchObject({ name: 'synth-768', metric: 'cosine', dim: DIM, nBase: 50, nQueries: 5 });
    expect(a.base).toBeInstanceOf(Float32Array);
    expect(a.base.length).toBe(50 * DIM);
    expect(a.queries.length).toBe(5 * DIM);
    expect(Buffer.from(a.base.buffer).equals(Buffer.from(b.base.buffer))).toBe(true);
    expect(Buffer.from(a.queries.buffer).equals(Buffer.from(b.queries.buffer))).toBe(true);
    expect(Array.from(short.base)).toEqual(Array.from(a.base.subarray(0, 20 * DIM)));
    expect(Array.from(short.queries)).toEqual(Array.from(a.queries.subarray(0, 2 * DIM)));
    for (const set of [a.base, a.queries]) {
      for (let r = 0; r < set.length / DIM; r++) {
        let sq = 0;
        for (let k = 0; k < DIM; k++) sq += set[r * DIM + k] ** 2;
        expect(Math.sqrt(sq)).toBeCloseTo(1, 5);
      }
    }
    // Queries come from their own stream: no query equals a base row.
    expect(Array.from(a.queries.subarray(0, DIM))).not.toEqual(Array.from(a.base.subarray(0, DIM)));
  });

  it('reproduces the pinned values of the DATASETS.md recipe', async () => {
    const ds = await synth768({ nBase: 50, nQueries: 5, cache: false });
    expect(Array.from(ds.base.subarray(0, 4))).toEqual([
      -0.002309447154402733, 0.01664363592863083, 0.0140140475705266, 0.040961943566799164,
    ]);
    expect(Array.from(ds.base.subarray(50 * DIM - 2))).toEqual([0.03632215037941933, -0.005167781841009855]);
    expect(Array.from(ds.queries.subarray(0, 4))).toEqual([
      -0.031140541657805443, 0.0811900943517685, -0.0571761354804039, 0.060299765318632126,
    ]);
    expect(Array.from(ds.queries.subarray(5 * DIM - 2))).toEqual([-0.01436367817223072, 0.043071161955595016]);
  });
});

describe('PRNG', () => {
  it('mulberry32 and the Box-Muller cosine branch give the pinned draws', () => {
    const u = mulberry32(42);
    expect([u(), u(), u()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
    const g = boxMuller(mulberry32(42));
    // g = sqrt(-2 ln(1 - u1)) * cos(2π u2) with the first two uniforms above.
    expect(g()).toBe(Math.sqrt(-2 * Math.log(1 - 0.6011037519201636)) * Math.cos(2 * Math.PI * 0.44829055899754167));
    expect(g()).toBeCloseTo(-0.9453528099747296, 15);
  });
});

describe('recallAt', () => {
  it('counts the overlap of the first k results with the true top k', () => {
    const gt = Int32Array.from([
      1, 2, 3, 9,
      4, 5, 6, 9,
    ]);
    // query 0: finds 3 and 1 of {1, 2, 3} -> 2/3; query 1: finds 6 and 7 (7 is not true) -> 1/3.
    expect(recallAt([[3, 1, 8], [7, 6]], gt, 3, 4)).toBeCloseTo(0.5, 12);
    expect(recallAt([[1, 2, 3], [4, 5, 6]], gt, 3, 4)).toBe(1);
    // A duplicate result counts once; results past k are ignored.
    expect(recallAt([[1, 1, 1, 2]], gt, 3, 4)).toBeCloseTo(1 / 3, 12);
  });
});

describe('ground truth', () => {
  it('selectTopK returns the k smallest, nearest first, ties to the lower index', () => {
    const dist = Float64Array.from([5, 1, 3, 1, 0, 7]);
    const d = new Float64Array(3);
    const i = new Int32Array(3);
    expect(selectTopK(dist, 0, dist.length, 3, d, i)).toBe(3);
    expect(Array.from(i)).toEqual([4, 1, 3]);
    expect(Array.from(d)).toEqual([0, 1, 1]);
  });

  it('matches a naive scan for cosine and l2', async () => {
    const ds = await synth768({ nBase: 50, nQueries: 5, cache: false });
    for (const metric of ['cosine', 'l2'] as const) {
      const gt = await groundTruth({ ...ds, metric }, 10, { cache: false, parallel: false });
      for (let q = 0; q < ds.nQueries; q++) {
        const scored = [];
        for (let r = 0; r < ds.nBase; r++) {
          let s = 0;
          for (let k = 0; k < DIM; k++) {
            const a = ds.base[r * DIM + k];
            const b = ds.queries[q * DIM + k];
            s += metric === 'l2' ? (a - b) ** 2 : -a * b;
          }
          scored.push({ r, s });
        }
        scored.sort((x, y) => x.s - y.s || x.r - y.r);
        expect(Array.from(gt.subarray(q * 10, q * 10 + 10))).toEqual(scored.slice(0, 10).map((x) => x.r));
      }
    }
  });
});
