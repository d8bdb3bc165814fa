import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  clusteredVectors, createFixtureDB, createTempDir, groundTruth, recallAt, rowOf, seededRandom, sequentialIds, withTempDir, withTempFile,
  type Fixture, type GroundTruth,
} from '../../src/testing/index.js';
import type { QuantumDB } from '../../src/index.js';
import { bruteForce } from '../data.js';
import { expectQdbError, expectQdbErrorAsync } from '../helpers.js';
import { bundle } from '../packaging/bundle.js';

/** FNV-1a over the bytes: pins generated data without storing it. */
function fnv1a(data: Float32Array): string {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

describe('seededRandom', () => {
  it('is a fixed stream in [0, 1) per seed', () => {
    const a = seededRandom(7), b = seededRandom(7), c = seededRandom(8);
    const xs = Array.from({ length: 1000 }, a);
    expect(xs).toEqual(Array.from({ length: 1000 }, b));
    expect(xs.slice(0, 3)).not.toEqual(Array.from({ length: 3 }, c));
    expect(xs[0]).toBeCloseTo(0.011704753153026104, 15);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });
});

describe('clusteredVectors', () => {
  it('gives the same bytes for the same options and different bytes for another seed', () => {
    const a = clusteredVectors({ n: 500, dim: 24, seed: 3 });
    expect(a).toHaveLength(500 * 24);
    expect(fnv1a(a)).toBe(fnv1a(clusteredVectors({ n: 500, dim: 24, seed: 3 })));
    expect(fnv1a(a)).not.toBe(fnv1a(clusteredVectors({ n: 500, dim: 24, seed: 4 })));
    expect(fnv1a(a)).not.toBe(fnv1a(clusteredVectors({ n: 500, dim: 24, seed: 3, centreSeed: 9 })));
    expect(a.every(Number.isFinite)).toBe(true);
  });

  it('pins the default stream (a change here changes every user fixture)', () => {
    expect(fnv1a(clusteredVectors({ n: 100, dim: 8 }))).toBe('4ab78ec9');
    expect(Array.from(clusteredVectors({ n: 1, dim: 4 }))).toEqual([1.20932137966156, -0.13739128410816193, 0.10103737562894821, 0.31069236993789673]);
  });

  it('draws queries from the base distribution: a query is far closer to its nearest base row than random rows are', () => {
    const dim = 32;
    const base = clusteredVectors({ n: 1000, dim, seed: 1 });
    const queries = clusteredVectors({ n: 20, dim, seed: 2 });
    const uniform = seededRandom(5);
    const noise = Float32Array.from({ length: 20 * dim }, () => (uniform() - 0.5) * 4);
    const nearest = (qs: Float32Array, i: number) => {
      const q = rowOf(qs, dim, i);
      let best = Infinity;
      for (let r = 0; r < 1000; r++) {
        let d = 0;
        for (let j = 0; j < dim; j++) d += ((base[r * dim + j] as number) - (q[j] as number)) ** 2;
        best = Math.min(best, d);
      }
      return best;
    };
    const mean = (qs: Float32Array) => Array.from({ length: 20 }, (_, i) => nearest(qs, i)).reduce((a, b) => a + b) / 20;
    expect(mean(queries)).toBeLessThan(mean(noise) / 4);
  });

  it('has a decaying spectrum, uneven clusters, and unit rows on request', () => {
    const dim = 16, n = 4000;
    const v = clusteredVectors({ n, dim, decay: 1 });
    const variance = (j: number) => {
      let s = 0, s2 = 0;
      for (let i = 0; i < n; i++) { const x = v[i * dim + j] as number; s += x; s2 += x * x; }
      return s2 / n - (s / n) ** 2;
    };
    expect(variance(0)).toBeGreaterThan(20 * variance(dim - 1));
    const flat = clusteredVectors({ n, dim, decay: 0, spread: 0.01, clusters: 4, skew: 2 });
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) { const key = (flat[i * dim] as number).toFixed(1); counts.set(key, (counts.get(key) ?? 0) + 1); }
    const sizes = [...counts.values()].sort((a, b) => b - a);
    expect(sizes[0]).toBeGreaterThan(2 * (sizes[1] as number));
    const unit = clusteredVectors({ n: 50, dim, normalize: true });
    for (let i = 0; i < 50; i++) expect(Math.hypot(...rowOf(unit, dim, i))).toBeCloseTo(1, 5);
  });

  it('rejects bad sizes and shapes with INVALID_ARGUMENT', () => {
    expectQdbError(() => clusteredVectors({ n: -1, dim: 4 }), 'INVALID_ARGUMENT');
    expectQdbError(() => clusteredVectors({ n: 1, dim: 0 }), 'INVALID_ARGUMENT');
    expectQdbError(() => clusteredVectors({ n: 1, dim: 2.5 }), 'INVALID_ARGUMENT');
    expectQdbError(() => clusteredVectors({ n: 1, dim: 4, clusters: 0 }), 'INVALID_ARGUMENT');
    expectQdbError(() => clusteredVectors({ n: 1, dim: 4, spread: -1 }), 'INVALID_ARGUMENT');
    expectQdbError(() => clusteredVectors({ n: 1, dim: 4, decay: Number.NaN }), 'INVALID_ARGUMENT');
    expect(clusteredVectors({ n: 0, dim: 4 })).toHaveLength(0);
  });
});

describe('sequentialIds and rowOf', () => {
  it('number ids from zero and view rows without copying', () => {
    expect(sequentialIds(3, 'doc-')).toEqual(['doc-0', 'doc-1', 'doc-2']);
    expect(sequentialIds(0)).toEqual([]);
    const m = Float32Array.of(1, 2, 3, 4, 5, 6);
    const r = rowOf(m, 3, 1);
    expect(Array.from(r)).toEqual([4, 5, 6]);
    expect(r.buffer).toBe(m.buffer);
    expectQdbError(() => rowOf(m, 3, 2), 'INVALID_ARGUMENT');
    expectQdbError(() => sequentialIds(-1), 'INVALID_ARGUMENT');
  });
});

describe('groundTruth', () => {
  it('matches a hand-checkable case, ties going to the lower row', () => {
    // Rows: (0,0) (1,0) (0,2) (1,0) — rows 1 and 3 tie for the query (1, 0).
    const base = Float32Array.of(0, 0, 1, 0, 0, 2, 1, 0);
    const t = groundTruth({ base, queries: Float32Array.of(1, 0), dim: 2, k: 3, metric: 'l2', ids: ['a', 'b', 'c', 'd'] });
    expect(t.ids).toEqual([['b', 'd', 'a']]);
    expect(t.scores).toEqual([[0, 0, 1]]);
    expect(t.k).toBe(3);
    expect(t.rows).toBe(4);
  });

  it.each(['cosine', 'l2', 'ip'] as const)('agrees with the independent brute-force oracle under %s', (metric) => {
    const dim = 12;
    const base = clusteredVectors({ n: 300, dim, seed: 11 });
    const queries = clusteredVectors({ n: 10, dim, seed: 12 });
    const t = groundTruth({ base, queries, dim, k: 7, metric });
    for (let q = 0; q < 10; q++) expect(t.ids[q]).toEqual(bruteForce(metric, base, dim, rowOf(queries, dim, q), 7).map((i) => `v${i}`));
  });

  it('clamps k to the rows and rejects mismatched input', () => {
    const base = Float32Array.of(1, 0, 0, 1);
    expect(groundTruth({ base, queries: Float32Array.of(1, 0), dim: 2, k: 10 }).ids).toEqual([['v0', 'v1']]);
    expectQdbError(() => groundTruth({ base, queries: Float32Array.of(1), dim: 2, k: 1 }), 'INVALID_ARGUMENT');
    expectQdbError(() => groundTruth({ base, queries: Float32Array.of(1, 0), dim: 2, k: 0 }), 'INVALID_ARGUMENT');
    expectQdbError(() => groundTruth({ base, queries: Float32Array.of(1, 0), dim: 2, k: 1, ids: ['x'] }), 'INVALID_ARGUMENT');
  });
});

describe('recallAt', () => {
  const truth: GroundTruth = { k: 2, rows: 10, ids: [['a', 'b'], ['c', 'd']], scores: [[1, 1], [1, 1]] };

  it('averages the share of true neighbours found in the first k results', () => {
    expect(recallAt(2, [['a', 'b'], ['d', 'c']], truth)).toBe(1);
    expect(recallAt(2, [['a', 'x'], ['x', 'y']], truth)).toBe(0.25);
    expect(recallAt(1, [['b', 'a'], ['c']], truth)).toBe(0.5);
    expect(recallAt(2, [[{ id: 'a', score: 1 }, { id: 'b', score: 0 }], []], truth)).toBe(0.5);
    expect(recallAt(2, [['x', 'y', 'a', 'b'], ['c', 'd']], truth)).toBe(0.5);
    expect(recallAt(2, [['a', 'b'], ['c', 'd']], [['a', 'b'], ['c', 'd']])).toBe(1);
    expect(recallAt(3, [], [])).toBe(1);
  });

  it('takes a small database’s recall over the neighbours that exist', () => {
    const small: GroundTruth = { k: 2, rows: 2, ids: [['a', 'b']], scores: [[1, 1]] };
    expect(recallAt(10, [['b', 'a']], small)).toBe(1);
  });

  it('rejects k, query-count and truth-depth mistakes', () => {
    expectQdbError(() => recallAt(0, [], []), 'INVALID_ARGUMENT');
    expectQdbError(() => recallAt(2, [['a']], truth), 'INVALID_ARGUMENT');
    expectQdbError(() => recallAt(5, [['a'], ['c']], truth), 'INVALID_ARGUMENT');
  });
});

describe('createFixtureDB', () => {
  it('builds 2,000 × 32 with 50 queries and high recall through the graph', async () => {
    const t0 = performance.now();
    const fx = await createFixtureDB();
    const ms = performance.now() - t0;
    console.log(`fixture: 2,000 × 32 built in ${ms.toFixed(0)} ms`);
    expect(fx.db.size).toBe(2000);
    expect(fx.db.isBuilt).toBe(true);
    expect(fx.vectors).toHaveLength(2000 * 32);
    expect(fx.queryCount).toBe(50);
    expect(fx.ids[1999]).toBe('v1999');
    expect(fx.db.stats().params.flatThreshold).toBe(0);
    expect(fx.recall(10)).toBeGreaterThanOrEqual(0.95);
    expect(fx.truth(10)).toBe(fx.truth(10));
    expect(fx.searchAll(5)).toHaveLength(50);
  });

  it('is deterministic: equal options give equal hits and scores', async () => {
    const [a, b] = await Promise.all([createFixtureDB({ n: 800, dim: 16, seed: 9 }), createFixtureDB({ n: 800, dim: 16, seed: 9 })]);
    expect(a.searchAll(10)).toEqual(b.searchAll(10));
    const c = await createFixtureDB({ n: 800, dim: 16, seed: 10 });
    expect(c.searchAll(10)).not.toEqual(a.searchAll(10));
  });

  it.each(['l2', 'ip'] as const)('works with metric %s and database overrides', async (metric) => {
    const fx = await createFixtureDB({ n: 600, dim: 16, metric, queries: 10, db: { M: 8 }, idPrefix: 'doc-' });
    expect(fx.db.metric).toBe(metric);
    expect(fx.db.stats().params.M).toBe(8);
    expect(fx.ids[0]).toBe('doc-0');
    expect(fx.recall(10)).toBeGreaterThanOrEqual(0.9);
  });

  it('passes a bad option through as INVALID_ARGUMENT', async () => {
    await expectQdbErrorAsync(() => createFixtureDB({ dim: 0 }), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => createFixtureDB({ db: { efConstruction: -1 } }), 'INVALID_ARGUMENT');
  });

  it('has pinned public types', () => {
    expectTypeOf(createFixtureDB).returns.resolves.toEqualTypeOf<Fixture>();
    expectTypeOf<Fixture['db']>().toEqualTypeOf<QuantumDB>();
    expectTypeOf(recallAt).returns.toEqualTypeOf<number>();
  });
});

describe('temp files', () => {
  it('withTempFile removes the directory after success and after a throw', async () => {
    let seen = '';
    const out = await withTempFile(async (file) => {
      seen = file;
      await writeFile(file, 'x');
      await writeFile(`${file}.tmp`, 'y');
      return 42;
    });
    expect(out).toBe(42);
    expect(seen.endsWith('test.qdb')).toBe(true);
    expect(existsSync(join(seen, '..'))).toBe(false);
    let failed = '';
    await expect(withTempFile(async (file) => { failed = file; await writeFile(file, 'x'); throw new Error('boom'); }, 'a.qdb')).rejects.toThrow('boom');
    expect(existsSync(join(failed, '..'))).toBe(false);
  });

  it('createTempDir gives an empty directory whose cleanup is idempotent; names must be plain', async () => {
    const tmp = await createTempDir('qdb-fixture-');
    expect(await readdir(tmp.path)).toEqual([]);
    expect(tmp.path.startsWith(tmpdir())).toBe(true);
    expectQdbError(() => tmp.file('../escape'), 'INVALID_ARGUMENT');
    expectQdbError(() => tmp.file(''), 'INVALID_ARGUMENT');
    await writeFile(tmp.file('a.bin'), 'x');
    await tmp.cleanup();
    await tmp.cleanup();
    expect(existsSync(tmp.path)).toBe(false);
    const inner = await withTempDir(async (dir) => dir.path);
    expect(existsSync(inner)).toBe(false);
  });

  it('removes forgotten directories when the process exits', async () => {
    const scratch = await createTempDir('qdb-exit-');
    try {
      const script = scratch.file('child.mjs');
      await bundle({ entry: 'src/testing/temp.ts', outFile: scratch.file('temp.mjs') });
      await writeFile(script, "import { createTempDir } from './temp.mjs';\nconst d = await createTempDir('qdb-forgotten-');\nconsole.log(d.path);\n");
      const { stdout } = await promisify(execFile)(process.execPath, [script]);
      const left = stdout.trim();
      expect(left).toContain('qdb-forgotten-');
      expect(existsSync(left)).toBe(false);
    } finally {
      await scratch.cleanup();
    }
  });
});
