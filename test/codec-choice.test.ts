import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QuantumDB } from '../src/index.js';
import { clustered, idsFor } from './data.js';
import { expectQdbErrorAsync } from './helpers.js';

const DIM = 32;
const N = 3000;
const base = clustered(N, DIM, 41);
const queries = clustered(20, DIM, 42);
const dir = mkdtempSync(join(tmpdir(), 'qdb-codec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const answers = (db: QuantumDB) => Array.from({ length: 20 }, (_, q) => db.search(queries.subarray(q * DIM, (q + 1) * DIM), { k: 10, rerank: 0 }));

async function build(codec: 'auto' | 'pq' | 'opq' | 'learned') {
  const db = new QuantumDB({ dim: DIM, metric: 'l2', seed: 2, efConstruction: 60 });
  await db.addBatch(idsFor(N), base).buildIndex({ codec, opqIterations: 3, trainBudgetSeconds: 8 });
  return db;
}

describe('codec choice', () => {
  it('reports the codec, and auto keeps PQ below the size where the others are compared', async () => {
    const auto = await build('auto');
    expect(auto.stats().codec).toMatchObject({ kind: 'pq', backend: null });
    expect(auto.stats().codec.reason).toMatch(/fewer than 50000 vectors/);
    const opq = await build('opq');
    expect(opq.stats().codec).toMatchObject({ kind: 'opq', reason: "codec 'opq' requested" });
    expect(answers(opq)).not.toEqual(answers(auto));
    await expectQdbErrorAsync(() => new QuantumDB({ dim: 2 }).addBatch(['a'], [[1, 2]]).buildIndex({ codec: 'zip' as never }), 'INVALID_ARGUMENT');
  });

  it('trains the learned codec with TensorFlow.js, reports its backend, and keeps it through save and open', async () => {
    const db = await build('learned');
    const codec = db.stats().codec;
    expect(codec.kind).toBe('learned');
    expect(['wasm', 'cpu', 'tensorflow', 'tensorflow-gpu']).toContain(codec.backend);
    expect(codec.validation.learned).toBeGreaterThan(0);
    expect(db.search(base.subarray(5 * DIM, 6 * DIM), { k: 1 })[0]?.id).toBe('v5');
    const path = join(dir, 'learned.qdb');
    await db.save(path);
    const opened = await QuantumDB.open(path);
    expect(answers(opened)).toEqual(answers(db));
    expect(opened.stats().codec).toEqual(codec);
    opened.close();
  }, 60_000);

  it('exports a codec and builds another database with it, without training', async () => {
    for (const codec of ['opq', 'learned'] as const) {
      const trained = await build(codec);
      const path = join(dir, `${codec}.safetensors`);
      await trained.exportCodec(path);
      const reused = await QuantumDB.importCodec(path, { seed: 2, efConstruction: 60 });
      const phases = new Set<string>();
      await reused.addBatch(idsFor(N), base).buildIndex({ onProgress: (p) => { phases.add(p.phase); } });
      expect([...phases]).toEqual(['encode', 'graph']);
      expect(reused.stats().codec.kind).toBe(codec);
      expect(answers(reused)).toEqual(answers(trained));
    }
    await expectQdbErrorAsync(() => new QuantumDB({ dim: DIM }).exportCodec(join(dir, 'none.safetensors')), 'NOT_TRAINED');
    writeFileSync(join(dir, 'bad.safetensors'), 'not a codec');
    await expectQdbErrorAsync(() => QuantumDB.importCodec(join(dir, 'bad.safetensors')), 'CORRUPT_FILE');
    await expectQdbErrorAsync(() => QuantumDB.importCodec(join(dir, 'missing.safetensors')), 'IO_ERROR');
  }, 90_000);
});
