/**
 * @module codec/build-codec
 * Which codec a build trains and keeps (`buildIndex({ codec })`): PQ after the PCA rotation always;
 * OPQ's refinement of it; the learned codec when TensorFlow.js is installed; and under `'auto'`
 * the one with the best held-out flat-ADC recall. The winner is left loaded in the kernels.
 */
import { isQuantumDBError, qdbError } from '../errors.js';
import { positiveInt } from '../input.js';
import type { BuildOptions, BuildProgress, CodecReport, Metric } from '../types.js';
import type { Kernels } from '../wasm/abi.js';
import type { AutoTuneOutcome } from './auto-tune.js';
import {
  chooseCodec, loadLearnedCodec, loadLinearCodec, readLinearCodec, trainLearnedCodec, validateLinearCodecs, type LearnedCodecWeights, type LinearCodec,
} from './learned-codec.js';
import { refineWithOpq, sampleSlots, trainPqCodec, type PqCodecConfig } from './pq-codec.js';

/** OPQ refinement rounds by default (Ge et al. report most of the gain within ten). */
const DEFAULT_OPQ_ITERATIONS = 8;
/** `codec: 'auto'` tries OPQ and the learned codec from this many vectors up: below it they gained nothing measurable and cost most of the build. */
const AUTO_CODEC_MIN_ROWS = 50_000;
const DEFAULT_TRAIN_BUDGET_SECONDS = 60;
/** Rows in one learned-codec training batch (8 anchors × 32 neighbours, learned-codec.ts defaults). */
const LEARNED_BATCH_ROWS = 256;
export const CODECS = ['auto', 'pq', 'opq', 'learned'] as const;

/** The database a codec is trained for: its rows sit in `kernels` (unit length under cosine). */
export interface CodecTarget {
  kernels: Kernels;
  dim: number;
  metric: Metric;
  seed: number;
  slotCount: number;
  config: PqCodecConfig;
}

/** The codec a build kept. */
export interface BuiltCodec {
  targetDim: number;
  report: CodecReport;
  /** The learned codec's weights when it was kept. */
  learned: LearnedCodecWeights | undefined;
}

/**
 * Trains the codec `options.codec` asks for (see {@link BuildOptions.codec}), or the auto-tuner's
 * choice with its training settings, and leaves it loaded in the kernels.
 */
export async function buildCodec(
  target: CodecTarget, options: BuildOptions, report: (phase: BuildProgress['phase'], done: number, total: number) => Promise<void>, tuned?: AutoTuneOutcome,
): Promise<BuiltCodec> {
  const { kernels, dim, metric, seed, slotCount: n, config } = target;
  const codec = tuned?.codec ?? options.codec ?? 'auto';
  const requested = (kind: string) => (tuned && options.codec !== kind ? `the auto-tuner's trials kept ${kind}` : `codec '${kind}' requested`);
  if (!CODECS.includes(codec)) throw qdbError('INVALID_ARGUMENT', [`codec must be one of ${CODECS.join(', ')}, got ${String(codec)}`]);
  const opqIterations = positiveInt(options.opqIterations, DEFAULT_OPQ_ITERATIONS, 'opqIterations');
  const budget = options.trainBudgetSeconds ?? DEFAULT_TRAIN_BUDGET_SECONDS;
  if (!(typeof budget === 'number' && budget > 0)) throw qdbError('INVALID_ARGUMENT', [`trainBudgetSeconds must be a positive number, got ${String(budget)}`]);
  kernels.check(kernels.raw.encoderUse(0), 'switching the encoder off');
  const trained = await trainPqCodec(kernels, dim, n, config, report);
  const { targetDim } = trained;
  const kept = (kind: CodecReport['kind'], reason: string, validation: CodecReport['validation'] = { pq: null, opq: null, learned: null }): BuiltCodec =>
    ({ targetDim, report: { kind, backend: null, trainSeconds: 0, validation, reason }, learned: undefined });
  // The auto-tuner compares the learned codec only when its trials kept it.
  const compare = codec === 'auto' && (n >= AUTO_CODEC_MIN_ROWS || tuned !== undefined);
  if (codec === 'pq' || (codec === 'auto' && !compare)) {
    return kept('pq', codec === 'pq' ? requested('pq') : `fewer than ${AUTO_CODEC_MIN_ROWS} vectors: PQ (OPQ and the learned codec are compared from ${AUTO_CODEC_MIN_ROWS} up)`);
  }
  const pq = readLinearCodec(kernels, 'pq', dim, targetDim, config.m);
  let opq: LinearCodec | null = null;
  if (codec !== 'learned') {
    await refineWithOpq(kernels, trained.sample, config, opqIterations, report);
    opq = readLinearCodec(kernels, 'opq', dim, targetDim, config.m);
  }
  if (codec === 'opq') return kept('opq', requested('opq'));
  const sample = sampleRows(target, Math.min(n, config.trainSampleSize));
  let built: BuiltCodec;
  try {
    const { weights, report: learnedReport } = await trainLearnedCodec(sample, metric, pq, opq,
      {
        trainBudgetSeconds: budget, seed, trainSampleSize: config.trainSampleSize, backend: options.trainBackend ?? 'auto',
        // One epoch is one pass over the sample in batches of LEARNED_BATCH_ROWS rows.
        ...(options.trainEpochs === undefined ? {} : { maxSteps: Math.ceil(positiveInt(options.trainEpochs, 1, 'trainEpochs') * sample.length / dim / LEARNED_BATCH_ROWS) }),
        ...tuned?.learned,
      },
      ({ done, total, backend }) => options.onProgress?.({ phase: 'learned', done, total, backend }));
    const choice = codec === 'learned' ? { kind: 'learned' as const, reason: requested('learned') } : chooseCodec(learnedReport.validation);
    built = {
      targetDim,
      report: { kind: choice.kind, backend: learnedReport.backend, trainSeconds: learnedReport.trainSeconds, validation: { ...learnedReport.validation }, reason: choice.reason },
      learned: choice.kind === 'learned' ? weights : undefined,
    };
    if (choice.kind === 'learned') loadLearnedCodec(kernels, weights);
    else loadLinearCodec(kernels, choice.kind === 'opq' ? (opq as LinearCodec) : pq);
  } catch (e) {
    // 'auto' without TensorFlow.js installed compares the linear codecs only.
    if (codec === 'learned' || !isQuantumDBError(e) || e.code !== 'INVALID_ARGUMENT') throw e;
    const validation = validateLinearCodecs(sample, metric, pq, opq, { seed });
    const kind = opq !== null && (validation.opq as number) > validation.pq ? 'opq' : 'pq';
    loadLinearCodec(kernels, kind === 'opq' ? (opq as LinearCodec) : pq);
    built = kept(kind, `${e.message} Compared PQ and OPQ only: ${kind} has the best validation 10-recall@10`, { ...validation, learned: null });
  }
  kernels.raw.codecLoaded();
  return built;
}

/** `count` seeded stored rows, row-major. */
function sampleRows(target: CodecTarget, count: number): Float32Array {
  const { kernels, dim } = target;
  const slots = sampleSlots(target.slotCount, count, target.seed ^ 0x1ea7);
  const out = new Float32Array(slots.length * dim);
  slots.forEach((slot, i) => out.set(kernels.f32(kernels.raw.rowPtr(slot), dim), i * dim));
  return out;
}
