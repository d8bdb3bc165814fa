/**
 * @module codec/learned-codec
 * Orchestrates the learned codec (issue 3): splits a seeded sample into training rows and held-out
 * validation queries (half for early stopping, half for the codec choice), mines each anchor's
 * nearest neighbours for the ranking loss, initialises the MLP from the better linear codec (so
 * training starts exactly at PQ or OPQ), optionally keeps fewer of its principal directions per
 * subspace, trains within a wall-clock budget with early stopping on validation recall, and
 * compares codecs by 10-recall@10 of a flat ADC scan. TF.js is reached only through `./train.js`,
 * which loads it lazily; inference and the comparison run in the WASM validation harness
 * (`./codec-evaluator.ts`). The `load…`/`read…` helpers read and write a database's kernel memory
 * through typed views, a departure from "only abi.ts touches pointers" kept to the codec modules.
 *
 * Latent frame. Codec v1 codes `R (x − mean)` against centred codebooks. The learned codec codes
 * `z = f(x)` against codebooks in f's frame, and f starts as the uncentred `R x`:
 *   hidden = 2·targetDim (2· the non-zero rows of R),  W1 = [R; −R],  b1 = [−R·mean; R·mean],  W2 = [I, −I],  b2 = R·mean
 *   → relu(u) − relu(−u) = u with u = R (x − mean), so z = R (x − mean) + R·mean = R x exactly;
 *   codebooks_s = v1 codebooks_s + (R·mean)_s, the same partition of the data as v1;
 *   decoder: x̂ = Rᵀ ẑ + (mean − RᵀR·mean).
 * The hinge of every hidden unit sits at the data mean, so half of them are active on typical rows.
 * For squared L2 the lookup table is ‖f(q) − c‖²; for inner product and cosine it is −f(q)·c, which
 * at the start equals v1's table up to a per-query constant, so rankings are identical.
 */
import { qdbError } from '../errors.js';
import type { Metric } from '../types.js';
import { Kernels, KSUB } from '../wasm/abi.js';
import { mulberry32 } from '../random.js';
import { CodecEvaluator, type LatentCodec } from './codec-evaluator.js';
import { gramMatrix, loadTensorflow, pqKmeans, type TfBackendName, type TfRuntime } from './tf-runtime.js';
import { batchAt, prepare, splitRows, type Prepared } from './training-data.js';
import { TrainSession, type LossWeights, type StepLosses, type TrainOptions } from './train.js';

/** Lloyd iterations of the reduced codecs' codebooks. */
const KMEANS_ITERATIONS = 12;

/** A linear codec as the kernels hold it: codec v1 (`'pq'`) or a learned rotation (`'opq'`). */
export interface LinearCodec {
  kind: 'pq' | 'opq';
  dim: number;
  targetDim: number;
  m: number;
  /** `(targetDim, dim)` f32. */
  rotation: Float32Array;
  /** `dim` f32, the training mean. */
  mean: Float32Array;
  /** `(m, KSUB, targetDim / m)` f32, centred frame (codes of `R (x − mean)`). */
  codebooks: Float32Array;
}

/** The learned codec's weights, in PyTorch `Linear` layout `(out, in)`. */
export interface LearnedCodecWeights {
  dim: number;
  hidden: number;
  targetDim: number;
  m: number;
  /** `(hidden, dim)` f32. */
  w1: Float32Array;
  /** `hidden` f32. */
  b1: Float32Array;
  /** `(targetDim, hidden)` f32. */
  w2: Float32Array;
  /** `targetDim` f32. */
  b2: Float32Array;
  /** `(m, KSUB, targetDim / m)` f32, in the latent frame. */
  codebooks: Float32Array;
  /** `m` f32: log of each codebook's distance scale in the relaxed assignment (training only). */
  logScale: Float32Array;
  /** `(dim, targetDim)` f32. */
  decoderW: Float32Array;
  /** `dim` f32. */
  decoderB: Float32Array;
}

/** Knobs of {@link trainLearnedCodec}; every field has a default. */
export interface LearnedCodecOptions {
  /** Wall-clock seconds for the whole learned phase (load TF.js, mine k-NN, train, validate). Default 60. */
  trainBudgetSeconds: number;
  /** Stop after this many optimizer steps (makes a run independent of machine speed). */
  maxSteps: number;
  /** Rows sampled for training. Default 20,000. */
  trainSampleSize: number;
  /**
   * Principal directions per subspace to try besides the linear codec's own `targetDim / m`
   * (see `reducedCodec`); the best on the early-stopping queries starts the training. Default [2, 3, 4].
   */
  effectiveDims: number[];
  /** Held-out validation queries (half for early stopping, half for the codec choice). Default 1,000. */
  validationQueries: number;
  /** Rows of the training sample the validation queries are searched in. Default 10,000. */
  validationBase: number;
  /** Anchors whose k-NN groups form the batches. Default 4,096. */
  anchors: number;
  /** Anchors per batch; each brings `groupSize − 1` neighbours. Defaults 8 and 32 (256 rows). */
  groupsPerBatch: number;
  groupSize: number;
  /** Hidden units; 0 (the default) = twice the latent dimensions in use, which reproduces the linear codec exactly. */
  hidden: number;
  /** Validations during the run (early-stopping checkpoints). Default 6. */
  evaluations: number;
  /** Checkpoints without improvement before stopping. Default 2. */
  patience: number;
  seed: number;
  backend: TfBackendName | 'auto';
  train: Partial<Omit<TrainOptions, 'weights' | 'seed' | 'l2'>> & { weights?: Partial<LossWeights> };
}

/** The loss weights. */
export const DEFAULT_LOSS_WEIGHTS: LossWeights = { reconstruction: 0.3, cluster: 0.2, diversity: 0.1, commitment: 0.1, structure: 0.3 };

const DEFAULTS: Omit<LearnedCodecOptions, 'train'> = {
  trainBudgetSeconds: 60, maxSteps: Number.POSITIVE_INFINITY, trainSampleSize: 20_000, validationQueries: 1_000,
  validationBase: 10_000, anchors: 4_096, groupsPerBatch: 8, groupSize: 32, hidden: 0, evaluations: 6, patience: 2,
  seed: 42, backend: 'auto', effectiveDims: [2, 3, 4],
};

/**
 * The recipe: straight-through Gumbel-softmax, temperature annealed 1 → 0.2, noise 0.3 → 0,
 * relaxed forward pass for the first half and hard assignments after. Steps move each weight by
 * about 0.1 % of its matrix's RMS (larger steps measured worse recall on mnist-784).
 */
const DEFAULT_TRAIN: Omit<TrainOptions, 'weights' | 'seed' | 'l2'> = {
  k: 10, structureLoss: 'triplet', margin: 0.05, estimator: 'gumbel', temperature: [1, 0.2], noise: [0.3, 0],
  hardFrom: 0.5, learningRate: 1e-3, codebookLearningRate: 1e-3,
};

/** What a training run did. */
export interface LearnedCodecReport {
  backend: TfBackendName;
  /** Wall-clock seconds of the learned phase. */
  trainSeconds: number;
  steps: number;
  /** Training rows seen / training sample size. */
  epochs: number;
  stoppedBy: 'budget' | 'max-steps' | 'early-stop';
  /** The linear codec training started from (the better of PQ and OPQ on the early-stopping queries). */
  startedFrom: 'pq' | 'opq';
  /** Early-stopping recall of each effective dimension tried (principal directions per subspace). */
  effectiveDims: { perSubspace: number; recall10: number }[];
  /** Step of the kept weights (0 = the linear initialisation). */
  bestStep: number;
  /** Where the time went: preparation (TF.js, splits, k-NN), mean optimizer step, one checkpoint. */
  timings: { prepareSeconds: number; stepMs: number; checkpointSeconds: number };
  /** Early-stopping recall at each checkpoint, and the mean training loss terms of the steps since the previous one. */
  checkpoints: { step: number; recall10: number; loss: StepLosses | null }[];
  /** 10-recall@10 of a flat ADC scan on the selection half of the validation queries. */
  validation: { pq: number; opq: number | null; learned: number };
  /** 1-recall@1, same protocol. */
  validationAt1: { pq: number; opq: number | null; learned: number };
}

/** A held-out comparison set: queries, the rows they are searched in, and their exact top 10. */
export interface ValidationSet {
  dim: number;
  queries: Float32Array;
  base: Float32Array;
  /** `(nQueries, 10)` i32. */
  truth: Int32Array;
}

/**
 * The MLP whose output is exactly the linear codec's uncentred projection `R x`, with codebooks
 * moved to that frame and a decoder that inverts it (see the module comment).
 * @param hidden at least twice the latent dimensions in use (the default); extra units start with
 *   small seeded input weights and zero output weights
 * @returns weights in the public layout; `logScale` is 0 until {@link trainLearnedCodec} sets it from data
 * @throws QuantumDBError `INVALID_ARGUMENT` when `hidden < 2·targetDim` or the sizes disagree.
 * @example
 * ```ts
 * const init = initFromLinear(pq); // z = R x for every x
 * ```
 */
export function initFromLinear(codec: LinearCodec, hidden?: number): LearnedCodecWeights {
  const { dim, targetDim: t, m, rotation: R, mean } = codec;
  if (R.length !== t * dim || mean.length !== dim || codec.codebooks.length !== m * KSUB * (t / m)) {
    throw qdbError('INVALID_ARGUMENT', ['the linear codec arrays do not match its dim, targetDim and m']);
  }
  // Latent dimensions the rotation uses; a reduced codec leaves the others at zero (no hidden units needed).
  const active: number[] = [];
  for (let r = 0; r < t; r++) if (R.subarray(r * dim, (r + 1) * dim).some((v) => v !== 0)) active.push(r);
  const a = Math.max(1, active.length);
  const h = hidden ?? 2 * a;
  if (h < 2 * a) throw qdbError('INVALID_ARGUMENT', [`hidden (${h}) must be at least twice the ${a} latent dimensions in use to start from the linear codec`]);
  const rotMean = new Float32Array(t);
  for (const r of active) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (R[r * dim + j] as number) * (mean[j] as number);
    rotMean[r] = s;
  }
  const w1 = new Float32Array(h * dim);
  const b1 = new Float32Array(h);
  const w2 = new Float32Array(t * h);
  active.forEach((r, i) => {
    for (let j = 0; j < dim; j++) {
      w1[i * dim + j] = R[r * dim + j] as number;
      w1[(a + i) * dim + j] = -(R[r * dim + j] as number);
    }
    b1[i] = -(rotMean[r] as number);
    b1[a + i] = rotMean[r] as number;
    w2[r * h + i] = 1;
    w2[r * h + a + i] = -1;
  });
  if (h > 2 * a) {
    // Extra units: small seeded weights in and zero weights out, so z is unchanged but they get gradients.
    const random = mulberry32(0x51d);
    const scale = 0.1 * Math.sqrt(R.reduce((acc, v) => acc + v * v, 0) / Math.max(1, a * dim));
    for (let i = 2 * a * dim; i < h * dim; i++) w1[i] = (random() * 2 - 1) * scale;
  }
  const dsub = t / m;
  const codebooks = codec.codebooks.slice();
  for (let s = 0; s < m; s++) {
    for (let c = 0; c < KSUB; c++) {
      for (let d = 0; d < dsub; d++) codebooks[(s * KSUB + c) * dsub + d] += rotMean[s * dsub + d] as number;
    }
  }
  const decoderW = new Float32Array(dim * t);
  for (let j = 0; j < dim; j++) for (let r = 0; r < t; r++) decoderW[j * t + r] = R[r * dim + j] as number;
  const decoderB = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    let s = 0;
    for (let r = 0; r < t; r++) s += (R[r * dim + j] as number) * (rotMean[r] as number);
    decoderB[j] = (mean[j] as number) - s;
  }
  return { dim, hidden: h, targetDim: t, m, w1, b1, w2, b2: rotMean, codebooks, logScale: new Float32Array(m), decoderW, decoderB };
}

/** A seeded random `(k, k)` orthogonal matrix: Gram–Schmidt on Gaussian rows. */
function randomOrthogonal(k: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  const q = Float64Array.from({ length: k * k }, () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < i; j++) {
      let p = 0;
      for (let c = 0; c < k; c++) p += (q[i * k + c] as number) * (q[j * k + c] as number);
      for (let c = 0; c < k; c++) q[i * k + c] -= p * (q[j * k + c] as number);
    }
    let norm = 0;
    for (let c = 0; c < k; c++) norm += (q[i * k + c] as number) ** 2;
    for (let c = 0; c < k; c++) q[i * k + c] /= Math.sqrt(norm);
  }
  return q;
}

/**
 * The linear codec restricted to its top `e·m` principal directions, `e` per subspace, mixed by a
 * seeded random rotation (as codec v1 mixes its `targetDim`) and padded into the same latent
 * layout: subspace s uses latent dimensions [s·dsub, s·dsub + e), the rest stay zero. Fewer,
 * finer-quantized dimensions can rank neighbours better than all `targetDim` coarsely quantized.
 * @param y `(n, targetDim)` f32: training rows projected by the codec, centred (`R (x − mean)`)
 * @param eigen the eigen-decomposition of `y`'s covariance
 */
function reducedCodec(rt: TfRuntime, codec: LinearCodec, y: Float32Array, eigen: { vectors: Float64Array }, e: number, seed: number): LinearCodec {
  const { dim, targetDim: t, m } = codec;
  const dsub = t / m;
  const k = e * m;
  const mix = randomOrthogonal(k, seed);
  // basis (k, t): mix · top-k eigenvectors, in the codec's rotated frame.
  const basis = new Float64Array(k * t);
  for (let r = 0; r < k; r++) {
    for (let i = 0; i < k; i++) {
      const w = mix[r * k + i] as number;
      for (let c = 0; c < t; c++) basis[r * t + c] += w * (eigen.vectors[i * t + c] as number);
    }
  }
  const rotation = new Float32Array(t * dim);
  const slot = (r: number) => Math.floor(r / e) * dsub + (r % e);
  for (let r = 0; r < k; r++) {
    const row = rotation.subarray(slot(r) * dim, (slot(r) + 1) * dim);
    for (let c = 0; c < t; c++) {
      const w = basis[r * t + c] as number;
      for (let j = 0; j < dim; j++) row[j] += w * (codec.rotation[c * dim + j] as number);
    }
  }
  const n = y.length / t;
  const yk = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < k; r++) {
      let s = 0;
      for (let c = 0; c < t; c++) s += (basis[r * t + c] as number) * (y[i * t + c] as number);
      yk[i * k + r] = s;
    }
  }
  const small = pqKmeans(rt, yk, m, e, KMEANS_ITERATIONS, seed);
  const codebooks = new Float32Array(m * KSUB * dsub);
  for (let s = 0; s < m; s++) for (let c = 0; c < KSUB; c++) for (let d = 0; d < e; d++) codebooks[(s * KSUB + c) * dsub + d] = small[(s * KSUB + c) * e + d] as number;
  return { kind: codec.kind, dim, targetDim: t, m, rotation, mean: codec.mean, codebooks };
}

/** The linear codec as a latent codec: `z = R x`, codebooks shifted by `R·mean`. */
function linearLatent(codec: LinearCodec): LatentCodec {
  const w = initFromLinear(codec);
  return { kind: 'linear', targetDim: codec.targetDim, m: codec.m, rotation: codec.rotation, codebooks: w.codebooks };
}

/** Per codebook, log of the mean squared distance of the training rows to their codeword. */
function initialLogScale(ev: CodecEvaluator, w: LearnedCodecWeights, train: Float32Array, dim: number): Float32Array {
  const rows = Math.min(train.length / dim, 4_096);
  const z = ev.latent({ kind: 'mlp', weights: w }, train.subarray(0, rows * dim), dim);
  const codes = ev.codes(z, w.targetDim, w.m, w.codebooks);
  const dsub = w.targetDim / w.m;
  const out = new Float32Array(w.m);
  for (let s = 0; s < w.m; s++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      const c = codes[r * w.m + s] as number;
      for (let d = 0; d < dsub; d++) sum += ((z[r * w.targetDim + s * dsub + d] as number) - (w.codebooks[(s * KSUB + c) * dsub + d] as number)) ** 2;
    }
    out[s] = Math.log(Math.max(sum / rows, 1e-12));
  }
  return out;
}

/**
 * Trains the learned codec on `rows` (already preprocessed: unit length for cosine), starting from
 * the linear codec `pq`, and compares it with `pq` (and `opq` when given) on held-out queries.
 * @param rows `(n, dim)` f32 row-major, typically a seeded sample of the database
 * @param pq the trained codec v1 (its rotation, mean and codebooks)
 * @param opq the OPQ codec, when trained
 * @param options see {@link LearnedCodecOptions}
 * @param onProgress called after every step with the steps done and planned
 * @returns the best weights seen (by early-stopping recall) and the report
 * @throws QuantumDBError `INVALID_ARGUMENT` when TF.js is not installed or the metric is unsupported.
 * @example
 * ```ts
 * const { weights, report } = await trainLearnedCodec(sample, 'l2', pq, null, { trainBudgetSeconds: 30 });
 * if (report.validation.learned > report.validation.pq) useLearned(weights);
 * ```
 */
export async function trainLearnedCodec(
  rows: Float32Array, metric: Metric, pq: LinearCodec, opq: LinearCodec | null,
  options: Partial<LearnedCodecOptions> = {}, onProgress?: (p: { done: number; total: number; backend: TfBackendName }) => void,
): Promise<{ weights: LearnedCodecWeights; report: LearnedCodecReport }> {
  const t0 = performance.now();
  const o = { ...DEFAULTS, ...options };
  const dim = pq.dim;
  if (rows.length % dim !== 0 || rows.length / dim < 20) throw qdbError('INVALID_ARGUMENT', ['the learned codec needs at least 20 rows of dim values']);
  const l2 = metric === 'l2';
  const rt = await loadTensorflow(o.backend);
  const ev = new CodecEvaluator();
  const p = prepare(rt, rows, dim, l2, initFromLinear(pq), o, ev);
  const nq = p.validation.queries.length / dim;
  const stopRange: [number, number] = [0, Math.floor(nq / 2)];
  const selectRange: [number, number] = [Math.floor(nq / 2), nq];
  const tEval = performance.now();
  const stopRecall = (w: LearnedCodecWeights): number => ev.recall({ kind: 'mlp', weights: w }, p.validation, l2, stopRange).recall10;
  const first = stopRecall(initFromLinear(pq));
  const evalSeconds = (performance.now() - tEval) / 1000;
  const start = chooseStart(rt, ev, p, pq, first, opq, o, stopRecall);
  const init = initFromLinear(start.codec, o.hidden > 0 ? o.hidden : undefined);
  init.logScale = initialLogScale(ev, init, p.train, dim);
  const prepareSeconds = (performance.now() - t0) / 1000;

  const train: TrainOptions = { ...DEFAULT_TRAIN, ...o.train, weights: { ...DEFAULT_LOSS_WEIGHTS, ...o.train?.weights }, seed: o.seed, l2 };
  // Time reserved after training: the final comparison of up to three codecs, each about one checkpoint.
  const deadline = t0 + o.trainBudgetSeconds * 1000 - 3.3 * evalSeconds * 1000;
  const loop = await trainLoop(new TrainSession(rt, init, train), p, o, { init, recall: start.recall, deadline, evalSeconds, stopRecall },
    (done, total) => onProgress?.({ done, total, backend: rt.backend }));

  const sel = (c: LatentCodec) => ev.recall(c, p.validation, l2, selectRange);
  const rPq = sel(linearLatent(pq));
  const rOpq = opq ? sel(linearLatent(opq)) : null;
  const rLearned = sel({ kind: 'mlp', weights: loop.best });
  const report: LearnedCodecReport = {
    backend: rt.backend,
    trainSeconds: (performance.now() - t0) / 1000,
    steps: loop.steps,
    epochs: (loop.steps * o.groupsPerBatch * o.groupSize) / p.nTrain,
    stoppedBy: loop.stoppedBy,
    bestStep: loop.bestStep,
    startedFrom: start.base.kind,
    effectiveDims: start.dims,
    timings: { prepareSeconds, stepMs: loop.stepMs, checkpointSeconds: evalSeconds },
    checkpoints: loop.checkpoints,
    validation: { pq: rPq.recall10, opq: rOpq ? rOpq.recall10 : null, learned: rLearned.recall10 },
    validationAt1: { pq: rPq.recall1, opq: rOpq ? rOpq.recall1 : null, learned: rLearned.recall1 },
  };
  return { weights: loop.best, report };
}

/**
 * Where training starts: the better of PQ and OPQ on the early-stopping queries, or fewer of its
 * principal directions per subspace (see {@link reducedCodec}) when that ranks better.
 * @param pqRecall early-stopping recall of `pq`, already measured
 */
function chooseStart(
  rt: TfRuntime, ev: CodecEvaluator, p: Prepared, pq: LinearCodec, pqRecall: number, opq: LinearCodec | null,
  o: Omit<LearnedCodecOptions, 'train'>, stopRecall: (w: LearnedCodecWeights) => number,
): { codec: LinearCodec; base: LinearCodec; recall: number; dims: LearnedCodecReport['effectiveDims'] } {
  let base = pq;
  let full = initFromLinear(pq);
  let recall = pqRecall;
  if (opq) {
    const w = initFromLinear(opq);
    const r = stopRecall(w);
    if (r > recall) { base = opq; full = w; recall = r; }
  }
  const t = base.targetDim, dsub = t / base.m;
  const y = base === pq ? p.z0.slice() : ev.latent({ kind: 'mlp', weights: full }, p.train, p.validation.dim);
  for (let i = 0; i < p.nTrain; i++) for (let c = 0; c < t; c++) y[i * t + c] -= full.b2[c] as number;
  const dims: LearnedCodecReport['effectiveDims'] = [{ perSubspace: dsub, recall10: recall }];
  let codec = base;
  const candidates = o.effectiveDims.filter((e) => Number.isInteger(e) && e > 0 && e < dsub);
  if (candidates.length > 0) {
    const eigen = ev.eigen(gramMatrix(rt, y, t), t);
    for (const e of candidates) {
      const reduced = reducedCodec(rt, base, y, eigen, e, o.seed + e);
      const r = stopRecall(initFromLinear(reduced));
      dims.push({ perSubspace: e, recall10: r });
      if (r > recall) { codec = reduced; recall = r; }
    }
  }
  return { codec, base, recall, dims };
}

/** What {@link trainLoop} returns: the best weights by early-stopping recall, and the run's record. */
interface LoopResult {
  best: LearnedCodecWeights;
  bestStep: number;
  steps: number;
  stoppedBy: LearnedCodecReport['stoppedBy'];
  checkpoints: LearnedCodecReport['checkpoints'];
  stepMs: number;
}

/**
 * Steps until `maxSteps`, the deadline, or `patience` checkpoints without a better early-stopping
 * recall. Without `maxSteps`, the run is planned after three steps from their measured time, so
 * the temperature and noise schedules span the whole budget. Yields to the event loop after every
 * step, so a server stays responsive while a build trains. Disposes the session.
 */
async function trainLoop(
  session: TrainSession, p: Prepared, o: Omit<LearnedCodecOptions, 'train'>,
  s: { init: LearnedCodecWeights; recall: number; deadline: number; evalSeconds: number; stopRecall: (w: LearnedCodecWeights) => number },
  onStep: (done: number, total: number) => void,
): Promise<LoopResult> {
  const dim = p.validation.dim;
  const bounded = Number.isFinite(o.maxSteps);
  const out: LoopResult = { best: s.init, bestStep: 0, steps: 0, stoppedBy: 'budget', checkpoints: [{ step: 0, recall10: s.recall, loss: null }], stepMs: 0 };
  let bestRecall = s.recall, stale = 0, since = 0, stepMsTotal = 0;
  let planned = bounded ? o.maxSteps : 0;
  let evalEvery = planned > 0 ? Math.max(1, Math.ceil(planned / o.evaluations)) : 0;
  let sum: StepLosses | null = null;
  try {
    let tTrain = performance.now();
    for (;;) {
      if (planned > 0 && out.steps >= planned) { out.stoppedBy = bounded ? 'max-steps' : 'budget'; break; }
      if (!bounded && performance.now() > s.deadline) break;
      const tStep = performance.now();
      if (out.steps === 1) tTrain = tStep;
      const l = session.step(batchAt(p, dim, o.groupsPerBatch, o.groupSize, o.seed, out.steps), planned > 0 ? out.steps / planned : 0, out.steps);
      stepMsTotal += performance.now() - tStep;
      sum = sum === null ? { ...l } : addLosses(sum, l);
      since++;
      out.steps++;
      if (!bounded && (out.steps === 3 || (evalEvery > 0 && out.steps % evalEvery === 0))) {
        // (Re)plan from the mean step time so far, warm-up excluded, minus the checkpoints still to come.
        const stepMs = (performance.now() - tTrain) / (out.steps - 1);
        const checkpointsLeft = evalEvery > 0 ? Math.max(0, o.evaluations - out.checkpoints.length + 1) : o.evaluations;
        const leftMs = s.deadline - performance.now() - s.evalSeconds * 1000 * checkpointsLeft;
        planned = Math.max(planned, out.steps + Math.max(1, Math.floor(Math.max(0, leftMs) / stepMs)));
        evalEvery = Math.max(1, Math.ceil(planned / o.evaluations));
      }
      onStep(out.steps, Math.max(planned, out.steps));
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      if (evalEvery > 0 && (out.steps % evalEvery === 0 || out.steps === planned)) {
        const w = session.weights();
        const r = s.stopRecall(w);
        out.checkpoints.push({ step: out.steps, recall10: r, loss: sum && scaleLosses(sum, 1 / since) });
        sum = null;
        since = 0;
        if (r > bestRecall) { out.best = w; bestRecall = r; out.bestStep = out.steps; stale = 0; } else if (++stale >= o.patience) { out.stoppedBy = 'early-stop'; break; }
      }
    }
  } finally {
    session.dispose();
  }
  out.stepMs = out.steps > 0 ? stepMsTotal / out.steps : 0;
  return out;
}

function addLosses(a: StepLosses, b: StepLosses): StepLosses {
  return { total: a.total + b.total, reconstruction: a.reconstruction + b.reconstruction, cluster: a.cluster + b.cluster,
    diversity: a.diversity + b.diversity, commitment: a.commitment + b.commitment, structure: a.structure + b.structure };
}

function scaleLosses(a: StepLosses, f: number): StepLosses {
  return { total: a.total * f, reconstruction: a.reconstruction * f, cluster: a.cluster * f, diversity: a.diversity * f, commitment: a.commitment * f, structure: a.structure * f };
}

/**
 * The linear codec a database's kernels hold (after `trainPqCodec`), copied out.
 * @param kind what trained it: `'pq'` or `'opq'`
 * @example
 * ```ts
 * const pq = readLinearCodec(kernels, 'pq', dim, targetDim, m);
 * ```
 */
export function readLinearCodec(kernels: Kernels, kind: 'pq' | 'opq', dim: number, targetDim: number, m: number): LinearCodec {
  const raw = kernels.raw;
  return {
    kind, dim, targetDim, m,
    rotation: kernels.f32(raw.rotationPtr(), targetDim * dim).slice(),
    mean: kernels.f32(raw.meanPtr(), dim).slice(),
    codebooks: kernels.f32(raw.codebooksPtr(), m * KSUB * (targetDim / m)).slice(),
  };
}

/**
 * Puts a linear codec back into a database's kernels and switches the MLP encoder off.
 * @throws QuantumDBError `INVALID_ARGUMENT` when its sizes differ from the kernels' codec.
 */
export function loadLinearCodec(kernels: Kernels, codec: LinearCodec): void {
  const raw = kernels.raw;
  if (codec.dim !== raw.queryDim() || codec.targetDim / codec.m !== raw.subDim()) throw qdbError('INVALID_ARGUMENT', ['the codec does not match this database: dim, targetDim or m differ']);
  kernels.f32(raw.rotationPtr(), codec.targetDim * codec.dim).set(codec.rotation);
  kernels.f32(raw.meanPtr(), codec.dim).set(codec.mean);
  kernels.f32(raw.codebooksPtr(), codec.codebooks.length).set(codec.codebooks);
  kernels.check(raw.encoderUse(0), 'switching the encoder off');
}

/**
 * Copies the learned codec into a database's kernels: the MLP weights into the encoder and the
 * latent-frame codebooks into the codec, then routes `encodeRows` and `queryPrepare` through the MLP.
 * Rows encoded before this call keep their old codes: re-encode them.
 * @throws QuantumDBError `INVALID_ARGUMENT` when its sizes differ from the kernels' codec.
 * @example
 * ```ts
 * loadLearnedCodec(kernels, weights); // then encode every row and rebuild the graph
 * ```
 */
export function loadLearnedCodec(kernels: Kernels, w: LearnedCodecWeights): void {
  const raw = kernels.raw;
  if (w.dim !== raw.queryDim() || w.targetDim / w.m !== raw.subDim()) throw qdbError('INVALID_ARGUMENT', ['the codec does not match this database: dim, targetDim or m differ']);
  kernels.check(raw.encoderConfigure(w.dim, w.hidden, w.targetDim), 'configuring the encoder');
  kernels.f32(raw.encoderW1Ptr(), w.w1.length).set(w.w1);
  kernels.f32(raw.encoderB1Ptr(), w.b1.length).set(w.b1);
  kernels.f32(raw.encoderW2Ptr(), w.w2.length).set(w.w2);
  kernels.f32(raw.encoderB2Ptr(), w.b2.length).set(w.b2);
  kernels.f32(raw.codebooksPtr(), w.codebooks.length).set(w.codebooks);
  kernels.check(raw.encoderUse(1), 'switching the encoder on');
}

/**
 * Validation 10-recall@10 of the linear codecs alone, without TF.js (what `codec: 'auto'` compares
 * when TF.js is not installed): the same seeded split and flat-ADC protocol as {@link trainLearnedCodec}.
 * @param rows `(n, dim)` preprocessed rows, typically a seeded sample of the database
 * @example
 * ```ts
 * const { pq, opq } = validateLinearCodecs(sample, 'cosine', pqCodec, opqCodec);
 * ```
 */
export function validateLinearCodecs(rows: Float32Array, metric: Metric, pq: LinearCodec, opq: LinearCodec | null, options: Partial<LearnedCodecOptions> = {}): { pq: number; opq: number | null } {
  const o = { ...DEFAULTS, ...options };
  const dim = pq.dim;
  const l2 = metric === 'l2';
  const ev = new CodecEvaluator();
  const { queries, base } = splitRows(rows, dim, o);
  const set: ValidationSet = { dim, queries, base, truth: ev.exactTop10(queries, base, dim, l2) };
  const nq = queries.length / dim;
  const range: [number, number] = [Math.floor(nq / 2), nq];
  return {
    pq: ev.recall(linearLatent(pq), set, l2, range).recall10,
    opq: opq ? ev.recall(linearLatent(opq), set, l2, range).recall10 : null,
  };
}

/** Which codec `codec: 'auto'` keeps, and why (for the build report). */
export function chooseCodec(validation: { pq: number; opq: number | null; learned: number | null }): { kind: 'pq' | 'opq' | 'learned'; reason: string } {
  const { pq, opq, learned } = validation;
  const linear = opq !== null && opq > pq ? { kind: 'opq' as const, r: opq } : { kind: 'pq' as const, r: pq };
  const fmt = (x: number) => x.toFixed(4);
  if (learned === null) return { kind: linear.kind, reason: `learned codec not trained; ${linear.kind} has the best validation 10-recall@10 (${fmt(linear.r)})` };
  if (learned > linear.r) return { kind: 'learned', reason: `learned codec's validation 10-recall@10 ${fmt(learned)} beats ${linear.kind} ${fmt(linear.r)}` };
  return { kind: linear.kind, reason: `learned codec's validation 10-recall@10 ${fmt(learned)} does not beat ${linear.kind} ${fmt(linear.r)}; kept ${linear.kind}` };
}
