/**
 * @module formats/vectro-write
 * Writers of the Vectro+ files STREAM1, QSTREAM1 and PQSTREAM1 (layouts in vectro-stream.ts and
 * docs/format-stream.md), byte for byte what `vectro compress` writes. Records keep input order;
 * every writer validates each record before writing it and replaces the target atomically, so a
 * failed write leaves the old file in place.
 */
import { qdbError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { PqEncoder } from './vectro-pq.js';
import {
  BinWriter, encodeProductQuantizer, quantizeValue, toLE32, toProductQuantizer, widenQuantTables,
  type ProductQuantizer, type ProductQuantizerInput,
} from './vectro-quant.js';
import { MAGIC, type AnyIterable } from './vectro-stream.js';

const encoder = new TextEncoder();
const U32_MAX = 0xffff_ffff;

/** A record to write: any array of numbers (rounded to binary32; a `Float32Array` is written bit for bit). */
export interface VectorRecordInput {
  /** Any string of valid Unicode (no lone surrogates); written as UTF-8. */
  id: string;
  /** The values, rounded to binary32 unless they already are. */
  vector: ArrayLike<number>;
}

/** A source that can be walked twice: an array, or a function that returns a fresh iterable each call. */
export type Reiterable<T> = readonly T[] | (() => AnyIterable<T>);

/** Validates one input record and returns its UTF-8 id and binary32 vector. */
function checkRecord(record: VectorRecordInput, index: number): { idBytes: Uint8Array; vector: Float32Array } {
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
export async function writeStream1(path: string, records: AnyIterable<VectorRecordInput>): Promise<number> {
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
export async function writeQStream1(path: string, source: Reiterable<VectorRecordInput>): Promise<number> {
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
 * (normalize, then nearest centroid per subspace; ties to the lowest index). The codes are
 * computed by the WebAssembly kernels, a batch of rows at a time.
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
export async function writePQStream1(path: string, pq: ProductQuantizerInput, records: AnyIterable<VectorRecordInput>): Promise<number> {
  const quantizer = toProductQuantizer(pq);
  const encoder = new PqEncoder(quantizer);
  const m = quantizer.m;
  let count = 0;
  await writeFileAtomic(path, async (sink) => {
    await sink.write(pqHeader(quantizer));
    // Rows are staged in kernel memory and encoded a batch at a time; records keep input order.
    const ids: Uint8Array[] = [];
    const flush = async () => {
      const codes = encoder.encode(ids.length);
      for (let i = 0; i < ids.length; i++) await sink.write(encodeRecord(ids[i]!, m, codes.subarray(i * m, (i + 1) * m)));
      ids.length = 0;
    };
    for await (const record of records) {
      const { idBytes, vector } = checkRecord(record, count);
      if (vector.length !== quantizer.dim) {
        throw qdbError('INVALID_ARGUMENT', [`record ${count} has ${vector.length} values but the quantizer expects dim = ${quantizer.dim}`], { index: count });
      }
      encoder.row(ids.length).set(vector);
      if (ids.push(idBytes) === encoder.batchRows) await flush();
      count++;
    }
    await flush();
  });
  return count;
}
