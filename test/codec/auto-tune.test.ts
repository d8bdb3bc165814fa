import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveAutoTune } from '../../src/codec/auto-tune.js';
import { qdbError } from '../../src/errors.js';
import { QuantumDB, type AutoTuneReport, type BuildOptions, type BuildProgress } from '../../src/index.js';
import { clustered, idsFor } from '../data.js';
import { writeFvecs } from '../../src/formats/vector-files.js';
import { cli } from '../cli/cli-helpers.js';
import { expectQdbError, expectQdbErrorAsync } from '../helpers.js';

/** When set, loading TF.js fails as it does when `@tensorflow/tfjs` is not installed. */
const tf = vi.hoisted(() => ({ missing: false }));
vi.mock('../../src/codec/tf-runtime.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/codec/tf-runtime.js')>();
  return {
    ...real,
    loadTensorflow: (...args: Parameters<typeof real.loadTensorflow>) => (tf.missing
      ? Promise.reject(qdbError('INVALID_ARGUMENT', ['the learned codec trains with TensorFlow.js: install the optional peer dependencies']))
      : real.loadTensorflow(...args)),
  };
});

const DIM = 32;
const N = 2_400;
const rows = clustered(N, DIM, 11, 25, 0.35);
const queries = clustered(20, DIM, 12, 25, 0.35);
const dir = mkdtempSync(join(tmpdir(), 'qdb-autotune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Tiny budgets: stage 1 runs three trials (or four), so the whole file stays fast. */
const SMALL = { budgetSeconds: 1, trials: 3 };

async function tuned(build: BuildOptions, seed = 5): Promise<QuantumDB> {
  const db = new QuantumDB({ dim: DIM, metric: 'cosine', seed });
  db.addBatch(idsFor(N), rows);
  return db.buildIndex(build);
}

/** The report without its wall-clock figures (information only, never used to decide). */
function decided(report: AutoTuneReport | null) {
  if (report === null) return null;
  const { seconds: _s, trials, chosen, ...rest } = report;
  const figures = ({ qps: _q, seconds: _t, ...f }: AutoTuneReport['chosen']['figures']) => f;
  return { ...rest, chosen: { config: chosen.config, figures: figures(chosen.figures) }, trials: trials.map((t) => ({ ...t, figures: figures(t.figures) })) };
}

const results = (db: QuantumDB) => Array.from({ length: 20 }, (_, q) => db.search(queries.subarray(q * DIM, (q + 1) * DIM), { k: 10, rerank: 0, flat: false }));

describe('auto-tuning with the learned codec', () => {
  let db: QuantumDB;
  const progress: BuildProgress[] = [];
  beforeAll(async () => {
    db = await tuned({ autoTune: SMALL, onProgress: (p) => progress.push(p) });
  }, 120_000);

  it('runs all three stages and reports every trial', () => {
    const report = db.stats().autoTune as AutoTuneReport;
    expect(report.learned).toBe(true);
    expect(report.trials.map((t) => t.stage)).toEqual([1, 1, 1, 2, 2, 3]);
    expect(report.trials.filter((t) => t.stage === 2).every((t) => t.round === 1 && t.figures.rows > report.trials[0]!.figures.rows)).toBe(true);
    // Stage 2 re-runs the better half of stage 1 by objective.
    const stage1 = report.trials.filter((t) => t.stage === 1).sort((a, b) => b.figures.objective - a.figures.objective);
    expect(report.trials.filter((t) => t.stage === 2).map((t) => t.config)).toEqual(stage1.slice(0, 2).map((t) => t.config));
    for (const { figures: f } of report.trials) {
      expect(f.recall10).toBeGreaterThan(0.1);
      expect(f.distanceEvaluationsPerQuery).toBeGreaterThan(10);
      for (const term of Object.values(f.terms)) expect(term).toBeGreaterThanOrEqual(0), expect(term).toBeLessThanOrEqual(1);
      expect(f.objective).toBeCloseTo(0.4 * f.terms.quality + 0.1 * f.terms.compression + 0.4 * f.terms.speed - 0.1 * f.terms.memory, 10);
    }
    expect(report.chosen.figures).toEqual(report.trials[report.trials.length - 1]!.figures);
    expect(report.reason).toMatch(/ranked this configuration first/);
    const tuning = progress.filter((p) => p.phase === 'autotune');
    expect(tuning.map((p) => `${p.stage}:${p.done}/${p.total}`)).toEqual(['1:1/5', '1:2/5', '1:3/5', '2:4/5', '2:5/5']);
    expect(progress.some((p) => p.phase === 'graph')).toBe(true);
  });

  it('builds the database with the chosen configuration', () => {
    const stats = db.stats();
    const { config } = (stats.autoTune as AutoTuneReport).chosen;
    expect(stats.params).toMatchObject({ m: config.m, targetDim: config.targetDim, M: config.M, efConstruction: config.efConstruction });
    expect(stats.codeBytes).toBe(config.m);
    expect(stats.bytes.codes).toBeGreaterThanOrEqual(N * config.m);
    expect([12, 16, 24]).toContain(config.m);
    expect(config.targetDim % config.m).toBe(0);
    expect(results(db)[0]).toHaveLength(10);
  });

  it('is deterministic: the same data and seed give the same choice, figures, codes and graph', async () => {
    const again = await tuned({ autoTune: SMALL });
    expect(decided(again.stats().autoTune)).toEqual(decided(db.stats().autoTune));
    expect(results(again)).toEqual(results(db));
  }, 120_000);

  it('survives toBytes / fromBytes and save / open', async () => {
    const copy = QuantumDB.fromBytes(db.toBytes());
    expect(copy.stats().autoTune).toEqual(db.stats().autoTune);
    expect(copy.stats().params).toEqual(db.stats().params);
    expect(results(copy)).toEqual(results(db));
    const path = join(dir, 'tuned.qdb');
    await db.save(path);
    const opened = await QuantumDB.open(path);
    try {
      expect(opened.stats().autoTune).toEqual(db.stats().autoTune);
    } finally {
      opened.close();
    }
  });
});

describe('auto-tuning without the learned codec', () => {
  it("with codec 'pq', every trial keeps PQ and the report says why the learned codec was not tried", async () => {
    const db = await tuned({ codec: 'pq', autoTune: { budgetSeconds: 1, trials: 4 } });
    const report = db.stats().autoTune as AutoTuneReport;
    expect(report.learned).toBe(false);
    expect(report.trials.map((t) => t.stage)).toEqual([1, 1, 1, 1, 2, 2, 3]);
    expect(report.trials.every((t) => t.figures.codec === 'pq' && t.figures.steps === 0)).toBe(true);
    expect(report.reason).toMatch(/learned codec not tried: codec 'pq' requested/);
    expect(db.stats().codec.kind).toBe('pq');
  });

  it('without TF.js, compares PQ and OPQ and says so', async () => {
    tf.missing = true;
    try {
      const db = await tuned({ autoTune: { budgetSeconds: 1, trials: 3 } });
      const report = db.stats().autoTune as AutoTuneReport;
      expect(report.learned).toBe(false);
      expect(report.trials.every((t) => t.figures.codec !== 'learned')).toBe(true);
      expect(report.reason).toMatch(/learned codec not tried: .*TensorFlow\.js/);
    } finally {
      tf.missing = false;
    }
  });

  it('quantumdb train --auto-tune prints the chosen configuration and every trial', async () => {
    const data = join(dir, 'rows.fvecs');
    await writeFvecs(data, Array.from({ length: 1_200 }, (_, i) => rows.subarray(i * DIM, (i + 1) * DIM)));
    tf.missing = true;
    try {
      const json = await cli(['train', '--data', data, '--output', join(dir, 'tuned.safetensors'), '--auto-tune', '--budget', '1', '--json']);
      expect(json.code, json.stderr).toBe(0);
      const out = JSON.parse(json.stdout) as { codec: string; autoTune: AutoTuneReport };
      expect(out.autoTune.trials.at(-1)?.stage).toBe(3);
      expect(out.codec).toBe(out.autoTune.chosen.figures.codec);
      const text = await cli(['train', '--data', data, '--output', join(dir, 'tuned.safetensors'), '--auto-tune', '--budget', '1']);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^stage {2}m {2}targetDim {3}M {2}efC/m);
      expect(text.stdout).toMatch(/^chosen: m \d+, targetDim \d+, M \d+, efConstruction \d+/m);
      const c = out.autoTune.chosen.config;
      expect(text.stdout).toContain(`chosen: m ${c.m}, targetDim ${c.targetDim}, M ${c.M}, efConstruction ${c.efConstruction}`);
    } finally {
      tf.missing = false;
    }
    const both = await cli(['train', '--data', data, '--output', join(dir, 'x.safetensors'), '--auto-tune', '--epochs', '2']);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/--auto-tune plans the training itself/);
  });

  it('follows the objective weights: memory alone picks the fewest bytes per vector', async () => {
    const db = await tuned({ codec: 'pq', autoTune: { budgetSeconds: 1, trials: 4, objective: { quality: 0, compression: 0, speed: 0, memory: 1 } } });
    const report = db.stats().autoTune as AutoTuneReport;
    const stage1 = report.trials.filter((t) => t.stage === 1);
    expect(report.chosen.figures.bytesPerVector).toBe(Math.min(...stage1.map((t) => t.figures.bytesPerVector)));
    expect(report.objectiveWeights).toEqual({ quality: 0, compression: 0, speed: 0, memory: 1 });
    for (const t of report.trials) expect(t.figures.objective).toBe(-t.figures.terms.memory);
  });
});

describe('re-tuning a built database', () => {
  it('leaves the old codec behind when the winner changes its sizes, even a learned one', async () => {
    const db = await tuned({ codec: 'learned', trainEpochs: 1 });
    expect(db.stats().codec.kind).toBe('learned');
    await db.buildIndex({ codec: 'pq', autoTune: { budgetSeconds: 1, trials: 4, objective: { quality: 0, compression: 0, speed: 0, memory: 1 } } });
    expect(db.stats().params.m).not.toBe(16);
    expect(db.stats().codec.kind).toBe('pq');
    expect(results(db).every((hits) => hits.length === 10)).toBe(true);
  });
});

describe('auto-tuning options', () => {
  it('fills in the defaults', () => {
    expect(resolveAutoTune({ autoTune: true }, 42, false)).toEqual({ budgetSeconds: 120, objective: { quality: 0.4, compression: 0.1, speed: 0.4, memory: 0.1 }, seed: 42, trials: undefined });
    expect(resolveAutoTune({ autoTune: { objective: { memory: 0.5 }, seed: 3 } }, 42, false)?.objective).toEqual({ quality: 0.4, compression: 0.1, speed: 0.4, memory: 0.5 });
    expect(resolveAutoTune({}, 42, false)).toBeUndefined();
    expect(resolveAutoTune({ autoTune: false }, 42, false)).toBeUndefined();
    expect(new QuantumDB({ dim: 4 }).stats().autoTune).toBeNull();
  });

  it.each([
    [{ autoTune: { budgetSeconds: 0 } }, /budgetSeconds must be a positive number/],
    [{ autoTune: { budgetSeconds: Number.NaN } }, /budgetSeconds/],
    [{ autoTune: { objective: { quality: -1 } } }, /objective.quality must be a finite number ≥ 0/],
    [{ autoTune: { objective: { quality: 0, compression: 0, speed: 0, memory: 0 } } }, /at least one objective weight/],
    [{ autoTune: { objective: { recall: 1 } } }, /unknown objective weight recall/],
    [{ autoTune: { budget: 10 } }, /unknown option budget/],
    [{ autoTune: { trials: 1 } }, /trials must be an integer from 2 to 64/],
    [{ autoTune: { seed: 1.5 } }, /seed must be an integer/],
    [{ autoTune: true, trainEpochs: 3 }, /plans the training itself/],
    [{ autoTune: true, trainBudgetSeconds: 3 }, /plans the training itself/],
    [{ autoTune: true, codec: 'best' }, /codec must be one of/],
  ])('rejects %j', async (options, message) => {
    expectQdbError(() => resolveAutoTune(options as BuildOptions, 1, false), 'INVALID_ARGUMENT');
    expect(() => resolveAutoTune(options as BuildOptions, 1, false)).toThrow(message);
    const db = new QuantumDB({ dim: DIM });
    db.addBatch(idsFor(10), rows.subarray(0, 10 * DIM));
    await expectQdbErrorAsync(() => db.buildIndex(options as BuildOptions), 'INVALID_ARGUMENT');
    expect(db.isBuilt).toBe(false);
  });

  it('rejects too few vectors and an imported codec', async () => {
    const small = new QuantumDB({ dim: DIM });
    small.addBatch(idsFor(500), rows.subarray(0, 500 * DIM));
    await expectQdbErrorAsync(() => small.buildIndex({ autoTune: true }), 'INVALID_ARGUMENT');
    await small.buildIndex({ codec: 'pq' });
    const path = join(dir, 'codec.safetensors');
    await small.exportCodec(path);
    const imported = await QuantumDB.importCodec(path);
    imported.addBatch(idsFor(N), rows);
    await expectQdbErrorAsync(() => imported.buildIndex({ autoTune: true }), 'INVALID_ARGUMENT');
    expect(() => resolveAutoTune({ autoTune: true }, 1, true)).toThrow(/imported codec/);
  });
});
