/**
 * @module visited
 * Epoch-tagged visited table (hnswlib `VisitedListPool`): a node is visited when its u16 tag equals
 * the current epoch, so a new search starts by bumping the epoch instead of clearing the table.
 * The table is cleared only when the epoch wraps, once every 65,535 searches.
 */
import { growZeroed } from './arena';

let tags: usize = 0;
let capacity: i32 = 0;
let epoch: u16 = 0;

/** Makes room for `n` slots (new slots start unvisited). */
export function visitedReserve(n: i32): void {
  if (n <= capacity) return;
  tags = growZeroed(tags, <usize>capacity << 1, <usize>n << 1);
  capacity = n;
}

/** Starts a new search: every slot becomes unvisited in O(1). */
export function visitedNewEpoch(): void {
  epoch++;
  if (epoch == 0) {
    memory.fill(tags, 0, <usize>capacity << 1);
    epoch = 1;
  }
}

/** Marks `slot` visited; returns true when it already was. */
// @ts-ignore: decorator
@inline export function visitedTestAndSet(slot: u32): bool {
  const p = tags + (<usize>slot << 1);
  if (load<u16>(p) == epoch) return true;
  store<u16>(p, epoch);
  return false;
}

/** Bytes held by the table. */
export function visitedBytes(): usize { return <usize>capacity << 1; }
