/**
 * @module formats/vectro-quant
 * The arithmetic and the bincode plumbing behind the Vectro+ stream formats: per-dimension scalar
 * quantization (QSTREAM1), product-quantization encode/decode with a given codebook (PQSTREAM1),
 * and bounds-checked little-endian decoding of bincode 1.x values.
 *
 * Bit-exactness: Vectro+ computes in binary32, so every step below is rounded with `Math.fround`.
 * Computing one +, -, *, / or sqrt in binary64 and rounding to binary32 gives the correctly rounded
 * binary32 result (binary64 has more than 2·24+2 significand bits), so this matches Rust's `f32`
 * operations exactly, as long as no step is skipped. Reference: `vectro_lib/src/lib.rs`
 * (`QuantTable`) and `vectro_lib/src/pq.rs` in wesleyscholl/vectro-plus; rules restated in docs/format-stream.md.
 */

import { qdbError } from '../errors.js';
import { corruptFile, shortRead } from './atomic-file.js';

const f32 = Math.fround;

/** Norms below this (as binary32) leave a vector unnormalized before PQ encoding, as in Vectro+. */
const PQ_NORM_EPSILON = f32(1e-12);

/** Largest value a bincode u64 may have here; anything larger cannot be a length or count of this file. */
const MAX_U64 = Number.MAX_SAFE_INTEGER;

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One QSTREAM1 quantization table: the range of one dimension over the whole input. */
export interface QuantTable {
  /** Smallest value of the dimension (binary32). */
  min: number;
  /** Largest value of the dimension (binary32); `max <= min` codes every value as 0. */
  max: number;
}

/**
 * A Vectro+ product quantizer: `dim = m * subDim`; `codebooks[s][c]` is centroid `c` of subspace `s`,
 * a binary32 vector of length `dim / m`. `k` is the requested centroid count; a subspace may hold fewer.
 */
export interface ProductQuantizer {
  /** Subspaces: bytes per code. */
  m: number;
  /** Centroids per subspace asked for at training (at most 256). */
  k: number;
  /** Vector length, a multiple of `m`. */
  dim: number;
  /** `codebooks[s][c]`: centroid `c` of subspace `s`, `dim / m` binary32 values. */
  codebooks: Float32Array[][];
}

/** A product quantizer as a caller may supply it: centroids may be any array of numbers (rounded to binary32). */
export interface ProductQuantizerInput {
  /** Subspaces: bytes per code (≥ 1). */
  m: number;
  /** Centroids per subspace asked for (≥ 1); written to the file as is. */
  k: number;
  /** Vector length, a multiple of `m`. */
  dim: number;
  /** `codebooks[s][c]`: centroid `c` of subspace `s`; 1 to 256 centroids of `dim / m` numbers each. */
  codebooks: ReadonlyArray<ReadonlyArray<ArrayLike<number>>>;
}

/**
 * Checks a caller's quantizer and copies it into binary32 form.
 *
 * @param pq - `m >= 1` subspaces, `dim` divisible by `m`, 1..256 centroids per subspace, each of length `dim / m`.
 * @returns The same quantizer with `Float32Array` centroids.
 * @throws QuantumDBError `INVALID_ARGUMENT` naming the first field that does not fit.
 * @example
 * ```ts
 * const pq = toProductQuantizer({ m: 1, k: 2, dim: 2, codebooks: [[[1, 0], [0, 1]]] });
 * ```
 */
export function toProductQuantizer(pq: ProductQuantizerInput): ProductQuantizer {
  const invalid = (what: string) => qdbError('INVALID_ARGUMENT', [`product quantizer: ${what}; pass { m, k, dim, codebooks } with codebooks[s][c] of length dim / m`]);
  const { m, k, dim, codebooks } = pq ?? ({} as ProductQuantizerInput);
  if (![m, k, dim].every((x) => Number.isSafeInteger(x) && x >= 0) || m < 1 || k < 1) throw invalid(`m, k and dim must be integers with m, k >= 1 (got m=${m}, k=${k}, dim=${dim})`);
  if (dim % m !== 0) throw invalid(`dim ${dim} is not divisible by m ${m}`);
  if (!Array.isArray(codebooks) || codebooks.length !== m) throw invalid(`codebooks must hold m = ${m} subspaces`);
  const subDim = dim / m;
  return {
    m, k, dim,
    codebooks: codebooks.map((centroids, s) => {
      if (!Array.isArray(centroids) || centroids.length < 1 || centroids.length > 256) throw invalid(`subspace ${s} must hold 1 to 256 centroids`);
      return centroids.map((c, i) => {
        if (c?.length !== subDim || !Array.prototype.every.call(c, (x) => typeof x === 'number')) throw invalid(`centroid ${i} of subspace ${s} must be ${subDim} numbers`);
        return Float32Array.from(c);
      });
    }),
  };
}

/**
 * Quantizes one value to a u8 code with the table `[min, max]`, exactly as Vectro+ does.
 *
 * @param min - Table minimum.
 * @param max - Table maximum.
 * @param value - The binary32 value.
 * @returns The code 0..255 (0 when `max <= min` or the value is NaN).
 * @example
 * ```ts
 * quantizeValue(0, 1, 0.5); // 128: 127.5 rounds half away from zero
 * ```
 */
export function quantizeValue(min: number, max: number, value: number): number {
  if (max <= min) return 0;
  const t = f32(f32(value - min) / f32(max - min));
  // Rust's clamp passes NaN through; the saturating `as u8` then maps NaN to 0.
  const scaled = f32((t < 0 ? 0 : t > 1 ? 1 : t) * 255);
  return scaled >= 0 ? Math.floor(scaled + 0.5) : 0;
}

/**
 * Maps a u8 code back to a binary32 value with the table `[min, max]`, exactly as Vectro+ does.
 *
 * @param min - Table minimum.
 * @param max - Table maximum.
 * @param code - The code 0..255.
 * @returns `min` when `max <= min`, else `min + (code/255)·(max−min)` rounded to binary32 after each step.
 * @example
 * ```ts
 * dequantizeValue(0, 1, 255); // 1
 * ```
 */
export function dequantizeValue(min: number, max: number, code: number): number {
  if (max <= min) return min;
  return f32(min + f32(f32(code / 255) * f32(max - min)));
}

/**
 * Widens per-dimension tables with one vector. Strict `<` and `>` mean the first of equal values
 * wins, which decides whether a table holds `0` or `-0`.
 *
 * @param mins - Minimums, length `dim`; start at `+Infinity`.
 * @param maxs - Maximums, length `dim`; start at `-Infinity`.
 * @param vector - A binary32 vector of length `dim`.
 * @example
 * ```ts
 * const mins = new Float32Array([Infinity]), maxs = new Float32Array([-Infinity]);
 * widenQuantTables(mins, maxs, new Float32Array([2]));
 * ```
 */
export function widenQuantTables(mins: Float32Array, maxs: Float32Array, vector: Float32Array): void {
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i]!;
    if (x < mins[i]!) mins[i] = x;
    if (x > maxs[i]!) maxs[i] = x;
  }
}

/** Left-to-right binary32 sum of squared differences between `a[start..]` and `c`. */
function squaredDistance(a: Float32Array, start: number, c: Float32Array): number {
  let sum = 0;
  for (let j = 0; j < c.length; j++) {
    const d = f32(a[start + j]! - c[j]!);
    sum = f32(sum + f32(d * d));
  }
  return sum;
}

/**
 * Encodes one vector with a given product quantizer by the Vectro+ rule: divide by the binary32
 * L2 norm unless it is below `f32(1e-12)`, then pick per subspace the centroid with the smallest
 * left-to-right binary32 squared distance; ties keep the lowest index and a NaN distance never wins.
 *
 * @param pq - A validated quantizer.
 * @param vector - Binary32 vector of length `pq.dim`.
 * @returns `m` code bytes.
 * @example
 * ```ts
 * const code = pqEncode(pq, new Float32Array(pq.dim).fill(1));
 * ```
 */
export function pqEncode(pq: ProductQuantizer, vector: Float32Array): Uint8Array {
  let sumSquares = 0;
  for (const x of vector) sumSquares = f32(sumSquares + f32(x * x));
  const norm = f32(Math.sqrt(sumSquares));
  // Storing into a Float32Array rounds each quotient to binary32.
  const unit = norm < PQ_NORM_EPSILON ? vector : vector.map((x) => x / norm);
  const subDim = pq.dim / pq.m;
  const code = new Uint8Array(pq.m);
  pq.codebooks.forEach((centroids, s) => {
    let best = 0;
    let bestDistance = NaN;
    centroids.forEach((centroid, c) => {
      const d = squaredDistance(unit, s * subDim, centroid);
      // Rust's min_by keeps the current best unless it compares strictly greater; NaN compares as equal.
      if (c === 0 || bestDistance > d) {
        best = c;
        bestDistance = d;
      }
    });
    code[s] = best;
  });
  return code;
}

/**
 * Decodes a PQ code: the concatenation of the chosen centroids (not unit-norm).
 *
 * @param pq - The quantizer.
 * @param code - `m` bytes, each below its subspace's centroid count.
 * @returns A new binary32 vector of length `pq.dim`.
 * @example
 * ```ts
 * const approx = pqDecode(pq, pqEncode(pq, v));
 * ```
 */
export function pqDecode(pq: ProductQuantizer, code: Uint8Array): Float32Array {
  const out = new Float32Array(pq.dim);
  const subDim = pq.dim / pq.m;
  pq.codebooks.forEach((centroids, s) => out.set(centroids[code[s]!]!, s * subDim));
  return out;
}

/**
 * Parses a bincode `ProductQuantizer`, insisting on the shape Vectro+'s decoder needs to not panic.
 * @throws QuantumDBError `CORRUPT_FILE` with the offset of the first field that does not fit.
 * @internal
 */
export function parseProductQuantizer(blob: BinCursor): ProductQuantizer {
  const mAt = blob.offset;
  const [m, k, dim] = [blob.u64('m'), blob.u64('k'), blob.u64('dim')];
  const subspaces = blob.count('codebook list', 8);
  if (m < 1 || subspaces !== m) throw corruptFile(mAt, `m is ${m} but the codebook holds ${subspaces} subspaces`);
  if (dim % m !== 0) throw corruptFile(mAt + 16, `dim ${dim} is not divisible by m ${m}`);
  const codebooks: Float32Array[][] = [];
  for (let s = 0; s < m; s++) {
    const centroids: Float32Array[] = [];
    for (let c = blob.count(`subspace ${s} centroid list`, 8); c > 0; c--) {
      const lenAt = blob.offset;
      const len = blob.count('centroid', 4);
      if (len !== dim / m) throw corruptFile(lenAt, `a centroid of subspace ${s} has ${len} values, not dim / m = ${dim / m}`);
      centroids.push(new Float32Array(fromLE32(blob.take(len * 4, 'centroid'))));
    }
    codebooks.push(centroids);
  }
  return { m, k, dim, codebooks };
}

/**
 * Serializes a quantizer as bincode: `u64 m | u64 k | u64 dim | u64 m | m × (u64 n | n × (u64 dim/m | dim/m × f32))`.
 * @internal
 */
export function encodeProductQuantizer(pq: ProductQuantizer): Uint8Array {
  const subDim = pq.dim / pq.m;
  const size = 32 + pq.codebooks.reduce((sum, centroids) => sum + 8 + centroids.length * (8 + 4 * subDim), 0);
  const w = new BinWriter(size).u64(pq.m).u64(pq.k).u64(pq.dim).u64(pq.m);
  for (const centroids of pq.codebooks) {
    w.u64(centroids.length);
    for (const c of centroids) w.vec(c.length, toLE32(c));
  }
  return w.bytes;
}

/** Copies little-endian 32-bit words into a fresh buffer in host order, keeping NaN payloads bit for bit. @internal */
export function fromLE32(bytes: Uint8Array): ArrayBuffer {
  const copy = bytes.slice();
  if (!HOST_IS_LITTLE_ENDIAN) swapWords(copy);
  return copy.buffer;
}

/** Little-endian bytes of 32-bit values (a view, no copy, on little-endian hosts). @internal */
export function toLE32(values: Float32Array | Int32Array): Uint8Array {
  const view = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) return view;
  const copy = view.slice();
  swapWords(copy);
  return copy;
}

function swapWords(bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Bounds-checked reader of bincode 1.x values (fixint, little-endian) inside one byte range of a file.
 * Every error is `CORRUPT_FILE` carrying the absolute offset of the field that was bad.
 * @internal
 */
export class BinCursor {
  private pos = 0;
  private readonly view: DataView;

  /** @param base - Absolute file offset of `bytes[0]`. */
  constructor(private readonly bytes: Uint8Array, private readonly base: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Absolute offset of the next byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Consumes `n` bytes, returning a view. */
  take(n: number, what: string): Uint8Array {
    if (n > this.remaining) throw shortRead(this.offset, what, n, this.remaining);
    this.pos += n;
    return this.bytes.subarray(this.pos - n, this.pos);
  }

  u32(what: string): number {
    this.take(4, what);
    return this.view.getUint32(this.pos - 4, true);
  }

  u64(what: string): number {
    this.take(8, what);
    const value = this.view.getUint32(this.pos - 4, true) * 2 ** 32 + this.view.getUint32(this.pos - 8, true);
    if (value > MAX_U64) throw corruptFile(this.offset - 8, `${what} is ${value}, which no valid file can hold`);
    return value;
  }

  f32(what: string): number {
    this.take(4, what);
    return this.view.getFloat32(this.pos - 4, true);
  }

  /**
   * Reads a bincode `Vec`/`String` length and checks that `count` items of at least `itemBytes` each
   * fit in what remains, so nothing is allocated from an untrusted count.
   */
  count(what: string, itemBytes: number): number {
    const at = this.offset;
    const n = this.u64(`${what} length`);
    if (n * itemBytes > this.remaining) {
      throw corruptFile(at, `${what} claims ${n} items (${n * itemBytes} bytes) but only ${this.remaining} bytes remain`);
    }
    return n;
  }

  /** Reads a bincode `String`, rejecting invalid UTF-8 (including encoded surrogates) as Rust does. */
  string(what: string): string {
    const at = this.offset + 8;
    const bytes = this.take(this.count(what, 1), what);
    try {
      return utf8Decoder.decode(bytes);
    } catch (e) {
      throw corruptFile(at, `${what} is not valid UTF-8`, e);
    }
  }
}

/**
 * Sequential writer of bincode 1.x values into a buffer sized up front.
 * @internal
 */
export class BinWriter {
  readonly bytes: Uint8Array;
  private pos = 0;
  private readonly view: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u32(value: number): this {
    this.view.setUint32(this.pos, value, true);
    this.pos += 4;
    return this;
  }

  u64(value: number): this {
    this.view.setUint32(this.pos, value % 2 ** 32, true);
    this.view.setUint32(this.pos + 4, Math.floor(value / 2 ** 32), true);
    this.pos += 8;
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.bytes.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** A bincode `Vec<T>`/`String`: u64 item count, then the items' bytes. */
  vec(count: number, itemBytes: Uint8Array): this {
    return this.u64(count).raw(itemBytes);
  }
}
