/**
 * @module filter
 * Which nodes may appear in results. Deleted nodes (tombstones) never do, but they stay in the
 * graph and still route the beam, so the graph stays navigable until compaction. A search may
 * also carry a filter: an allow-bitmap set by the host, or a host predicate called lazily, only
 * for nodes that would enter the results (hnswlib's `isIdAllowed`).
 *
 *   deleted  (capacity) u8   1 = tombstone
 *   allowed  (capacity) u8   1 = passes the bitmap filter
 */
import { growZeroed } from './arena';

// @ts-ignore: decorator
@external('env', 'filterAllows')
declare function hostFilterAllows(slot: u32): i32;

export const FILTER_NONE: i32 = 0;
export const FILTER_BITMAP: i32 = 1;
export const FILTER_HOST: i32 = 2;

export let filterDeleted: usize = 0;
export let filterAllowed: usize = 0;
export let filterDeletedCount: i32 = 0;
let capacity: i32 = 0;
let mode: i32 = FILTER_NONE;

/** Grows both bitmaps to `n` slots. */
export function filterReserve(n: i32): void {
  if (n <= capacity) return;
  filterDeleted = growZeroed(filterDeleted, <usize>capacity, <usize>n);
  filterAllowed = growZeroed(filterAllowed, <usize>capacity, <usize>n);
  capacity = n;
}

/** Sets the filter of the next searches (FILTER_NONE after each filtered search). */
export function filterSetMode(m: i32): void { mode = m; }

/** Marks `slot` deleted; returns false when it already was. */
export function filterMarkDeleted(slot: u32): bool {
  if (load<u8>(filterDeleted + slot) != 0) return false;
  store<u8>(filterDeleted + slot, 1);
  filterDeletedCount++;
  return true;
}

/** Forgets every tombstone (after compaction or a rebuild). */
export function filterClearDeleted(): void {
  if (capacity > 0) memory.fill(filterDeleted, 0, <usize>capacity);
  filterDeletedCount = 0;
}

/** True when `slot` may be returned by the current search. */
// @ts-ignore: decorator
@inline export function accepts(slot: u32): bool {
  if (load<u8>(filterDeleted + slot) != 0) return false;
  if (mode == FILTER_NONE) return true;
  if (mode == FILTER_BITMAP) return load<u8>(filterAllowed + slot) != 0;
  return hostFilterAllows(slot) != 0;
}
