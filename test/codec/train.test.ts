import { describe, expect, it } from 'vitest';
import { CodecEvaluator } from '../../src/codec/codec-evaluator.js';
import { chooseCodec, initFromLinear, trainLearnedCodec, validateLinearCodecs, type LinearCodec } from '../../src/codec/learned-codec.js';
import { encodeWithTf, exactKnn, loadTensorflow } from '../../src/codec/tf-runtime.js';
import { TrainSession, type TrainBatch, type TrainOptions } from '../../src/codec/train.js';
import { clustered } from '../data.js';

const [DIM, TARGET, M] = [16, 8, 4];
const ROWS = clustered(400, DIM, 5, 8, 0.4);

/** A quick linear codec for `rows`: identity rotation onto the first TARGET dims, codewords sampled from the rows. */
function sampledCodec(rows: Float32Array): LinearCodec {
  const n = rows.length / DIM;
  const mean = new Float32Array(DIM);
  for (let r = 0; r < n; r++) for (let j = 0; j < DIM; j++) mean[j] += (rows[r * DIM + j] as number) / n;
  const rotation = new Float32Array(TARGET * DIM);
  for (let t = 0; t < TARGET; t++) rotation[t * DIM + t] = 1;
  const dsub = TARGET / M;
  const codebooks = new Float32Array(M * 256 * dsub);
  for (let s = 0; s < M; s++) {
    for (let c = 0; c < 256; c++) {
      const r = (c * 37 + s * 11) % n;
      for (let d = 0; d < dsub; d++) codebooks[(s * 256 + c) * dsub + d] = (rows[r * DIM + s * dsub + d] as number) - (mean[s * dsub + d] as number);
    }
  }
  return { kind: 'pq', dim: DIM, targetDim: TARGET, m: M, rotation, mean, codebooks };
}

/** Batch `b`: 4 groups of an anchor and its 7 nearest rows. */
function batches(knn: Int32Array, count: number): TrainBatch[] {
  const out: TrainBatch[] = [];
  for (let b = 0; b < count; b++) {
    const rows = new Float32Array(4 * 8 * DIM);
    const trueDist = new Float32Array(4 * 7);
    for (let g = 0; g < 4; g++) {
      const a = (b * 4 + g) % 100;
      rows.set(ROWS.subarray(a * DIM, (a + 1) * DIM), g * 8 * DIM);
      for (let c = 0; c < 7; c++) {
        const j = knn[a * 7 + c] as number;
        rows.set(ROWS.subarray(j * DIM, (j + 1) * DIM), (g * 8 + 1 + c) * DIM);
        let d = 0;
        for (let i = 0; i < DIM; i++) d += ((ROWS[a * DIM + i] as number) - (ROWS[j * DIM + i] as number)) ** 2;
        trueDist[g * 7 + c] = d;
      }
    }
    out.push({ rows, groups: 4, groupSize: 8, trueDist });
  }
  return out;
}

const OPTIONS: TrainOptions = {
  weights: { reconstruction: 0.3, cluster: 0.2, diversity: 0.1, commitment: 0.1, structure: 0.3 },
  k: 3, structureLoss: 'triplet', margin: 0.05, estimator: 'gumbel', temperature: [1, 0.3], noise: [0.5, 0],
  hardFrom: 0.5, learningRate: 1e-2, codebookLearningRate: 1e-2, seed: 9, l2: true,
};

describe('training with TF.js', () => {
  it.each(['gumbel', 'vq'] as const)('a tiny %s run lowers the loss, identically under the same seed', async (estimator) => {
    const rt = await loadTensorflow();
    const self = Int32Array.from({ length: 100 }, (_, i) => i);
    const knn = exactKnn(rt, ROWS.subarray(0, 100 * DIM), ROWS, DIM, 7, true, self);
    const data = batches(knn, 10);
    const init = initFromLinear(sampledCodec(ROWS));
    const run = () => {
      const session = new TrainSession(rt, init, { ...OPTIONS, estimator });
      try {
        const before = data.reduce((s, b) => s + session.evaluate(b, 1, 0), 0);
        for (let step = 0; step < 30; step++) session.step(data[step % data.length] as TrainBatch, step / 30, step);
        const after = data.reduce((s, b) => s + session.evaluate(b, 1, 0), 0);
        return { before, after, w1: session.weights().w1 };
      } finally {
        session.dispose();
      }
    };
    const first = run();
    const second = run();
    expect(first.after).toBeLessThan(first.before * 0.9);
    expect(second.after).toBe(first.after);
    expect([...second.w1]).toEqual([...first.w1]);
  });

  it('leaves no tensors behind after k-NN, training, validation and encoding', async () => {
    const rt = await loadTensorflow();
    const before = rt.tf.memory().numTensors;
    const { weights, report } = await trainLearnedCodec(ROWS, 'l2', sampledCodec(ROWS), null,
      { maxSteps: 6, evaluations: 2, validationQueries: 40, anchors: 64, groupsPerBatch: 2, groupSize: 8, seed: 3 });
    encodeWithTf(rt, weights, ROWS.subarray(0, 10 * DIM));
    expect(rt.tf.memory().numTensors).toBe(before);
    expect(report.backend).toBe(rt.backend);
    expect(report.steps).toBe(6);
    expect(report.checkpoints[0]?.step).toBe(0);
  });

  it('trainLearnedCodec is deterministic under a seed and step count', async () => {
    const opts = { maxSteps: 8, evaluations: 2, patience: 5, validationQueries: 40, anchors: 64, groupsPerBatch: 2, groupSize: 8, seed: 4 };
    const a = await trainLearnedCodec(ROWS, 'l2', sampledCodec(ROWS), null, opts);
    const b = await trainLearnedCodec(ROWS, 'l2', sampledCodec(ROWS), null, opts);
    expect([...b.weights.codebooks]).toEqual([...a.weights.codebooks]);
    expect(b.report.validation).toEqual(a.report.validation);
    expect(b.report.checkpoints.map((c) => c.recall10)).toEqual(a.report.checkpoints.map((c) => c.recall10));
  });

  it.each([true, false])('the WASM exact top 10 equals the TF.js one (l2 %s)', async (l2) => {
    const rt = await loadTensorflow();
    const queries = ROWS.subarray(0, 30 * DIM), base = ROWS.subarray(30 * DIM);
    const wasm = new CodecEvaluator().exactTop10(queries, base, DIM, l2);
    expect([...wasm]).toEqual([...exactKnn(rt, queries, base, DIM, 10, l2)]);
  });

  it('validates the linear codecs without TF.js on the same split as training', async () => {
    const opts = { maxSteps: 2, evaluations: 1, validationQueries: 40, anchors: 64, groupsPerBatch: 2, groupSize: 8, seed: 5 };
    const { report } = await trainLearnedCodec(ROWS, 'l2', sampledCodec(ROWS), null, opts);
    const alone = validateLinearCodecs(ROWS, 'l2', sampledCodec(ROWS), null, opts);
    expect(alone.pq).toBe(report.validation.pq);
    expect(alone.opq).toBeNull();
  });
});

describe('the codec choice', () => {
  it('adopts the learned codec only when it beats the best linear codec', () => {
    expect(chooseCodec({ pq: 0.5, opq: 0.6, learned: 0.61 }).kind).toBe('learned');
    expect(chooseCodec({ pq: 0.5, opq: 0.6, learned: 0.6 }).kind).toBe('opq');
    expect(chooseCodec({ pq: 0.7, opq: 0.6, learned: 0.65 }).kind).toBe('pq');
    expect(chooseCodec({ pq: 0.7, opq: null, learned: null })).toEqual({ kind: 'pq', reason: expect.stringContaining('not trained') });
    expect(chooseCodec({ pq: 0.5, opq: 0.6, learned: 0.55 }).reason).toMatch(/does not beat opq 0\.6000; kept opq/);
  });
});

