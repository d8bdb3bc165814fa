/**
 * @module formats/vectro-stream
 * Streaming readers for the Vectro+ files STREAM1, QSTREAM1 and PQSTREAM1, byte for byte compatible
 * with Vectro+ (wesleyscholl/vectro-plus, `EmbeddingDataset::load`); the writers are in
 * vectro-write.ts. Readers hold one record at a time. The header and record parsers are exported
 * (internal) for the bulk decoder of vector-blocks.ts, so both raise the same errors.
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

import { qdbError, type QuantumDBError } from '../errors.js';
import { ByteSource, corruptFile, withSource } from './atomic-file.js';
import { BinCursor, dequantizeValue, fromLE32, parseProductQuantizer, pqDecode, type ProductQuantizer, type QuantTable } from './vectro-quant.js';

/** The three Vectro+ stream formats. */
export type VectroFormat = 'STREAM1' | 'QSTREAM1' | 'PQSTREAM1';

const encoder = new TextEncoder();
/** The header of each format. @internal */
export const MAGIC: Readonly<Record<VectroFormat, Uint8Array>> = {
  STREAM1: encoder.encode('VECTRO+STREAM1\n'),
  QSTREAM1: encoder.encode('VECTRO+QSTREAM1\n'),
  PQSTREAM1: encoder.encode('VECTRO+PQSTREAM1\n'),
};
const LONGEST_MAGIC_BYTES = Math.max(...Object.values(MAGIC).map((m) => m.length));
const READER_NAME: Readonly<Record<VectroFormat, string>> = { STREAM1: 'readStream1', QSTREAM1: 'readQStream1', PQSTREAM1: 'readPQStream1' };
const LENIENT_HINT = 'Vectro+ accepts this; read with { strict: false } to do the same';

/** A record as read: `vector` is a fresh array the caller owns. */
export interface VectorRecord {
  /** The record's id (for `.fvecs` and `.npy` files, the 0-based row number). */
  id: string;
  /** The vector, binary32. */
  vector: Float32Array;
}

/** A QSTREAM1 record: `vector` is dequantized from `codes`; `tables` is shared by all records of the file. */
export interface QStream1Record extends VectorRecord {
  /** One u8 code per dimension, as stored. */
  codes: Uint8Array;
  /** The file's per-dimension `[min, max]` tables (one shared, frozen array). */
  tables: readonly QuantTable[];
}

/** A PQSTREAM1 record: `vector` is the concatenation of the centroids `code` picks; `pq` is shared by all records. */
export interface PQStream1Record extends VectorRecord {
  /** One u8 centroid index per subspace, as stored. */
  code: Uint8Array;
  /** The file's product quantizer (one shared object). */
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

interface RecordOf {
  STREAM1: VectorRecord;
  QSTREAM1: QStream1Record;
  PQSTREAM1: PQStream1Record;
}

/** One `(String, Vec<T>)` record; `items` is a view valid until the next record is read. @internal */
export interface RawRecord {
  id: string;
  count: number;
  items: Uint8Array;
  countOffset: number;
}

/** Consumes the magic; with `expected`, a different Vectro+ format is the caller's mistake. @internal */
export async function readMagic(src: ByteSource, expected: VectroFormat | null): Promise<VectroFormat> {
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

/** The error for fewer than 4 bytes left where a record would start (strict reading). @internal */
export function strayBytes(at: number, remaining: number): QuantumDBError {
  return corruptFile(at, `${remaining} stray bytes follow the last record (${LENIENT_HINT})`);
}

/**
 * Parses the body of one record, `bincode((String, Vec<T>))`, after its `u32 len`.
 * @throws QuantumDBError `CORRUPT_FILE` at the first field that does not fit (strict: also unused bytes).
 * @internal
 */
export function parseRecordBody(body: BinCursor, strict: boolean, itemBytes: number): RawRecord {
  const id = body.string('record id');
  const countOffset = body.offset;
  const count = body.count('record vector', itemBytes);
  const items = body.take(count * itemBytes, 'record vector');
  if (strict && body.remaining > 0) throw corruptFile(body.offset, `${body.remaining} unused bytes end the record (${LENIENT_HINT})`);
  return { id, count, items, countOffset };
}

/** Walks `u32 len | bincode((String, Vec<T>))` records to the end of the file. */
async function* rawRecords(src: ByteSource, strict: boolean, itemBytes: number): AsyncGenerator<RawRecord> {
  while (src.remaining > 0) {
    const at = src.position;
    if (src.remaining < 4) {
      if (!strict) return;
      throw strayBytes(at, src.remaining);
    }
    const len = new BinCursor(await src.take(4, 'record length'), at).u32('record length');
    yield parseRecordBody(new BinCursor(await src.take(len, 'record', at), at + 4), strict, itemBytes);
  }
}

async function* parseStream1(src: ByteSource, strict: boolean): AsyncGenerator<VectorRecord> {
  for await (const r of rawRecords(src, strict, 4)) yield { id: r.id, vector: new Float32Array(fromLE32(r.items)) };
}

/** The per-dimension tables of a QSTREAM1 file. @internal */
export interface QStreamHeader {
  mins: Float32Array;
  maxs: Float32Array;
  tables: readonly QuantTable[];
}

/** Reads the QSTREAM1 header after the magic. @internal */
export async function readQStreamHeader(src: ByteSource, strict: boolean): Promise<QStreamHeader> {
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
  return { mins, maxs, tables };
}

/** Checks a QSTREAM1 record's code count against the `n` tables. @internal */
export function checkQRecord(r: RawRecord, n: number, strict: boolean): void {
  if (r.count > n || (strict && r.count < n)) {
    throw corruptFile(r.countOffset, `record ${JSON.stringify(r.id)} has ${r.count} codes but the file has ${n} tables${r.count < n ? ` (${LENIENT_HINT})` : ''}`);
  }
}

async function* parseQStream1(src: ByteSource, strict: boolean): AsyncGenerator<QStream1Record> {
  const { mins, maxs, tables } = await readQStreamHeader(src, strict);
  for await (const r of rawRecords(src, strict, 1)) {
    checkQRecord(r, mins.length, strict);
    const codes = r.items.slice();
    const vector = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) vector[i] = dequantizeValue(mins[i]!, maxs[i]!, codes[i]!);
    yield { id: r.id, vector, codes, tables };
  }
}

/** Reads the PQSTREAM1 header (the product quantizer) after the magic. @internal */
export async function readPQHeader(src: ByteSource, strict: boolean): Promise<ProductQuantizer> {
  const at = src.position;
  const blobLen = new BinCursor(await src.take(4, 'PQ blob length'), at).u32('PQ blob length');
  const blob = new BinCursor(await src.take(blobLen, 'product quantizer blob', at), at + 4);
  const pq = parseProductQuantizer(blob);
  if (strict && blob.remaining > 0) throw corruptFile(blob.offset, `${blob.remaining} unused bytes end the product quantizer blob (${LENIENT_HINT})`);
  return pq;
}

/** Checks a PQSTREAM1 record: `m` code bytes, each naming a centroid of its subspace. @internal */
export function checkPQRecord(r: RawRecord, pq: ProductQuantizer): void {
  if (r.count !== pq.m) throw corruptFile(r.countOffset, `record ${JSON.stringify(r.id)} has a ${r.count}-byte code but m = ${pq.m}`);
  const bad = r.items.findIndex((c, s) => c >= pq.codebooks[s]!.length);
  if (bad >= 0) throw corruptFile(r.countOffset + 8 + bad, `code ${r.items[bad]} is out of range: subspace ${bad} has ${pq.codebooks[bad]!.length} centroids`);
}

async function* parsePQStream1(src: ByteSource, strict: boolean): AsyncGenerator<PQStream1Record> {
  const pq = await readPQHeader(src, strict);
  for await (const r of rawRecords(src, strict, 1)) {
    checkPQRecord(r, pq);
    const code = r.items.slice();
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
