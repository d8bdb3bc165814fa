// A Jest suite for code that searches with QuantumDB, using the fixtures of quantumdb/testing.
// Jest runs ES modules with Node's VM-modules flag and no transform (see jest.config.mjs):
//
//   NODE_OPTIONS=--experimental-vm-modules npx jest --config examples/testing/jest/jest.config.mjs
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { QuantumDB } from 'quantumdb';
import { createFixtureDB, createTempDir, recallAt } from 'quantumdb/testing';

let fx;
let tmp;

beforeAll(async () => {
  fx = await createFixtureDB({ n: 2000, dim: 32, metric: 'l2', seed: 7 });
  tmp = await createTempDir();
});

afterAll(async () => {
  await tmp.cleanup();
});

describe('vector search', () => {
  test('recall@10 against exact ground truth', () => {
    expect(recallAt(10, fx.searchAll(10), fx.truth(10))).toBeGreaterThanOrEqual(0.95);
  });

  test('l2 scores are squared distances, best (lowest) first', () => {
    const scores = fx.db.search(fx.query(3), { k: 10 }).map((h) => h.score);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    expect(scores[0]).toBeCloseTo(fx.truth(10).scores[3][0], 3);
  });

  test('a filter limits results to allowed ids', () => {
    const allowed = fx.ids.filter((_, i) => i % 10 === 0);
    const hits = fx.db.search(fx.query(0), { k: 5, filter: allowed });
    expect(hits).toHaveLength(5);
    expect(hits.every((h) => allowed.includes(h.id))).toBe(true);
  });

  test('the saved file opens with the same answers', async () => {
    const file = tmp.file('fixture.qdb');
    await fx.db.save(file);
    const copy = await QuantumDB.open(file);
    expect(copy.search(fx.query(1), { k: 5 })).toEqual(fx.db.search(fx.query(1), { k: 5 }));
    copy.close();
  });
});
