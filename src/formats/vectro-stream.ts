/**
 * @module formats/vectro-stream
 * Streaming readers and writers for the Vectro+ files STREAM1, QSTREAM1 and PQSTREAM1, byte for byte
 * compatible with Vectro+ (wesleyscholl/vectro-plus, `EmbeddingDataset::load` and `compress_stream`).
 * Readers hold one record at a time; writers keep input order and replace the target atomically.
 *
 * All integers little-endian; bincode 1.x: `String`/`Vec<T>` = u64 count + items, `f32` = 4 bytes.
 * ```
 * STREAM1    "VECTRO+STREAM1\n" (15 B)
 *            repeat: u32 len | u64 n | id (n B UTF-8) | u64 d | d × f32
 * QSTREAM1   "VECTRO+QSTREAM1\n" (16 B) | u32 tables | u32 dim | u32 blob_len
 *            blob: u64 tables | tables × (f32 min | f32 max)
 *            repeat: u32 len | u64 n | id | u64 d | d × u8 code            (d = tables)
 * PQSTREAM1  "VECTRO+PQSTREAM1\n" (17 B) | u32 blob_len
 *            blob: u64 m | u64 k | u64 dim | u64 m | m × (u64 c | c × (u64 dim/m | dim/m × f32))
 *            repeat: u32 len | u64 n | id | u64 m | m × u8 code
 * ```
 * `len` counts the bytes after itself. See docs/format-stream.md for the arithmetic and every error.
 */

import { qdbError } from '../errors.js';
import { ByteSource, corruptFile, withSource, writeFileAtomic } from './atomic-file.js';
import {
  BinCursor, BinWriter, dequantizeValue, encodeProductQuantizer, fromLE32, parseProductQuantizer, pqDecode, pqEncode, quantizeValue, toLE32,
  toProductQuantizer, widenQuantTables,
  type ProductQuantizer, type ProductQuantizerInput, type QuantTable,
} from './vectro-quant.js';

/** The three Vectro+ stream formats. */
export type VectroFormat = 'STREAM1' | 'QSTREAM1' | 'PQSTREAM1';

const encoder = new TextEncoder();
const MAGIC: Readonly<Record<VectroFormat, Uint8Array>> = {
  STREAM1: encoder.encode('VECTRO+STREAM1\n'),
  QSTREAM1: encoder.encode('VECTRO+QSTREAM1\n'),
  PQSTREAM1: encoder.encode('VECTRO+PQSTREAM1\n'),
};
const LONGEST_MAGIC_BYTES = Math.max(...Object.values(MAGIC).map((m) => m.length));
const READER_NAME: Readonly<Record<VectroFormat, string>> = { STREAM1: 'readStream1', QSTREAM1: 'readQStream1', PQSTREAM1: 'readPQStream1' };
const U32_MAX = 0xffff_ffff;
const LENIENT_HINT = 'Vectro+ accepts this; read with { strict: false } to do the same';

/** A record as read: `vector` is a fresh array the caller owns. */
export interface VectorRecord {
  id: string;
  vector: Float32Array;
}

/** A record to write: any array of numbers (rounded to binary32; a `Float32Array` is written bit for bit). */
export interface VectorInput {
  id: string;
  vector: ArrayLike<number>;
}

/** A QSTREAM1 record: `vector` is dequantized from `codes`; `tables` is shared by all records of the file. */
export interface QStream1Record extends VectorRecord {
  codes: Uint8Array;
  tables: readonly QuantTable[];
}

/** A PQSTREAM1 record: `vector` is the concatenation of the centroids `code` picks; `pq` is shared by all records. */
export interface PQStream1Record extends VectorRecord {
  code: Uint8Array;
  pq: ProductQuantizer;
}

/** Reader options. */
export interface StreamReadOptions {
  /** Reject everything Vectro+ merely tolerates (stray bytes, header counts that disagree, short code vectors). Default `true`. */
  strict?: boolean;
  /** Read-buffer size for file paths, in bytes. Default 256 KiB. */
  chunkBytes?: number;
}

/** Something `for await` can walk. */
export type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;

/** A source that can be walked twice: an array, or a function that returns a fresh iterable each call. */
export type Reiterable<T> = readonly T[] | (() => AnyIterable<T>);

interface RecordOf {
  STREAM1: VectorRecord;
  QSTREAM1: QStream1Record;
  PQSTREAM1: PQStream1Record;
}

/** One `(String, Vec<T>)` record; `items` is a view valid until the next record is read. */
interface RawRecord {
  id: string;
  count: number;
  items: Uint8Array;
  countOffset: number;
}

/** Consumes the magic; with `expected`, a different Vectro+ format is the caller's mistake. */
async function readMagic(src: ByteSource, expected: VectroFormat | null): Promise<VectroFormat> {
  const head = await src.peek(LONGEST_MAGIC_BYTES);
  const found = (Object.keys(MAGIC) as VectroFormat[]).find((f) => MAGIC[f].every((b, i) => head[i] === b));
  if (found === undefined) {
    throw corruptFile(0, `the file does not start with a Vectro+ header (${expected ?? 'STREAM1, QSTREAM1 or PQSTREAM1'}; the magic is case-sensitive)`);
  }
  if (expected !== null && found !== expected) {
    throw qdbError('INVALID_ARGUMENT', [`this is a Vectro+ ${found} file, not ${expected}; use ${READER_NAME[found]} or readVectroStream`]);
  }
  await src.take(MAGIC[found].length, 'header');
  return found;
}

/** Walks `u32 len | bincode((String, Vec<T>))` records to the end of the file. */
async function* rawRecords(src: ByteSource, strict: boolean, itemBytes: number): AsyncGenerator<RawRecord> {
  while (src.remaining > 0) {
    const at = src.position;
    if (src.remaining < 4) {
      if (!strict) return;
      throw corruptFile(at, `${src.remaining} stray bytes follow the last record (${LENIENT_HINT})`);
    }
    const len = new BinCursor(await src.take(4, 'record length'), at).u32('record length');
    const body = new BinCursor(await src.take(len, 'record', at), at + 4);
    const id = body.string('record id');
    const countOffset = body.offset;
    const count = body.count('record vector', itemBytes);
    const items = body.take(count * itemBytes, 'record vector');
    if (strict && body.remaining > 0) throw corruptFile(body.offset, `${body.remaining} unused bytes end the record (${LENIENT_HINT})`);
    yield { id, count, items, countOffset };
  }
}

async function* parseStream1(src: ByteSource, strict: boolean): AsyncGenerator<VectorRecord> {
  for await (const r of rawRecords(src, strict, 4)) yield { id: r.id, vector: new Float32Array(fromLE32(r.items)) };
}

async function* parseQStream1(src: ByteSource, strict: boolean): AsyncGenerator<QStream1Record> {
  const at = src.position;
  const header = new BinCursor(await src.take(12, 'QSTREAM1 header (table count, dim, blob length)'), at);
  const [tableCount, dim, blobLen] = [header.u32('table count'), header.u32('dim'), header.u32('table blob length')];
  const blob = new BinCursor(await src.take(blobLen, 'quantization table blob', at + 8), at + 12);
  const n = blob.count('table list', 8);
  const mins = new Float32Array(n);
  const maxs = new Float32Array(n);
  for (let i = 0; i < n; i++) [mins[i], maxs[i]] = [blob.f32('table min'), blob.f32('table max')];
  if (strict && blob.remaining > 0) throw corruptFile(blob.offset, `${blob.remaining} unused bytes end the table blob (${LENIENT_HINT})`);
  if (strict && (tableCount !== n || dim !== n)) {
    throw corruptFile(at, `the header says ${tableCount} tables and dim ${dim} but the blob holds ${n} tables (${LENIENT_HINT})`);
  }
  const tables: readonly QuantTable[] = Object.freeze(Array.from(mins, (min, i) => Object.freeze({ min, max: maxs[i]! })));
  for await (const r of rawRecords(src, strict, 1)) {
    if (r.count > n || (strict && r.count < n)) {
      throw corruptFile(r.countOffset, `record ${JSON.stringify(r.id)} has ${r.count} codes but the file has ${n} tables${r.count < n ? ` (${LENIENT_HINT})` : ''}`);
    }
    const codes = r.items.slice();
    const vector = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) vector[i] = dequantizeValue(mins[i]!, maxs[i]!, codes[i]!);
    yield { id: r.id, vector, codes, tables };
  }
}

async function* parsePQStream1(src: ByteSource, strict: boolean): AsyncGenerator<PQStream1Record> {
  const at = src.position;
  const blobLen = new BinCursor(await src.take(4, 'PQ blob length'), at).u32('PQ blob length');
  const blob = new BinCursor(await src.take(blobLen, 'product quantizer blob', at), at + 4);
  const pq = parseProductQuantizer(blob);
  if (strict && blob.remaining > 0) throw corruptFile(blob.offset, `${blob.remaining} unused bytes end the product quantizer blob (${LENIENT_HINT})`);
  for await (const r of rawRecords(src, strict, 1)) {
    if (r.count !== pq.m) throw corruptFile(r.countOffset, `record ${JSON.stringify(r.id)} has a ${r.count}-byte code but m = ${pq.m}`);
    const code = r.items.slice();
    const bad = code.findIndex((c, s) => c >= pq.codebooks[s]!.length);
    if (bad >= 0) throw corruptFile(r.countOffset + 8 + bad, `code ${code[bad]} is out of range: subspace ${bad} has ${pq.codebooks[bad]!.length} centroids`);
    yield { id: r.id, vector: pqDecode(pq, code), code, pq };
  }
}

const PARSERS: { [F in VectroFormat]: (src: ByteSource, strict: boolean) => AsyncGenerator<RecordOf[F]> } = {
  STREAM1: parseStream1,
  QSTREAM1: parseQStream1,
  PQSTREAM1: parsePQStream1,
};

/** Parses a Vectro+ file from an open source, checking its magic first (against `expected` when given). @internal */
export async function* parseVectroStream<F extends VectroFormat>(src: ByteSource, strict: boolean, expected: F | null = null): AsyncGenerator<RecordOf[F]> {
  const format = await readMagic(src, expected);
  yield* PARSERS[format](src, strict) as AsyncGenerator<RecordOf[F]>;
}

function readFormat<F extends VectroFormat>(expected: F | null, input: string | Uint8Array, options: StreamReadOptions): AsyncGenerator<RecordOf[F]> {
  return withSource(input, options.chunkBytes, (src) => parseVectroStream(src, options.strict ?? true, expected));
}

/**
 * Reads a STREAM1 file record by record, in file order, holding one record in memory.
 *
 * @param input - A file path (read in chunks) or the file's bytes.
 * @param options - `strict` (default `true`) and `chunkBytes`.
 * @returns An async generator of `{ id, vector }`.
 * @throws QuantumDBError `CORRUPT_FILE` with `details.offset` for bad bytes (wrong magic, a length past the end, invalid UTF-8 …).
 * @throws QuantumDBError `INVALID_ARGUMENT` when the file is another Vectro+ format.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be opened or read.
 * @example
 * ```ts
 * for await (const { id, vector } of readStream1('embeddings.bin')) console.log(id, vector.length);
 * ```
 */
export function readStream1(input: string | Uint8Array, options: StreamReadOptions = {}): AsyncGenerator<VectorRecord> {
  return readFormat('STREAM1', input, options);
}

/**
 * Reads a QSTREAM1 file: each record carries its raw `codes`, the file's `tables` and the dequantized `vector`.
 *
 * @param input - A file path (read in chunks) or the file's bytes.
 * @param options - `strict` (default `true`) and `chunkBytes`.
 * @returns An async generator of `{ id, vector, codes, tables }`.
 * @throws QuantumDBError `CORRUPT_FILE` with `details.offset` for bad bytes, and for a record with more codes than tables.
 * @throws QuantumDBError `INVALID_ARGUMENT` when the file is another Vectro+ format.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be opened or read.
 * @example
 * ```ts
 * for await (const r of readQStream1('q.bin')) console.log(r.id, r.codes, r.tables.length);
 * ```
 */
export function readQStream1(input: string | Uint8Array, options: StreamReadOptions = {}): AsyncGenerator<QStream1Record> {
  return readFormat('QSTREAM1', input, options);
}

/**
 * Reads a PQSTREAM1 file: each record carries its raw `code`, the file's quantizer `pq` and the decoded `vector`.
 *
 * @param input - A file path (read in chunks) or the file's bytes.
 * @param options - `strict` (default `true`) and `chunkBytes`.
 * @returns An async generator of `{ id, vector, code, pq }`.
 * @throws QuantumDBError `CORRUPT_FILE` with `details.offset` for bad bytes, a code of the wrong length or a code with no centroid.
 * @throws QuantumDBError `INVALID_ARGUMENT` when the file is another Vectro+ format.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be opened or read.
 * @example
 * ```ts
 * for await (const r of readPQStream1('pq.bin')) console.log(r.id, r.code, r.pq.m);
 * ```
 */
export function readPQStream1(input: string | Uint8Array, options: StreamReadOptions = {}): AsyncGenerator<PQStream1Record> {
  return readFormat('PQSTREAM1', input, options);
}

/**
 * Reads any of the three Vectro+ formats, chosen by the file's magic.
 *
 * @param input - A file path (read in chunks) or the file's bytes.
 * @param options - `strict` (default `true`) and `chunkBytes`.
 * @returns An async generator of records (with the extra fields of their format).
 * @throws QuantumDBError `CORRUPT_FILE` with `details.offset` for an unknown header or bad bytes.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be opened or read.
 * @example
 * ```ts
 * for await (const { id, vector } of readVectroStream('any-vectro-file.bin')) console.log(id, vector);
 * ```
 */
export function readVectroStream(input: string | Uint8Array, options: StreamReadOptions = {}): AsyncGenerator<VectorRecord> {
  return readFormat(null, input, options);
}

/** Validates one input record and returns its UTF-8 id and binary32 vector. */
function checkRecord(record: VectorInput, index: number): { idBytes: Uint8Array; vector: Float32Array } {
  const id: unknown = record?.id;
  // A lone surrogate cannot be encoded as UTF-8; TextEncoder would silently turn it into U+FFFD.
  if (typeof id !== 'string' || /\p{Cs}/u.test(id)) {
    throw qdbError('INVALID_ARGUMENT', [`record ${index}: id must be a string of valid Unicode (no lone surrogates)`], { index });
  }
  const v: unknown = record.vector;
  if (v instanceof Float32Array) return { idBytes: encoder.encode(id), vector: v };
  if (typeof (v as ArrayLike<unknown>)?.length !== 'number' || !Array.prototype.every.call(v, (x) => typeof x === 'number')) {
    throw qdbError('INVALID_ARGUMENT', [`record ${index} (${JSON.stringify(id)}): vector must be an array of numbers`], { index });
  }
  return { idBytes: encoder.encode(id), vector: Float32Array.from(v as ArrayLike<number>) };
}

function passMismatch() {
  return qdbError('INVALID_ARGUMENT', ['the second pass over the source yielded a different number of records than the first; pass an array or a function that returns the same records each call']);
}

function checkU32(bytes: number, what: string): number {
  if (bytes > U32_MAX) throw qdbError('INVALID_ARGUMENT', [`${what} would take ${bytes} bytes, more than the format's 4 GiB limit; split the data`]);
  return bytes;
}

/** `u32 len | u64 id bytes | id | u64 count | items`, the record shape of all three formats. */
function encodeRecord(idBytes: Uint8Array, count: number, items: Uint8Array): Uint8Array {
  const len = checkU32(16 + idBytes.length + items.length, 'a record');
  return new BinWriter(4 + len).u32(len).vec(idBytes.length, idBytes).vec(count, items).bytes;
}

function qstreamHeader(mins: Float32Array, maxs: Float32Array): Uint8Array {
  const n = mins.length;
  const blobLen = checkU32(8 + 8 * n, 'the quantization tables');
  const w = new BinWriter(MAGIC.QSTREAM1.length + 12 + blobLen).raw(MAGIC.QSTREAM1).u32(n).u32(n).u32(blobLen).u64(n);
  const pairs = new Float32Array(2 * n);
  mins.forEach((min, i) => pairs.set([min, maxs[i]!], 2 * i));
  return w.raw(toLE32(pairs)).bytes;
}

function pqHeader(pq: ProductQuantizer): Uint8Array {
  const blob = encodeProductQuantizer(pq);
  const blobLen = checkU32(blob.length, 'the product quantizer');
  return new BinWriter(MAGIC.PQSTREAM1.length + 4 + blobLen).raw(MAGIC.PQSTREAM1).u32(blobLen).raw(blob).bytes;
}

/**
 * Writes a STREAM1 file in input order. Vectors may differ in length, as Vectro+ allows.
 *
 * @param path - Destination; replaced atomically.
 * @param records - `{ id, vector }` records, sync or async.
 * @returns The number of records written.
 * @throws QuantumDBError `INVALID_ARGUMENT` for a bad id or vector (nothing is written).
 * @throws QuantumDBError `IO_ERROR` when the file cannot be written.
 * @example
 * ```ts
 * await writeStream1('out.bin', [{ id: 'a', vector: [1, 2, 3] }]);
 * ```
 */
export async function writeStream1(path: string, records: AnyIterable<VectorInput>): Promise<number> {
  let count = 0;
  await writeFileAtomic(path, async (sink) => {
    await sink.write(MAGIC.STREAM1);
    for await (const record of records) {
      const { idBytes, vector } = checkRecord(record, count);
      await sink.write(encodeRecord(idBytes, vector.length, toLE32(vector)));
      count++;
    }
  });
  return count;
}

/**
 * Writes a QSTREAM1 file in two passes over `source`: the first computes the per-dimension min/max
 * tables, the second quantizes and writes, so no vector is held longer than one step.
 *
 * @param path - Destination; replaced atomically.
 * @param source - An array, or a function returning a fresh iterable of the same records each call.
 * @returns The number of records written.
 * @throws QuantumDBError `INVALID_ARGUMENT` for a bad record, a vector whose length differs from the
 *   first one, or a second pass that differs from the first.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be written.
 * @example
 * ```ts
 * await writeQStream1('q.bin', () => readStream1('full.bin'));
 * ```
 */
export async function writeQStream1(path: string, source: Reiterable<VectorInput>): Promise<number> {
  const iterate = typeof source === 'function' ? source : () => source;
  let mins = new Float32Array(0);
  let maxs = new Float32Array(0);
  let count = 0;
  const checkDim = (vector: Float32Array, index: number) => {
    if (vector.length !== mins.length) {
      throw qdbError('INVALID_ARGUMENT', [`record ${index} has ${vector.length} values but the first has ${mins.length}; QSTREAM1 needs equal lengths (STREAM1 accepts ragged vectors)`], { index });
    }
  };
  for await (const record of iterate()) {
    const { vector } = checkRecord(record, count);
    if (count === 0) [mins, maxs] = [new Float32Array(vector.length).fill(Infinity), new Float32Array(vector.length).fill(-Infinity)];
    checkDim(vector, count);
    widenQuantTables(mins, maxs, vector);
    count++;
  }
  await writeFileAtomic(path, async (sink) => {
    await sink.write(qstreamHeader(mins, maxs));
    let index = 0;
    for await (const record of iterate()) {
      if (index === count) throw passMismatch();
      const { idBytes, vector } = checkRecord(record, index);
      checkDim(vector, index);
      const codes = new Uint8Array(vector.length);
      for (let i = 0; i < vector.length; i++) codes[i] = quantizeValue(mins[i]!, maxs[i]!, vector[i]!);
      await sink.write(encodeRecord(idBytes, codes.length, codes));
      index++;
    }
    if (index !== count) throw passMismatch();
  });
  return count;
}

/**
 * Writes a PQSTREAM1 file, encoding each vector with the given codebook by the Vectro+ rule
 * (normalize, then nearest centroid per subspace; ties to the lowest index).
 *
 * @param path - Destination; replaced atomically.
 * @param pq - The quantizer `{ m, k, dim, codebooks }`; centroids are rounded to binary32.
 * @param records - `{ id, vector }` records of length `pq.dim`, sync or async.
 * @returns The number of records written.
 * @throws QuantumDBError `INVALID_ARGUMENT` for a bad quantizer, id or vector length.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be written.
 * @example
 * ```ts
 * await writePQStream1('pq.bin', { m: 1, k: 2, dim: 2, codebooks: [[[1, 0], [0, 1]]] }, [{ id: 'a', vector: [3, 1] }]);
 * ```
 */
export async function writePQStream1(path: string, pq: ProductQuantizerInput, records: AnyIterable<VectorInput>): Promise<number> {
  const quantizer = toProductQuantizer(pq);
  let count = 0;
  await writeFileAtomic(path, async (sink) => {
    await sink.write(pqHeader(quantizer));
    for await (const record of records) {
      const { idBytes, vector } = checkRecord(record, count);
      if (vector.length !== quantizer.dim) {
        throw qdbError('INVALID_ARGUMENT', [`record ${count} has ${vector.length} values but the quantizer expects dim = ${quantizer.dim}`], { index: count });
      }
      const code = pqEncode(quantizer, vector);
      await sink.write(encodeRecord(idBytes, code.length, code));
      count++;
    }
  });
  return count;
}
