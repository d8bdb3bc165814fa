import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeStringTable, StringTable } from '../../src/storage/section-codecs.js';
import { ID_TABLE, Kernels } from '../../src/wasm/abi.js';

const kernels = new Kernels();

/** The kernels' verdict on `table` for `count` slots, with the slots in `deleted` skipped. */
function kernelVerdict(table: Uint8Array, count: number, deleted: ReadonlySet<number> = new Set()): number {
  const raw = kernels.raw;
  const bitmap = new Uint8Array(Math.max(Math.ceil(count / 8), 1));
  for (const slot of deleted) bitmap[slot >> 3]! |= 1 << (slot & 7);
  const blocks = [raw.arenaAlloc(table.length + 8), raw.arenaAlloc(bitmap.length), raw.arenaAlloc(raw.idCheckWorkBytes(count))];
  const [tablePtr, bitmapPtr, workPtr] = blocks as [number, number, number];
  kernels.u8(tablePtr, table.length).set(table);
  kernels.u8(bitmapPtr, bitmap.length).set(bitmap);
  try {
    return raw.idTableCheck(tablePtr, table.length, count, bitmapPtr, workPtr);
  } finally {
    for (const ptr of blocks) raw.arenaFree(ptr);
  }
}

/** The same verdict from the JavaScript parser and a plain scan: the oracle. */
function referenceVerdict(table: Uint8Array, count: number, deleted: ReadonlySet<number> = new Set()): number {
  let parsed: StringTable;
  try {
    parsed = new StringTable(table);
  } catch {
    return ID_TABLE.malformed;
  }
  if (parsed.count !== count) return ID_TABLE.malformed;
  const live = Array.from({ length: count }, (_, slot) => slot).filter((slot) => !deleted.has(slot));
  const empty = live.find((slot) => parsed.at(slot) === '');
  if (empty !== undefined) return empty;
  const seen = new Set<string>();
  for (const slot of live) {
    if (seen.has(parsed.at(slot))) return slot;
    seen.add(parsed.at(slot));
  }
  return parsed.blob.every((b) => b < 0x80) ? ID_TABLE.ascii : ID_TABLE.utf8;
}

/** A table of `strings` whose blob is `blob` instead (same offsets): for invalid UTF-8. */
function tableWithBlob(lengths: number[], blob: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 * (lengths.length + 2) + blob.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, lengths.length, true);
  let at = 0;
  lengths.forEach((len, i) => {
    view.setUint32(4 * (i + 1), at, true);
    at += len;
  });
  view.setUint32(4 * (lengths.length + 1), at, true);
  out.set(blob, 4 * (lengths.length + 2));
  return out;
}

describe('the kernels’ id table check', () => {
  it('agrees with the parser and a plain scan on ids with repeats, empties, deletions and non-ASCII', () => {
    const id = fc.oneof(fc.constantFrom('', 'a', 'b', 'ab', 'ß', '日本', '🙂', 'x'.repeat(17)), fc.string({ maxLength: 12 }), fc.stringMatching(/^[a-c]{0,9}$/));
    fc.assert(fc.property(fc.array(id, { maxLength: 60 }), fc.array(fc.nat(59), { maxLength: 10 }), (ids, deletions) => {
      const deleted = new Set(deletions.filter((slot) => slot < ids.length));
      fc.pre(ids.every((s) => !/[\ud800-\udfff]/u.test(s)));
      const table = encodeStringTable(ids);
      expect(kernelVerdict(table, ids.length, deleted)).toBe(referenceVerdict(table, ids.length, deleted));
    }), { numRuns: 400 });
  });

  it('finds the first repeat among many ids, and handles a table of one id repeated', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `doc-${i}`);
    expect(kernelVerdict(encodeStringTable(ids), ids.length)).toBe(ID_TABLE.ascii);
    const repeated = ids.map((id, i) => (i === 15_000 ? 'doc-7' : i === 18_000 ? 'doc-3' : id));
    expect(kernelVerdict(encodeStringTable(repeated), repeated.length)).toBe(15_000);
    // A deleted slot's id may repeat a live one.
    expect(kernelVerdict(encodeStringTable(repeated), repeated.length, new Set([7]))).toBe(18_000);
    expect(kernelVerdict(encodeStringTable(repeated), repeated.length, new Set([15_000, 18_000]))).toBe(ID_TABLE.ascii);
    const same = Array.from({ length: 50_000 }, () => 'same');
    expect(kernelVerdict(encodeStringTable(same), same.length)).toBe(1);
    expect(kernelVerdict(encodeStringTable([]), 0)).toBe(ID_TABLE.ascii);
  });

  it('judges UTF-8 as the fatal decoder does: overlongs, surrogates, past U+10FFFF, truncated sequences', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const cases = [
      [0x41], [0xc3, 0x9f], [0xe6, 0x97, 0xa5], [0xf0, 0x9f, 0x99, 0x82], [0xef, 0xbb, 0xbf],
      [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf],
      [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xed, 0x9f, 0xbf], [0xf4, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80],
      [0xff], [0x80], [0xc3], [0xe6, 0x97], [0xf0, 0x9f, 0x99], [0xc3, 0x41], [0xe6, 0x41, 0xa5],
    ];
    for (const bytes of cases) {
      const blob = Uint8Array.from(bytes);
      let valid = true;
      try { decoder.decode(blob); } catch { valid = false; }
      const verdict = kernelVerdict(tableWithBlob([blob.length], blob), 1);
      expect(verdict === ID_TABLE.malformed, `bytes ${bytes.map((b) => b.toString(16)).join(' ')}`).toBe(!valid);
    }
    // The ASCII fast path hands over to the full check inside a 16-byte block.
    const long = new TextEncoder().encode(`${'a'.repeat(20)}ß${'b'.repeat(20)}`);
    expect(kernelVerdict(tableWithBlob([long.length], long), 1)).toBe(ID_TABLE.utf8);
    long[20] = 0xc0;
    expect(kernelVerdict(tableWithBlob([long.length], long), 1)).toBe(ID_TABLE.malformed);
  });

  it('calls a table malformed exactly when the parser rejects it or its count is wrong', () => {
    const table = encodeStringTable(['alpha', 'ß', '', 'gamma', '日本']);
    fc.assert(fc.property(fc.nat(table.length - 1), fc.nat(255), fc.integer({ min: 3, max: 7 }), (at, byte, count) => {
      const bad = table.slice();
      bad[at] = byte;
      expect(kernelVerdict(bad, count) === ID_TABLE.malformed).toBe(referenceVerdict(bad, count) === ID_TABLE.malformed);
    }), { numRuns: 500 });
    // A string may not end inside a character, though the blob as a whole is valid.
    expect(kernelVerdict(tableWithBlob([1, 1], Uint8Array.of(0xc3, 0x9f)), 2)).toBe(ID_TABLE.malformed);
    expect(kernelVerdict(table.subarray(0, 3), 5)).toBe(ID_TABLE.malformed);
  });
});
