/**
 * @module formats/vector-files
 * Streaming readers for the common vector files (`.fvecs`, `.ivecs`, `.npy`, JSONL), one
 * {@link readVectors} entry point that picks the reader, and writers for `.fvecs`/`.ivecs`
 * (ground-truth files). Every reader holds one row at a time and checks each length against the
 * bytes left before reading it.
 *
 * ```
 * .fvecs / .ivecs   repeat: i32 d (> 0, same for every row) | d × f32 (or d × i32)      little-endian
 * .npy              "\x93NUMPY" | u8 major | u8 minor | u16 (v1) or u32 (v2, v3) header_len
 *                   | header: Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (n, d)}
 *                   | n × d × f32 little-endian, row-major
 * JSONL             one {"id": string, "vector": [numbers]} object per line (UTF-8)
 * ```
 * Formats: the TEXMEX corpus (Jégou et al., http://corpus-texmex.irisa.fr/) for `.fvecs`/`.ivecs`;
 * the NumPy `.npy` format specification (NEP 1) for `.npy`.
 */

import { qdbError, type QuantumDBError } from '../errors.js';
import { ByteSource, corruptFile, withSource, writeFileAtomic } from './atomic-file.js';
import { BinWriter, fromLE32, toLE32 } from './vectro-quant.js';
import { parseVectroStream, type AnyIterable, type StreamReadOptions, type VectorRecord } from './vectro-stream.js';

/** Vector file formats QuantumDB reads (`QuantumDB.fromStream`). `vectro` covers STREAM1, QSTREAM1 and PQSTREAM1. */
export type VectorFileFormat = 'fvecs' | 'npy' | 'jsonl' | 'vectro';

/** Options for the `.fvecs`/`.ivecs`/`.npy`/JSONL readers. */
export interface VectorFileReadOptions {
  /** Read-buffer size for file paths, in bytes. Default 256 KiB. */
  chunkBytes?: number;
}

/** Options for {@link readVectors}. */
export interface ReadVectorsOptions extends StreamReadOptions {
  /** Skip detection and read this format. */
  format?: VectorFileFormat;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const VECTRO_MAGIC = new TextEncoder().encode('VECTRO+');
const INT32_MAX = 0x7fff_ffff;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** The error for `.fvecs`/`.ivecs` row `row` (at `at`) declaring dimension `d` where row 0 has `dim` (0 for row 0 itself). @internal */
export function badVecsDimension(at: number, row: number, d: number, dim: number): QuantumDBError {
  return corruptFile(at, `row ${row} declares dimension ${d}${dim > 0 ? ` but row 0 has ${dim}` : ''}; every row must start with the same positive int32 dimension`);
}

/** Names the dimension field of row `row`, or with `d` its values, for truncation errors. @internal */
export function vecsField(row: number, d?: number): string {
  return d === undefined ? `row ${row} dimension` : `row ${row} (${d} values)`;
}

/** Shared row loop of `.fvecs` and `.ivecs`: every row repeats the same positive dimension. */
async function* parseVecs<T>(src: ByteSource, make: (words: ArrayBuffer) => T): AsyncGenerator<T> {
  let dim = 0;
  for (let row = 0; src.remaining > 0; row++) {
    const at = src.position;
    const d = new DataView(fromLE32(await src.take(4, vecsField(row)))).getInt32(0, true);
    if (d <= 0 || (dim > 0 && d !== dim)) throw badVecsDimension(at, row, d, dim);
    dim = d;
    yield make(fromLE32(await src.take(4 * d, vecsField(row, d), at)));
  }
}

/**
 * Reads an `.fvecs` file row by row.
 *
 * @param input - A file path (read in chunks) or the file's bytes.
 * @param options - `chunkBytes`.
 * @returns An async generator of `Float32Array` rows.
 * @throws QuantumDBError `CORRUPT_FILE` with `details.offset` for a non-positive or changing dimension, or a truncated row.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be opened or read.
 * @example
 * ```ts
 * for await (const row of readFvecs('sift_base.fvecs')) console.log(row.length);
 * ```
 */
export function readFvecs(input: string | Uint8Array, options: VectorFileReadOptions = {}): AsyncGenerator<Float32Array> {
  return withSource(input, options.chunkBytes, (src) => parseVecs(src, (words) => new Float32Array(words)));
}

/**
 * Reads an `.ivecs` file (for example ground-truth neighbour lists) row by row.
 *
 * @param input - A file path (read in chunks) or the file's bytes.
 * @param options - `chunkBytes`.
 * @returns An async generator of `Int32Array` rows.
 * @throws QuantumDBError `CORRUPT_FILE` with `details.offset` for a non-positive or changing dimension, or a truncated row.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be opened or read.
 * @example
 * ```ts
 * for await (const neighbours of readIvecs('sift_groundtruth.ivecs')) console.log(neighbours[0]);
 * ```
 */
export function readIvecs(input: string | Uint8Array, options: VectorFileReadOptions = {}): AsyncGenerator<Int32Array> {
  return withSource(input, options.chunkBytes, (src) => parseVecs(src, (words) => new Int32Array(words)));
}

/** The three header keys QuantumDB needs; anything else in the dict is ignored. */
function parseNpyHeader(text: string, at: number): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  const shape = shapeText?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!text.trim().startsWith('{') || fortran === undefined || shape === undefined || !shape.every((s) => /^\d+L?$/.test(s))) {
    throw corruptFile(at, 'the .npy header is not a dict with fortran_order and an integer shape tuple');
  }
  if (descr === undefined) {
    throw qdbError('UNSUPPORTED_VERSION', [`this .npy file holds a structured dtype; QuantumDB reads float32 only, so save it with arr.astype('<f4')`], { offset: at });
  }
  return { descr, fortran: fortran === 'True', shape: shape.map((s) => Number.parseInt(s, 10)) };
}

/**
 * Reads an `.npy` preamble and header and checks that the data that follows is exactly the 2-D
 * float32 array it declares.
 * @returns The shape `(rows, cols)`; the source is left at the first value.
 * @internal
 */
export async function readNpyHeader(src: ByteSource): Promise<{ rows: number; cols: number }> {
  const preamble = await src.take(8, '.npy preamble');
  if (!NPY_MAGIC.every((b, i) => preamble[i] === b)) throw corruptFile(0, 'the file does not start with the .npy magic "\\x93NUMPY"');
  const major = preamble[6]!;
  if (major < 1 || major > 3) {
    throw qdbError('UNSUPPORTED_VERSION', [`.npy format version ${major}.${preamble[7]} is not supported (1.0 to 3.0 are); save the array again with numpy.save`], { offset: 6 });
  }
  const lenBytes = await src.take(major === 1 ? 2 : 4, '.npy header length');
  const headerLen = major === 1 ? lenBytes[0]! | (lenBytes[1]! << 8) : new DataView(fromLE32(lenBytes)).getUint32(0, true);
  const headerAt = src.position;
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(await src.take(headerLen, '.npy header', 8));
  const { descr, fortran, shape } = parseNpyHeader(text, headerAt);
  const unsupported = descr !== '<f4' ? `dtype '${descr}'` : fortran ? 'Fortran (column-major) order' : shape.length !== 2 ? `a ${shape.length}-D shape` : shape[1] === 0 ? 'zero-width rows' : null;
  if (unsupported !== null) {
    throw qdbError('UNSUPPORTED_VERSION', [`this .npy file has ${unsupported}; QuantumDB reads 2-D little-endian float32 in C order, so save np.ascontiguousarray(arr, dtype='<f4') with shape (n, d)`], { offset: headerAt, descr, fortranOrder: fortran, shape });
  }
  const [rows, cols] = shape as [number, number];
  const dataAt = src.position;
  if (rows * cols * 4 !== src.remaining) {
    throw corruptFile(dataAt, `shape (${rows}, ${cols}) needs ${rows * cols * 4} bytes of float32 data but ${src.remaining} follow the header`);
  }
  return { rows, cols };
}

async function* parseNpy(src: ByteSource): AsyncGenerator<Float32Array> {
  const { rows, cols } = await readNpyHeader(src);
  for (let r = 0; r < rows; r++) yield new Float32Array(fromLE32(await src.take(4 * cols, `row ${r}`)));
}

/**
 * Reads a 2-D little-endian float32 C-order `.npy` file row by row.
 *
 * @param input - A file path (read in chunks) or the file's bytes.
 * @param options - `chunkBytes`.
 * @returns An async generator of `Float32Array` rows.
 * @throws QuantumDBError `CORRUPT_FILE` with `details.offset` for a bad magic, an unreadable header or a data size that does not match the shape.
 * @throws QuantumDBError `UNSUPPORTED_VERSION` with `details.offset` for another dtype, Fortran order, a shape that is not 2-D, or format version > 3.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be opened or read.
 * @example
 * ```ts
 * for await (const row of readNpy('embeddings.npy')) console.log(row.length);
 * ```
 */
export function readNpy(input: string | Uint8Array, options: VectorFileReadOptions = {}): AsyncGenerator<Float32Array> {
  return withSource(input, options.chunkBytes, parseNpy);
}

async function* parseJsonl(src: ByteSource): AsyncGenerator<VectorRecord> {
  for (let lineNo = 1, line = await src.readLine(); line !== null; lineNo++, line = await src.readLine()) {
    let value: unknown;
    try {
      const text = utf8Decoder.decode(line.bytes).trim();
      if (text === '') continue;
      value = JSON.parse(text);
    } catch (e) {
      throw corruptFile(line.offset, `line ${lineNo} is not valid UTF-8 JSON`, e);
    }
    const { id, vector } = (typeof value === 'object' && value !== null ? value : {}) as { id?: unknown; vector?: unknown };
    if (typeof id !== 'string' || !Array.isArray(vector)) {
      throw corruptFile(line.offset, `line ${lineNo} is not an object with a string "id" and an array "vector"`);
    }
    // As in Vectro+: JSON numbers are binary64 first, then rounded to binary32; other elements are dropped.
    yield { id, vector: Float32Array.from(vector.filter((x): x is number => typeof x === 'number')) };
  }
}

/**
 * Reads JSONL records `{"id": …, "vector": […]}` line by line. Blank lines, CRLF and surrounding
 * whitespace are ignored, other keys are ignored, non-numbers inside `vector` are dropped, and each
 * number is parsed as binary64 and then rounded to binary32 (the Vectro+ rules).
 *
 * @param input - A file path (read in chunks) or the file's bytes.
 * @param options - `chunkBytes`.
 * @returns An async generator of `{ id, vector }`.
 * @throws QuantumDBError `CORRUPT_FILE` with `details.offset` (start of the line) for invalid UTF-8 or JSON, or a line without a string `id` and an array `vector`.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be opened or read.
 * @example
 * ```ts
 * for await (const { id, vector } of readJsonl('embeddings.jsonl')) console.log(id, vector);
 * ```
 */
export function readJsonl(input: string | Uint8Array, options: VectorFileReadOptions = {}): AsyncGenerator<VectorRecord> {
  return withSource(input, options.chunkBytes, parseJsonl);
}

/** Picks a format: magic first, then the file extension, then a leading `{`. @internal */
export async function detectFormat(src: ByteSource, name: string): Promise<VectorFileFormat> {
  const head = await src.peek(64);
  if (NPY_MAGIC.every((b, i) => head[i] === b)) return 'npy';
  if (VECTRO_MAGIC.every((b, i) => head[i] === b)) return 'vectro';
  const extension = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  if (extension === 'fvecs' || extension === 'npy') return extension;
  if (extension === 'jsonl' || extension === 'ndjson' || extension === 'json') return 'jsonl';
  if (extension === 'ivecs') throw qdbError('INVALID_ARGUMENT', ['.ivecs files hold integers (neighbour ids), not vectors; read them with readIvecs']);
  if (head.find((b) => b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) === 0x7b) return 'jsonl';
  throw qdbError('INVALID_ARGUMENT', [`cannot tell the format of ${name || 'these bytes'}; pass { format: 'fvecs' | 'npy' | 'jsonl' | 'vectro' }`]);
}

/**
 * Reads `{ id, vector }` records from any supported vector file. The format is `options.format`, or
 * else detected from the magic (`.npy`, Vectro+), the extension (`.fvecs`, `.npy`, `.jsonl`,
 * `.ndjson`, `.json`) or a leading `{` (JSONL). Rows of `.fvecs`/`.npy` get their 0-based index as id.
 *
 * @param input - A file path (read in chunks) or the file's bytes.
 * @param options - `format`, plus `strict` and `chunkBytes` as for the Vectro+ readers.
 * @returns An async generator of `{ id, vector }` in file order.
 * @throws QuantumDBError `INVALID_ARGUMENT` when the format cannot be told (or is `.ivecs`).
 * @throws QuantumDBError `CORRUPT_FILE` / `UNSUPPORTED_VERSION` as the chosen reader throws them.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be opened or read.
 * @example
 * ```ts
 * for await (const { id, vector } of readVectors('base.fvecs')) db.add(id, vector);
 * ```
 */
export function readVectors(input: string | Uint8Array, options: ReadVectorsOptions = {}): AsyncGenerator<VectorRecord> {
  return withSource(input, options.chunkBytes, async function* (src) {
    const format = options.format ?? (await detectFormat(src, typeof input === 'string' ? input : ''));
    if (format === 'vectro') return yield* parseVectroStream(src, options.strict ?? true);
    if (format === 'jsonl') return yield* parseJsonl(src);
    let row = 0;
    for await (const vector of format === 'npy' ? parseNpy(src) : parseVecs(src, (w) => new Float32Array(w))) yield { id: String(row++), vector };
  });
}

const VALUE_CHECK = {
  fvecs: (x: unknown) => typeof x === 'number',
  ivecs: (x: unknown) => Number.isInteger(x) && (x as number) >= -INT32_MAX - 1 && (x as number) <= INT32_MAX,
};

/** Shared writer of `.fvecs`/`.ivecs`: each row as `i32 d | d × 4 bytes`, all rows of one length. */
async function writeVecs(path: string, rows: AnyIterable<ArrayLike<number>>, kind: 'fvecs' | 'ivecs'): Promise<number> {
  let count = 0;
  let dim = 0;
  await writeFileAtomic(path, async (sink) => {
    for await (const row of rows) {
      const length = (row as ArrayLike<number> | undefined)?.length;
      if (typeof length !== 'number' || length < 1 || length > INT32_MAX / 4 || (dim > 0 && length !== dim) || !Array.prototype.every.call(row, VALUE_CHECK[kind])) {
        throw qdbError('INVALID_ARGUMENT', [`row ${count} must be ${dim > 0 ? dim : 'a non-empty array of'} ${kind === 'fvecs' ? 'numbers' : 'int32 integers'}${dim > 0 ? ' (the length of row 0)' : ''}`], { index: count });
      }
      dim = length;
      const values = kind === 'fvecs' ? Float32Array.from(row) : Int32Array.from(row);
      await sink.write(new BinWriter(4 + 4 * dim).u32(dim).raw(toLE32(values)).bytes);
      count++;
    }
  });
  return count;
}

/**
 * Writes an `.fvecs` file (values rounded to binary32), replacing `path` atomically.
 *
 * @param path - Destination.
 * @param rows - Non-empty rows of equal length, sync or async.
 * @returns The number of rows written.
 * @throws QuantumDBError `INVALID_ARGUMENT` for an empty, ragged or non-numeric row (nothing is written).
 * @throws QuantumDBError `IO_ERROR` when the file cannot be written.
 * @example
 * ```ts
 * await writeFvecs('queries.fvecs', [[0.1, 0.2], [0.3, 0.4]]);
 * ```
 */
export function writeFvecs(path: string, rows: AnyIterable<ArrayLike<number>>): Promise<number> {
  return writeVecs(path, rows, 'fvecs');
}

/**
 * Writes an `.ivecs` file (for example ground-truth neighbour ids), replacing `path` atomically.
 *
 * @param path - Destination.
 * @param rows - Non-empty rows of equal length holding int32 integers, sync or async.
 * @returns The number of rows written.
 * @throws QuantumDBError `INVALID_ARGUMENT` for an empty or ragged row, or a value that is not an int32 integer.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be written.
 * @example
 * ```ts
 * await writeIvecs('groundtruth.ivecs', [[3, 1, 4], [1, 5, 9]]);
 * ```
 */
export function writeIvecs(path: string, rows: AnyIterable<ArrayLike<number>>): Promise<number> {
  return writeVecs(path, rows, 'ivecs');
}
