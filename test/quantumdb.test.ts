import { describe, expect, expectTypeOf, it } from 'vitest';
import { QuantumDB, isQuantumDBError, type Metric, type SearchHit } from '../src/index.js';
import { bruteForce, clustered, exactScore, idsFor, recall } from './data.js';
import { expectQdbError, expectQdbErrorAsync } from './helpers.js';

const DIM = 32;
const N = 3000;
const base = clustered(N, DIM, 7);
const queries = clustered(40, DIM, 8);
const row = (data: Float32Array, i: number) => data.subarray(i * DIM, (i + 1) * DIM);

async function built(metric: Metric, extra: Partial<ConstructorParameters<typeof QuantumDB>[0]> = {}) {
  const db = new QuantumDB({ dim: DIM, metric, seed: 3, efConstruction: 100, kmeansIterations: 10, ...extra });
  await db.addBatch(idsFor(N), base).buildIndex();
  return db;
}

function meanRecall(db: QuantumDB, metric: Metric, options: Parameters<QuantumDB['search']>[1]) {
  let total = 0;
  for (let q = 0; q < 40; q++) {
    const hits = db.search(row(queries, q), { k: 10, ...options });
    total += recall(hits.map((h) => h.id), bruteForce(metric, base, DIM, row(queries, q), 10));
  }
  return total / 40;
}

describe.each(['cosine', 'l2', 'ip'] as const)('search with metric %s', (metric) => {
  it('finds the true neighbours through the graph with re-rank', async () => {
    const db = await built(metric, { flatThreshold: 0 });
    expect(meanRecall(db, metric, { ef: 64, rerank: 64 })).toBeGreaterThanOrEqual(0.95);
  });

  it('finds them with the flat scan too, and ADC alone is much better than chance', async () => {
    const db = await built(metric);
    expect(meanRecall(db, metric, { flat: true, rerank: 64 })).toBeGreaterThanOrEqual(0.95);
    expect(meanRecall(db, metric, { flat: true, rerank: 0 })).toBeGreaterThan(0.3);
  });

  it('reports exact scores in the metric’s own scale, best first', async () => {
    const db = await built(metric, { flatThreshold: 0 });
    const q = row(queries, 0);
    const hits = db.search(q, { k: 5, rerank: 50 });
    for (const h of hits) {
      const i = Number(h.id.slice(1));
      expect(h.score).toBeCloseTo(exactScore(metric, row(base, i), q), 4);
    }
    const scores = hits.map((h) => h.score);
    const sorted = [...scores].sort((a, b) => (metric === 'l2' ? a - b : b - a));
    expect(scores).toEqual(sorted);
  });

  it('approximate (rerank 0) scores are close to the exact ones', async () => {
    const db = await built(metric, { flatThreshold: 0 });
    const q = row(queries, 1);
    for (const h of db.search(q, { k: 5, rerank: 0 })) {
      const exact = exactScore(metric, row(base, Number(h.id.slice(1))), q);
      expect(Math.abs(h.score - exact)).toBeLessThan(0.35 * Math.max(1, Math.abs(exact)));
    }
  });
});

describe('QuantumDB basics', () => {
  it('exposes size, dim and a typed result', async () => {
    const db = new QuantumDB({ dim: 4 });
    expect(db.size).toBe(0);
    expect(db.dim).toBe(4);
    db.addBatch(['a', 'b'], [[1, 0, 0, 0], [0, 1, 0, 0]]);
    expect(db.size).toBe(2);
    await db.buildIndex();
    expectTypeOf(db.search([1, 0, 0, 0])).toEqualTypeOf<SearchHit[]>();
  });

  it('accepts Float32Array rows and number arrays identically', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => Array.from(row(base, i)));
    const a = new QuantumDB({ dim: DIM, seed: 1 }).addBatch(idsFor(300), base.subarray(0, 300 * DIM));
    const b = new QuantumDB({ dim: DIM, seed: 1 }).addBatch(idsFor(300), rows);
    const c = new QuantumDB({ dim: DIM, seed: 1 }).addBatch(idsFor(300), rows.map((r) => Float32Array.from(r)));
    await Promise.all([a.buildIndex(), b.buildIndex(), c.buildIndex()]);
    const q = row(queries, 2);
    expect(b.search(q)).toEqual(a.search(q));
    expect(c.search(q)).toEqual(a.search(q));
  });

  it('returns [] on an empty database and clamps k to the size', async () => {
    expect(new QuantumDB({ dim: DIM }).search(row(queries, 0))).toEqual([]);
    const db = new QuantumDB({ dim: DIM }).addBatch(idsFor(5), base.subarray(0, 5 * DIM));
    await db.buildIndex();
    const hits = db.search(row(queries, 0), { k: 50 });
    expect(hits).toHaveLength(5);
    expect(new Set(hits.map((h) => h.id)).size).toBe(5);
  });

  it('finds a stored vector as its own nearest neighbour', async () => {
    const db = await built('cosine');
    for (const i of [0, 17, 2999]) expect(db.search(row(base, i), { k: 1 })[0]?.id).toBe(`v${i}`);
  });

  it('is deterministic: same data and seed give the same codes, graph and results', async () => {
    const [a, b] = await Promise.all([built('cosine', { flatThreshold: 0 }), built('cosine', { flatThreshold: 0 })]);
    for (let q = 0; q < 10; q++) expect(b.search(row(queries, q), { rerank: 0 })).toEqual(a.search(row(queries, q), { rerank: 0 }));
    expect(b.stats()).toMatchObject({ bytes: a.stats().bytes });
    const other = await built('cosine', { flatThreshold: 0, seed: 99 });
    const differs = Array.from({ length: 10 }, (_, q) => JSON.stringify(other.search(row(queries, q), { rerank: 0 })) !== JSON.stringify(a.search(row(queries, q), { rerank: 0 })));
    expect(differs.some(Boolean)).toBe(true);
  });

  it('inserts vectors added after buildIndex into the graph without retraining', async () => {
    const db = new QuantumDB({ dim: DIM, seed: 5, flatThreshold: 0, efConstruction: 100 });
    await db.addBatch(idsFor(2000), base.subarray(0, 2000 * DIM)).buildIndex();
    db.addBatch(idsFor(1000).map((_, i) => `v${2000 + i}`), base.subarray(2000 * DIM, 3000 * DIM));
    expect(db.size).toBe(3000);
    for (const i of [2000, 2500, 2999]) expect(db.search(row(base, i), { k: 1 })[0]?.id).toBe(`v${i}`);
    expect(meanRecall(db, 'cosine', { ef: 64, rerank: 64 })).toBeGreaterThanOrEqual(0.95);
  });

  it('reports build progress through every phase', async () => {
    const phases = new Set<string>();
    const db = new QuantumDB({ dim: DIM }).addBatch(idsFor(500), base.subarray(0, 500 * DIM));
    await db.buildIndex({ onProgress: (p) => { phases.add(p.phase); expect(p.done).toBeLessThanOrEqual(p.total); } });
    expect([...phases]).toEqual(['rotation', 'codebooks', 'encode', 'graph']);
    const tuned = new Set<string>();
    const wide = clustered(2500, 96, 3);
    await new QuantumDB({ dim: 96 }).addBatch(idsFor(2500), wide).buildIndex({ onProgress: (p) => { tuned.add(p.phase); } });
    expect([...tuned]).toEqual(['rotation', 'tuning', 'codebooks', 'encode', 'graph']);
  });

  it('reports memory per part and the parameters in stats()', async () => {
    const db = await built('l2');
    const s = db.stats();
    expect(s).toMatchObject({ size: N, dim: DIM, metric: 'l2', built: true, codeBytes: 16, params: { m: 16, M: 16 } });
    expect(s.bytes.codes).toBeGreaterThanOrEqual(N * 16);
    expect(s.bytes.graph).toBeGreaterThanOrEqual(N * 33 * 4);
    expect(s.bytes.index).toBe(s.bytes.codes + s.bytes.graph + s.bytes.ids);
    expect(s.buildSeconds.graph).toBeGreaterThan(0);
  });

  it('chooses a smaller targetDim when the data has few intrinsic dimensions, and keeps an explicit one', async () => {
    // 3,000 points on a 12-dimensional subspace of a 128-dimensional space.
    const low = clustered(3000, 12, 4);
    const lift = clustered(12, 128, 5);
    const data = new Float32Array(3000 * 128);
    for (let i = 0; i < 3000; i++) for (let j = 0; j < 128; j++) {
      let v = 0;
      for (let t = 0; t < 12; t++) v += (low[i * 12 + t] as number) * (lift[t * 128 + j] as number);
      data[i * 128 + j] = v;
    }
    const auto = new QuantumDB({ dim: 128, metric: 'l2' });
    await auto.addBatch(idsFor(3000), data).buildIndex();
    expect(auto.stats().params.targetDim).toBeLessThan(128);
    expect(auto.search(data.subarray(0, 128), { k: 1 })[0]?.id).toBe('v0');
    const fixed = new QuantumDB({ dim: 128, metric: 'l2', targetDim: 128 });
    await fixed.addBatch(idsFor(3000), data).buildIndex();
    expect(fixed.stats().params.targetDim).toBe(128);
  });

  it('stores rows across the kernels\' 16,384-row chunks', async () => {
    const n = 40_000, dim = 8;
    const data = clustered(n, dim, 12, 50);
    const db = new QuantumDB({ dim, metric: 'l2', efConstruction: 16, M: 4 });
    db.addBatch(idsFor(20_000), data.subarray(0, 20_000 * dim));
    db.addBatch(idsFor(20_000).map((_, i) => `w${i}`), data.subarray(20_000 * dim));
    await db.buildIndex();
    for (const i of [0, 16_383, 16_384, 32_768, 39_999]) {
      const id = i < 20_000 ? `v${i}` : `w${i - 20_000}`;
      expect(Array.from(db.get(id)?.vector ?? [])).toEqual(Array.from(data.subarray(i * dim, (i + 1) * dim)));
      expect(db.search(data.subarray(i * dim, (i + 1) * dim), { k: 1, rerank: 32, flat: true })[0]?.score).toBe(0);
    }
  });

  it('works for dimensions that are not multiples of 16 or of 4', async () => {
    for (const dim of [3, 7, 17, 50]) {
      const data = clustered(400, dim, dim);
      const db = new QuantumDB({ dim, metric: 'l2' });
      await db.addBatch(idsFor(400), data).buildIndex();
      expect(db.search(data.subarray(5 * dim, 6 * dim), { k: 1 })[0]?.id).toBe('v5');
    }
  });
});

describe('bad input', () => {
  const fresh = () => new QuantumDB({ dim: 3 });

  it('rejects bad options', () => {
    expectQdbError(() => new QuantumDB({ dim: 0 }), 'INVALID_ARGUMENT');
    expectQdbError(() => new QuantumDB({ dim: 2.5 }), 'INVALID_ARGUMENT');
    expectQdbError(() => new QuantumDB({ dim: 8, metric: 'hamming' as Metric }), 'INVALID_ARGUMENT');
    expectQdbError(() => new QuantumDB({ dim: 8, m: 16 }), 'INVALID_ARGUMENT');
    expectQdbError(() => new QuantumDB({ dim: 10, m: 4, rotation: 'none' }), 'INVALID_ARGUMENT');
    expectQdbError(() => new QuantumDB({ dim: 64, targetDim: 30 }), 'INVALID_ARGUMENT');
    expectQdbError(() => new QuantumDB({ dim: 8, M: 1 }), 'INVALID_ARGUMENT');
    expectQdbError(() => new QuantumDB(null as never), 'INVALID_ARGUMENT');
  });

  it('rejects wrong dimensions, counts and types, changing nothing', () => {
    const db = fresh();
    expectQdbError(() => db.addBatch(['a'], [[1, 2]]), 'DIMENSION_MISMATCH');
    expectQdbError(() => db.addBatch(['a', 'b'], new Float32Array(4)), 'DIMENSION_MISMATCH');
    expectQdbError(() => db.addBatch(['a', 'b'], new Float32Array(5)), 'INVALID_ARGUMENT');
    expectQdbError(() => db.addBatch(['a', 'b'], [[1, 2, 3]]), 'INVALID_ARGUMENT');
    expectQdbError(() => db.addBatch(['a'], 'nope' as never), 'INVALID_ARGUMENT');
    expectQdbError(() => db.addBatch('a' as never, [[1, 2, 3]]), 'INVALID_ARGUMENT');
    expect(db.size).toBe(0);
  });

  it('rejects NaN and Infinity with the row that holds them, changing nothing', () => {
    const db = fresh();
    for (const bad of [NaN, Infinity, -Infinity]) {
      let thrown: unknown;
      try { db.addBatch(['a', 'b'], [[1, 2, 3], [1, bad, 3]]); } catch (e) { thrown = e; }
      expect(isQuantumDBError(thrown) && thrown.code === 'NON_FINITE_VALUE' && thrown.details?.index === 1).toBe(true);
    }
    expect(db.size).toBe(0);
    db.addBatch(['a'], [[1, 2, 3]]);
    expect(db.size).toBe(1);
  });

  it('rejects empty, non-string and duplicate ids', () => {
    const db = fresh().addBatch(['a'], [[1, 2, 3]]);
    expectQdbError(() => db.addBatch([''], [[1, 2, 3]]), 'EMPTY_ID');
    expectQdbError(() => db.addBatch([7 as never], [[1, 2, 3]]), 'EMPTY_ID');
    expectQdbError(() => db.addBatch(['a'], [[1, 2, 3]]), 'DUPLICATE_ID');
    expectQdbError(() => db.addBatch(['x', 'x'], [[1, 2, 3], [3, 2, 1]]), 'DUPLICATE_ID');
    expect(db.size).toBe(1);
  });

  it('rejects zero vectors under cosine only', () => {
    expectQdbError(() => fresh().addBatch(['a'], [[0, 0, 0]]), 'ZERO_VECTOR');
    expect(new QuantumDB({ dim: 3, metric: 'l2' }).addBatch(['a'], [[0, 0, 0]]).size).toBe(1);
  });

  it('rejects bad queries and search options', async () => {
    const db = fresh().addBatch(['a', 'b'], [[1, 2, 3], [3, 2, 1]]);
    expectQdbError(() => db.search([1, 2, 3]), 'NOT_TRAINED');
    await db.buildIndex();
    expectQdbError(() => db.search([1, 2]), 'DIMENSION_MISMATCH');
    expectQdbError(() => db.search([1, NaN, 3]), 'NON_FINITE_VALUE');
    expectQdbError(() => db.search([0, 0, 0]), 'ZERO_VECTOR');
    expectQdbError(() => db.search('abc' as never), 'INVALID_ARGUMENT');
    expectQdbError(() => db.search([1, 2, 3], { k: 0 }), 'INVALID_ARGUMENT');
    expectQdbError(() => db.search([1, 2, 3], { ef: -1 }), 'INVALID_ARGUMENT');
    expectQdbError(() => db.search([1, 2, 3], { rerank: 1.5 }), 'INVALID_ARGUMENT');
  });

  it('refuses to build an empty database or to add while building', async () => {
    await expectQdbErrorAsync(() => fresh().buildIndex(), 'NOT_TRAINED');
    const db = fresh().addBatch(['a', 'b'], [[1, 2, 3], [3, 2, 1]]);
    const building = db.buildIndex();
    expectQdbError(() => db.addBatch(['c'], [[1, 1, 1]]), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => db.buildIndex(), 'INVALID_ARGUMENT');
    await building;
    expect(db.addBatch(['c'], [[1, 1, 1]]).size).toBe(3);
  });
});
