/**
 * @module heap
 * Binary heaps of (f32 distance, u32 slot) pairs in caller-owned linear memory, 8 bytes an entry.
 * `max` heaps keep the current k best (worst on top, to evict); `min` heaps hold the frontier.
 * Ties break on the slot so results never depend on insertion accidents.
 *
 *   entry i at base + 8·i:  [ f32 dist | u32 slot ]
 */

// @ts-ignore: decorator
@inline function before(da: f32, sa: u32, db: f32, sb: u32, isMax: bool): bool {
  // "a belongs above b": larger first in a max heap, smaller first in a min heap.
  if (da != db) return isMax ? da > db : da < db;
  return isMax ? sa > sb : sa < sb;
}

/** Pushes (dist, slot) onto a heap holding `size` entries; returns the new size. */
export function heapPush(base: usize, size: i32, dist: f32, slot: u32, isMax: bool): i32 {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = base + (<usize>parent << 3);
    const pd = load<f32>(p), ps = load<u32>(p, 4);
    if (!before(dist, slot, pd, ps, isMax)) break;
    store<f32>(base + (<usize>i << 3), pd);
    store<u32>(base + (<usize>i << 3), ps, 4);
    i = parent;
  }
  store<f32>(base + (<usize>i << 3), dist);
  store<u32>(base + (<usize>i << 3), slot, 4);
  return size + 1;
}

/** Removes the top entry of a heap holding `size` > 0 entries; returns the new size. */
export function heapPop(base: usize, size: i32, isMax: bool): i32 {
  const n = size - 1;
  const last = base + (<usize>n << 3);
  const d = load<f32>(last), s = load<u32>(last, 4);
  let i = 0;
  while (true) {
    let child = 2 * i + 1;
    if (child >= n) break;
    const c = base + (<usize>child << 3);
    let cd = load<f32>(c), cs = load<u32>(c, 4);
    if (child + 1 < n) {
      const c2 = c + 8;
      const c2d = load<f32>(c2), c2s = load<u32>(c2, 4);
      if (before(c2d, c2s, cd, cs, isMax)) { child++; cd = c2d; cs = c2s; }
    }
    if (!before(cd, cs, d, s, isMax)) break;
    store<f32>(base + (<usize>i << 3), cd);
    store<u32>(base + (<usize>i << 3), cs, 4);
    i = child;
  }
  if (n > 0) {
    store<f32>(base + (<usize>i << 3), d);
    store<u32>(base + (<usize>i << 3), s, 4);
  }
  return n;
}

/** Distance of the top entry. */
// @ts-ignore: decorator
@inline export function heapTopDist(base: usize): f32 { return load<f32>(base); }
/** Slot of the top entry. */
// @ts-ignore: decorator
@inline export function heapTopSlot(base: usize): u32 { return load<u32>(base, 4); }

/**
 * Empties a max heap into `slotsOut`/`distsOut` in ascending distance order.
 * @returns the number of entries written
 */
export function heapDrainAscending(base: usize, size: i32, slotsOut: usize, distsOut: usize): i32 {
  const count = size;
  let n = size;
  while (n > 0) {
    const i = <usize>(n - 1);
    store<u32>(slotsOut + (i << 2), heapTopSlot(base));
    store<f32>(distsOut + (i << 2), heapTopDist(base));
    n = heapPop(base, n, true);
  }
  return count;
}
