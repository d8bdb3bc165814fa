/**
 * @module hnsw
 * Hierarchical Navigable Small World graph (Malkov & Yashunin, TPAMI 2018; hnswlib `hnswalg.h`).
 * This module stores links and walks them; every distance comes from `space.ts`.
 *
 *   level0        (capacity, 1 + maxM0) u32   [count | neighbour slots …], maxM0 = 2·M
 *   levels        (capacity) u8               top layer of each node
 *   upperOffsets  (capacity) u32              where a node's layers 1..L start in `upper` (u32 units)
 *   upper         pool of (1 + M) u32 lists, one per (node, layer ≥ 1), appended on insert
 */
import { allocZeroed, growScratch, growZeroed, release } from './arena';
import { MAX_LEVEL } from './constants';
import { accepts } from './filter';
import { heapDrainAscending, heapPop, heapPush, heapTopDist, heapTopSlot } from './heap';
import { MULBERRY_STEP, mulberry32 } from './rng';
import { nodeDistance, queryDistance, queryDistances, setQueryNode } from './space';
import { visitedNewEpoch, visitedReserve, visitedTestAndSet } from './visited';

let M: i32 = 16;
let maxM0: i32 = 32;
let efConstruction: i32 = 200;
let buildMode: i32 = 0;
let levelMult: f64 = 0;
let levelSeed: u32 = 0;
let levelState: u32 = 0;

export let hnswLevel0: usize = 0;
export let hnswLevels: usize = 0;
export let hnswUpperOffsets: usize = 0;
export let hnswUpper: usize = 0;
/** Used length of `upper`, in u32 units. */
export let hnswUpperUsed: usize = 0;
let upperCapacity: usize = 0;
let capacity: i32 = 0;

export let hnswEntryPoint: i32 = -1;
export let hnswMaxLevel: i32 = -1;
export let hnswNodeCount: i32 = 0;

// Search scratch, reused by every call (hnswlib keeps the same per-thread buffers).
let frontier: usize = 0;
let results: usize = 0;
let scratchCapacity: i32 = 0;
export let candSlots: usize = 0;
export let candDists: usize = 0;
let batchSlots: usize = 0;
let batchDists: usize = 0;
let selected: usize = 0;
let shrinkHeap: usize = 0;
let shrinkSlots: usize = 0;
let shrinkDists: usize = 0;
let greedySlot: u32 = 0;
let greedyDist: f32 = 0;
/** Distances asked for by greedy descents and beam searches (inserts too): a machine-independent cost measure; wraps at 2^32. */
let distanceCount: u32 = 0;

/** The distances counted since the last call, and a fresh count. */
export function hnswTakeDistanceCount(): u32 {
  const count = distanceCount;
  distanceCount = 0;
  return count;
}

/** Sets the graph parameters and clears the graph. */
export function hnswConfigure(m: i32, efC: i32, mode: i32, seed: u32): void {
  M = m;
  maxM0 = 2 * m;
  efConstruction = efC;
  buildMode = mode;
  levelMult = 1.0 / Math.log(<f64>m);
  levelSeed = seed;
  release(batchSlots); release(batchDists); release(selected); release(shrinkHeap); release(shrinkSlots); release(shrinkDists);
  batchSlots = allocZeroed(<usize>maxM0 << 2);
  batchDists = allocZeroed(<usize>maxM0 << 2);
  selected = allocZeroed(<usize>(maxM0 + 1) << 2);
  shrinkHeap = allocZeroed(<usize>(maxM0 + 2) << 3);
  shrinkSlots = allocZeroed(<usize>(maxM0 + 1) << 2);
  shrinkDists = allocZeroed(<usize>(maxM0 + 1) << 2);
  hnswEnsureScratch(efC);
  hnswReset();
}

/** Chooses the distance later inserts use (see `space.ts`). */
export function hnswSetBuildMode(mode: i32): void { buildMode = mode; }

/** Forgets every link; reserved memory is kept. */
export function hnswReset(): void {
  if (capacity > 0) {
    memory.fill(hnswLevel0, 0, <usize>capacity * <usize>(maxM0 + 1) << 2);
    memory.fill(hnswLevels, 0, <usize>capacity);
  }
  hnswUpperUsed = 0;
  hnswEntryPoint = -1;
  hnswMaxLevel = -1;
  hnswNodeCount = 0;
  levelState = levelSeed;
}

/** Grows every per-node region to `n` slots, zeroed unless `zero` is false (a file is about to fill them). */
export function hnswReserve(n: i32, zero: bool = true): void {
  if (n <= capacity) return;
  const linkBytes = <usize>(maxM0 + 1) << 2;
  hnswLevel0 = zero ? growZeroed(hnswLevel0, <usize>capacity * linkBytes, <usize>n * linkBytes) : growScratch(hnswLevel0, <usize>n * linkBytes);
  hnswLevels = zero ? growZeroed(hnswLevels, <usize>capacity, <usize>n) : growScratch(hnswLevels, <usize>n);
  hnswUpperOffsets = zero ? growZeroed(hnswUpperOffsets, <usize>capacity << 2, <usize>n << 2) : growScratch(hnswUpperOffsets, <usize>n << 2);
  frontier = growScratch(frontier, <usize>(n + 1) << 3);
  visitedReserve(n);
  capacity = n;
}

/** Makes the result scratch large enough for a beam of width `ef`. */
export function hnswEnsureScratch(ef: i32): void {
  if (ef <= scratchCapacity) return;
  results = growZeroed(results, <usize>(scratchCapacity + 1) << 3, <usize>(ef + 1) << 3);
  candSlots = growZeroed(candSlots, <usize>scratchCapacity << 2, <usize>ef << 2);
  candDists = growZeroed(candDists, <usize>scratchCapacity << 2, <usize>ef << 2);
  scratchCapacity = ef;
}

/** Bytes held by links (level 0, upper layers and their index). */
export function hnswGraphBytes(): usize {
  return <usize>capacity * (<usize>(maxM0 + 1) << 2) + <usize>capacity * 5 + (upperCapacity << 2);
}

/** Address of the link list of `slot` on `level`: [count | slots …]. */
// @ts-ignore: decorator
@inline export function linksAt(slot: u32, level: i32): usize {
  if (level == 0) return hnswLevel0 + ((<usize>slot * <usize>(maxM0 + 1)) << 2);
  return hnswUpper + ((<usize>load<u32>(hnswUpperOffsets + (<usize>slot << 2)) + <usize>(level - 1) * <usize>(M + 1)) << 2);
}

function randomLevel(): i32 {
  levelState += MULBERRY_STEP;
  const u = 1.0 - <f64>mulberry32(levelState) / 4294967296.0;
  return min(<i32>Math.floor(-Math.log(u) * levelMult), MAX_LEVEL);
}

function greedyDescend(start: u32, startDist: f32, level: i32): void {
  let cur = start, curDist = startDist;
  let changed = true;
  while (changed) {
    changed = false;
    const links = linksAt(cur, level);
    const count = <i32>load<u32>(links);
    queryDistances(links + 4, count, batchDists);
    distanceCount += <u32>count;
    for (let i = 0; i < count; i++) {
      const d = load<f32>(batchDists + (<usize>i << 2));
      if (d < curDist) { curDist = d; cur = load<u32>(links + 4 + (<usize>i << 2)); changed = true; }
    }
  }
  greedySlot = cur;
  greedyDist = curDist;
}

/**
 * Beam search of width `ef` on one layer from `ep`; the best `ef` nodes end in `results`.
 * Kept as one function so the whole loop reads at once (hnswlib `searchBaseLayerST`).
 * @returns the number of entries in `results`
 */
function searchLayer(ep: u32, epDist: f32, ef: i32, level: i32): i32 {
  visitedNewEpoch();
  visitedTestAndSet(ep);
  let frontierSize = heapPush(frontier, 0, epDist, ep, false);
  let resultSize = accepts(ep) ? heapPush(results, 0, epDist, ep, true) : 0;
  // Nodes that are filtered out or deleted never enter the results but still extend the frontier,
  // so a selective filter keeps walking until ef accepted nodes are found or the graph is exhausted.
  let bound: f32 = resultSize > 0 ? epDist : Infinity;
  while (frontierSize > 0) {
    const nearest = heapTopDist(frontier);
    if (resultSize >= ef && nearest > bound) break;
    const node = heapTopSlot(frontier);
    frontierSize = heapPop(frontier, frontierSize, false);
    const links = linksAt(node, level);
    const count = load<u32>(links);
    let fresh = 0;
    for (let i: u32 = 0; i < count; i++) {
      const s = load<u32>(links + 4 + (<usize>i << 2));
      if (!visitedTestAndSet(s)) { store<u32>(batchSlots + (<usize>fresh << 2), s); fresh++; }
    }
    queryDistances(batchSlots, fresh, batchDists);
    distanceCount += <u32>fresh;
    for (let i = 0; i < fresh; i++) {
      const d = load<f32>(batchDists + (<usize>i << 2));
      if (resultSize < ef || d < bound) {
        const s = load<u32>(batchSlots + (<usize>i << 2));
        frontierSize = heapPush(frontier, frontierSize, d, s, false);
        if (accepts(s)) {
          resultSize = heapPush(results, resultSize, d, s, true);
          if (resultSize > ef) resultSize = heapPop(results, resultSize, true);
          bound = heapTopDist(results);
        }
      }
    }
  }
  return resultSize;
}

/**
 * hnswlib's `getNeighborsByHeuristic2`: walking candidates nearest first, keep one only if it is
 * closer to the base than to every neighbour kept so far, which spreads links across directions.
 */
function selectHeuristic(slots: usize, dists: usize, n: i32, limit: i32, out: usize): i32 {
  let kept = 0;
  for (let i = 0; i < n && kept < limit; i++) {
    const e = load<u32>(slots + (<usize>i << 2));
    const de = load<f32>(dists + (<usize>i << 2));
    let good = true;
    for (let j = 0; j < kept; j++) {
      if (nodeDistance(e, load<u32>(out + (<usize>j << 2)), buildMode) < de) { good = false; break; }
    }
    if (good) { store<u32>(out + (<usize>kept << 2), e); kept++; }
  }
  return kept;
}

function connect(node: u32, newSlot: u32, level: i32): void {
  const cap = level == 0 ? maxM0 : M;
  const links = linksAt(node, level);
  const count = <i32>load<u32>(links);
  if (count < cap) {
    store<u32>(links + 4 + (<usize>count << 2), newSlot);
    store<u32>(links, count + 1);
    return;
  }
  let size = heapPush(shrinkHeap, 0, nodeDistance(node, newSlot, buildMode), newSlot, true);
  for (let i = 0; i < count; i++) {
    const s = load<u32>(links + 4 + (<usize>i << 2));
    size = heapPush(shrinkHeap, size, nodeDistance(node, s, buildMode), s, true);
  }
  const n = heapDrainAscending(shrinkHeap, size, shrinkSlots, shrinkDists);
  store<u32>(links, selectHeuristic(shrinkSlots, shrinkDists, n, cap, links + 4));
}

/** Inserts `slot`, whose vector and code are already stored. */
export function hnswInsert(slot: u32): void {
  const level = randomLevel();
  store<u8>(hnswLevels + slot, <u8>level);
  store<u32>(linksAt(slot, 0), 0);
  if (level > 0) {
    const need = <usize>level * <usize>(M + 1);
    if (hnswUpperUsed + need > upperCapacity) hnswReserveUpper(max(upperCapacity * 2, hnswUpperUsed + need + 1024));
    store<u32>(hnswUpperOffsets + (<usize>slot << 2), <u32>hnswUpperUsed);
    memory.fill(hnswUpper + (hnswUpperUsed << 2), 0, need << 2);
    hnswUpperUsed += need;
  }
  hnswNodeCount++;
  if (hnswEntryPoint < 0) {
    hnswEntryPoint = slot;
    hnswMaxLevel = level;
    return;
  }
  setQueryNode(slot, buildMode);
  let cur = <u32>hnswEntryPoint;
  let curDist = queryDistance(cur);
  for (let l = hnswMaxLevel; l > level; l--) {
    greedyDescend(cur, curDist, l);
    cur = greedySlot; curDist = greedyDist;
  }
  for (let l = min(level, hnswMaxLevel); l >= 0; l--) {
    const n = heapDrainAscending(results, searchLayer(cur, curDist, efConstruction, l), candSlots, candDists);
    if (n == 0) continue;
    cur = load<u32>(candSlots);
    curDist = load<f32>(candDists);
    const kept = selectHeuristic(candSlots, candDists, n, M, selected);
    const links = linksAt(slot, l);
    store<u32>(links, kept);
    memory.copy(links + 4, selected, <usize>kept << 2);
    for (let j = 0; j < kept; j++) connect(load<u32>(selected + (<usize>j << 2)), slot, l);
  }
  if (level > hnswMaxLevel) {
    hnswEntryPoint = slot;
    hnswMaxLevel = level;
  }
}

/**
 * Layered search for the current query (set through `space.ts`): greedy descent through the upper
 * layers, then a beam of width `ef` on layer 0.
 * @returns the number of candidates left in `candSlots` / `candDists`, nearest first
 */
export function hnswSearch(ef: i32): i32 {
  if (hnswEntryPoint < 0) return 0;
  hnswEnsureScratch(ef);
  let cur = <u32>hnswEntryPoint;
  let curDist = queryDistance(cur);
  distanceCount++;
  for (let l = hnswMaxLevel; l > 0; l--) {
    greedyDescend(cur, curDist, l);
    cur = greedySlot; curDist = greedyDist;
  }
  return heapDrainAscending(results, searchLayer(cur, curDist, ef, 0), candSlots, candDists);
}

/**
 * Exhaustive scan of the accepted slots among [0, n), or among the `n` u32 slots listed at `list`
 * when `list` is not 0: the best `keep` nodes by the current query.
 * @returns the number of candidates in `candSlots` / `candDists`, nearest first
 */
export function flatSearch(list: usize, n: i32, keep: i32): i32 {
  hnswEnsureScratch(keep);
  let size = 0;
  let i = 0;
  while (i < n) {
    let group = 0;
    for (; i < n && group < 4; i++) {
      const s: u32 = list != 0 ? load<u32>(list + (<usize>i << 2)) : <u32>i;
      if (accepts(s)) { store<u32>(batchSlots + (<usize>group << 2), s); group++; }
    }
    queryDistances(batchSlots, group, batchDists);
    for (let g = 0; g < group; g++) {
      const d = load<f32>(batchDists + (<usize>g << 2));
      if (size < keep || d < heapTopDist(results)) {
        size = heapPush(results, size, d, load<u32>(batchSlots + (<usize>g << 2)), true);
        if (size > keep) size = heapPop(results, size, true);
      }
    }
  }
  return heapDrainAscending(results, size, candSlots, candDists);
}

/** The level generator's counter, saved with the graph so later inserts draw the same levels. */
export function hnswLevelState(): u32 { return levelState; }

/** Makes the upper-layer pool hold `n` u32 words, zeroed unless `zero` is false (a file is about to fill it). */
export function hnswReserveUpper(n: usize, zero: bool = true): void {
  if (n <= upperCapacity) return;
  hnswUpper = zero ? growZeroed(hnswUpper, upperCapacity << 2, n << 2) : growScratch(hnswUpper, n << 2);
  upperCapacity = n;
}

/** Restores the graph's scalars after its regions were filled from a file. */
export function hnswRestore(entry: i32, top: i32, nodes: i32, upperWords: usize, state: u32): void {
  hnswEntryPoint = entry;
  hnswMaxLevel = top;
  hnswNodeCount = nodes;
  hnswUpperUsed = upperWords;
  levelState = state;
}

/**
 * Checks the level-0 links of slots [first, end) of a graph loaded from a file, before any search
 * trusts them: each count within 2·M, each neighbour inside [0, slots). Runs on each piece of the
 * level-0 section as it arrives, so the check overlaps the reads of the rest.
 * @returns the first bad slot, or -1
 */
export function hnswValidateLevel0(first: i32, end: i32, slots: i32): i32 {
  const bound = i32x4.splat(slots);
  for (let s = first; s < end; s++) {
    const links = linksAt(s, 0);
    const count = load<u32>(links);
    if (count > <u32>maxM0) return s;
    // Unsigned max over whole groups of four links, then the last few one by one.
    let widest = i32x4.splat(0);
    let i: u32 = 0;
    for (; i + 4 <= count; i += 4) widest = i32x4.max_u(widest, v128.load(links + 4 + (<usize>i << 2)));
    if (v128.any_true(i32x4.ge_u(widest, bound))) return s;
    for (; i < count; i++) if (load<u32>(links + 4 + (<usize>i << 2)) >= <u32>slots) return s;
  }
  return -1;
}

/**
 * Checks the rest of a graph loaded from a file (see {@link hnswValidateLevel0}): the entry point
 * and levels, upper layers inside the pool, their counts within M and their neighbours inside
 * [0, slots) and present on that layer.
 * @returns the first bad slot, or -1
 */
export function hnswValidateUpper(slots: i32): i32 {
  if (hnswEntryPoint >= slots || hnswMaxLevel > MAX_LEVEL || (slots > 0 && hnswEntryPoint < 0)) return 0;
  if (hnswEntryPoint >= 0 && <i32>load<u8>(hnswLevels + hnswEntryPoint) != hnswMaxLevel) return hnswEntryPoint;
  for (let s = 0; s < slots; s++) {
    const level = <i32>load<u8>(hnswLevels + s);
    if (level == 0) continue;
    if (level > hnswMaxLevel) return s;
    if (<usize>load<u32>(hnswUpperOffsets + (<usize>s << 2)) + <usize>level * <usize>(M + 1) > hnswUpperUsed) return s;
    for (let l = 1; l <= level; l++) {
      const links = linksAt(s, l);
      const count = load<u32>(links);
      if (count > <u32>M) return s;
      for (let i: u32 = 0; i < count; i++) {
        const n = load<u32>(links + 4 + (<usize>i << 2));
        if (n >= <u32>slots || <i32>load<u8>(hnswLevels + n) < l) return s;
      }
    }
  }
  return -1;
}
