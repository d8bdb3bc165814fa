import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  decodeQdb, encodeQdb, planQdb, qdbPieces, QDB_FORMAT_VERSION, QDB_HEADER_BYTES, QDB_MAGIC, QDB_SECTION_ALIGN, QDB_TABLE_ENTRY_BYTES,
  SectionKind, VectorEncoding, type QdbByteSource, type QdbSectionInput,
} from '../../src/storage/qdb-layout.js';
import { decodeF16, decodeStringTable, dequantizeInt8, encodeF16, encodeStringTable, f16ToF32, f32ToF16, quantizeInt8 } from '../../src/storage/section-codecs.js';
import { crc32c, xxh64 } from '../../src/storage/checksum.js';
import { isQuantumDBError, type ErrorCode } from '../../src/errors.js';
import { expectQdbError } from '../helpers.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17 + 1) & 0xff);

/** A small file with every kind of section: chunked, empty, flagged. */
const SECTIONS: QdbSectionInput[] = [
  { kind: SectionKind.CONFIG, bytes: utf8('{"dim":3,"metric":"l2"}') },
  { kind: SectionKind.CODES, bytes: [bytesOf(40, 1), bytesOf(24, 2)] },
  { kind: SectionKind.IDS, bytes: encodeStringTable(['a', 'bb', 'ccc', 'dddd']) },
  { kind: SectionKind.DELETED, bytes: new Uint8Array(0) },
  { kind: SectionKind.VECTORS, flags: VectorEncoding.F16, bytes: bytesOf(24, 3) },
];
const FILE = encodeQdb(SECTIONS);

function errorOf(fn: () => unknown): { code: ErrorCode; details: Record<string, unknown>; message: string } {
  try { fn(); } catch (e) {
    if (isQuantumDBError(e)) return { code: e.code, details: e.details ?? {}, message: e.message };
    throw e;
  }
  throw new Error('expected a QuantumDBError, but nothing was thrown');
}

/** Edits header/table fields, then fixes both checksums so only the structural checks can object. */
function patched(edit: (v: DataView) => void, base = FILE): Uint8Array {
  const out = base.slice();
  const v = new DataView(out.buffer);
  edit(v);
  const tableEnd = QDB_HEADER_BYTES + v.getUint32(24, true) * v.getUint32(28, true);
  if (tableEnd <= out.length) v.setUint32(32, crc32c(out.subarray(QDB_HEADER_BYTES, tableEnd)), true);
  v.setUint32(60, crc32c(out.subarray(0, 60)), true);
  return out;
}
const entry = (i: number, field: number) => QDB_HEADER_BYTES + i * QDB_TABLE_ENTRY_BYTES + field;

describe('.qdb header and table layout', () => {
  it('has the fixed sizes the format document states', () => {
    expect(QDB_HEADER_BYTES).toBe(64);
    expect(QDB_TABLE_ENTRY_BYTES).toBe(32);
    expect(QDB_SECTION_ALIGN).toBe(64);
    expect(encodeQdb([]).length).toBe(64);
  });

  it('matches the field tables in docs/format-qdb.md (offsets contiguous, totals 64 and 32)', () => {
    const doc = readFileSync(new URL('../../docs/format-qdb.md', import.meta.url), 'utf8');
    const fields = (heading: string) => {
      const part = doc.slice(doc.indexOf(heading)).split('\n## ')[0]!;
      return [...part.matchAll(/^\| (\d+) \| (\d+) \|/gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
    };
    for (const [heading, total] of [['## Header (64 bytes)', QDB_HEADER_BYTES], ['## Section table', QDB_TABLE_ENTRY_BYTES]] as const) {
      const rows = fields(heading);
      expect(rows.length).toBeGreaterThan(4);
      rows.forEach(([offset], i) => expect(offset).toBe(i === 0 ? 0 : rows[i - 1]![0] + rows[i - 1]![1]));
      expect(rows.at(-1)![0] + rows.at(-1)![1]).toBe(total);
    }
  });

  it('writes every header field at its documented offset', () => {
    const v = new DataView(FILE.buffer);
    expect(FILE.subarray(0, 8)).toEqual(Uint8Array.from([0x51, 0x44, 0x42, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(QDB_MAGIC).toEqual(FILE.subarray(0, 8));
    expect([v.getUint16(8, true), v.getUint16(10, true), v.getUint32(12, true)]).toEqual([2, 0, 0]);
    expect(Number(v.getBigUint64(16, true))).toBe(FILE.length);
    expect([v.getUint32(24, true), v.getUint32(28, true)]).toEqual([5, 32]);
    expect(v.getUint32(32, true)).toBe(crc32c(FILE.subarray(64, 64 + 5 * 32)));
    expect(FILE.subarray(36, 60).every((b) => b === 0)).toBe(true);
    expect(v.getUint32(60, true)).toBe(crc32c(FILE.subarray(0, 60)));
    // Entry 0: CONFIG, right after the table rounded up to 64 bytes (64 + 160 → 256).
    expect([v.getUint32(entry(0, 0), true), v.getUint32(entry(0, 4), true)]).toEqual([SectionKind.CONFIG, 0]);
    expect([Number(v.getBigUint64(entry(0, 8), true)), Number(v.getBigUint64(entry(0, 16), true))]).toEqual([256, 23]);
    expect(v.getBigUint64(entry(0, 24), true)).toBe(xxh64([utf8('{"dim":3,"metric":"l2"}')]));
    expect(v.getUint32(entry(4, 4), true)).toBe(VectorEncoding.F16);
  });
});

describe('encode / decode round trip', () => {
  it('returns every section, its flags, and 64-byte aligned offsets', () => {
    const file = decodeQdb(FILE, { verifyAll: true });
    expect(file.version).toEqual(QDB_FORMAT_VERSION);
    expect(file.fileLength).toBe(FILE.length);
    expect(file.sections.map((s) => s.offset % 64)).toEqual([0, 0, 0, 0, 0]);
    expect(file.section(SectionKind.CODES)).toEqual(new Uint8Array([...bytesOf(40, 1), ...bytesOf(24, 2)]));
    expect(file.section(SectionKind.DELETED).length).toBe(0);
    expect(file.info(SectionKind.VECTORS)?.flags).toBe(VectorEncoding.F16);
    expect(decodeStringTable(file.section(SectionKind.IDS))).toEqual(['a', 'bb', 'ccc', 'dddd']);
    expect(file.info(SectionKind.GRAPH_UPPER)).toBeUndefined();
    expectQdbError(() => file.section(SectionKind.GRAPH_UPPER), 'CORRUPT_FILE');
  });

  it('streams: head + pieces written in order equal encodeQdb, at the planned offsets', () => {
    const plan = planQdb(SECTIONS);
    const pieces = [...qdbPieces(plan)];
    expect(pieces[0]).toBe(plan.head);
    expect(plan.head.length).toBe(plan.sections[0]!.offset);
    expect(new Uint8Array(pieces.flatMap((p) => [...p]))).toEqual(FILE);
    expect(plan.fileLength).toBe(FILE.length);
  });

  it('round-trips arbitrary sections (property)', () => {
    const section = fc.record({
      kind: fc.integer({ min: 1, max: 40 }),
      flags: fc.nat(),
      chunks: fc.array(fc.uint8Array({ maxLength: 150 }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(section, { selector: (s) => s.kind, maxLength: 8 }), (specs) => {
        const bytes = encodeQdb(specs.map((s) => ({ kind: s.kind, flags: s.flags, bytes: s.chunks })));
        const file = decodeQdb(bytes, { verifyAll: true });
        expect(file.sections.map((s) => [s.kind, s.flags])).toEqual(specs.map((s) => [s.kind, s.flags]));
        for (const s of specs) expect(file.section(s.kind)).toEqual(new Uint8Array(s.chunks.flatMap((c) => [...c])));
      }),
      { seed: 99, numRuns: 100 },
    );
  });

  it('reads through a random-access source and reports short reads as IO_ERROR', () => {
    const reads: number[] = [];
    const source: QdbByteSource = { byteLength: FILE.length, read: (o, n) => (reads.push(o), FILE.slice(o, o + n)) };
    const file = decodeQdb(source);
    expect(reads.every((o) => o < 256)).toBe(true); // only header and table so far: sections are lazy
    expect(file.section(SectionKind.CONFIG)).toEqual(utf8('{"dim":3,"metric":"l2"}'));
    expectQdbError(() => decodeQdb({ byteLength: FILE.length, read: (o, n) => FILE.slice(o, o + n - 1) }), 'IO_ERROR');
  });

  it('rejects bad section inputs with INVALID_ARGUMENT', () => {
    const b = new Uint8Array(1);
    expectQdbError(() => planQdb([{ kind: 0, bytes: b }]), 'INVALID_ARGUMENT');
    expectQdbError(() => planQdb([{ kind: 1.5, bytes: b }]), 'INVALID_ARGUMENT');
    expectQdbError(() => planQdb([{ kind: 1, bytes: b }, { kind: 1, bytes: b }]), 'INVALID_ARGUMENT');
    expectQdbError(() => planQdb([{ kind: 1, flags: -1, bytes: b }]), 'INVALID_ARGUMENT');
  });
});

describe('decodeQdb treats the file as hostile', () => {
  it('a foreign file is CORRUPT_FILE saying it is not a QuantumDB file', () => {
    for (const foreign of [utf8('\x89PNG\r\n\x1a\n' + ' '.repeat(64)), utf8('{"not":"qdb"}'), new Uint8Array(100)]) {
      const e = errorOf(() => decodeQdb(foreign));
      expect([e.code, e.details['offset']]).toEqual(['CORRUPT_FILE', 0]);
      expect(e.message).toMatch(/not a QuantumDB file/);
    }
  });

  it('truncation anywhere (every section boundary, every middle, inside the header) is CORRUPT_FILE', () => {
    for (let cut = 0; cut < FILE.length; cut++) expectQdbError(() => decodeQdb(FILE.subarray(0, cut)), 'CORRUPT_FILE');
    const e = errorOf(() => decodeQdb(FILE.subarray(0, FILE.length - 1)));
    expect(e.message).toMatch(/truncated/);
    expectQdbError(() => decodeQdb(new Uint8Array([...FILE, 0])), 'CORRUPT_FILE');
  });

  it('a flipped bit in any byte (header, table, padding or section) is caught by verifyAll', () => {
    for (let at = 0; at < FILE.length; at++) {
      const bad = FILE.slice();
      bad[at]! ^= 0x10;
      expectQdbError(() => decodeQdb(bad, { verifyAll: true }), 'CORRUPT_FILE');
    }
  });

  it('a flipped section byte passes the structural checks and fails when that section is read', () => {
    for (const s of decodeQdb(FILE).sections.filter((x) => x.length > 0)) {
      const bad = FILE.slice();
      bad[s.offset + (s.length >> 1)]! ^= 1;
      const file = decodeQdb(bad);
      const e = errorOf(() => file.section(s.kind));
      expect([e.code, e.details['offset']]).toEqual(['CORRUPT_FILE', s.offset]);
      expect(file.section(s.kind, { verify: false }).length).toBe(s.length); // the caller may defer the check
    }
  });

  it('a future major version is UNSUPPORTED_VERSION naming both versions; a newer minor is readable', () => {
    const e = errorOf(() => decodeQdb(patched((v) => v.setUint16(8, 3, true))));
    expect(e.code).toBe('UNSUPPORTED_VERSION');
    expect(e.message).toMatch(/version 3\.0.*reads formats 1\.x and 2\.x/);
    expect(errorOf(() => decodeQdb(patched((v) => v.setUint16(8, 0, true)))).code).toBe('UNSUPPORTED_VERSION');
    const newer = decodeQdb(patched((v) => { v.setUint16(10, 7, true); v.setUint32(40, 0xdead, true); }), { verifyAll: true });
    expect(newer.version).toEqual({ major: 2, minor: 7 });
  });

  it('huge or inconsistent lengths and offsets are CORRUPT_FILE with the offending field offset', () => {
    const cases: [string, (v: DataView) => void, number][] = [
      ['file length 2^60', (v) => v.setUint32(20, 2 ** 28, true), 16],
      ['section count 2^32 - 1', (v) => v.setUint32(24, 0xffffffff, true), 24],
      ['entry size 7', (v) => v.setUint32(28, 7, true), 28],
      ['section length 2^60', (v) => v.setUint32(entry(1, 20), 2 ** 28, true), entry(1, 16)],
      ['section length past EOF', (v) => v.setUint32(entry(4, 16), 10_000, true), entry(4, 16)],
      ['misaligned offset', (v) => v.setUint32(entry(1, 8), v.getUint32(entry(1, 8), true) + 8, true), entry(1, 8)],
      ['overlapping sections', (v) => v.setUint32(entry(1, 8), 256, true), entry(1, 8)],
      ['gap between sections', (v) => v.setUint32(entry(1, 8), v.getUint32(entry(1, 8), true) + 64, true), entry(1, 8)],
      ['duplicate kind', (v) => v.setUint32(entry(2, 0), SectionKind.CONFIG, true), entry(2, 0)],
      ['kind 0', (v) => v.setUint32(entry(2, 0), 0, true), entry(2, 0)],
    ];
    for (const [name, edit, offset] of cases) {
      const e = errorOf(() => decodeQdb(patched(edit)));
      expect([name, e.code, e.details['offset']]).toEqual([name, 'CORRUPT_FILE', offset]);
    }
  });

  it('unknown section kinds are listed and readable (minor-version additions)', () => {
    const file = decodeQdb(encodeQdb([{ kind: 1000, bytes: utf8('future') }]), { verifyAll: true });
    expect(file.section(1000)).toEqual(utf8('future'));
  });
});

describe('string table', () => {
  it('round-trips any well-formed strings (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 8 }), { maxLength: 30 }), (strings) => {
        expect(decodeStringTable(encodeStringTable(strings))).toEqual(strings);
      }),
      { seed: 5, numRuns: 150 },
    );
    expect([...encodeStringTable([])]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect([...encodeStringTable(['hi', ''])]).toEqual([2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 104, 105]);
  });

  it('rejects unpaired surrogates, which UTF-8 cannot carry', () => {
    expectQdbError(() => encodeStringTable(['ok', 'bad\ud800']), 'INVALID_ARGUMENT');
  });

  it('rejects malformed tables with CORRUPT_FILE at absolute offsets', () => {
    // count 2 at +0, offsets [0, 2, 4] at +4, +8, +12, blob "abß" (61 62 C3 9F) at +16.
    const good = encodeStringTable(['ab', 'ß']);
    const edit = (at: number, value: number) => {
      const b = good.slice();
      new DataView(b.buffer).setUint32(at, value, true);
      return b;
    };
    const invalidUtf8 = good.slice();
    invalidUtf8[19] = 0x41;
    const cases: [string, Uint8Array, number][] = [
      ['too short', new Uint8Array(3), 1000],
      ['count past the end', edit(0, 0xffffffff), 1000],
      ['first offset not 0', edit(4, 1), 1004],
      ['offset past the blob', edit(8, 5), 1008],
      ['trailing blob bytes', edit(12, 3), 1012],
      ['offset splits a UTF-8 character', edit(8, 3), 1016],
      ['invalid UTF-8', invalidUtf8, 1018],
    ];
    for (const [name, bytes, offset] of cases) {
      const e = errorOf(() => decodeStringTable(bytes, 1000));
      expect([name, e.code, e.details['offset']]).toEqual([name, 'CORRUPT_FILE', offset]);
    }
  });
});

describe('f16 conversion', () => {
  it('converts known values exactly, with round-to-nearest-even', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [1 / 3, 0x3555],
      [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00], [1e10, 0x7c00], [Infinity, 0x7c00], [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], [2 ** -24, 0x0001], [1023 * 2 ** -24, 0x03ff], [2 ** -25, 0x0000], [2 ** -25 * 1.0001, 0x0001],
      [3 * 2 ** -25, 0x0002], [5 * 2 ** -25, 0x0002], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [1e-10, 0], [-1e-10, 0x8000],
      [2047 * 2 ** -25, 0x0400], // largest subnormal + half ulp rounds up into the normals
    ];
    for (const [value, bits] of cases) expect([value, f32ToF16(value)]).toEqual([value, bits]);
    const nan = f32ToF16(NaN);
    expect([nan & 0x7c00, (nan & 0x3ff) !== 0]).toEqual([0x7c00, true]);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect([f16ToF32(0x0001), f16ToF32(0x7bff), f16ToF32(0xfc00)]).toEqual([2 ** -24, 65504, -Infinity]);
    expect(Number.isNaN(f16ToF32(0x7e00))).toBe(true);
  });

  it('round-trips all 65,536 bit patterns, and decodeF16 agrees with f16ToF32', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const decoded = decodeF16(all);
    const mismatches: number[] = [];
    for (let b = 0; b < 65536; b++) {
      const x = f16ToF32(b);
      const ok = Number.isNaN(x) ? Number.isNaN(decoded[b]!) : Object.is(decoded[b], x) && f32ToF16(x) === b;
      if (!ok) mismatches.push(b);
    }
    expect(mismatches).toEqual([]);
    expect(encodeF16(decoded.subarray(0, 0x7c00))).toEqual(all.subarray(0, 0x7c00));
  });

  it('rounds every f32 to the nearest f16, ties to even (property)', () => {
    fc.assert(
      fc.property(fc.float({ min: -65504, max: 65504, noNaN: true }), (x) => {
        const h = f32ToF16(x);
        const err = Math.abs(f16ToF32(h) - x);
        for (const n of [h - 1, h + 1]) {
          if ((n & 0x7fff) > 0x7bff || n < 0 || ((n ^ h) & 0x8000) !== 0) continue;
          const other = Math.abs(f16ToF32(n) - x);
          expect(err <= other).toBe(true);
          if (err === other) expect(h & 1).toBe(0);
        }
      }),
      { seed: 11, numRuns: 2000 },
    );
  });
});

describe('int8 vectors', () => {
  it('quantizes per vector with error at most scale / 2, in (scale, codes) records', () => {
    const dim = 5;
    const vectors = new Float32Array([1, -2, 0.5, 3.3, -127, 0, 0, 0, 0, 0, 1e-3, 2e-3, -5e-4, 0, 1e-3]);
    const section = quantizeInt8(vectors, dim);
    expect(section.length).toBe(3 * (4 + dim));
    for (let slot = 0; slot < 3; slot++) {
      const scale = new DataView(section.buffer).getFloat32(slot * (4 + dim), true);
      const v = dequantizeInt8(section, dim, slot);
      for (let j = 0; j < dim; j++) expect(Math.abs(v[j]! - vectors[slot * dim + j]!)).toBeLessThanOrEqual(scale / 2 + 1e-7);
    }
    expect(Array.from(dequantizeInt8(section, dim, 0).map((x) => Math.round(x)))).toEqual([1, -2, 1, 3, -127]);
    expect(Array.from(dequantizeInt8(section, dim, 1))).toEqual([0, 0, 0, 0, 0]);
  });

  it('reports bad arguments and bad sections', () => {
    expectQdbError(() => quantizeInt8(new Float32Array(5), 2), 'INVALID_ARGUMENT');
    expectQdbError(() => quantizeInt8(new Float32Array(4), 0), 'INVALID_ARGUMENT');
    const section = quantizeInt8(new Float32Array(4), 2);
    expectQdbError(() => dequantizeInt8(section, 2, 2), 'INVALID_ARGUMENT');
    expectQdbError(() => dequantizeInt8(section.subarray(1), 2, 0), 'CORRUPT_FILE');
  });
});
