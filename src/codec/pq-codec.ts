/**
 * @module codec/pq-codec
 * Trains codec v1 inside the kernels: a seeded sample of the stored rows, PCA, the kept dimension
 * (`targetDim`, chosen on held-out queries when 'auto'), then one k-means per subspace; and
 * encodes rows. Every heavy loop runs in WASM; this module only sequences the steps.
 */
import type { BuildProgress } from '../types.js';
import { mulberry32 } from '../random.js';
import type { Kernels } from '../wasm/abi.js';

/** The codec parameters `QuantumDB` resolved from its options. */
export interface PqCodecConfig {
  m: number;
  /** Dimensions kept after PCA, or 'auto' to pick among multiples of m by validation recall. */
  targetDim: number | 'auto';
  rotation: 'pca' | 'none';
  seed: number;
  trainSampleSize: number;
  kmeansIterations: number;
}

/** Rows used for the covariance: enough for a stable 768-d PCA at a fraction of the cost of the full sample. */
const PCA_SAMPLE_ROWS = 10_000;
/** Warm Lloyd iterations that refresh the codebooks after each OPQ rotation step. */
const OPQ_LLOYD_ITERATIONS = 2;
/** Rows encoded between progress reports. */
const ENCODE_CHUNK = 4_096;
/** Held-out queries and the rows they search when choosing targetDim. */
const TUNE_QUERIES = 200;
const TUNE_BASE = 10_000;
const TUNE_ITERATIONS = 8;
/** Below this many rows there is too little held-out data to choose targetDim; the largest candidate is used. */
export const MIN_ROWS_TO_TUNE = 2_000;

type Report = (phase: BuildProgress['phase'], done: number, total: number) => Promise<void>;

/** `count` distinct slots of [0, size), chosen by a seeded partial Fisher–Yates shuffle, in shuffle order. */
export function sampleSlots(size: number, count: number, seed: number): Uint32Array {
  const order = new Uint32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  const random = mulberry32(seed);
  for (let i = 0; i < Math.min(count, size - 1); i++) {
    const j = i + Math.floor(random() * (size - i));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order.subarray(0, count);
}

/** Candidate targetDims: 2m … 16m, at most min(dim, 256); the whole dim without PCA. */
export function targetDimCandidates(dim: number, m: number, config: PqCodecConfig): number[] {
  if (config.rotation === 'none') return [dim];
  if (config.targetDim !== 'auto') return [config.targetDim];
  const top = Math.floor(Math.min(dim, 256) / m) * m;
  const out = [2, 3, 4, 6, 8, 12, 16].map((f) => f * m).filter((t) => t < top);
  return [...out, top];
}

/**
 * Trains the rotation and the codebooks on a seeded sample of the first `size` stored rows.
 * @returns the targetDim in use, and the sample (for {@link refineWithOpq})
 */
export async function trainPqCodec(kernels: Kernels, dim: number, size: number, config: PqCodecConfig, report: Report): Promise<{ targetDim: number; sample: Uint32Array }> {
  const raw = kernels.raw;
  const sample = sampleSlots(size, Math.min(size, config.trainSampleSize), config.seed);
  const candidates = targetDimCandidates(dim, config.m, config);
  const usePca = config.rotation === 'pca' ? 1 : 0;
  await report('rotation', 0, 1);
  if (usePca) kernels.withSlots(sample.subarray(0, PCA_SAMPLE_ROWS), (ptr) => kernels.check(raw.trainPca(ptr, Math.min(sample.length, PCA_SAMPLE_ROWS), Math.max(...candidates)), 'fitting PCA'));
  await report('rotation', 1, 1);
  let targetDim = candidates[candidates.length - 1] as number;
  if (candidates.length > 1 && size >= MIN_ROWS_TO_TUNE) targetDim = await chooseTargetDim(kernels, sample, candidates, config, report);
  kernels.check(raw.useTargetDim(targetDim, usePca, config.seed >>> 0), 'sizing the codec');
  await trainCodebooks(kernels, sample, config, config.kmeansIterations, 0, report);
  raw.trainFinish();
  return { targetDim, sample };
}

/**
 * Refines the trained codec with `iterations` OPQ rounds on its training sample: each rotates to
 * the Procrustes optimum for the current codes, then refreshes the codebooks from where they are.
 */
export async function refineWithOpq(kernels: Kernels, sample: Uint32Array, config: PqCodecConfig, iterations: number, report: Report): Promise<void> {
  await trainCodebooks(kernels, sample, config, 0, iterations, report);
}

/**
 * k-means of every subspace on the projected rows (skipped when `iterations` is 0: the codebooks
 * stay), then `opqIterations` rounds of OPQ. Uses the rotation and mean the kernels hold, so a
 * rotation fitted once can serve several codecs (the auto-tuner's trials).
 * @param rows the training slots
 * @example
 * ```ts
 * await trainCodebooks(kernels, slots, config, 8, 0, undefined); // plain k-means, no OPQ
 * ```
 */
export async function trainCodebooks(kernels: Kernels, rows: Uint32Array, config: PqCodecConfig, iterations: number, opqIterations: number, report: Report | undefined): Promise<void> {
  const raw = kernels.raw;
  const first = iterations > 0 ? 0 : 1;
  const steps = config.m * (1 + opqIterations - first);
  kernels.withSlots(rows, (ptr) => raw.trainSampleProject(ptr, rows.length));
  try {
    for (let round = first; round <= opqIterations; round++) {
      if (round > 0) raw.trainOpqStep();
      for (let s = 0; s < config.m; s++) {
        await report?.('codebooks', (round - first) * config.m + s, steps);
        raw.trainSubspace(s, round === 0 ? iterations : OPQ_LLOYD_ITERATIONS, (config.seed + 1 + s) >>> 0, round === 0 ? 0 : 1);
      }
    }
    await report?.('codebooks', steps, steps);
  } finally {
    raw.trainSampleRelease();
  }
}

/**
 * Picks the targetDim whose quick codec ranks held-out sample rows best: flat-ADC 10-recall@10
 * against their exact neighbours among other sample rows. Keeping fewer PCA dimensions gives each
 * sub-quantizer fewer dimensions to cover (distortion falls like KSUB^(−2/dsub)) but drops the
 * variance outside them; the best balance depends on the data (docs/design.md).
 */
async function chooseTargetDim(kernels: Kernels, sample: Uint32Array, candidates: number[], config: PqCodecConfig, report: Report): Promise<number> {
  const raw = kernels.raw;
  const queries = sample.subarray(0, Math.min(TUNE_QUERIES, Math.floor(sample.length / 10)));
  const base = sample.subarray(queries.length, queries.length + Math.min(TUNE_BASE, sample.length - queries.length));
  const dim = raw.queryDim();
  let truth: Uint32Array[] = [];
  const recalls: number[] = [];
  for (let c = 0; c < candidates.length; c++) {
    const targetDim = candidates[c] as number;
    await report('tuning', c, candidates.length);
    kernels.check(raw.useTargetDim(targetDim, config.rotation === 'pca' ? 1 : 0, config.seed >>> 0), 'sizing the codec');
    await trainCodebooks(kernels, base, config, TUNE_ITERATIONS, 0, undefined);
    kernels.withSlots(base, (ptr) => raw.encodeSlots(ptr, base.length));
    const search = (k: number, rerank: number) => kernels.withSlots(base, (ptr) => Array.from(queries, (slot) => {
      kernels.f32(raw.queryPtr(), dim).set(kernels.f32(raw.rowPtr(slot), dim));
      raw.queryPrepare();
      const count = raw.searchFlat(ptr, base.length, k, rerank);
      return kernels.u32(raw.outSlotsPtr(), count).slice();
    }));
    if (c === 0) truth = search(10, base.length);
    const found = search(10, 0);
    let hits = 0;
    found.forEach((slots, q) => { const want = new Set(truth[q]); slots.forEach((s) => { if (want.has(s)) hits++; }); });
    recalls.push(hits / (10 * queries.length));
    // Recall rises then falls with targetDim; two candidates past the peak end the scan.
    const peak = recalls.indexOf(Math.max(...recalls));
    if (c - peak >= 2) break;
  }
  await report('tuning', candidates.length, candidates.length);
  // The held-out base is smaller than the database, and a larger base rewards finer codes, so
  // among candidates within 2% of the best the largest wins.
  const bestRecall = Math.max(...recalls);
  let chosen = 0;
  recalls.forEach((recall, c) => { if (recall >= 0.98 * bestRecall) chosen = c; });
  return candidates[chosen] as number;
}

/** Encodes the resident rows [first, first + n), reporting progress between chunks. */
export async function encodeRows(kernels: Kernels, first: number, n: number, report: Report): Promise<void> {
  for (let done = 0; done < n; done += ENCODE_CHUNK) {
    await report('encode', done, n);
    kernels.raw.encodeStored(first + done, Math.min(ENCODE_CHUNK, n - done));
  }
  await report('encode', n, n);
}
