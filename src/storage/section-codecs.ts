/**
 * @module storage/section-codecs
 * Encodings of the `.qdb` sections that are not raw kernel memory (docs/format-qdb.md): string
 * tables (IDS, METADATA), IEEE 754 binary16 rows and int8 rows with a per-vector scale (VECTORS).
 * Pure functions on bytes; every malformed input is a `CORRUPT_FILE` with its byte offset.
 * Little-endian hosts only, like the rest of the format code.
 */
import { qdbError } from '../errors.js';

const U32_MAX = 0xffff_ffff;
const dataView = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const corrupt = (offset: number, why: string, extra?: Record<string, unknown>) =>
  qdbError('CORRUPT_FILE', [`not a valid .qdb file: ${why}`], { offset, ...extra });

/**
 * Encodes strings as a string table: u32 count, u32 offsets[count + 1] into the UTF-8 blob
 * (offsets[0] = 0, offsets[count] = blob length), then the UTF-8 blob. String i is
 * blob[offsets[i], offsets[i + 1]).
 *
 * @param strings - The strings, in slot order.
 * @returns The table bytes.
 * @throws QuantumDBError `INVALID_ARGUMENT` for a string with an unpaired surrogate (UTF-8 cannot
 *   hold it, so it would not round-trip) or a blob over 4 GiB.
 * @example
 * ```ts
 * decodeStringTable(encodeStringTable(['a', 'ß'])); // ['a', 'ß']
 * ```
 */
export function encodeStringTable(strings: readonly string[]): Uint8Array {
  const encoder = new TextEncoder();
  const encoded = strings.map((s, i) => {
    if (/[\ud800-\udfff]/u.test(s)) throw qdbError('INVALID_ARGUMENT', [`string ${i} contains an unpaired surrogate, which UTF-8 cannot store.`], { index: i });
    return encoder.encode(s);
  });
  const blobStart = 4 * (strings.length + 2);
  const blobBytes = encoded.reduce((n, e) => n + e.length, 0);
  if (blobBytes > U32_MAX) throw qdbError('INVALID_ARGUMENT', [`the strings take ${blobBytes} bytes of UTF-8; a string table holds at most 4 GiB.`]);
  const out = new Uint8Array(blobStart + blobBytes);
  const view = dataView(out);
  view.setUint32(0, strings.length, true);
  let at = 0;
  encoded.forEach((e, i) => {
    view.setUint32(4 * (i + 1), at, true);
    out.set(e, blobStart + at);
    at += e.length;
  });
  view.setUint32(4 * (strings.length + 1), at, true);
  return out;
}

/** Lookups into an ASCII string table before it decodes its whole blob once (a few milliseconds for a million ids). */
const WHOLE_TEXT_AFTER = 256;

/**
 * A checked string table whose strings are decoded one at a time, when asked for: opening a file
 * with a million ids then costs one pass over the offsets and one UTF-8 check of the blob, not a
 * million strings.
 */
export class StringTable {
  /** Byte offsets of the strings in {@link StringTable.blob}: `count + 1` entries, the last = blob length. */
  readonly offsets: Uint32Array;
  /** The UTF-8 bytes of every string, back to back. */
  readonly blob: Uint8Array;
  /** Whether the blob is all ASCII, so that byte offsets are also string indices. */
  private readonly isAscii: boolean;
  /** The whole blob as text, for an ASCII table: decoded once lookups pass {@link WHOLE_TEXT_AFTER}. */
  private text: string | undefined;
  private lookups = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  /**
   * Checks `bytes`, and keeps a copy of them unless `keep` says they stay valid and unchanged.
   * @param bytes - The table bytes (e.g. the IDS section).
   * @param fileOffset - Where `bytes` start in the file, so errors report absolute offsets.
   * @param keep - Use `bytes` in place (when 4-byte aligned) instead of copying them.
   * @param checked - The kernels already checked this table (`assembly/ids.ts`) and found it ASCII or not: skip the checks.
   * @throws QuantumDBError `CORRUPT_FILE` when the count or offsets do not fit the bytes, offsets
   *   decrease, the blob has trailing bytes, or a string is not valid UTF-8.
   */
  constructor(bytes: Uint8Array, fileOffset = 0, keep = false, checked?: { ascii: boolean }) {
    if (bytes.length < 4) throw corrupt(fileOffset, `a string table needs at least 4 bytes, got ${bytes.length}.`);
    const view = dataView(bytes);
    const count = view.getUint32(0, true);
    const blobStart = 4 * (count + 2);
    if (blobStart > bytes.length) throw corrupt(fileOffset, `a string table of ${count} strings needs ${blobStart} bytes of offsets but has ${bytes.length} bytes.`);
    const blobBytes = bytes.length - blobStart;
    const table = keep && bytes.byteOffset % 4 === 0 ? bytes.subarray(4) : bytes.slice(4);
    this.offsets = new Uint32Array(table.buffer, table.byteOffset, count + 1);
    this.blob = table.subarray(4 * (count + 1));
    if (checked) {
      this.isAscii = checked.ascii;
      return;
    }
    const { offsets, blob } = this;
    if (offsets[0] !== 0) throw corrupt(fileOffset + 4, 'the first string table offset is not 0.');
    if (offsets[count] !== blobBytes) throw corrupt(fileOffset + blobStart - 4, `the string table's last offset is ${offsets[count]} but its blob has ${blobBytes} bytes.`);
    for (let i = 1; i <= count; i++) {
      const end = offsets[i] as number;
      const begin = offsets[i - 1] as number;
      if (end < begin || end > blobBytes) throw corrupt(fileOffset + 4 * (i + 1), `string table offset ${i} (${end}) is out of order or past the blob.`);
      // A string may not end inside a multi-byte character (before a UTF-8 continuation byte).
      if (end < blobBytes && ((blob[end] as number) & 0xc0) === 0x80) throw this.badUtf8(i - 1, fileOffset + blobStart + begin);
    }
    let text: string;
    try {
      text = this.decoder.decode(blob);
    } catch {
      const i = this.firstInvalid();
      throw this.badUtf8(i, fileOffset + blobStart + (offsets[i] as number));
    }
    this.isAscii = text.length === blobBytes;
    if (this.isAscii) this.text = text;
  }

  /** Number of strings. */
  get count(): number { return this.offsets.length - 1; }

  /**
   * String `i` (0 ≤ i < count).
   * @example
   * ```ts
   * new StringTable(encodeStringTable(['a', 'ß'])).at(1); // 'ß'
   * ```
   */
  at(i: number): string {
    const begin = this.offsets[i] as number;
    const end = this.offsets[i + 1] as number;
    // Search hits decode a few strings each; once lookups look like a scan, one decode of the whole blob serves them all.
    if (this.text === undefined && (!this.isAscii || ++this.lookups <= WHOLE_TEXT_AFTER)) return this.decoder.decode(this.blob.subarray(begin, end));
    this.text ??= this.decoder.decode(this.blob);
    return this.text.slice(begin, end);
  }

  private firstInvalid(): number {
    for (let i = 0; i < this.count; i++) {
      try {
        this.at(i);
      } catch {
        return i;
      }
    }
    return 0;
  }

  private badUtf8(i: number, offset: number) {
    return corrupt(offset, `string ${i} in the string table is not valid UTF-8.`);
  }
}

/**
 * Decodes and validates a string table written by {@link encodeStringTable}.
 *
 * @param bytes - The table bytes (e.g. the IDS section).
 * @param fileOffset - Where `bytes` start in the file, so errors report absolute offsets.
 * @returns The strings.
 * @throws QuantumDBError `CORRUPT_FILE` when the count or offsets do not fit the bytes, offsets
 *   decrease, the blob has trailing bytes, or a string is not valid UTF-8.
 * @example
 * ```ts
 * const ids = decodeStringTable(file.section(SectionKind.IDS), file.info(SectionKind.IDS)!.offset);
 * ```
 */
export function decodeStringTable(bytes: Uint8Array, fileOffset = 0): string[] {
  const table = new StringTable(bytes, fileOffset);
  return Array.from({ length: table.count }, (_, i) => table.at(i));
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
let f16Table: Float32Array | undefined;

/**
 * Converts a number to IEEE 754 binary16 bits with round-to-nearest-even, as hardware does:
 * overflow goes to ±Infinity, tiny values to subnormals or ±0, NaN stays a quiet NaN.
 *
 * @param value - Any number (first rounded to f32, as the re-rank vectors are f32).
 * @returns The 16-bit pattern.
 * @example
 * ```ts
 * f32ToF16(1); // 0x3c00
 * f32ToF16(65520); // 0x7c00 (Infinity)
 * ```
 */
export function f32ToF16(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant === 0 ? 0 : 0x200 | (mant >>> 13));
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  // Normal results drop 13 mantissa bits; subnormal ones drop 1 - e more (the implicit bit becomes explicit).
  const shift = e > 0 ? 13 : 14 - e;
  if (shift > 24) return sign;
  const m = e > 0 ? (e << 10) | (mant >>> 13) : (mant | 0x800000) >>> shift;
  const rest = (e > 0 ? mant : mant | 0x800000) & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
  return sign | (m + (rest > half || (rest === half && (m & 1) === 1) ? 1 : 0));
}

/**
 * Converts IEEE 754 binary16 bits to a number (exact).
 *
 * @param bits - A 16-bit pattern.
 * @returns Its value, including ±0, subnormals, ±Infinity and NaN.
 * @example
 * ```ts
 * f16ToF32(0x3555); // 0.333251953125
 * ```
 */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/**
 * Encodes f32 values as binary16 bits ({@link f32ToF16} on each).
 *
 * @param values - Values, e.g. count × dim re-rank vectors.
 * @returns The f16 bits, same length.
 * @example
 * ```ts
 * const section = new Uint8Array(encodeF16(vectors).buffer);
 * ```
 */
export function encodeF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16(values[i]!);
  return out;
}

/**
 * Decodes binary16 bits to f32 through a 65,536-entry table built on first use (256 KiB).
 *
 * @param bits - f16 bit patterns.
 * @param out - Optional destination of at least `bits.length` values.
 * @returns `out` (or a new array) holding the values.
 * @example
 * ```ts
 * const v = decodeF16(new Uint16Array(section.buffer, section.byteOffset + slot * dim * 2, dim));
 * ```
 */
export function decodeF16(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  if (f16Table === undefined) {
    f16Table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) f16Table[b] = f16ToF32(b);
  }
  for (let i = 0; i < bits.length; i++) out[i] = f16Table[bits[i]!]!;
  return out;
}

/**
 * Quantizes vectors to int8 with one scale per vector: scale = max|x| / 127, code = round(x / scale).
 * The error per component is at most scale / 2. Output: count records of (f32 LE scale, dim × i8),
 * 4 + dim bytes each, so one vector is one contiguous read.
 *
 * @param vectors - count × dim finite f32 values, row-major.
 * @param dim - Dimension (> 0, divides `vectors.length`).
 * @returns The VECTORS section bytes for the INT8 vector encoding.
 * @throws QuantumDBError `INVALID_ARGUMENT` when `dim` does not fit `vectors`.
 * @example
 * ```ts
 * const section = quantizeInt8(vectors, 768);
 * const v = dequantizeInt8(section, 768, 42);
 * ```
 */
export function quantizeInt8(vectors: Float32Array, dim: number): Uint8Array {
  if (!Number.isInteger(dim) || dim <= 0 || vectors.length % dim !== 0) {
    throw qdbError('INVALID_ARGUMENT', [`dim ${dim} must be a positive integer dividing the ${vectors.length} values.`]);
  }
  const count = vectors.length / dim;
  const out = new Uint8Array(count * (4 + dim));
  const view = dataView(out);
  const codes = new Int8Array(out.buffer);
  for (let v = 0; v < count; v++) {
    let maxAbs = 0;
    for (let j = v * dim; j < (v + 1) * dim; j++) maxAbs = Math.max(maxAbs, Math.abs(vectors[j]!));
    const scale = Math.fround(maxAbs / 127);
    const at = v * (4 + dim);
    view.setFloat32(at, scale, true);
    if (scale === 0) continue;
    for (let j = 0; j < dim; j++) codes[at + 4 + j] = Math.max(-127, Math.min(127, Math.round(vectors[v * dim + j]! / scale)));
  }
  return out;
}

/**
 * Decodes one vector from an int8 VECTORS section ({@link quantizeInt8}).
 *
 * @param section - The section bytes.
 * @param dim - Dimension.
 * @param slot - Which vector.
 * @param out - Optional destination of at least `dim` values.
 * @returns `out` (or a new array) holding scale × code per component.
 * @throws QuantumDBError `CORRUPT_FILE` when the section length is not a whole number of records.
 * @throws QuantumDBError `INVALID_ARGUMENT` when `slot` is out of range.
 * @example
 * ```ts
 * const v = dequantizeInt8(file.section(SectionKind.VECTORS), dim, slot);
 * ```
 */
export function dequantizeInt8(section: Uint8Array, dim: number, slot: number, out = new Float32Array(dim)): Float32Array {
  const record = 4 + dim;
  if (section.length % record !== 0) throw corrupt(0, `an int8 vector section of ${section.length} bytes is not a whole number of ${record}-byte records.`);
  if (!Number.isInteger(slot) || slot < 0 || slot >= section.length / record) {
    throw qdbError('INVALID_ARGUMENT', [`slot ${slot} is outside the ${section.length / record} stored vectors.`]);
  }
  const at = slot * record;
  const scale = dataView(section).getFloat32(at, true);
  const codes = new Int8Array(section.buffer, section.byteOffset + at + 4, dim);
  for (let j = 0; j < dim; j++) out[j] = scale * codes[j]!;
  return out;
}
