// A Vitest suite for code that searches with QuantumDB, using the fixtures of quantumdb/testing:
// a seeded database built once per file, exact ground truth for recall, and temp files that
// clean up. Run it with `npx vitest run` in a project that depends on quantumdb.
import { QuantumDB } from 'quantumdb';
import { clusteredVectors, createFixtureDB, groundTruth, recallAt, sequentialIds, withTempFile, type Fixture } from 'quantumdb/testing';
import { beforeAll, describe, expect, it } from 'vitest';

let fx: Fixture;

beforeAll(async () => {
  // 2,000 clustered 32-d vectors and 50 queries, built in well under a second, the same every run.
  fx = await createFixtureDB({ n: 2000, dim: 32, queries: 50 });
});

describe('search quality', () => {
  it('finds at least 95% of the true 10 nearest neighbours', () => {
    expect(recallAt(10, fx.searchAll(10), fx.truth(10))).toBeGreaterThanOrEqual(0.95);
  });

  it('trades recall for speed as documented: rerank 0 is approximate', () => {
    expect(fx.recall(10, { rerank: 0 })).toBeLessThan(fx.recall(10));
  });
});

describe('persistence', () => {
  it('answers the same after save and open', async () => {
    await withTempFile(async (file) => {
      await fx.db.save(file);
      const copy = await QuantumDB.open(file, { readOnly: true });
      expect(copy.search(fx.query(0), { k: 10 })).toEqual(fx.db.search(fx.query(0), { k: 10 }));
      copy.close();
    });
  });
});

describe('your own data', () => {
  it('builds a database from seeded vectors and checks it against brute force', async () => {
    const dim = 16;
    const base = clusteredVectors({ n: 500, dim, seed: 3, normalize: true });
    const queries = clusteredVectors({ n: 10, dim, seed: 4, normalize: true });
    const db = new QuantumDB({ dim, metric: 'ip' });
    await db.addBatch(sequentialIds(500), base).buildIndex();
    const truth = groundTruth({ base, queries, dim, k: 5, metric: 'ip' });
    const results = Array.from({ length: 10 }, (_, i) => db.search(queries.subarray(i * dim, (i + 1) * dim), { k: 5 }));
    expect(recallAt(5, results, truth)).toBeGreaterThanOrEqual(0.9);
  });
});
