import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuantumDB } from '../../src/index.js';
import { QuantumDBPool } from '../../src/pool/index.js';
import { clusteredVectors, createFixtureDB, createTempDir, rowOf, type Fixture, type TempDir } from '../../src/testing/index.js';
import { expectQdbErrorAsync } from '../helpers.js';
import { bundle } from '../packaging/bundle.js';

const DIM = 32;
let tmp: TempDir;
let fx: Fixture;
let file = '';
let workerScript = '';
let single: QuantumDB;
let pool: QuantumDBPool;
const queries = clusteredVectors({ n: 600, dim: DIM, seed: 77 });
const rows = Array.from({ length: 600 }, (_, i) => rowOf(queries, DIM, i));

beforeAll(async () => {
  tmp = await createTempDir('qdb-pool-');
  workerScript = tmp.file('pool-worker.mjs');
  const [fixture] = await Promise.all([
    createFixtureDB({ n: 3000, dim: DIM }),
    bundle({ entry: 'src/pool/worker.ts', outFile: workerScript }),
  ]);
  fx = fixture;
  file = tmp.file('pool.qdb');
  await fx.db.save(file);
  single = await QuantumDB.open(file, { readOnly: true });
  pool = await QuantumDBPool.open(file, { workers: 2, workerScript });
}, 60_000);

afterAll(async () => {
  await pool?.close();
  single?.close();
  await tmp?.cleanup();
});

describe('QuantumDBPool', () => {
  it('opens the file in every worker and reports the database', () => {
    expect(pool.workers).toBe(2);
    expect(pool.size).toBe(3000);
    expect(pool.dim).toBe(DIM);
    expect(pool.metric).toBe('cosine');
  });

  it('searchBatch gives exactly the single-threaded results, in query order', async () => {
    const expected = rows.map((q) => single.search(q, { k: 10 }));
    expect(await pool.searchBatch(queries, { k: 10 })).toEqual(expected);
    expect(await pool.searchBatch(rows, { k: 10 })).toEqual(expected);
    expect(await pool.searchBatch(rows.slice(0, 1).map((r) => Array.from(r)), { k: 10 })).toEqual(expected.slice(0, 1));
    expect(await pool.searchBatch([], { k: 10 })).toEqual([]);
  });

  it('searchAsync gives the single-threaded result, also under concurrency', async () => {
    const some = rows.slice(0, 100);
    const got = await Promise.all(some.map((q) => pool.searchAsync(q, { k: 5 })));
    expect(got).toEqual(some.map((q) => single.search(q, { k: 5 })));
  });

  it('passes search options through: ef, rerank, flat, and an id allow-list', async () => {
    const allowed = fx.ids.filter((_, i) => i % 7 === 0);
    for (const options of [{ k: 20, ef: 128 }, { k: 10, rerank: 0 }, { k: 10, flat: true }, { k: 10, filter: allowed }]) {
      expect(await pool.searchBatch(rows.slice(0, 40), options)).toEqual(rows.slice(0, 40).map((q) => single.search(q, options)));
    }
  });

  it('does not block the event loop while a batch runs', async () => {
    let turns = 0;
    let running = true;
    const spin = () => { if (running) { turns++; setImmediate(spin); } };
    setImmediate(spin);
    const big = clusteredVectors({ n: 3000, dim: DIM, seed: 5 });
    const results = await pool.searchBatch(big, { k: 10, ef: 128 });
    running = false;
    expect(results).toHaveLength(3000);
    expect(turns).toBeGreaterThanOrEqual(10);
  });

  it('keeps vectors in worker memory on request, with the same results', async () => {
    const inMemory = await QuantumDBPool.open(file, { workers: 1, workerScript, vectors: 'memory' });
    try {
      expect(await inMemory.searchBatch(rows.slice(0, 20), { k: 10 })).toEqual(rows.slice(0, 20).map((q) => single.search(q, { k: 10 })));
    } finally {
      await inMemory.close();
    }
  });

  it('reports mistakes and worker-side errors with their codes', async () => {
    await expectQdbErrorAsync(() => pool.searchAsync(new Float32Array(DIM - 1)), 'DIMENSION_MISMATCH');
    await expectQdbErrorAsync(() => pool.searchBatch(new Float32Array(DIM + 1)), 'DIMENSION_MISMATCH');
    await expectQdbErrorAsync(() => pool.searchAsync(rows[0]!, { filter: (() => true) as unknown as string[] }), 'INVALID_ARGUMENT');
    const bad = Float32Array.from(rows[0]!);
    bad[3] = Number.NaN;
    await expectQdbErrorAsync(() => pool.searchAsync(bad), 'NON_FINITE_VALUE');
    await expectQdbErrorAsync(() => pool.searchAsync(rows[0]!, { k: 0 }), 'INVALID_ARGUMENT');
    expect(await pool.searchAsync(rows[0]!, { k: 3 })).toEqual(single.search(rows[0]!, { k: 3 }));
  });

  it('rejects a bad worker count, a missing file and a damaged file', async () => {
    await expectQdbErrorAsync(() => QuantumDBPool.open(file, { workers: 0, workerScript }), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => QuantumDBPool.open(tmp.file('missing.qdb'), { workers: 1, workerScript }), 'IO_ERROR');
    await writeFile(tmp.file('junk.qdb'), new Uint8Array(100).fill(7));
    await expectQdbErrorAsync(() => QuantumDBPool.open(tmp.file('junk.qdb'), { workers: 2, workerScript }), 'CORRUPT_FILE');
  });

  it('rejects calls after close', async () => {
    const p = await QuantumDBPool.open(file, { workers: 1, workerScript });
    const running = p.searchBatch(queries, { k: 10 }).then(() => 'finished', (e: { code?: string }) => e.code);
    await p.close();
    expect(await running).toBe('INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => p.searchAsync(rows[0]!), 'INVALID_ARGUMENT');
    await p.close();
  });

  it('an idle pool does not keep the process alive', async () => {
    const poolModule = tmp.file('pool.mjs');
    await bundle({ entry: 'src/pool/index.ts', outFile: poolModule });
    const script = tmp.file('idle.mjs');
    await writeFile(script, [
      "import { QuantumDBPool } from './pool.mjs';",
      `const pool = await QuantumDBPool.open(${JSON.stringify(file)}, { workers: 2, workerScript: ${JSON.stringify(workerScript)} });`,
      `const hits = await pool.searchAsync(new Float32Array(${DIM}).fill(1), { k: 3 });`,
      'console.log(hits.length);',
    ].join('\n'));
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 20_000 });
    expect(stdout.trim()).toBe('3');
  });
});
