/**
 * @module space
 * The per-node data and the distance computer the graph asks (Faiss `DistanceComputer`): the graph
 * never computes a distance itself. A query is one of three kinds:
 *   exact    full-precision vector against the stored vectors (graph build, re-rank)
 *   decoded  PQ reconstruction against reconstructions (graph build from codes only)
 *   adc      the current lookup table against codes (search)
 *
 *   vectors  (capacity, dim) f32   preprocessed (unit length for cosine) full-precision rows
 *   codes    (capacity, m) u8
 */
import { BUILD_DECODED, BUILD_EXACT } from './constants';
import { adcDistance, adcDistance4 } from './adc';
import { distance } from './distance';
import { pqDecode, pqM, pqTargetDim } from './pq';
import { allocZeroed, growScratch, growZeroed, release } from './arena';

export const QUERY_EXACT: i32 = 0;
export const QUERY_PROJECTED: i32 = 1;
export const QUERY_DECODED: i32 = 2;
export const QUERY_ADC: i32 = 3;

export let spaceMetric: i32 = 0;
export let spaceDim: i32 = 0;
export let spaceCapacity: i32 = 0;
export let spaceCodes: usize = 0;

/** Rows per chunk of a row store. */
export const CHUNK_SHIFT: u32 = 14;
const CHUNK_ROWS: i32 = 1 << CHUNK_SHIFT;
let vectorChunks: usize = 0;
let vectorChunkCount: i32 = 0;
let projectedChunks: usize = 0;
let projectedChunkCount: i32 = 0;

/** Grows a chunk table from `have` to `want` chunks of `chunkBytes`; returns the (moved) table. */
function growChunks(table: usize, have: i32, want: i32, chunkBytes: usize): usize {
  const grown = growZeroed(table, <usize>have << 2, <usize>want << 2);
  for (let c = have; c < want; c++) store<u32>(grown + (<usize>c << 2), <u32>allocZeroed(chunkBytes));
  return grown;
}

function releaseChunks(table: usize, count: i32): void {
  for (let c = 0; c < count; c++) release(<usize>load<u32>(table + (<usize>c << 2)));
  release(table);
}

// @ts-ignore: decorator
@inline function rowIn(table: usize, slot: u32, rowFloats: i32): usize {
  return <usize>load<u32>(table + (<usize>(slot >> CHUNK_SHIFT) << 2)) + ((<usize>(slot & (CHUNK_ROWS - 1)) * <usize>rowFloats) << 2);
}

/** Bytes held by the resident vectors. */
export function spaceVectorBytes(): usize { return <usize>vectorChunkCount * <usize>CHUNK_ROWS * <usize>spaceDim << 2; }

let queryKind: i32 = QUERY_EXACT;
let queryPtr: usize = 0;
let decodedQuery: usize = 0;
let decodedOther: usize = 0;
let decodedPeer: usize = 0;

/** Sets the metric and dimension of the stored vectors. */
export function spaceConfigure(metric: i32, dim: i32): void {
  spaceMetric = metric;
  spaceDim = dim;
}

/** Allocates the decode buffers once the code space size is known. */
export function spaceConfigureCodec(): void {
  release(decodedQuery); release(decodedOther); release(decodedPeer);
  decodedQuery = allocZeroed(<usize>pqTargetDim << 2);
  decodedOther = allocZeroed(<usize>pqTargetDim << 2);
  decodedPeer = allocZeroed(<usize>pqTargetDim << 2);
}

/**
 * Whether full-precision vectors live in linear memory. A database opened from a file keeps them
 * in the file mapping instead (re-rank copies the few rows it needs), so it never holds them all.
 */
export let spaceVectorsResident: bool = true;

/** Stops keeping vectors in linear memory (an opened database) and frees them. */
export function spaceDropVectors(): void {
  if (vectorChunks != 0) releaseChunks(vectorChunks, vectorChunkCount);
  vectorChunks = 0;
  vectorChunkCount = 0;
  spaceVectorsResident = false;
}

/** Grows vectors (when resident) and codes to hold `n` slots. */
export function spaceReserve(n: i32, codeBytes: i32, zeroCodes: bool = true): void {
  if (n <= spaceCapacity) return;
  const chunks = (n + CHUNK_ROWS - 1) >> CHUNK_SHIFT;
  if (spaceVectorsResident && chunks > vectorChunkCount) {
    vectorChunks = growChunks(vectorChunks, vectorChunkCount, chunks, <usize>CHUNK_ROWS * <usize>spaceDim << 2);
    vectorChunkCount = chunks;
  }
  spaceCodes = zeroCodes ? growZeroed(spaceCodes, <usize>spaceCapacity * <usize>codeBytes, <usize>n * <usize>codeBytes) : growScratch(spaceCodes, <usize>n * <usize>codeBytes);
  spaceCapacity = n;
}

// @ts-ignore: decorator
@inline export function vectorOf(slot: u32): usize { return rowIn(vectorChunks, slot, spaceDim); }
/** Allocates the projection store for `n` slots (a bulk build). */
export function spaceProjectedAlloc(n: i32): void {
  spaceProjectedRelease();
  const chunks = (n + CHUNK_ROWS - 1) >> CHUNK_SHIFT;
  projectedChunks = growChunks(0, 0, chunks, <usize>CHUNK_ROWS * <usize>pqTargetDim << 2);
  projectedChunkCount = chunks;
}

/** Frees the projection store once the bulk build is done. */
export function spaceProjectedRelease(): void {
  if (projectedChunks != 0) releaseChunks(projectedChunks, projectedChunkCount);
  projectedChunks = 0;
  projectedChunkCount = 0;
}

/** True while a bulk build keeps projections. */
export function spaceHasProjections(): bool { return projectedChunks != 0; }

// @ts-ignore: decorator
@inline export function projectedOf(slot: u32): usize { return rowIn(projectedChunks, slot, pqTargetDim); }
// @ts-ignore: decorator
@inline export function codeOf(slot: u32): usize { return spaceCodes + <usize>slot * <usize>pqM; }

/** Queries with a stored node: its vector, its projection, or its reconstruction. */
export function setQueryNode(slot: u32, buildMode: i32): void {
  if (buildMode == BUILD_EXACT) {
    queryKind = QUERY_EXACT;
    queryPtr = vectorOf(slot);
  } else if (buildMode == BUILD_DECODED) {
    queryKind = QUERY_DECODED;
    pqDecode(codeOf(slot), decodedQuery);
  } else {
    queryKind = QUERY_PROJECTED;
    queryPtr = projectedOf(slot);
  }
}

/** Queries with the lookup table already built by `adcBuildLut`. */
export function setQueryAdc(): void { queryKind = QUERY_ADC; }

/** Distance from the current query to `slot`. */
export function queryDistance(slot: u32): f32 {
  if (queryKind == QUERY_ADC) return adcDistance(codeOf(slot));
  if (queryKind == QUERY_EXACT) return distance(spaceMetric, queryPtr, vectorOf(slot), spaceDim);
  if (queryKind == QUERY_PROJECTED) return distance(spaceMetric, queryPtr, projectedOf(slot), pqTargetDim);
  pqDecode(codeOf(slot), decodedOther);
  return distance(spaceMetric, decodedQuery, decodedOther, pqTargetDim);
}

/** Distances from the current query to `n` u32 slots, written as f32 to `out`. */
export function queryDistances(slots: usize, n: i32, out: usize): void {
  let i = 0;
  if (queryKind == QUERY_ADC) {
    for (; i + 4 <= n; i += 4) {
      const s = slots + (<usize>i << 2);
      adcDistance4(codeOf(load<u32>(s)), codeOf(load<u32>(s, 4)), codeOf(load<u32>(s, 8)), codeOf(load<u32>(s, 12)), out + (<usize>i << 2));
    }
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), queryDistance(load<u32>(slots + (<usize>i << 2))));
}

/** Distance between two stored nodes in the build's space. */
export function nodeDistance(a: u32, b: u32, buildMode: i32): f32 {
  if (buildMode == BUILD_EXACT) return distance(spaceMetric, vectorOf(a), vectorOf(b), spaceDim);
  if (buildMode != BUILD_DECODED) return distance(spaceMetric, projectedOf(a), projectedOf(b), pqTargetDim);
  pqDecode(codeOf(a), decodedOther);
  pqDecode(codeOf(b), decodedPeer);
  return distance(spaceMetric, decodedOther, decodedPeer, pqTargetDim);
}

/** Exact distance from a full-precision query to a stored vector. */
export function exactDistance(q: usize, slot: u32): f32 {
  return distance(spaceMetric, q, vectorOf(slot), spaceDim);
}
