/**
 * @module codec/learned-codec
 * Orchestrates the learned codec (issue 3): splits a seeded sample into training rows and held-out
 * validation queries, mines each anchor's k nearest neighbours for the ranking loss, initialises
 * the MLP from the linear codec (so training starts exactly at PQ), trains within a wall-clock
 * budget with early stopping on validation recall, and compares codecs by 10-recall@10 of a flat
 * ADC scan. TF.js is reached only through `./train.js`, which loads it lazily; inference and the
 * comparison run in a private WASM kernel instance (its memory goes when the instance does).
 *
 * Latent frame. Codec v1 codes `R (x − mean)` against centred codebooks. The learned codec codes
 * `z = f(x)` against codebooks in f's frame, and f starts as the uncentred `R x`:
 *   hidden = 2·targetDim,  W1 = [R; −R],  b1 = [−R·mean; R·mean],  W2 = [I, −I],  b2 = R·mean
 *   → relu(u) − relu(−u) = u with u = R (x − mean), so z = R (x − mean) + R·mean = R x exactly;
 *   codebooks_s = v1 codebooks_s + (R·mean)_s, the same partition of the data as v1;
 *   decoder: x̂ = Rᵀ ẑ + (mean − RᵀR·mean).
 * The hinge of every hidden unit sits at the data mean, so half of them are active on typical rows.
 * For squared L2 the lookup table is ‖f(q) − c‖²; for inner product and cosine it is −f(q)·c, which
 * at the start equals v1's table up to a per-query constant, so rankings are identical.
 */
import { qdbError } from '../errors.js';
import type { Metric } from '../types.js';
import { Kernels } from '../wasm/abi.js';
import { mulberry32 } from './pq-codec.js';
import {
  exactKnn, loadTensorflow, TrainSession,
  type LossWeights, type StepLosses, type TfBackendName, type TfRuntime, type TrainBatch, type TrainOptions,
} from './train.js';

const KSUB = 256;

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
  /** Held-out validation queries (half for early stopping, half for the codec choice). Default 1,000. */
  validationQueries: number;
  /** Rows of the training sample the validation queries are searched in. Default 10,000. */
  validationBase: number;
  /** Anchors whose k-NN groups form the batches. Default 4,096. */
  anchors: number;
  /** Anchors per batch; each brings `groupSize − 1` neighbours. Defaults 8 and 32 (256 rows). */
  groupsPerBatch: number;
  groupSize: number;
  /** Hidden units; `2·targetDim` (the default) is what reproduces the linear codec exactly. */
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
  seed: 42, backend: 'auto',
};

const DEFAULT_TRAIN: Omit<TrainOptions, 'weights' | 'seed' | 'l2'> = {
  k: 10, structureLoss: 'triplet', margin: 0.05, estimator: 'gumbel', temperature: [1, 0.2], noise: [1, 0],
  hardFrom: 0, learningRate: 1e-4, codebookLearningRate: 1e-3,
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
  /** Step of the kept weights (0 = the linear initialisation). */
  bestStep: number;
  /** Where the time went: preparation (TF.js, splits, k-NN), mean optimizer step, one checkpoint. */
  timings: { prepareSeconds: number; stepMs: number; checkpointSeconds: number };
  /** Early-stopping recall at each checkpoint. */
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
 * @param hidden at least `2·targetDim`; extra units start with zero weights
 * @returns weights in the public layout; `logScale` is 0 until {@link trainLearnedCodec} sets it from data
 * @throws QuantumDBError `INVALID_ARGUMENT` when `hidden < 2·targetDim` or the sizes disagree.
 * @example
 * ```ts
 * const init = initFromLinear(pq); // z = R x for every x
 * ```
 */
export function initFromLinear(codec: LinearCodec, hidden = 2 * codec.targetDim): LearnedCodecWeights {
  const { dim, targetDim: t, m, rotation: R, mean } = codec;
  if (hidden < 2 * t) throw qdbError('INVALID_ARGUMENT', [`hidden (${hidden}) must be at least 2·targetDim (${2 * t}) to start from the linear codec`]);
  if (R.length !== t * dim || mean.length !== dim || codec.codebooks.length !== m * KSUB * (t / m)) {
    throw qdbError('INVALID_ARGUMENT', ['the linear codec arrays do not match its dim, targetDim and m']);
  }
  const rotMean = new Float32Array(t);
  for (let r = 0; r < t; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (R[r * dim + j] as number) * (mean[j] as number);
    rotMean[r] = s;
  }
  const w1 = new Float32Array(hidden * dim);
  const b1 = new Float32Array(hidden);
  for (let r = 0; r < t; r++) {
    for (let j = 0; j < dim; j++) {
      w1[r * dim + j] = R[r * dim + j] as number;
      w1[(t + r) * dim + j] = -(R[r * dim + j] as number);
    }
    b1[r] = -(rotMean[r] as number);
    b1[t + r] = rotMean[r] as number;
  }
  const w2 = new Float32Array(t * hidden);
  for (let r = 0; r < t; r++) {
    w2[r * hidden + r] = 1;
    w2[r * hidden + t + r] = -1;
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
  return { dim, hidden, targetDim: t, m, w1, b1, w2, b2: rotMean, codebooks, logScale: new Float32Array(m), decoderW, decoderB };
}

/** A codec seen from the validation harness: how rows become latent vectors, and its codebooks in that frame. */
type LatentCodec =
  | { kind: 'linear'; targetDim: number; m: number; rotation: Float32Array; codebooks: Float32Array }
  | { kind: 'mlp'; weights: LearnedCodecWeights };

/** The linear codec as a latent codec: `z = R x`, codebooks shifted by `R·mean`. */
function linearLatent(codec: LinearCodec): LatentCodec {
  const w = initFromLinear(codec);
  return { kind: 'linear', targetDim: codec.targetDim, m: codec.m, rotation: codec.rotation, codebooks: w.codebooks };
}

/**
 * Scratch WASM for validation: latent maps, PQ codes against explicit codebooks and flat ADC
 * scans, all through the kernels of `assembly/encoder.ts`.
 */
export class CodecEvaluator {
  private readonly k = new Kernels();

  /** Latent vectors `(n, targetDim)` of `rows` under `codec`. */
  latent(codec: LatentCodec, rows: Float32Array, dim: number): Float32Array {
    const raw = this.k.raw;
    const n = rows.length / dim;
    const t = codec.kind === 'linear' ? codec.targetDim : codec.weights.targetDim;
    const x = this.put(rows);
    const out = raw.arenaAlloc(Math.max(16, n * t * 4));
    try {
      if (codec.kind === 'linear') {
        const w = this.put(codec.rotation);
        const b = raw.arenaAlloc(t * 4);
        raw.kernelDense(x, n, dim, w, b, t, 0, out, 0);
        raw.arenaFree(w); raw.arenaFree(b);
      } else {
        this.loadEncoder(codec.weights);
        raw.encoderRows(x, n, out, 0);
      }
      return this.k.f32(out, n * t).slice();
    } finally {
      raw.arenaFree(x); raw.arenaFree(out);
    }
  }

  /** Copies the MLP weights into this instance's encoder. */
  loadEncoder(w: LearnedCodecWeights): void {
    const raw = this.k.raw;
    this.k.check(raw.encoderConfigure(w.dim, w.hidden, w.targetDim), 'configuring the encoder');
    this.k.f32(raw.encoderW1Ptr(), w.w1.length).set(w.w1);
    this.k.f32(raw.encoderB1Ptr(), w.b1.length).set(w.b1);
    this.k.f32(raw.encoderW2Ptr(), w.w2.length).set(w.w2);
    this.k.f32(raw.encoderB2Ptr(), w.b2.length).set(w.b2);
  }

  /** The latent vectors through the encoder: the SIMD kernel, or its scalar twin. */
  encoderRows(rows: Float32Array, dim: number, targetDim: number, scalar: boolean): Float32Array {
    const raw = this.k.raw;
    const n = rows.length / dim;
    const x = this.put(rows);
    const out = raw.arenaAlloc(Math.max(16, n * targetDim * 4));
    raw.encoderRows(x, n, out, scalar ? 1 : 0);
    const z = this.k.f32(out, n * targetDim).slice();
    raw.arenaFree(x); raw.arenaFree(out);
    return z;
  }

  /** `(n, m)` codes of latent rows. */
  codes(z: Float32Array, targetDim: number, m: number, codebooks: Float32Array): Uint8Array {
    const raw = this.k.raw;
    const n = z.length / targetDim;
    const zp = this.put(z), bp = this.put(codebooks);
    const cp = raw.arenaAlloc(Math.max(16, n * m));
    raw.codecAssign(zp, n, targetDim, m, bp, cp);
    const codes = this.k.u8(cp, n * m).slice();
    raw.arenaFree(zp); raw.arenaFree(bp); raw.arenaFree(cp);
    return codes;
  }

  /**
   * Flat-ADC top 10 of each latent query among coded rows: `(nq, 10)` i32 row indices.
   */
  adcTop10(zq: Float32Array, targetDim: number, m: number, codebooks: Float32Array, codes: Uint8Array, l2: boolean): Int32Array {
    const raw = this.k.raw;
    const nq = zq.length / targetDim;
    const n = codes.length / m;
    const qp = this.put(zq), bp = this.put(codebooks);
    const cp = raw.arenaAlloc(Math.max(16, codes.length));
    this.k.u8(cp, codes.length).set(codes);
    const lut = raw.arenaAlloc(m * KSUB * 4);
    const dist = raw.arenaAlloc(Math.max(16, n * 4));
    const out = new Int32Array(nq * 10).fill(-1);
    for (let q = 0; q < nq; q++) {
      raw.codecLut(qp + q * targetDim * 4, targetDim, m, bp, l2 ? 1 : 0, lut);
      raw.codecAdcScan(lut, m, cp, n, dist);
      out.set(top10(this.k.f32(dist, n)), q * 10);
    }
    for (const p of [qp, bp, cp, lut, dist]) raw.arenaFree(p);
    return out;
  }

  /** 10-recall@10 and 1-recall@1 of a flat ADC scan with `codec` on `set`. */
  recall(codec: LatentCodec, set: ValidationSet, l2: boolean, queryRange?: [number, number], baseCodes?: Uint8Array): { recall10: number; recall1: number; codes: Uint8Array } {
    const { targetDim, m, codebooks } = codec.kind === 'linear' ? codec : codec.weights;
    const nq = set.queries.length / set.dim;
    const [q0, q1] = queryRange ?? [0, nq];
    const codes = baseCodes ?? this.codes(this.latent(codec, set.base, set.dim), targetDim, m, codebooks);
    const zq = this.latent(codec, set.queries.subarray(q0 * set.dim, q1 * set.dim), set.dim);
    const found = this.adcTop10(zq, targetDim, m, codebooks, codes, l2);
    let hit10 = 0, hit1 = 0;
    for (let q = 0; q < q1 - q0; q++) {
      const truth = set.truth.subarray((q0 + q) * 10, (q0 + q + 1) * 10);
      const mine = found.subarray(q * 10, q * 10 + 10);
      for (const id of mine) if (truth.includes(id)) hit10++;
      if (mine[0] === truth[0]) hit1++;
    }
    return { recall10: hit10 / (10 * (q1 - q0)), recall1: hit1 / (q1 - q0), codes };
  }

  private put(values: Float32Array): number {
    const ptr = this.k.raw.arenaAlloc(Math.max(16, values.byteLength));
    this.k.f32(ptr, values.length).set(values);
    return ptr;
  }
}

/** Indices of the 10 smallest values (ties to the lower index), smallest first. */
function top10(d: Float32Array): Int32Array {
  const idx = new Int32Array(10).fill(-1);
  const val = new Float64Array(10).fill(Infinity);
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number;
    if (v >= (val[9] as number)) continue;
    let j = 9;
    while (j > 0 && (val[j - 1] as number) > v) { val[j] = val[j - 1] as number; idx[j] = idx[j - 1] as number; j--; }
    val[j] = v; idx[j] = i;
  }
  return idx;
}

/** Rows `idx` of an `(n, dim)` matrix, gathered. */
function gatherRows(rows: Float32Array, dim: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) out.set(rows.subarray((idx[i] as number) * dim, ((idx[i] as number) + 1) * dim), i * dim);
  return out;
}

/** A seeded permutation of [0, n). */
function permutation(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order;
}

/** Distance under the metric: squared L2, or the negative inner product. */
function distance(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number, l2: boolean): number {
  let s = 0;
  if (l2) for (let j = 0; j < dim; j++) { const d = (a[ao + j] as number) - (b[bo + j] as number); s += d * d; }
  else for (let j = 0; j < dim; j++) s -= (a[ao + j] as number) * (b[bo + j] as number);
  return s;
}

/** Everything a run needs, prepared once: splits, k-NN groups and the validation set. */
interface Prepared {
  train: Float32Array;
  nTrain: number;
  /** `(nAnchors, groupSize − 1)` neighbour rows of each anchor (training-row indices), nearest first, and their true distances. */
  neighbours: Int32Array;
  neighbourDist: Float32Array;
  nAnchors: number;
  validation: ValidationSet;
}

function prepare(rt: TfRuntime, rows: Float32Array, dim: number, l2: boolean, init: LearnedCodecWeights, o: Omit<LearnedCodecOptions, 'train'>, ev: CodecEvaluator): Prepared {
  const n = rows.length / dim;
  const order = permutation(n, o.seed ^ 0x5eed);
  const nVal = Math.min(o.validationQueries, Math.floor(n / 10));
  const nTrain = Math.min(o.trainSampleSize, n - nVal);
  const queries = gatherRows(rows, dim, order.subarray(0, nVal));
  const train = gatherRows(rows, dim, order.subarray(nVal, nVal + nTrain));
  const nBase = Math.min(o.validationBase, nTrain);
  const base = train.subarray(0, nBase * dim);
  const truth = exactKnn(rt, queries, base, dim, 10, l2);

  // Neighbours mined in the initial latent space (cheaper than dim, nearly exact), then re-ranked exactly.
  const L = o.groupSize - 1;
  const nAnchors = Math.min(o.anchors, nTrain);
  const z0 = ev.latent({ kind: 'mlp', weights: init }, train, dim);
  const t = init.targetDim;
  const self = new Int32Array(nAnchors);
  for (let i = 0; i < nAnchors; i++) self[i] = i;
  const want = Math.min(nTrain - 1, 2 * L);
  const cand = exactKnn(rt, z0.subarray(0, nAnchors * t), z0, t, want, l2, self);
  const neighbours = new Int32Array(nAnchors * L).fill(0);
  const neighbourDist = new Float32Array(nAnchors * L);
  const scored: { j: number; d: number }[] = [];
  for (let a = 0; a < nAnchors; a++) {
    scored.length = 0;
    for (let c = 0; c < want; c++) {
      const j = cand[a * want + c] as number;
      if (j >= 0) scored.push({ j, d: distance(train, a * dim, train, j * dim, dim, l2) });
    }
    scored.sort((x, y) => x.d - y.d || x.j - y.j);
    for (let c = 0; c < L; c++) {
      const s = scored[Math.min(c, scored.length - 1)] ?? { j: a, d: 0 };
      neighbours[a * L + c] = s.j;
      neighbourDist[a * L + c] = s.d;
    }
  }
  return { train, nTrain, neighbours, neighbourDist, nAnchors, validation: { dim, queries, base, truth } };
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

/** The batch of step `step`: anchors in a seeded order that reshuffles every pass. */
function batchAt(p: Prepared, dim: number, groups: number, groupSize: number, seed: number, step: number): TrainBatch {
  const L = groupSize - 1;
  const perPass = Math.max(1, Math.floor(p.nAnchors / groups));
  const pass = Math.floor(step / perPass);
  const order = permutation(p.nAnchors, (seed + 0x9e3779b9 * (pass + 1)) >>> 0);
  const rows = new Float32Array(groups * groupSize * dim);
  const trueDist = new Float32Array(groups * L);
  for (let g = 0; g < groups; g++) {
    const a = order[((step % perPass) * groups + g) % p.nAnchors] as number;
    rows.set(p.train.subarray(a * dim, (a + 1) * dim), g * groupSize * dim);
    for (let c = 0; c < L; c++) {
      const j = p.neighbours[a * L + c] as number;
      rows.set(p.train.subarray(j * dim, (j + 1) * dim), (g * groupSize + 1 + c) * dim);
      trueDist[g * L + c] = p.neighbourDist[a * L + c] as number;
    }
  }
  return { rows, groups, groupSize, trueDist };
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
  const deadline = t0 + o.trainBudgetSeconds * 1000;
  const dim = pq.dim;
  if (rows.length % dim !== 0 || rows.length / dim < 20) throw qdbError('INVALID_ARGUMENT', ['the learned codec needs at least 20 rows of dim values']);
  const l2 = metric === 'l2';
  const rt = await loadTensorflow(o.backend);
  const ev = new CodecEvaluator();
  const init = initFromLinear(pq, o.hidden > 0 ? o.hidden : 2 * pq.targetDim);
  const p = prepare(rt, rows, dim, l2, init, o, ev);
  init.logScale = initialLogScale(ev, init, p.train, dim);
  const prepareSeconds = (performance.now() - t0) / 1000;

  const train: TrainOptions = {
    ...DEFAULT_TRAIN, ...o.train, weights: { ...DEFAULT_LOSS_WEIGHTS, ...o.train?.weights }, seed: o.seed, l2,
  };
  const nq = p.validation.queries.length / dim;
  const stopRange: [number, number] = [0, Math.floor(nq / 2)];
  const selectRange: [number, number] = [Math.floor(nq / 2), nq];
  const stopRecall = (w: LearnedCodecWeights): number => ev.recall({ kind: 'mlp', weights: w }, p.validation, l2, stopRange).recall10;

  const tEval = performance.now();
  let best = init;
  let bestRecall = stopRecall(init);
  const evalSeconds = (performance.now() - tEval) / 1000;
  const checkpoints: LearnedCodecReport['checkpoints'] = [{ step: 0, recall10: bestRecall, loss: null }];
  // Time reserved after training: the final comparison of up to three codecs, each about one checkpoint.
  const reserveMs = 3.3 * evalSeconds * 1000;

  const session = new TrainSession(rt, init, train);
  let steps = 0, bestStep = 0, stale = 0;
  let stoppedBy: LearnedCodecReport['stoppedBy'] = 'budget';
  let planned = Number.isFinite(o.maxSteps) ? o.maxSteps : 0;
  let evalEvery = planned > 0 ? Math.max(1, Math.ceil(planned / o.evaluations)) : 0;
  let last: StepLosses | null = null;
  let stepMsTotal = 0;
  try {
    const tTrain = performance.now();
    for (;;) {
      if (planned > 0 && steps >= planned) { stoppedBy = Number.isFinite(o.maxSteps) ? 'max-steps' : 'budget'; break; }
      if (!Number.isFinite(o.maxSteps) && performance.now() > deadline - reserveMs) break;
      const progress = planned > 0 ? steps / planned : 0;
      const tStep = performance.now();
      last = session.step(batchAt(p, dim, o.groupsPerBatch, o.groupSize, o.seed, steps), progress, steps);
      stepMsTotal += performance.now() - tStep;
      steps++;
      if (planned === 0 && steps === 3) {
        // Plan the run from the measured step time: the budget left, minus the checkpoints.
        const stepMs = (performance.now() - tTrain) / steps;
        const leftMs = deadline - reserveMs - performance.now();
        const evalMs = evalSeconds * 1000 * o.evaluations;
        planned = Math.max(steps + 1, steps + Math.floor(Math.max(0, leftMs - evalMs) / stepMs));
        evalEvery = Math.max(1, Math.ceil(planned / o.evaluations));
      }
      onProgress?.({ done: steps, total: Math.max(planned, steps), backend: rt.backend });
      if (evalEvery > 0 && (steps % evalEvery === 0 || steps === planned)) {
        const w = session.weights();
        const r = stopRecall(w);
        checkpoints.push({ step: steps, recall10: r, loss: last });
        if (r > bestRecall) { best = w; bestRecall = r; bestStep = steps; stale = 0; } else if (++stale >= o.patience) { stoppedBy = 'early-stop'; break; }
      }
    }
  } finally {
    session.dispose();
  }
  const pqLatent = linearLatent(pq);
  const sel = (c: LatentCodec) => ev.recall(c, p.validation, l2, selectRange);
  const rPq = sel(pqLatent);
  const rOpq = opq ? sel(linearLatent(opq)) : null;
  const rLearned = sel({ kind: 'mlp', weights: best });
  const report: LearnedCodecReport = {
    backend: rt.backend,
    trainSeconds: (performance.now() - t0) / 1000,
    steps,
    epochs: (steps * o.groupsPerBatch * o.groupSize) / p.nTrain,
    stoppedBy,
    bestStep,
    timings: { prepareSeconds, stepMs: steps > 0 ? stepMsTotal / steps : 0, checkpointSeconds: evalSeconds },
    checkpoints,
    validation: { pq: rPq.recall10, opq: rOpq ? rOpq.recall10 : null, learned: rLearned.recall10 },
    validationAt1: { pq: rPq.recall1, opq: rOpq ? rOpq.recall1 : null, learned: rLearned.recall1 },
  };
  return { weights: best, report };
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
