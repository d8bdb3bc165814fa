/**
 * @module cli/jsonl-fast
 * The hot loop of `quantumdb compress`: turns a block of complete JSONL lines straight into STREAM1
 * record bytes, without building JS objects.
 * It runs inside the compress worker threads (see `compress-worker.ts`).
 *
 * The result must equal, byte for byte, what `readJsonl` + `writeStream1` / `writeQStream1` produce
 * (docs/format-stream.md). So only the common line shape takes the fast path:
 * ```
 * ws { ws "id" ws : ws "<id without escapes>" ws , ws "vector" ws : ws [ numbers ] ws } ws     (keys in either order)
 * ```
 * Every other line (escapes, other keys, non-numbers, BOM, non-ASCII whitespace …) goes through the
 * reference reader `readJsonl` on that line alone, which gives the same record or the same error.
 *
 * Numbers: the reference parses each JSON number to the nearest binary64 (`JSON.parse`) and then
 * rounds that to binary32. The fast path computes the decimal significand (≤ 40 digits) times a
 * power of ten in binary64 with a bounded number of roundings (relative error < 2^-46), rounds to
 * binary32, and accepts the result only when it is farther than 2^-44 (relative) from the midpoints
 * between that binary32 value and its neighbours — then both roundings must agree. Otherwise (about
 * one number in 2^20, and every number outside the normal binary32 range, with a decimal exponent
 * outside −44…22 or with more digits) it calls `Number()` on the text, exactly what `JSON.parse` does. Clinger's fast path (W. D. Clinger,
 * "How to read floating point numbers accurately", PLDI 1990) skips the check when the significand
 * has at most 15 digits and the power of ten is exact.
 */
// Straight from the format modules, not through ./lib.js: the worker bundle then holds no database code.
import { readJsonl } from '../formats/vector-files.js';
import { widenQuantTables } from '../formats/vectro-quant.js';

/** Thrown when a chunk holds something only the reference path reports correctly (a bad line, a lone surrogate id). */
export class NeedsReferencePath extends Error {
  override readonly name = 'NeedsReferencePath';
}

/** STREAM1 records of one chunk, plus what the QSTREAM1 pass needs to know about them. */
export interface EncodedChunk {
  /** Concatenated STREAM1 records: `u32 len | u64 n | id | u64 d | d × f32`. */
  records: Uint8Array;
  count: number;
  /** Length of the chunk's first vector; -1 for a chunk without records. */
  firstDim: number;
  /** True when some vector's length differs from `firstDim`. */
  ragged: boolean;
  /** Per-dimension min and max over the chunk (only when asked and not ragged). */
  mins?: Float32Array;
  maxs?: Float32Array;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/**
 * Relative error bound of {@link fastNumber}: at most 2·MAX_FAST_DIGITS + 3 roundings of 2^-53 each
 * (accumulating the digits, then at most two scalings), 83 · 2^-53 < 2^-46, with a margin of 4.
 */
const TOLERANCE = 2 ** -44;
/** Longer significands go to `Number()`, which keeps the error bound above valid. */
const MAX_FAST_DIGITS = 40;
const F32_MIN_NORMAL = 2 ** -126;
const F32_SAFE_MAX = 3.4e38;
const SCRATCH = new Float32Array(1);
const SCRATCH_BITS = new Int32Array(SCRATCH.buffer);
/** True on little-endian hosts, where f32 arrays can be copied as bytes into the little-endian records. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');
const isSurrogateFree = (s: string) => !/\p{Cs}/u.test(s);

const enum C {
  TAB = 9, LF = 10, CR = 13, SPACE = 32, QUOTE = 34, PLUS = 43, COMMA = 44, MINUS = 45, DOT = 46,
  ZERO = 48, NINE = 57, COLON = 58, E_UPPER = 69, LBRACKET = 91, BACKSLASH = 92, RBRACKET = 93, E_LOWER = 101,
  LBRACE = 123, RBRACE = 125,
}

/** Rounds |x| (≥ 2^-126, finite) to binary32 when the rounding cannot differ from that of the exact decimal; NaN when unsure. */
function roundChecked(x: number): number {
  const f = Math.fround(x);
  SCRATCH[0] = f;
  const bits = SCRATCH_BITS[0]!;
  SCRATCH_BITS[0] = bits - 1;
  const below = SCRATCH[0]!;
  SCRATCH_BITS[0] = bits + 1;
  const above = SCRATCH[0]!;
  const tolerance = x * TOLERANCE;
  return x - (below + f) / 2 > tolerance && (f + above) / 2 - x > tolerance ? f : NaN;
}

/**
 * The magnitude `m · 10^exp10` rounded as `Math.fround(Number(text))` would, or NaN when the fast
 * computation cannot be sure (the caller then parses the text). `m` holds all `digits` significand
 * digits: exact up to 15, otherwise off by at most 2 roundings per further digit.
 */
function fastNumber(m: number, digits: number, exp10: number): number {
  let x: number;
  if (exp10 >= 0 && exp10 <= 22) x = m * POW10[exp10]!;
  else if (exp10 < 0 && exp10 >= -22) x = m / POW10[-exp10]!;
  else if (exp10 < -22 && exp10 >= -44) x = m / POW10[22]! / POW10[-exp10 - 22]!;
  else return NaN;
  if (!(x >= F32_MIN_NORMAL && x <= F32_SAFE_MAX)) return NaN;
  // Clinger: an exact significand (at most 15 digits) times an exact power of ten is correctly rounded.
  return digits <= 15 && exp10 >= -22 ? Math.fround(x) : roundChecked(x);
}

/** `Math.fround(Number(text))` of the number text in `line[from, to)`: exactly what the reference computes. */
function slowNumber(line: Uint8Array, from: number, to: number): number {
  return Math.fround(Number(latin1.decode(line.subarray(from, to))));
}

/** Growable byte buffer for one chunk's output. */
class ByteBuffer {
  bytes: Uint8Array;
  view: DataView;
  length = 0;
  constructor(capacity: number) {
    this.bytes = new Uint8Array(Math.max(capacity, 1024));
    this.view = new DataView(this.bytes.buffer);
  }
  reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }
  u64(value: number, at: number): void {
    this.view.setUint32(at, value % 2 ** 32, true);
    this.view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
  }
}

/**
 * Parser state for one line of a block. `buf` is the whole block and every line in it ends with
 * `\n` (a sentinel: no loop below matches it, so none runs past its line and no read needs a bounds
 * check). `pos` walks the line; `end` is the index of its `\n` once parsed. Methods return false for "not the fast shape".
 */
class LineParser {
  pos = 0;
  end = 0;
  idStart = -1;
  idEnd = -1;
  dim = 0;
  values = new Float32Array(1024);

  constructor(private readonly buf: Uint8Array) {}

  reset(start: number): void {
    this.pos = start;
    this.end = -1;
    this.dim = 0;
  }

  /** JSON whitespace inside a line (a line holds no `\n`). */
  skipWs(): void {
    const buf = this.buf;
    let p = this.pos;
    for (let c = buf[p]; c === C.SPACE || c === C.TAB || c === C.CR; c = buf[++p]);
    this.pos = p;
  }

  /** The rest of the line is JSON whitespace; then `end` is the index of its `\n`. */
  atEnd(): boolean {
    this.skipWs();
    if (this.buf[this.pos] !== C.LF) return false;
    this.end = this.pos;
    return true;
  }

  expect(byte: number): boolean {
    this.skipWs();
    if (this.buf[this.pos] !== byte) return false;
    this.pos++;
    return true;
  }

  /** A key without escapes: returns 1 for "id", 2 for "vector", 0 otherwise. */
  key(): number {
    if (!this.expect(C.QUOTE)) return 0;
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    while (buf[p] !== C.QUOTE && buf[p] !== C.BACKSLASH && buf[p] !== C.LF) p++;
    if (buf[p] !== C.QUOTE) return 0;
    this.pos = p + 1;
    const len = p - start;
    if (len === 2 && buf[start] === 105 && buf[start + 1] === 100) return 1;
    if (len === 6 && latin1.decode(buf.subarray(start, p)) === 'vector') return 2;
    return 0;
  }

  /** The id string; only its byte range is kept. Non-ASCII must be valid UTF-8 (checked here). */
  idString(): boolean {
    if (!this.expect(C.QUOTE)) return false;
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let ascii = true;
    for (;; p++) {
      const c = buf[p]!;
      if (c === C.QUOTE) break;
      // Also stops at the line's `\n`: a control character ends the fast path.
      if (c === C.BACKSLASH || c < 0x20) return false;
      if (c >= 0x80) ascii = false;
    }
    if (!ascii) {
      try { utf8.decode(buf.subarray(start, p)); } catch { return false; }
    }
    this.idStart = start;
    this.idEnd = p;
    this.pos = p + 1;
    return true;
  }

  /**
   * The vector array. Numbers are parsed inline (this loop is the whole cost of `compress`): the
   * significand digits accumulate in `m`, and only unusual numbers leave this loop (see {@link fastNumber}).
   */
  vector(): boolean {
    if (!this.expect(C.LBRACKET)) return false;
    this.dim = 0;
    if (this.expect(C.RBRACKET)) return true;
    const buf = this.buf;
    let values = this.values;
    let dim = 0;
    let p = this.pos;
    for (;;) {
      let c = buf[p]!;
      while (c === C.SPACE || c === C.TAB || c === C.CR) c = buf[++p]!;
      const start = p;
      const negative = c === C.MINUS;
      if (negative) c = buf[++p]!;
      // Every digit goes into m: exact while there are at most 15, within 2 roundings per digit after.
      let m = 0;
      let digits = 0;
      let exp10 = 0;
      if (c === C.ZERO) {
        c = buf[++p]!;
      } else if (c > C.ZERO && c <= C.NINE) {
        do {
          m = m * 10 + (c - C.ZERO);
          digits++;
          c = buf[++p]!;
        } while (c >= C.ZERO && c <= C.NINE);
      } else {
        return false;
      }
      if (c === C.DOT) {
        c = buf[++p]!;
        if (!(c >= C.ZERO && c <= C.NINE)) return false;
        do {
          m = m * 10 + (c - C.ZERO);
          digits++;
          exp10--;
          c = buf[++p]!;
        } while (c >= C.ZERO && c <= C.NINE);
      }
      if (c === C.E_LOWER || c === C.E_UPPER) {
        c = buf[++p]!;
        const expNegative = c === C.MINUS;
        if (c === C.MINUS || c === C.PLUS) c = buf[++p]!;
        if (!(c >= C.ZERO && c <= C.NINE)) return false;
        let e = 0;
        do {
          if (e < 100_000) e = e * 10 + (c - C.ZERO);
          c = buf[++p]!;
        } while (c >= C.ZERO && c <= C.NINE);
        exp10 += expNegative ? -e : e;
      }
      let v: number;
      if (m === 0) {
        v = 0;
      } else if (digits <= 15 && exp10 <= 0 && exp10 >= -22) {
        // Clinger's fast path: an exact significand over an exact power of ten rounds once, correctly.
        v = Math.fround(m / POW10[-exp10]!);
        if (v < F32_MIN_NORMAL) v = slowNumber(buf, start + (negative ? 1 : 0), p);
      } else {
        v = digits <= MAX_FAST_DIGITS ? fastNumber(m, digits, exp10) : NaN;
        if (Number.isNaN(v)) v = slowNumber(buf, start + (negative ? 1 : 0), p);
      }
      if (dim === values.length) {
        const grown = new Float32Array(values.length * 2);
        grown.set(values);
        values = this.values = grown;
      }
      values[dim++] = negative ? -v : v;
      while (c === C.SPACE || c === C.TAB || c === C.CR) c = buf[++p]!;
      p++;
      if (c === C.RBRACKET) break;
      if (c !== C.COMMA) return false;
    }
    this.pos = p;
    this.dim = dim;
    return true;
  }

  /** Parses the whole line; false when it is not the fast shape. `dim` and `values` hold the vector. */
  parse(): boolean {
    if (!this.expect(C.LBRACE)) return false;
    let seen = 0;
    for (let field = 0; field < 2; field++) {
      if (field === 1 && !this.expect(C.COMMA)) return false;
      const k = this.key();
      if (k === 0 || (seen & k) !== 0 || !this.expect(C.COLON)) return false;
      seen |= k;
      if (!(k === 1 ? this.idString() : this.vector())) return false;
    }
    return this.expect(C.RBRACE) && this.atEnd();
  }
}

/** True when the line holds only characters `String.prototype.trim` removes and that are ASCII. */
function isAsciiBlank(line: Uint8Array): boolean {
  for (const c of line) if (!(c === C.SPACE || (c >= C.TAB && c <= C.CR))) return false;
  return true;
}

function appendRecord(out: ByteBuffer, idBytes: Uint8Array, values: Float32Array, dim: number): void {
  const len = 16 + idBytes.length + 4 * dim;
  out.reserve(4 + len);
  const at = out.length;
  out.view.setUint32(at, len, true);
  out.u64(idBytes.length, at + 4);
  out.bytes.set(idBytes, at + 12);
  out.u64(dim, at + 12 + idBytes.length);
  const base = at + 20 + idBytes.length;
  if (HOST_IS_LITTLE_ENDIAN) out.bytes.set(new Uint8Array(values.buffer, values.byteOffset, 4 * dim), base);
  else for (let i = 0; i < dim; i++) out.view.setFloat32(base + 4 * i, values[i]!, true);
  out.length = at + 4 + len;
}

const encoder = new TextEncoder();

/**
 * Encodes complete JSONL lines as STREAM1 records, as `writeStream1(readJsonl(…))` would.
 * @param bytes whole lines (the last may lack its `\n`).
 * @param wantTables also compute per-dimension min/max (QSTREAM1 pass 1).
 * @returns the records and what the caller must check across chunks.
 * @throws NeedsReferencePath for a line the reference would reject or an id it would refuse.
 * @example
 * ```ts
 * const { records, count } = await encodeJsonlChunk(new TextEncoder().encode('{"id":"a","vector":[1]}\n'), false);
 * ```
 */
export async function encodeJsonlChunk(input: Uint8Array, wantTables: boolean): Promise<EncodedChunk> {
  // Every line must end with the `\n` sentinel; only a file's last line can lack it.
  let bytes = input;
  if (bytes.length > 0 && bytes[bytes.length - 1] !== C.LF) {
    bytes = new Uint8Array(input.length + 1);
    bytes.set(input);
    bytes[input.length] = C.LF;
  }
  // Binary records take a third to a fifth of the JSON text (9 to 17 digits per value).
  const out = new ByteBuffer((bytes.length >>> 1) + 4096);
  const parser = new LineParser(bytes);
  let count = 0;
  let firstDim = -1;
  let ragged = false;
  let mins: Float32Array | undefined;
  let maxs: Float32Array | undefined;
  const add = (idBytes: Uint8Array, values: Float32Array, dim: number) => {
    if (firstDim < 0) {
      firstDim = dim;
      if (wantTables) [mins, maxs] = [new Float32Array(dim).fill(Infinity), new Float32Array(dim).fill(-Infinity)];
    } else if (dim !== firstDim) {
      ragged = true;
    }
    if (mins && maxs && !ragged) widenQuantTables(mins, maxs, dim === values.length ? values : values.subarray(0, dim));
    appendRecord(out, idBytes, values, dim);
    count++;
  };
  for (let start = 0; start < bytes.length;) {
    // A parsed line tells where it ends, so only the other lines need a search for their `\n`.
    parser.reset(start);
    let end: number;
    if (parser.parse()) {
      end = parser.end;
      add(bytes.subarray(parser.idStart, parser.idEnd), parser.values, parser.dim);
    } else {
      end = bytes.indexOf(C.LF, start);
      const line = bytes.subarray(start, end);
      if (!isAsciiBlank(line)) await referenceLine(line, add);
    }
    start = end + 1;
  }
  const result: EncodedChunk = { records: out.bytes.subarray(0, out.length), count, firstDim, ragged };
  if (mins && maxs && !ragged) Object.assign(result, { mins, maxs });
  return result;
}

async function referenceLine(line: Uint8Array, add: (id: Uint8Array, v: Float32Array, dim: number) => void): Promise<void> {
  try {
    for await (const { id, vector } of readJsonl(line.slice())) {
      if (!isSurrogateFree(id)) throw new NeedsReferencePath('an id holds a lone surrogate');
      add(encoder.encode(id), vector, vector.length);
    }
  } catch (e) {
    throw e instanceof NeedsReferencePath ? e : new NeedsReferencePath('a line needs the reference parser', { cause: e });
  }
}
