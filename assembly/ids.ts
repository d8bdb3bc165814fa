/**
 * @module ids
 * Checks the id string table of an opened file where it was read, in kernel memory, without
 * building a JavaScript map of a million strings: the table's offsets and UTF-8, then that every
 * live slot's id is non-empty and unique.
 *
 * Uniqueness: each live id is hashed; one counting pass and one stable scatter of (hash, slot)
 * keys group them by their top hash bits into buckets of a few hundred, and each bucket is checked
 * with a small open-addressing table that stays in cache. Equal hashes are compared byte by byte.
 * A million-entry hash table would miss the cache on nearly every probe (1M ids on a 2-core
 * machine: 103–109 ms); a full radix sort of the keys took 31–40 ms, this whole check 19–28 ms.
 */

/** The table is sound and all ASCII (byte offsets are also string indices). */
export const ID_TABLE_ASCII: i32 = -1;
/** The table is sound and holds multi-byte UTF-8. */
export const ID_TABLE_UTF8: i32 = -2;
/** The table's count, offsets or UTF-8 are wrong (the caller's parser names the first fault). */
export const ID_TABLE_MALFORMED: i32 = -3;

const BUCKET_BITS: u32 = 11;
const BUCKETS: usize = 1 << BUCKET_BITS;

/**
 * Bytes of working memory {@link idTableCheck} needs for `count` ids: the hashes, the grouped
 * keys, the bucket counts, and a probe table for the largest possible bucket (only what a bucket
 * uses is ever touched).
 */
export function idCheckWorkBytes(count: u32): usize {
  return <usize>count * 28 + (BUCKETS << 2) + 64;
}

// @ts-ignore: decorator
@inline function idHash(p: usize, len: usize): u32 {
  let h: u64 = <u64>len * 0x9e3779b97f4a7c15;
  const end = p + len;
  let at = p;
  for (; at + 8 <= end; at += 8) h = rotl<u64>(h ^ (load<u64>(at) * 0x87c37b91114253d5), 31) * 0x4cf5ad432745937f;
  if (at < end) {
    // The table block has 8 bytes of slack, so the last word may be loaded whole and masked.
    const tail = load<u64>(at) & ((<u64>1 << (<u64>(end - at) << 3)) - 1);
    h = rotl<u64>(h ^ (tail * 0x87c37b91114253d5), 31) * 0x4cf5ad432745937f;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  return <u32>(h >> 32);
}

// @ts-ignore: decorator
@inline function isDeleted(bitmap: usize, slot: u32): bool {
  return ((load<u8>(bitmap + <usize>(slot >> 3)) >> (slot & 7)) & 1) != 0;
}

// @ts-ignore: decorator
@inline function continuation(p: usize): bool {
  return (load<u8>(p) & 0xc0) == 0x80;
}

/** {@link ID_TABLE_ASCII}, {@link ID_TABLE_UTF8} or {@link ID_TABLE_MALFORMED}, as the WHATWG decoder in fatal mode would judge `len` bytes at `p`. */
function utf8Kind(p: usize, len: usize): i32 {
  const end = p + len;
  let ascii = true;
  let at = p;
  while (at < end) {
    if (at + 16 <= end && i8x16.bitmask(v128.load(at)) == 0) {
      at += 16;
      continue;
    }
    const b0 = <u32>load<u8>(at);
    if (b0 < 0x80) {
      at++;
      continue;
    }
    ascii = false;
    // Lead byte → sequence length and the allowed range of the second byte (no overlongs, surrogates or > U+10FFFF).
    let size: usize = 0;
    let low: u32 = 0x80, high: u32 = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) size = 2;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      size = 3;
      if (b0 == 0xe0) low = 0xa0;
      else if (b0 == 0xed) high = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      size = 4;
      if (b0 == 0xf0) low = 0x90;
      else if (b0 == 0xf4) high = 0x8f;
    } else return ID_TABLE_MALFORMED;
    if (at + size > end) return ID_TABLE_MALFORMED;
    const b1 = <u32>load<u8>(at + 1);
    if (b1 < low || b1 > high) return ID_TABLE_MALFORMED;
    for (let i: usize = 2; i < size; i++) if (!continuation(at + i)) return ID_TABLE_MALFORMED;
    at += size;
  }
  return ascii ? ID_TABLE_ASCII : ID_TABLE_UTF8;
}

// @ts-ignore: decorator
@inline function idBytesEqual(offsets: usize, blob: usize, a: u32, b: u32): bool {
  const aBegin = load<u32>(offsets + (<usize>a << 2));
  const len = load<u32>(offsets + (<usize>a << 2), 4) - aBegin;
  const bBegin = load<u32>(offsets + (<usize>b << 2));
  if (load<u32>(offsets + (<usize>b << 2), 4) - bBegin != len) return false;
  return memory.compare(blob + <usize>aBegin, blob + <usize>bBegin, <usize>len) == 0;
}

/**
 * The first repeat among `size` keys (hash << 32 | slot, ascending slots) of one bucket, or -1.
 * `probe` holds room for a power of two ≥ 2 × size u32 entries.
 */
function bucketFirstRepeat(keys: usize, size: usize, offsets: usize, blob: usize, probe: usize): i32 {
  let tableSize: usize = 2;
  while (tableSize < size << 1) tableSize <<= 1;
  const mask = tableSize - 1;
  memory.fill(probe, 0, tableSize << 2);
  for (let i: usize = 0; i < size; i++) {
    const key = load<u64>(keys + (i << 3));
    const hash = <u32>(key >> 32);
    const slot = <u32>key;
    let at = <usize>hash & mask;
    while (true) {
      const entry = load<u32>(probe + (at << 2));
      if (entry == 0) {
        store<u32>(probe + (at << 2), <u32>i + 1);
        break;
      }
      const other = load<u64>(keys + (<usize>(entry - 1) << 3));
      // Keys arrive in slot order, so `slot` is the later of an equal pair: the repeat.
      if (<u32>(other >> 32) == hash && idBytesEqual(offsets, blob, <u32>other, slot)) return <i32>slot;
      at = (at + 1) & mask;
    }
  }
  return -1;
}

/**
 * Checks the string table of `tableBytes` bytes at `table` (u32 count, count + 1 u32 offsets, the
 * UTF-8 blob; followed by 8 readable bytes of slack) for `count` slots, skipping the slots set in
 * the `deleted` bitmap (bit slot & 7 of byte slot >> 3). `work` has {@link idCheckWorkBytes}.
 * @returns {@link ID_TABLE_MALFORMED}; else the first live slot with an empty id, else the first
 *   live slot whose id repeats an earlier one; else {@link ID_TABLE_ASCII} or {@link ID_TABLE_UTF8}.
 */
export function idTableCheck(table: usize, tableBytes: usize, count: u32, deleted: usize, work: usize): i32 {
  if (tableBytes < 4 || load<u32>(table) != count) return ID_TABLE_MALFORMED;
  const blobStart = (<u64>count + 2) << 2;
  if (blobStart > <u64>tableBytes) return ID_TABLE_MALFORMED;
  const offsets = table + 4;
  const blob = table + <usize>blobStart;
  const blobBytes = <u32>(tableBytes - <usize>blobStart);
  if (load<u32>(offsets) != 0 || load<u32>(offsets + (<usize>count << 2)) != blobBytes) return ID_TABLE_MALFORMED;

  const hashes = work;
  const grouped = hashes + (<usize>count << 2);
  const counts = grouped + (<usize>count << 3);
  const probe = counts + (BUCKETS << 2);
  memory.fill(counts, 0, BUCKETS << 2);
  const shift = 32 - BUCKET_BITS;
  let firstEmpty: i32 = -1;
  for (let slot: u32 = 0; slot < count; slot++) {
    const begin = load<u32>(offsets + (<usize>slot << 2));
    const end = load<u32>(offsets + (<usize>slot << 2), 4);
    if (end < begin || end > blobBytes) return ID_TABLE_MALFORMED;
    // A string may not end inside a multi-byte character.
    if (end < blobBytes && continuation(blob + <usize>end)) return ID_TABLE_MALFORMED;
    if (isDeleted(deleted, slot)) continue;
    if (end == begin) {
      if (firstEmpty < 0) firstEmpty = <i32>slot;
      continue;
    }
    const hash = idHash(blob + <usize>begin, <usize>(end - begin));
    store<u32>(hashes + (<usize>slot << 2), hash);
    const bucket = counts + (<usize>(hash >> shift) << 2);
    store<u32>(bucket, load<u32>(bucket) + 1);
  }
  const kind = utf8Kind(blob, <usize>blobBytes);
  if (kind == ID_TABLE_MALFORMED) return kind;
  if (firstEmpty >= 0) return firstEmpty;

  // Bucket starts, then a stable scatter: within a bucket, keys stay in slot order.
  let sum: u32 = 0;
  for (let b: usize = 0; b < BUCKETS; b++) {
    const c = load<u32>(counts + (b << 2));
    store<u32>(counts + (b << 2), sum);
    sum += c;
  }
  for (let slot: u32 = 0; slot < count; slot++) {
    if (isDeleted(deleted, slot) || load<u32>(offsets + (<usize>slot << 2), 4) == load<u32>(offsets + (<usize>slot << 2))) continue;
    const hash = load<u32>(hashes + (<usize>slot << 2));
    const bucket = counts + (<usize>(hash >> shift) << 2);
    const at = load<u32>(bucket);
    store<u64>(grouped + (<usize>at << 3), (<u64>hash << 32) | <u64>slot);
    store<u32>(bucket, at + 1);
  }
  // After the scatter, counts[b] is where bucket b ends.
  let bad: i32 = -1;
  let begin: u32 = 0;
  for (let b: usize = 0; b < BUCKETS; b++) {
    const end = load<u32>(counts + (b << 2));
    if (end - begin > 1) {
      const repeat = bucketFirstRepeat(grouped + (<usize>begin << 3), <usize>(end - begin), offsets, blob, probe);
      if (repeat >= 0 && (bad < 0 || repeat < bad)) bad = repeat;
    }
    begin = end;
  }
  return bad >= 0 ? bad : kind;
}
