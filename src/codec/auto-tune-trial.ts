/**
 * @module codec/auto-tune-trial
 * One auto-tuning trial (see `codec/auto-tune.ts`) and the measurements behind its objective. A
 * trial builds a whole small index in a private kernel instance: the shared PCA rotation for its
 * `targetDim`, k-means codebooks for its `m`, OPQ and the learned codec when allowed (the best by
 * validation recall is kept, as `codec: 'auto'` does), then the HNSW graph with its `M` and
 * `efConstruction`. It is measured on held-out queries against their exact neighbours: flat-ADC
 * and graph 10-recall@10, distances per query (counted in the kernels, so the figure does not
 * depend on the machine), and reconstruction error. Every heavy loop runs in WASM or TF.js; this
 * module sequences the steps and reads a few result arrays.
 */
import type { AutoTuneConfig, AutoTuneFigures, CodecKind, Metric, QuantumDBStats } from '../types.js';
import { KERNEL_BUILD, KERNEL_METRIC, Kernels } from '../wasm/abi.js';
import { CodecEvaluator } from './codec-evaluator.js';
import {
  chooseCodec, initFromLinear, loadLearnedCodec, loadLinearCodec, readLinearCodec, trainLearnedCodec, validateLinearCodecs,
  type LearnedCodecOptions, type LearnedCodecWeights, type LinearCodec,
} from './learned-codec.js';
import { refineWithOpq, trainCodebooks, type PqCodecConfig } from './pq-codec.js';
import type { TfBackendName } from './tf-runtime.js';

/** Beam width of the probe searches every trial is measured with. */
const PROBE_EF = 64;
const PROBE_K = 10;
/** Rows the shared PCA is fitted on (as `trainPqCodec` does). */
const PCA_ROWS = 10_000;
/** A random-order lookup-table read costs about this many SIMD multiply-adds (docs/design.md: 2.5 ns vs 0.08 ns). */
const MACS_PER_LOOKUP = 32;
/** Exact-neighbour work allowed for measuring the final index, in multiply-adds (about a second here). */
const FINAL_TRUTH_MACS = 2e9;
/** Rows scanned and re-ranked at a time for the final index's exact neighbours. */
const TRUTH_BLOCK = 4_096;
/** The quality term: this share of graph recall, the rest from reconstruction. */
export const QUALITY_RECALL_SHARE = 0.8;

/** What a trial measured, before the objective ranks it against its peers. */
export type Measured = Omit<AutoTuneFigures, 'terms' | 'objective' | 'bytesPerVector'>;

/** The sizes of one trial: training rows, learned-codec steps, Lloyd and OPQ iterations. */
export interface TrialPlan {
  rows: number;
  steps: number;
  kmeansIterations: number;
  opqIterations: number;
}

/** What every trial shares: the database's settings, the held-out queries and the seeded sample. */
export interface TrialData {
  dim: number;
  metric: Metric;
  seed: number;
  rotation: 'pca' | 'none';
  buildDistance: QuantumDBStats['params']['buildDistance'];
  /** `(nq, dim)` preprocessed held-out rows. */
  queries: Float32Array;
  /** `(nBase, dim)` preprocessed rows; a trial of n rows uses the first n. */
  base: Float32Array;
  /** Codecs a trial may keep: the one `codec` asks for, or all three for 'auto'. */
  kinds: readonly CodecKind[];
  /** TF.js backend for the learned codec, or null when it is not trained. */
  backend: TfBackendName | 'auto' | null;
}

/**
 * The learned codec's training options for a configuration.
 * @param config the configuration (learning rate, batch shape, k, loss weights)
 * @param steps optimizer steps (the run stops there: no clock decides)
 * @param seed seed of the batches and the Gumbel noise
 * @returns options for `trainLearnedCodec`
 * @throws nothing
 * @example
 * ```ts
 * const { weights } = await trainLearnedCodec(rows, 'cosine', pq, opq, learnedOptions(config, 40, 42));
 * ```
 */
export function learnedOptions(config: AutoTuneConfig, steps: number, seed: number): Partial<LearnedCodecOptions> {
  return {
    maxSteps: steps, seed, groupsPerBatch: config.groupsPerBatch, groupSize: config.groupSize,
    train: { learningRate: config.learningRate, codebookLearningRate: config.learningRate, k: config.kNeighbours, weights: { ...config.lossWeights } },
  };
}

/** Runs trials on one seeded sample; owns the shared rotations, the exact neighbours and an evaluator. */
export class TrialBench {
  private readonly ev = new CodecEvaluator();
  private readonly truths = new Map<number, Int32Array>();
  private readonly rotations = new Map<number, { rotation: Float32Array; mean: Float32Array }>();

  constructor(readonly data: TrialData) {}

  /**
   * Fits PCA once on the first rows of the sample and keeps the rotation of every `targetDim`
   * (each trial would otherwise refit the same PCA: most of a trial's time at 768 dimensions).
   * @throws QuantumDBError `INTERNAL` when the eigensolver does not converge.
   */
  fitRotations(targetDims: readonly number[]): void {
    const { dim, seed } = this.data;
    if (this.data.rotation === 'none') return;
    const rows = Math.min(PCA_ROWS, this.data.base.length / dim);
    const top = Math.max(...targetDims);
    const k = this.kernels(rows, top, 1, 2, 1);
    k.withSlots(slotRange(rows), (ptr) => k.check(k.raw.trainPca(ptr, rows, top), 'fitting PCA'));
    for (const t of targetDims) {
      k.check(k.raw.useTargetDim(t, 1, seed >>> 0), 'sizing the codec');
      this.rotations.set(t, { rotation: k.f32(k.raw.rotationPtr(), t * dim).slice(), mean: k.f32(k.raw.meanPtr(), dim).slice() });
    }
  }

  /**
   * Trains and builds the configuration on the first `plan.rows` rows and measures it.
   * @returns the figures of {@link Measured}
   * @throws QuantumDBError `INVALID_ARGUMENT` when only the learned codec is allowed and TF.js is missing.
   */
  async run(config: AutoTuneConfig, plan: TrialPlan): Promise<Measured> {
    const started = performance.now();
    const { dim, seed } = this.data;
    const { m, targetDim } = config;
    const n = plan.rows;
    const base = this.data.base.subarray(0, n * dim);
    const k = this.kernels(n, targetDim, m, config.M, config.efConstruction);
    const slots = slotRange(n);
    this.useRotation(k, targetDim);
    const codecConfig: PqCodecConfig = { m, targetDim, rotation: this.data.rotation, seed, trainSampleSize: n, kmeansIterations: plan.kmeansIterations };
    await trainCodebooks(k, slots, codecConfig, plan.kmeansIterations, 0, undefined);
    const pq = readLinearCodec(k, 'pq', dim, targetDim, m);
    let opq: LinearCodec | null = null;
    if (this.data.kinds.includes('opq')) {
      await refineWithOpq(k, slots, codecConfig, plan.opqIterations, async () => {});
      opq = readLinearCodec(k, 'opq', dim, targetDim, m);
    }
    const kept = await this.keepCodec(base, pq, opq, config, plan.steps);
    const linear = kept.kind === 'opq' ? (opq as LinearCodec) : pq;
    if (kept.weights) loadLearnedCodec(k, kept.weights);
    else loadLinearCodec(k, linear);
    k.raw.codecLoaded();
    k.raw.bulkBuildBegin(n, KERNEL_BUILD[this.data.buildDistance]);
    try {
      k.raw.encodeStored(0, n);
      k.raw.graphInsertRows(0, n);
    } finally {
      k.raw.bulkBuildEnd(KERNEL_BUILD.exact);
    }
    const weights = kept.weights ?? initFromLinear(linear);
    const measured = this.measure(k, n, this.truth(n), this.data.queries, weights, kept.kind);
    return { ...measured, steps: kept.steps, seconds: (performance.now() - started) / 1000 };
  }

  /**
   * Measures a database's built index the way trials are measured, with the sample's held-out
   * rows as queries (they are stored rows there) and their exact neighbours among all `n` rows
   * (as many queries as about two billion multiply-adds of exact search allow, at least 10).
   * @param learned the learned codec in use, or undefined for the linear one the kernels hold
   * @throws nothing
   */
  measureBuilt(kernels: Kernels, n: number, config: AutoTuneConfig, kind: CodecKind, learned: LearnedCodecWeights | undefined, steps: number): Measured {
    const started = performance.now();
    const { dim } = this.data;
    const nq = Math.min(this.data.queries.length / dim, Math.max(10, Math.floor(FINAL_TRUTH_MACS / (n * dim))));
    const queries = this.data.queries.subarray(0, nq * dim);
    const truth = exactTop10(kernels, n, queries);
    const codec = learned ?? initFromLinear(readLinearCodec(kernels, kind === 'opq' ? 'opq' : 'pq', dim, config.targetDim, config.m));
    const measured = this.measure(kernels, n, truth, queries, codec, kind);
    return { ...measured, steps, seconds: (performance.now() - started) / 1000 };
  }

  /** Trains what the allowed kinds include and keeps the best by validation recall (or the one asked for). */
  private async keepCodec(rows: Float32Array, pq: LinearCodec, opq: LinearCodec | null, config: AutoTuneConfig, steps: number): Promise<{ kind: CodecKind; weights?: LearnedCodecWeights; steps: number }> {
    const { kinds, metric, seed, backend } = this.data;
    if (kinds.length === 1 && kinds[0] !== 'learned') return { kind: kinds[0] as CodecKind, steps: 0 };
    if (backend !== null && kinds.includes('learned')) {
      // No search over reduced starting codecs in trials: targetDim is searched instead, at a fraction of the cost.
      const options = { ...learnedOptions(config, steps, seed), trainSampleSize: rows.length / this.data.dim, backend, effectiveDims: [] };
      const { weights, report } = await trainLearnedCodec(rows, metric, pq, opq, options);
      const kind = kinds.length === 1 ? 'learned' : chooseCodec(report.validation).kind;
      return kind === 'learned' ? { kind, weights, steps: report.steps } : { kind, steps: report.steps };
    }
    const validation = validateLinearCodecs(rows, metric, pq, opq, { seed });
    return { kind: chooseCodec({ ...validation, learned: null }).kind, steps: 0 };
  }

  /** Flat and graph recall, distances per query, search speed and reconstruction error on `queries`. */
  private measure(k: Kernels, n: number, truth: Int32Array, queries: Float32Array, weights: LearnedCodecWeights, kind: CodecKind): Omit<Measured, 'steps' | 'seconds'> {
    const { dim } = this.data;
    const raw = k.raw;
    const nq = queries.length / dim;
    let flatHits = 0, graphHits = 0, distances = 0, searchMs = 0;
    const hits = (count: number, q: number) => {
      const want = truth.subarray(q * PROBE_K, (q + 1) * PROBE_K);
      let found = 0;
      for (const slot of k.u32(raw.outSlotsPtr(), count)) if (want.includes(slot)) found++;
      return found;
    };
    for (let q = 0; q < nq; q++) {
      prepareQuery(k, queries, q);
      flatHits += hits(raw.searchFlat(0, n, PROBE_K, 0), q);
      raw.graphDistanceCount();
      const t0 = performance.now();
      const count = raw.searchGraph(PROBE_K, PROBE_EF, 0);
      searchMs += performance.now() - t0;
      distances += raw.graphDistanceCount() >>> 0;
      graphHits += hits(count, q);
    }
    const { m, targetDim: t, hidden } = weights;
    const evaluations = distances / nq;
    const projection = kind === 'learned' ? dim * hidden + hidden * t : dim * t;
    return {
      codec: kind, rows: n, queries: nq,
      recall10: flatHits / (nq * PROBE_K), graphRecall10: graphHits / (nq * PROBE_K),
      reconstructionMse: this.relativeError(weights, queries),
      codeBytes: m, compressionRatio: (dim * 4) / m,
      distanceEvaluationsPerQuery: evaluations,
      searchCost: evaluations * m + (projection + 256 * t) / MACS_PER_LOOKUP,
      qps: searchMs > 0 ? (1000 * nq) / searchMs : 0,
    };
  }

  /** Σ‖x − x̂‖² / Σ‖x − x̄‖² over `rows`, x̂ through the codec's decoder (the exact inverse for a linear codec). */
  private relativeError(w: LearnedCodecWeights, rows: Float32Array): number {
    const { dim } = this.data;
    const xHat = reconstruct(this.ev, w, rows);
    const n = rows.length / dim;
    const mean = new Float64Array(dim);
    for (let i = 0; i < rows.length; i++) mean[i % dim] += (rows[i] as number) / n;
    let error = 0, spread = 0;
    for (let i = 0; i < rows.length; i++) {
      error += ((rows[i] as number) - (xHat[i] as number)) ** 2;
      spread += ((rows[i] as number) - (mean[i % dim] as number)) ** 2;
    }
    return spread > 0 ? error / spread : 0;
  }

  /** Exact top 10 of every query among the first `n` sample rows (cached per size). */
  private truth(n: number): Int32Array {
    let truth = this.truths.get(n);
    if (truth === undefined) {
      const { dim, metric, queries, base } = this.data;
      truth = this.ev.exactTop10(queries, base.subarray(0, n * dim), dim, metric === 'l2');
      this.truths.set(n, truth);
    }
    return truth;
  }

  /** A kernel instance configured for one trial, holding the first `n` sample rows as slots 0 … n − 1. */
  private kernels(n: number, targetDim: number, m: number, M: number, efConstruction: number): Kernels {
    const { dim, metric, seed, base } = this.data;
    const k = new Kernels();
    const kind = metric === 'l2' ? KERNEL_METRIC.l2 : KERNEL_METRIC.ip;
    k.check(k.raw.configure(kind, metric === 'cosine' ? 1 : 0, dim, targetDim, m, M, efConstruction, KERNEL_BUILD[this.data.buildDistance], seed >>> 0), 'configuring a trial');
    k.raw.reserve(n);
    const block = 1_024;
    for (let at = 0; at < n; at += block) {
      const count = Math.min(block, n - at);
      const ptr = k.raw.scratch(count * dim * 4);
      k.f32(ptr, count * dim).set(base.subarray(at * dim, (at + count) * dim));
      k.raw.storeRows(ptr, at, count);
    }
    return k;
  }

  private useRotation(k: Kernels, targetDim: number): void {
    const { dim, seed } = this.data;
    const fitted = this.rotations.get(targetDim);
    if (fitted === undefined) {
      k.check(k.raw.useTargetDim(dim, 0, seed >>> 0), 'sizing the codec');
      return;
    }
    k.f32(k.raw.rotationPtr(), targetDim * dim).set(fitted.rotation);
    k.f32(k.raw.meanPtr(), dim).set(fitted.mean);
    k.raw.codecLoaded();
  }
}

/**
 * Reconstructions `(n, dim)` of `rows` through an MLP-form codec: latent, nearest codewords,
 * decoder. A linear codec in MLP form ({@link initFromLinear}) decodes exactly as PQ does.
 * @returns `(n, dim)` f32 row-major
 * @throws nothing
 * @example
 * ```ts
 * const xHat = reconstruct(new CodecEvaluator(), initFromLinear(pq), rows);
 * ```
 */
export function reconstruct(ev: CodecEvaluator, w: LearnedCodecWeights, rows: Float32Array): Float32Array {
  const { targetDim: t, m, dim } = w;
  const n = rows.length / dim;
  const codes = ev.codes(ev.latent({ kind: 'mlp', weights: w }, rows, dim), t, m, w.codebooks);
  const dsub = t / m;
  const zHat = new Float32Array(n * t);
  for (let r = 0; r < n; r++) {
    for (let s = 0; s < m; s++) {
      const c = codes[r * m + s] as number;
      zHat.set(w.codebooks.subarray((s * 256 + c) * dsub, (s * 256 + c + 1) * dsub), r * t + s * dsub);
    }
  }
  return ev.dense(zHat, t, w.decoderW, w.decoderB, dim);
}

/**
 * Exact top 10 of each query among the `n` rows a database's kernels hold: flat scans with a full
 * exact re-rank, TRUTH_BLOCK slots at a time (so the kernels' scratch stays small), merged.
 */
function exactTop10(k: Kernels, n: number, queries: Float32Array): Int32Array {
  const raw = k.raw;
  const nq = queries.length / raw.queryDim();
  const truth = new Int32Array(nq * PROBE_K);
  k.withSlots(slotRange(n), (listPtr) => {
    for (let q = 0; q < nq; q++) {
      prepareQuery(k, queries, q);
      const best: { slot: number; distance: number }[] = [];
      for (let first = 0; first < n; first += TRUTH_BLOCK) {
        const count = raw.searchFlat(listPtr + first * 4, Math.min(TRUTH_BLOCK, n - first), PROBE_K, TRUTH_BLOCK);
        const slots = k.u32(raw.outSlotsPtr(), count);
        const distances = k.f32(raw.outDistsPtr(), count);
        for (let i = 0; i < count; i++) best.push({ slot: slots[i] as number, distance: distances[i] as number });
        best.sort((a, b) => a.distance - b.distance || a.slot - b.slot).splice(PROBE_K);
      }
      truth.set(best.map((b) => b.slot), q * PROBE_K);
    }
  });
  return truth;
}

/** Slots 0 … n − 1. */
function slotRange(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}

/** Copies row `q` of `queries` into the kernels' query buffer and prepares it. */
function prepareQuery(k: Kernels, queries: Float32Array, q: number): void {
  const dim = k.raw.queryDim();
  k.f32(k.raw.queryPtr(), dim).set(queries.subarray(q * dim, (q + 1) * dim));
  k.raw.queryPrepare();
}
