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
import { allocZeroed, growZeroed, release } from './arena';

export const QUERY_EXACT: i32 = 0;
export const QUERY_PROJECTED: i32 = 1;
export const QUERY_DECODED: i32 = 2;
export const QUERY_ADC: i32 = 3;

export let spaceMetric: i32 = 0;
export let spaceDim: i32 = 0;
export let spaceCapacity: i32 = 0;
export let spaceVectors: usize = 0;
export let spaceCodes: usize = 0;
export let spaceProjected: usize = 0;

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
  release(spaceVectors);
  spaceVectors = 0;
  spaceVectorsResident = false;
}

/** Grows vectors (when resident) and codes to hold `n` slots. */
export function spaceReserve(n: i32, codeBytes: i32): void {
  if (n <= spaceCapacity) return;
  if (spaceVectorsResident) spaceVectors = growZeroed(spaceVectors, <usize>spaceCapacity * <usize>spaceDim << 2, <usize>n * <usize>spaceDim << 2);
  spaceCodes = growZeroed(spaceCodes, <usize>spaceCapacity * <usize>codeBytes, <usize>n * <usize>codeBytes);
  spaceCapacity = n;
}

// @ts-ignore: decorator
@inline export function vectorOf(slot: u32): usize { return spaceVectors + ((<usize>slot * <usize>spaceDim) << 2); }
/** Allocates the projection region for `n` slots (a bulk build). */
export function spaceProjectedAlloc(n: i32): void {
  release(spaceProjected);
  spaceProjected = allocZeroed(<usize>n * <usize>pqTargetDim << 2);
}

/** Frees the projection region once the bulk build is done. */
export function spaceProjectedRelease(): void {
  release(spaceProjected);
  spaceProjected = 0;
}

// @ts-ignore: decorator
@inline function projectedOf(slot: u32): usize { return spaceProjected + ((<usize>slot * <usize>pqTargetDim) << 2); }
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
