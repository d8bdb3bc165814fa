/**
 * buildFromStream / exportStream: a database from every supported file format gives the same
 * search results; export → read back returns the stored (unit-length) vectors; QSTREAM1 and
 * PQSTREAM1 exports decode close to them; the PQ trainer is deterministic; errors are coded.
 */
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuantumDB } from '../../src/index.js';
import { buildFromStream, exportStream, trainProductQuantizer } from '../../src/formats/stream-io.js';
import { writeFvecs, readVectors } from '../../src/formats/vector-files.js';
import { readPQStream1, readQStream1, readStream1 } from '../../src/formats/vectro-stream.js';
import { writeStream1 } from '../../src/formats/vectro-write.js';
import { expectQdbErrorAsync, expectQdbError } from '../helpers.js';
import { jsonlOf, randomRows, tempDir } from '../cli/cli-helpers.js';

const DIM = 32;
const rows = randomRows(400, DIM, 5);
const create = (o: ConstructorParameters<typeof QuantumDB>[0]) => new QuantumDB(o);
let tmp: Awaited<ReturnType<typeof tempDir>>;

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

beforeAll(async () => {
  tmp = await tempDir('qdb-stream-io-');
  await writeStream1(tmp.path('base.bin'), rows.map((vector, i) => ({ id: String(i), vector })));
  await writeFvecs(tmp.path('base.fvecs'), rows);
  await writeFile(tmp.path('base.jsonl'), jsonlOf(rows).replace(/"v(\d+)"/g, '"$1"'));
});
afterAll(async () => { await tmp.cleanup(); });

describe('buildFromStream', () => {
  it('builds the same database from STREAM1, .fvecs and JSONL, in batches', async () => {
    const dbs = await Promise.all(['base.bin', 'base.fvecs', 'base.jsonl'].map((f) => buildFromStream(tmp.path(f), { seed: 3, batchSize: 64 }, create)));
    for (const db of dbs) {
      expect(db.size).toBe(400);
      expect(db.dim).toBe(DIM);
      expect(db.isBuilt).toBe(true);
    }
    const query = rows[17]!;
    const results = dbs.map((db) => db.search(query, { k: 5 }));
    expect(results[0]![0]!.id).toBe('17');
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('reports read progress, then the build phases', async () => {
    const phases = new Set<string>();
    let lastRead = 0;
    await buildFromStream(tmp.path('base.bin'), { batchSize: 100, onProgress: (p) => { phases.add(p.phase); if (p.phase === 'read') lastRead = p.done; } }, create);
    expect(lastRead).toBe(400);
    expect([...phases][0]).toBe('read');
    expect(phases.has('graph')).toBe(true);
  });

  it('passes the database options through and can skip the build', async () => {
    const db = await buildFromStream(tmp.path('base.fvecs'), { metric: 'l2', M: 8, build: false }, create);
    expect(db.metric).toBe('l2');
    expect(db.stats().params.M).toBe(8);
    expect(db.isBuilt).toBe(false);
  });

  it('rejects rows of another length with DIMENSION_MISMATCH naming the row', async () => {
    const path = tmp.path('ragged.bin');
    await writeStream1(path, [{ id: 'a', vector: [1, 2, 3] }, { id: 'b', vector: [1, 2] }]);
    await expectQdbErrorAsync(() => buildFromStream(path, {}, create), 'DIMENSION_MISMATCH');
    await expectQdbErrorAsync(() => buildFromStream(tmp.path('base.bin'), { dim: 8 }, create), 'DIMENSION_MISMATCH');
  });

  it('an empty file: INVALID_ARGUMENT, or an empty database when dim is given', async () => {
    const path = tmp.path('empty.bin');
    await writeStream1(path, []);
    await expectQdbErrorAsync(() => buildFromStream(path, {}, create), 'INVALID_ARGUMENT');
    const db = await buildFromStream(path, { dim: 4 }, create);
    expect(db.size).toBe(0);
  });

  it('passes duplicate ids and bad batch sizes on as coded errors', async () => {
    const path = tmp.path('dup.bin');
    await writeStream1(path, [{ id: 'a', vector: [1, 2] }, { id: 'a', vector: [2, 1] }]);
    await expectQdbErrorAsync(() => buildFromStream(path, {}, create), 'DUPLICATE_ID');
    await expectQdbErrorAsync(() => buildFromStream(path, { batchSize: 0 }, create), 'INVALID_ARGUMENT');
  });
});

describe('exportStream', () => {
  let db: QuantumDB;
  beforeAll(async () => { db = await buildFromStream(tmp.path('base.bin'), {}, create); });

  const unit = (v: Float32Array) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };

  it('stream1: every stored vector, in id order, bit for bit', async () => {
    const path = tmp.path('export.bin');
    expect(await exportStream(db, path, { format: 'stream1' })).toBe(400);
    const back = await collect(readStream1(path));
    expect(back.map((r) => r.id)).toEqual(Array.from(db.ids()));
    for (const r of back.slice(0, 50)) expect(r.vector).toEqual(db.get(r.id)!.vector);
    expect(back[3]!.vector[0]).toBeCloseTo(unit(rows[3]!)[0]!, 6);
    expect(await exportStream(db, tmp.path('default.bin'))).toBe(400);
  });

  it('qstream1: dequantized vectors within one quantization step', async () => {
    const path = tmp.path('export.q');
    await exportStream(db, path, { format: 'qstream1' });
    const back = await collect(readQStream1(path));
    expect(back).toHaveLength(400);
    const step = back[0]!.tables.map((t) => (t.max - t.min) / 255);
    for (const r of back.slice(0, 50)) {
      const stored = db.get(r.id)!.vector!;
      r.vector.forEach((x, i) => expect(Math.abs(x - stored[i]!)).toBeLessThanOrEqual(step[i]! / 2 + 1e-6));
    }
  });

  it('pqstream1: a trained codebook whose decoded vectors stay close to the unit vectors', async () => {
    const path = tmp.path('export.pq');
    await exportStream(db, path, { format: 'pqstream1', m: 8, k: 32, iterations: 10 });
    const back = await collect(readPQStream1(path));
    expect(back).toHaveLength(400);
    expect(back[0]!.pq).toMatchObject({ m: 8, k: 32, dim: DIM });
    let cos = 0;
    for (const r of back) {
      const stored = db.get(r.id)!.vector!;
      let dot = 0;
      r.vector.forEach((x, i) => { dot += x * stored[i]!; });
      cos += dot / Math.hypot(...r.vector);
    }
    expect(cos / back.length).toBeGreaterThan(0.75);
  });

  it('trains the same codebook for the same seed, another for another seed', () => {
    const a = trainProductQuantizer(db, { m: 4, k: 16, seed: 1 });
    const b = trainProductQuantizer(db, { m: 4, k: 16, seed: 1 });
    const c = trainProductQuantizer(db, { m: 4, k: 16, seed: 2 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.codebooks.every((cb) => cb.length === 16 && cb.every((centroid) => centroid.length === DIM / 4))).toBe(true);
    expect(trainProductQuantizer(db, {}).m).toBe(16);
  });

  it('rejects bad PQ parameters and unknown formats', async () => {
    expectQdbError(() => trainProductQuantizer(db, { m: 5 }), 'INVALID_ARGUMENT');
    expectQdbError(() => trainProductQuantizer(db, { k: 300 }), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => exportStream(db, tmp.path('x'), { format: 'csv' as never }), 'INVALID_ARGUMENT');
    expectQdbError(() => trainProductQuantizer(new QuantumDB({ dim: 4 }), {}), 'INVALID_ARGUMENT');
  });

  it('refuses a database saved without vectors', async () => {
    const path = tmp.path('novectors.qdb');
    await db.save(path, { vectors: 'none' });
    const opened = await QuantumDB.open(path, { readOnly: true });
    try {
      await expectQdbErrorAsync(() => exportStream(opened, tmp.path('nv.bin')), 'INVALID_ARGUMENT');
    } finally {
      opened.close();
    }
  });

  it('round-trips through readVectors into an equal database', async () => {
    const path = tmp.path('roundtrip.bin');
    await exportStream(db, path);
    const again = await buildFromStream(path, {}, create);
    expect(again.size).toBe(db.size);
    expect((await collect(readVectors(path))).length).toBe(400);
    expect(again.search(rows[5]!, { k: 3 })).toEqual(db.search(rows[5]!, { k: 3 }));
  });
});
