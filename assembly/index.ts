/**
 * @module index
 * The kernel ABI: the only exports JavaScript sees. Flat functions on pointers and counts that
 * return a count or a status; region addresses are read through getters because any allocation
 * may move a region. One instance serves one database.
 *
 * Linear memory (every block from the TLSF allocator, 16-byte aligned):
 *   vectors, codes                  per node, see space.ts
 *   level0, levels, upper…          per node, see hnsw.ts
 *   rotation, mean, codebooks, lut  codec, see pq.ts and adc.ts
 *   query (dim f32), projected (targetDim f32), out (k u32 + k f32), training sample
 */
import { adcBuildLut, adcConfigure, adcDistance, adcDistance4, adcLut, adcOffset } from './adc';
import { allocZeroed, growScratch, growZeroed, release } from './arena';
import { BUILD_PROJECTED, METRIC_L2, STATUS_BAD_ARGUMENT, STATUS_OK } from './constants';
import { distance, dot, dotScalar, l2Sq, l2SqScalar, scale } from './distance';
import { filterAllowed, filterClearDeleted, filterDeleted, filterDeletedCount, filterMarkDeleted, filterReserve, filterSetMode } from './filter';
import { heapDrainAscending, heapPop, heapPush, heapTopDist } from './heap';
import {
  candDists, candSlots, flatSearch, hnswConfigure, hnswEnsureScratch, hnswEntryPoint, hnswGraphBytes, hnswInsert,
  hnswLevel0, hnswLevels, hnswMaxLevel, hnswNodeCount, hnswReserve, hnswReset, hnswSearch, hnswUpper, hnswUpperOffsets,
  hnswUpperUsed, hnswLevelState, hnswReserveUpper, hnswRestore, hnswSetBuildMode, hnswTakeDistanceCount, hnswValidateLevel0, hnswValidateUpper, linksAt,
} from './hnsw';
import { kmeansTrain } from './kmeans';
import { opqRotateStep } from './opq';
import { covariance, pcaFit, pcaRelease, pcaRotation, symmetricEigen } from './linalg';
import {
  pqCodebooks, pqConfigure, pqDecode, pqDsub, pqEncode, pqM, pqMean, pqProjectQuery, pqProjectStored, pqRotation, pqTargetDim,
  pqDerive, pqRotMean, pqUseIdentity,
} from './pq';
import {
  codeOf, exactDistance, projectedOf, queryDistances, setQueryAdc, spaceCodes, spaceConfigure, spaceConfigureCodec, spaceHasProjections,
  spaceProjectedAlloc, spaceDropVectors, spaceProjectedRelease, spaceReserve, spaceVectorBytes, vectorOf,
} from './space';
import { visitedBytes } from './visited';
import {
  adcScan, codesAssign, denseForward, denseForwardScalar, encB1, encB2, encEnabled, encoderAlloc, encoderForward, encoderForwardScalar,
  encDim, encoderSetEnabled, encTargetDim, encW1, encW2, lutBuild,
} from './encoder';
import { STATUS_NOT_CONFIGURED } from './constants';

export { KSUB, MAX_LEVEL } from './constants';

/** Bumped whenever an export changes meaning; `src/wasm/abi.ts` checks it. */
export const ABI_VERSION: i32 = 3;

let dim: i32 = 0;
let metric: i32 = METRIC_L2;
let normalize: bool = false;
let capacity: i32 = 0;
let queryBuf: usize = 0;
let projected: usize = 0;
let outSlots: usize = 0;
let outDists: usize = 0;
let outCapacity: i32 = 0;
let sample: usize = 0;
let sampleRows: i32 = 0;

/**
 * Sets up an empty database. `targetDim` must be a multiple of `m`; `normalize` makes every
 * stored vector and query unit length (cosine).
 */
export function configure(metricKind: i32, unitLength: bool, dimension: i32, targetDim: i32, m: i32, hnswM: i32, efConstruction: i32, buildMode: i32, seed: u32): i32 {
  if (dimension <= 0 || m <= 0 || targetDim % m != 0 || targetDim > dimension || hnswM < 2) return STATUS_BAD_ARGUMENT;
  dim = dimension;
  metric = metricKind;
  normalize = unitLength;
  spaceConfigure(metricKind, dimension);
  pqConfigure(metricKind, dimension, targetDim, m);
  spaceConfigureCodec();
  adcConfigure();
  hnswConfigure(hnswM, efConstruction, buildMode, seed);
  release(queryBuf); release(projected);
  queryBuf = allocZeroed(<usize>dimension << 2);
  projected = allocZeroed(<usize>targetDim << 2);
  ensureOut(16);
  return STATUS_OK;
}

/** Grows every per-node region to hold `n` slots. */
export function reserve(n: i32): void {
  reserveRegions(n, true);
}

/**
 * Like {@link reserve}, but leaves the codes and the graph's per-node regions unwritten: a file is
 * about to fill them, and their pages are then first touched (faulted in) by the reads, off this thread.
 */
export function reserveForRead(n: i32): void {
  reserveRegions(n, false);
}

function reserveRegions(n: i32, zero: bool): void {
  if (n <= capacity) return;
  spaceReserve(n, pqM, zero);
  hnswReserve(n, zero);
  filterReserve(n);
  capacity = n;
}

function ensureOut(k: i32): void {
  if (k <= outCapacity) return;
  outSlots = growZeroed(outSlots, <usize>outCapacity << 2, <usize>k << 2);
  outDists = growZeroed(outDists, <usize>outCapacity << 2, <usize>k << 2);
  outCapacity = k;
}

/** Address of the resident row of `slot` (rows are chunked: never assume the next row follows). */
export function rowPtr(slot: u32): usize { return vectorOf(slot); }

/** Copies `n` staged rows (n × dim f32 at `rows`) into the resident rows of slots [first, first + n). */
export function storeRows(rows: usize, first: i32, n: i32): void {
  const rowBytes = <usize>dim << 2;
  for (let r = 0; r < n; r++) memory.copy(vectorOf(first + r), rows + <usize>r * rowBytes, rowBytes);
}
export function codesPtr(): usize { return spaceCodes; }
export function queryPtr(): usize { return queryBuf; }
export function outSlotsPtr(): usize { return outSlots; }
export function outDistsPtr(): usize { return outDists; }
export function rotationPtr(): usize { return pqRotation; }
export function meanPtr(): usize { return pqMean; }
export function codebooksPtr(): usize { return pqCodebooks; }
export function lutPtr(): usize { return adcLut; }
export function level0Ptr(): usize { return hnswLevel0; }
export function levelsPtr(): usize { return hnswLevels; }
export function upperOffsetsPtr(): usize { return hnswUpperOffsets; }
export function upperPtr(): usize { return hnswUpper; }
export function upperUsed(): usize { return hnswUpperUsed; }
export function entryPoint(): i32 { return hnswEntryPoint; }
export function maxLevel(): i32 { return hnswMaxLevel; }
export function graphNodeCount(): i32 { return hnswNodeCount; }
export function graphBytes(): usize { return hnswGraphBytes(); }
export function vectorBytes(): usize { return spaceVectorBytes(); }
export function scratchBytes(): usize { return visitedBytes() + (<usize>capacity << 3) + (<usize>capacity << 1) + scratchCapacity; }
export function subDim(): i32 { return pqDsub; }
export function queryDim(): i32 { return dim; }

/** Index of the first of the `n` rows at `rows` holding NaN or ±Infinity, or -1. */
export function rowsFirstNonFinite(rows: usize, n: i32): i32 {
  const rowBytes = <usize>dim << 2;
  for (let r = 0; r < n; r++) {
    const row = rows + <usize>r * rowBytes;
    for (let j = 0; j < dim; j++) {
      const v = load<f32>(row + (<usize>j << 2));
      if (v - v != 0) return r;
    }
  }
  return -1;
}

/** Index of the first all-zero row among the `n` rows at `rows`, or -1. */
export function rowsFirstZero(rows: usize, n: i32): i32 {
  const rowBytes = <usize>dim << 2;
  for (let r = 0; r < n; r++) {
    const row = rows + <usize>r * rowBytes;
    if (dot(row, row, dim) == 0) return r;
  }
  return -1;
}

/** Scales the `n` non-zero rows at `rows` to unit length. */
export function rowsNormalize(rows: usize, n: i32): void {
  const rowBytes = <usize>dim << 2;
  for (let r = 0; r < n; r++) {
    const row = rows + <usize>r * rowBytes;
    scale(row, <f32>(1.0 / Math.sqrt(<f64>dot(row, row, dim))), row, dim);
  }
}

/**
 * Fits PCA on the `n` u32 slots at `slots` (mean and the `keep` principal directions), for
 * {@link useTargetDim} to build rotations from.
 */
export function trainPca(slots: usize, n: i32, keep: i32): i32 {
  const cov = allocZeroed(<usize>dim * <usize>dim << 3);
  covariance(dim, slots, n, pcaMean(), cov);
  const status = pcaFit(cov, dim, keep);
  release(cov);
  return status;
}

let trainedMean: usize = 0;
function pcaMean(): usize {
  if (trainedMean == 0) trainedMean = allocZeroed(<usize>dim << 2);
  return trainedMean;
}

/**
 * Sizes the codec for `targetDim` and sets its rotation: PCA (after {@link trainPca}) mixed by a
 * seeded random rotation, or the identity. Codebooks start empty.
 */
export function useTargetDim(targetDim: i32, usePca: bool, seed: u32): i32 {
  if (targetDim % pqM != 0 || targetDim > dim || (!usePca && targetDim != dim)) return STATUS_BAD_ARGUMENT;
  pqConfigure(metric, dim, targetDim, pqM);
  spaceConfigureCodec();
  release(projected);
  projected = allocZeroed(<usize>targetDim << 2);
  if (usePca) {
    pcaRotation(dim, targetDim, seed, pqRotation);
    memory.copy(pqMean, pcaMean(), <usize>dim << 2);
  } else {
    pqUseIdentity();
  }
  pqDerive();
  return STATUS_OK;
}

/** Frees what training kept (PCA directions, training mean) once the codec is final. */
export function trainFinish(): void {
  pcaRelease();
  release(trainedMean);
  trainedMean = 0;
}

/** Encodes the resident rows of the `n` u32 slots at `slots` into their codes. */
export function encodeSlots(slots: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const slot = load<u32>(slots + (<usize>i << 2));
    if (encEnabled) encoderForward(vectorOf(slot), projected);
    else pqProjectStored(vectorOf(slot), projected);
    pqEncode(projected, codeOf(slot));
  }
}

/** Rotates the `n` training slots into the sample buffer that `trainSubspace` reads. */
export function trainSampleProject(slots: usize, n: i32): void {
  release(sample);
  sample = allocZeroed(<usize>n * <usize>pqTargetDim << 2);
  sampleRows = n;
  for (let r = 0; r < n; r++) pqProjectStored(vectorOf(load<u32>(slots + (<usize>r << 2))), sample + ((<usize>r * <usize>pqTargetDim) << 2));
}

/** Trains the codebook of subspace `s` on the sample (from its current centroids when `warm`); returns the iterations run. */
export function trainSubspace(s: i32, maxIter: i32, seed: u32, warm: bool): i32 {
  const book = pqCodebooks + ((<usize>s * 256 * <usize>pqDsub) << 2);
  const iterations = kmeansTrain(sample, sampleRows, pqTargetDim, s * pqDsub, pqDsub, 256, maxIter, seed, book, warm);
  pqDerive();
  return iterations;
}

/**
 * One OPQ rotation step on the training sample (opq.ts); the caller refreshes the codebooks after.
 * @returns the mean squared reconstruction error of the sample before the step
 */
export function trainOpqStep(): f64 {
  const error = opqRotateStep(sample, sampleRows);
  pqDerive();
  return error;
}

/** Frees the training sample. */
export function trainSampleRelease(): void {
  release(sample);
  sample = 0;
  sampleRows = 0;
}

/** Encodes one row into the code of `slot`; keeps `R·x` too while a bulk build holds projections. */
function encodeRow(row: usize, slot: u32): void {
  if (encEnabled) encoderForward(row, projected);
  else pqProjectStored(row, projected);
  pqEncode(projected, codeOf(slot));
  if (spaceHasProjections()) {
    const dst = projectedOf(slot);
    for (let t = 0; t < pqTargetDim; t++) store<f32>(dst + (<usize>t << 2), load<f32>(projected + (<usize>t << 2)) + load<f32>(pqRotMean + (<usize>t << 2)));
  }
}

/** Encodes the `n` staged rows at `rows` into the codes of slots [first, first + n). */
export function encodeRows(rows: usize, first: i32, n: i32): void {
  const rowBytes = <usize>dim << 2;
  for (let r = 0; r < n; r++) encodeRow(rows + <usize>r * rowBytes, first + r);
}

/** Encodes the resident rows of slots [first, first + n). */
export function encodeStored(first: i32, n: i32): void {
  for (let r = 0; r < n; r++) encodeRow(vectorOf(first + r), first + r);
}

/** Starts a bulk build of `n` rows with `mode` distances (projected mode keeps a projection region). */
export function bulkBuildBegin(n: i32, mode: i32): void {
  hnswReset();
  hnswSetBuildMode(mode);
  if (mode == BUILD_PROJECTED) spaceProjectedAlloc(n);
}

/** Ends a bulk build: frees the projection; later inserts use `mode` distances. */
export function bulkBuildEnd(mode: i32): void {
  spaceProjectedRelease();
  hnswSetBuildMode(mode);
}

/** Inserts rows [first, first + n) into the graph. */
export function graphInsertRows(first: i32, n: i32): void {
  for (let r = 0; r < n; r++) hnswInsert(first + r);
}

/** Neighbours of `slot` on `level`, copied to `out`; returns their count. */
export function graphNeighbors(slot: u32, level: i32, out: usize): i32 {
  if (level > <i32>load<u8>(hnswLevels + slot)) return 0;
  const links = linksAt(slot, level);
  const count = load<u32>(links);
  memory.copy(out, links + 4, <usize>count << 2);
  return count;
}

/** Index of the first NaN or ±Infinity in the query buffer, or -1. */
export function queryFirstNonFinite(): i32 {
  for (let j = 0; j < dim; j++) {
    const v = load<f32>(queryBuf + (<usize>j << 2));
    if (v - v != 0) return j;
  }
  return -1;
}

/**
 * Prepares the query in `queryPtr()`: unit length for cosine, rotation, lookup table.
 * @returns STATUS_OK, or STATUS_BAD_ARGUMENT for a zero query under cosine
 */
export function queryPrepare(): i32 {
  if (normalize) {
    const norm2 = dot(queryBuf, queryBuf, dim);
    if (norm2 == 0) return STATUS_BAD_ARGUMENT;
    scale(queryBuf, <f32>(1.0 / Math.sqrt(<f64>norm2)), queryBuf, dim);
  }
  if (encEnabled) encoderForward(queryBuf, projected);
  else pqProjectQuery(queryBuf, projected);
  adcBuildLut(projected, metric == METRIC_L2 ? 0 : -dot(queryBuf, pqMean, dim));
  setQueryAdc();
  return STATUS_OK;
}

/** Graph search for the prepared query; results in `outSlotsPtr()` / `outDistsPtr()`, best first. */
export function searchGraph(k: i32, ef: i32, rerank: i32): i32 {
  const beam = max(ef, max(k, rerank));
  return finish(k, rerank, hnswSearch(beam));
}

/**
 * Distances the graph asked for (descents and beam searches, build included) since the last call,
 * which starts a new count: the auto-tuner's machine-independent measure of search cost.
 */
export function graphDistanceCount(): u32 { return hnswTakeDistanceCount(); }

/** Exhaustive ADC scan of rows [0, n), or of the `n` slots listed at `list` (when not 0), for the prepared query. */
export function searchFlat(list: usize, n: i32, k: i32, rerank: i32): i32 {
  return finish(k, rerank, flatSearch(list, n, max(k, rerank)));
}

/**
 * Re-ranks `n` candidates whose full-precision rows the host copied to `rows` (n × dim f32, in
 * the order of the u32 slots at `slots`): the exact best `k` go to the out arrays.
 */
export function rerankRows(rows: usize, slots: usize, n: i32, k: i32): i32 {
  ensureOut(k);
  const heap = allocHeapScratch(k + 1);
  const rowBytes = <usize>dim << 2;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const d = distance(metric, queryBuf, rows + <usize>i * rowBytes, dim);
    if (size < k || d < heapTopDist(heap)) {
      size = heapPush(heap, size, d, load<u32>(slots + (<usize>i << 2)), true);
      if (size > k) size = heapPop(heap, size, true);
    }
  }
  return heapDrainAscending(heap, size, outSlots, outDists);
}

/** A reusable scratch of at least `bytes` bytes (re-rank rows, staging of new rows). */
export function scratch(bytes: usize): usize {
  if (bytes > scratchCapacity) {
    release(scratchBlock);
    scratchBlock = allocZeroed(bytes);
    scratchCapacity = bytes;
  }
  return scratchBlock;
}
let scratchBlock: usize = 0;
let scratchCapacity: usize = 0;

// Tombstones and filters (filter.ts).
export function deletedPtr(): usize { return filterDeleted; }
export function allowedPtr(): usize { return filterAllowed; }
export function deletedCount(): i32 { return filterDeletedCount; }
export function markDeleted(slot: u32): bool { return filterMarkDeleted(slot); }
export function clearDeleted(): void { filterClearDeleted(); }
export function setFilterMode(mode: i32): void { filterSetMode(mode); }

// Persistence: regions are filled by the host from a file, then the scalars restored.
export function levelState(): u32 { return hnswLevelState(); }
/** Reserves the upper-layer pool for `words` u32, unwritten: a file is about to fill it. */
export function graphReserveUpperForRead(words: usize): void { hnswReserveUpper(words, false); }
export function graphRestore(entry: i32, top: i32, nodes: i32, upperWords: usize, state: u32): void { hnswRestore(entry, top, nodes, upperWords, state); }
/** The first of slots [first, end) whose level-0 links are out of bounds, or -1 (checked as a file's pieces arrive). */
export function graphValidateLevel0(first: i32, end: i32, slots: i32): i32 { return hnswValidateLevel0(first, end, slots); }
/** The first slot whose upper-layer links are out of bounds, or -1 (checked after a restore). */
export function graphValidateUpper(slots: i32): i32 { return hnswValidateUpper(slots); }
/** Later inserts use `mode` distances (decoded when the vectors are not resident). */
export function setBuildMode(mode: i32): void { hnswSetBuildMode(mode); }
/** Drops the resident vectors: an opened database re-ranks from its file mapping. */
export function dropVectors(): void { spaceDropVectors(); }
/** Marks the codec as loaded from a file: recomputes what derives from the rotation. */
export function codecLoaded(): void { pqDerive(); }

/** Keeps the best `k` candidates, re-scored exactly when `rerank` > 0. */
function finish(k: i32, rerank: i32, nCand: i32): i32 {
  ensureOut(k);
  if (rerank <= 0) {
    const n = min(k, nCand);
    for (let i = 0; i < n; i++) {
      store<u32>(outSlots + (<usize>i << 2), load<u32>(candSlots + (<usize>i << 2)));
      store<f32>(outDists + (<usize>i << 2), load<f32>(candDists + (<usize>i << 2)) + adcOffset);
    }
    return n;
  }
  // The candidate arrays are free again once read, so the exact top-k heap can live in candDists' scratch.
  hnswEnsureScratch(k + 1);
  const heap = allocHeapScratch(k + 1);
  let size = 0;
  const r = min(rerank, nCand);
  for (let i = 0; i < r; i++) {
    const s = load<u32>(candSlots + (<usize>i << 2));
    const d = exactDistance(queryBuf, s);
    if (size < k || d < heapTopDist(heap)) {
      size = heapPush(heap, size, d, s, true);
      if (size > k) size = heapPop(heap, size, true);
    }
  }
  return heapDrainAscending(heap, size, outSlots, outDists);
}

let rerankHeap: usize = 0;
let rerankHeapCapacity: i32 = 0;
function allocHeapScratch(n: i32): usize {
  if (n > rerankHeapCapacity) {
    rerankHeap = growZeroed(rerankHeap, <usize>rerankHeapCapacity << 3, <usize>n << 3);
    rerankHeapCapacity = n;
  }
  return rerankHeap;
}

/** Exact distance from the prepared query to `slot`. */
export function queryExactDistance(slot: u32): f32 { return exactDistance(queryBuf, slot); }
/** ADC distance (with offset) from the prepared query to `slot`. */
export function queryAdcDistance(slot: u32): f32 { return adcDistance(codeOf(slot)) + adcOffset; }
/** Decodes the code of `slot` (uncentred rotated frame) to `out`. */
export function decodeRow(slot: u32, out: usize): void { pqDecode(codeOf(slot), out); }

// Raw kernels, for tests (SIMD against scalar) and micro-benchmarks.
export function arenaAlloc(bytes: usize): usize { return allocZeroed(bytes); }
/** Like {@link arenaAlloc}, but not zeroed: for blocks a read fills, whose pages it then touches first. */
export function arenaAllocUnfilled(bytes: usize): usize { return growScratch(0, bytes); }
export function arenaFree(ptr: usize): void { release(ptr); }
export function kernelL2(a: usize, b: usize, n: i32): f32 { return l2Sq(a, b, n); }
export function kernelL2Scalar(a: usize, b: usize, n: i32): f32 { return l2SqScalar(a, b, n); }
export function kernelDot(a: usize, b: usize, n: i32): f32 { return dot(a, b, n); }
export function kernelDotScalar(a: usize, b: usize, n: i32): f32 { return dotScalar(a, b, n); }
/** ADC distances of `n` slots listed at `slots`, four at a time, to `out`. */
export function kernelAdcSlots(slots: usize, n: i32, out: usize): void { queryDistances(slots, n, out); }
/** ADC distances of `n` slots, one at a time (the scalar twin). */
export function kernelAdcSlotsScalar(slots: usize, n: i32, out: usize): void {
  for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), adcDistance(codeOf(load<u32>(slots + (<usize>i << 2)))));
}

// ── Learned codec (issue 3): the MLP encoder of encoder.ts and explicit-codebook PQ helpers ──

/**
 * Allocates the MLP encoder `dimension → hidden (ReLU) → targetDim` with zeroed weights and leaves
 * it off. After `configure`, `dimension` and `targetDim` must match the configured codec.
 */
export function encoderConfigure(dimension: i32, hidden: i32, targetDim: i32): i32 {
  if (dimension <= 0 || hidden <= 0 || targetDim <= 0) return STATUS_BAD_ARGUMENT;
  if (dim > 0 && (dimension != dim || targetDim != pqTargetDim)) return STATUS_BAD_ARGUMENT;
  encoderAlloc(dimension, hidden, targetDim);
  return STATUS_OK;
}
/** `(hidden, dim)` f32. */
export function encoderW1Ptr(): usize { return encW1; }
/** `hidden` f32. */
export function encoderB1Ptr(): usize { return encB1; }
/** `(targetDim, hidden)` f32. */
export function encoderW2Ptr(): usize { return encW2; }
/** `targetDim` f32. */
export function encoderB2Ptr(): usize { return encB2; }

/**
 * Chooses how `encodeRows` and `queryPrepare` map a row to its latent vector: the MLP (`on`) or
 * the linear rotation. The MLP's latent frame is uncentred, so turning it on zeroes the mean
 * (and `rotation · mean`); either way `rotation · mean` is recomputed from the current regions.
 * @returns STATUS_OK, or STATUS_NOT_CONFIGURED when `on` and no encoder is allocated
 */
export function encoderUse(on: bool): i32 {
  if (on && encW1 == 0) return STATUS_NOT_CONFIGURED;
  encoderSetEnabled(on);
  if (on && dim > 0) memory.fill(pqMean, 0, <usize>dim << 2);
  if (dim > 0) pqDerive();
  return STATUS_OK;
}

/** Latent vectors of `n` rows (`dim` f32 each) at `x` through the MLP, to `out` (n × targetDim f32). */
export function encoderRows(x: usize, n: i32, out: usize, scalar: bool): void {
  const inBytes = <usize>encDim << 2, outBytes = <usize>encTargetDim << 2;
  for (let r = 0; r < n; r++) {
    if (scalar) encoderForwardScalar(x + <usize>r * inBytes, out + <usize>r * outBytes);
    else encoderForward(x + <usize>r * inBytes, out + <usize>r * outBytes);
  }
}

/** One dense layer over `n` rows: `out[r] = act(w · x[r] + b)`, `w` `(outDim, inDim)` f32 (SIMD, or the scalar twin). */
export function kernelDense(x: usize, n: i32, inDim: i32, w: usize, b: usize, outDim: i32, relu: bool, out: usize, scalar: bool): void {
  const inBytes = <usize>inDim << 2, outBytes = <usize>outDim << 2;
  for (let r = 0; r < n; r++) {
    if (scalar) denseForwardScalar(x + <usize>r * inBytes, inDim, w, b, outDim, relu, out + <usize>r * outBytes);
    else denseForward(x + <usize>r * inBytes, inDim, w, b, outDim, relu, out + <usize>r * outBytes);
  }
}

/** PQ codes `(n, m)` u8 of `n` latent rows against explicit codebooks `(m, KSUB, targetDim / m)`. */
export function codecAssign(z: usize, n: i32, targetDim: i32, m: i32, codebooks: usize, codesOut: usize): void {
  codesAssign(z, n, targetDim, m, codebooks, codesOut);
}

/** The `(m, KSUB)` lookup table of a latent query against explicit codebooks (squared L2, or −dot). */
export function codecLut(q: usize, targetDim: i32, m: i32, codebooks: usize, l2: bool, lutOut: usize): void {
  lutBuild(q, targetDim, m, codebooks, l2, lutOut);
}

/** ADC distances of `n` codes against a `(m, KSUB)` table, to `out` (n f32). */
export function codecAdcScan(lut: usize, m: i32, codes: usize, n: i32, out: usize): void { adcScan(lut, m, codes, n, out); }

// Section checksums of `.qdb` format 2 (assembly/checksum.ts).
export { xxh64Reset, xxh64Update, xxh64Digest } from './checksum';
// Id table check on open (assembly/ids.ts).
export { idTableCheck, idCheckWorkBytes } from './ids';
// Exhaustive search over a vector file's rows (assembly/scan.ts) and the Vectro+ PQSTREAM1 quantizer (assembly/vectro.ts).
export { scanCosine, scanCosineScalar, scanDecodeCodes } from './scan';
export { vectroKmeans, vectroPqEncode } from './vectro';
/** Eigen-decomposes the symmetric `(n, n)` f64 matrix at `a` (destroyed); see linalg.ts. */
export function kernelSymmetricEigen(a: usize, n: i32, valuesOut: usize, vectorsOut: usize): i32 { return symmetricEigen(a, n, valuesOut, vectorsOut); }
