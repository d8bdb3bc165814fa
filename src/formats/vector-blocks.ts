/**
 * @module formats/vector-blocks
 * Bulk decoding of the binary vector files (STREAM1, QSTREAM1, PQSTREAM1, `.fvecs`, `.npy`) for
 * scans that visit every record. The file is read in large chunks (the next one read ahead while
 * the caller works on this one), and a synchronous loop walks the whole records of each chunk,
 * noting where each record's payload starts and where its id is, to be decoded only if the caller
 * asks. The caller copies the block's bytes in one piece (into WebAssembly memory, say) and reads
 * the payloads in place. A record the loop cannot vouch for (lengths that do not add up, a
 * non-ASCII id, a code out of range …) goes through the record-at-a-time parser of its format, so
 * every error is the one the streaming readers raise, at the same byte offset. Memory is two chunks
 * (or one record, if larger), whatever the file size. Strict reading only.
 *
 * ```
 * block.bytes          whole records, as in the file
 * block.offsets[i]     where record i's payload starts in block.bytes:
 *   STREAM1, .fvecs, .npy   dim × f32, little-endian (the byte order of WebAssembly memory)
 *   QSTREAM1                tables × u8 code
 *   PQSTREAM1               m × u8 code
 * ```
 * JSONL has no fixed layout; its readers stay record-at-a-time (`readVectors`).
 */
import { ByteSource, shortRead } from './atomic-file.js';
import { badVecsDimension, detectFormat, readNpyHeader, vecsField, type VectorFileFormat } from './vector-files.js';
import { BinCursor, type ProductQuantizer } from './vectro-quant.js';
import {
  checkPQRecord, checkQRecord, parseRecordBody, readMagic, readPQHeader, readQStreamHeader, strayBytes, type QStreamHeader, type RawRecord,
} from './vectro-stream.js';

/** The formats {@link VectorBlockReader} decodes in bulk. */
export type BlockFormat = 'STREAM1' | 'QSTREAM1' | 'PQSTREAM1' | 'fvecs' | 'npy';

/** The first record whose vector length differs from the one asked for; {@link VectorBlockReader.next} stops before it. */
export interface LengthMismatch {
  index: number;
  id: string;
  length: number;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isAscii(bytes: Uint8Array, start: number, length: number): boolean {
  for (let i = start; i < start + length; i++) if (bytes[i]! > 0x7f) return false;
  return true;
}

/**
 * Reads a vector file in blocks of whole records. Open with {@link VectorBlockReader.open}, then
 * call {@link next} until it returns 0, and {@link close} (also after an error).
 * @internal
 */
export class VectorBlockReader {
  /** Index in the file of the first record of the last block. */
  first = 0;
  /** Records in the last block. */
  count = 0;
  /** Set when {@link next} stopped at a record of another length; the block holds the records before it. */
  mismatch: LengthMismatch | null = null;
  /** The whole records of the last block, as in the file (a view, valid until the next call). */
  bytes: Uint8Array = new Uint8Array(0);
  /** Where each payload of the last block starts in {@link bytes}; the first {@link count} entries count. */
  offsets = new Int32Array(0);
  private view: Uint8Array = new Uint8Array(0);
  private idStarts = new Int32Array(0);
  private idLengths = new Int32Array(0);
  private readonly slowIds = new Map<number, string>();
  /** Bytes the next record needs in the buffer before the decoder can take it whole. */
  private want = 1;
  /** `.fvecs`: the dimension of row 0 (0 until read); `.npy`: rows not yet decoded. */
  private vecsDim = 0;
  private npyRowsLeft = 0;

  private constructor(
    private readonly src: ByteSource,
    /** The file's format. */
    readonly format: BlockFormat,
    /** QSTREAM1: the per-dimension tables. */
    readonly tables: QStreamHeader | null,
    /** PQSTREAM1: the product quantizer. */
    readonly pq: ProductQuantizer | null,
    private readonly npyCols: number,
    private readonly chunkBytes: number,
  ) {}

  /**
   * Opens a file (or bytes) and reads its header.
   * @param options.format - Skip detection, as for `readVectors`.
   * @returns The reader, or `null` for JSONL (read it with `readVectors`).
   * @throws QuantumDBError `CORRUPT_FILE`, `UNSUPPORTED_VERSION`, `INVALID_ARGUMENT` or `IO_ERROR` as the streaming readers do.
   */
  static async open(input: string | Uint8Array, options: { format?: VectorFileFormat; chunkBytes: number }): Promise<VectorBlockReader | null> {
    const src = await ByteSource.open(input, options.chunkBytes, true);
    try {
      const kind = options.format ?? (await detectFormat(src, typeof input === 'string' ? input : ''));
      if (kind === 'jsonl') {
        await src.close();
        return null;
      }
      const format = kind === 'vectro' ? await readMagic(src, null) : kind;
      const tables = format === 'QSTREAM1' ? await readQStreamHeader(src, true) : null;
      const pq = format === 'PQSTREAM1' ? await readPQHeader(src, true) : null;
      const npy = format === 'npy' ? await readNpyHeader(src) : { rows: 0, cols: 0 };
      const reader = new VectorBlockReader(src, format, tables, pq, npy.cols, options.chunkBytes);
      reader.npyRowsLeft = npy.rows;
      return reader;
    } catch (e) {
      await src.close();
      throw e;
    }
  }

  /** Length of the decoded vectors when the header fixes it (QSTREAM1, PQSTREAM1, `.npy`), else `null`. */
  get vectorLength(): number | null {
    return this.tables?.mins.length ?? this.pq?.dim ?? (this.format === 'npy' ? this.npyCols : null);
  }

  /**
   * Decodes the next block: the records whose vectors have `dim` values, reading the file only
   * when the buffer holds no whole record. Stops at the end of the buffered bytes, after
   * `maxRecords`, or before a record of another length ({@link mismatch}).
   * @returns Records in the block ({@link bytes}, {@link offsets}); 0 at the end of the file or at a mismatch.
   * @throws QuantumDBError `CORRUPT_FILE` at the first bad byte, as the streaming readers; `IO_ERROR` when a read fails.
   */
  async next(maxRecords: number, dim: number): Promise<number> {
    this.first += this.count;
    this.count = 0;
    this.slowIds.clear();
    this.bytes = this.bytes.subarray(0, 0);
    if (this.mismatch !== null) return 0;
    if (this.offsets.length < maxRecords) {
      this.offsets = new Int32Array(maxRecords);
      this.idStarts = new Int32Array(maxRecords);
      this.idLengths = new Int32Array(maxRecords);
    }
    for (;;) {
      let view = this.src.buffered();
      if (view.length < this.want && this.src.remaining > view.length) view = await this.src.peek(Math.max(this.want, this.chunkBytes));
      if (view.length === 0) return 0;
      this.view = view;
      const base = this.src.position;
      const consumed = this.format === 'fvecs' ? this.decodeVecs(base, maxRecords, dim)
        : this.format === 'npy' ? this.decodeNpy(maxRecords, dim)
        : this.decodeRecords(base, maxRecords, dim);
      this.bytes = view.subarray(0, consumed);
      await this.src.take(consumed, 'records');
      if (this.count > 0 || this.mismatch !== null || this.src.remaining === 0) return this.count;
    }
  }

  /** Id of record `i` of the last block. */
  id(i: number): string {
    if (this.format === 'fvecs' || this.format === 'npy') return String(this.first + i);
    const start = this.idStarts[i]!;
    return this.slowIds.get(i) ?? utf8Decoder.decode(this.view.subarray(start, start + this.idLengths[i]!));
  }

  /** Releases the file; safe to call twice. */
  async close(): Promise<void> {
    await this.src.close();
  }

  /** STREAM1 / QSTREAM1 / PQSTREAM1 records: `u32 len | u64 n | id | u64 count | items`. */
  private decodeRecords(base: number, maxRecords: number, dim: number): number {
    const view = this.view;
    const data = new DataView(view.buffer, view.byteOffset, view.byteLength);
    const fileLeft = this.src.size - base;
    const itemBytes = this.format === 'STREAM1' ? 4 : 1;
    const vectorLength = this.vectorLength;
    let p = 0;
    while (this.count < maxRecords) {
      const left = fileLeft - p;
      this.want = 4;
      if (left === 0) break;
      if (left < 4) throw strayBytes(base + p, left);
      if (view.length - p < 4) break;
      const len = data.getUint32(p, true);
      if (len > left - 4) throw shortRead(base + p, 'record', len, left - 4);
      this.want = 4 + len;
      if (view.length - p < this.want) break;
      const body = p + 4;
      // The fast path takes a record only when its two u64 lengths are small, fill it exactly and the id is ASCII.
      let idLength = -1;
      let count = -1;
      if (len >= 16 && data.getUint32(body + 4, true) === 0) {
        const n = data.getUint32(body, true);
        if (n <= len - 16 && data.getUint32(body + 12 + n, true) === 0 && isAscii(view, body + 8, n)) {
          count = data.getUint32(body + 8 + n, true);
          if (count * itemBytes === len - 16 - n) idLength = n;
        }
      }
      // Anything else goes through the streaming readers' parser, which raises their exact error.
      const parse = (): RawRecord => parseRecordBody(new BinCursor(view.subarray(body, body + len), base + body), true, itemBytes);
      if (idLength < 0) {
        const record = parse();
        count = record.count;
        this.slowIds.set(this.count, record.id);
      } else {
        this.idStarts[this.count] = body + 8;
        this.idLengths[this.count] = idLength;
      }
      const items = body + len - count * itemBytes;
      if (this.tables !== null && count !== this.tables.mins.length) checkQRecord(parse(), this.tables.mins.length, true);
      if (this.pq !== null && !this.codesInRange(view, items, count)) checkPQRecord(parse(), this.pq);
      const length = vectorLength ?? count;
      if (length !== dim) {
        this.mismatch = { index: this.first + this.count, id: this.id(this.count), length };
        break;
      }
      this.offsets[this.count++] = items;
      p = body + len;
    }
    return p;
  }

  private codesInRange(view: Uint8Array, items: number, count: number): boolean {
    const codebooks = this.pq!.codebooks;
    if (count !== codebooks.length) return false;
    for (let s = 0; s < count; s++) if (view[items + s]! >= codebooks[s]!.length) return false;
    return true;
  }

  /** `.fvecs` rows: `i32 d | d × f32`, every row of row 0's dimension. */
  private decodeVecs(base: number, maxRecords: number, dim: number): number {
    const view = this.view;
    const data = new DataView(view.buffer, view.byteOffset, view.byteLength);
    const fileLeft = this.src.size - base;
    let p = 0;
    while (this.count < maxRecords) {
      const row = this.first + this.count;
      const left = fileLeft - p;
      this.want = 4;
      if (left === 0) break;
      if (left < 4) throw shortRead(base + p, vecsField(row), 4, left);
      if (view.length - p < 4) break;
      const d = data.getInt32(p, true);
      if (d <= 0 || (this.vecsDim > 0 && d !== this.vecsDim)) throw badVecsDimension(base + p, row, d, this.vecsDim);
      this.vecsDim = d;
      if (4 * d > left - 4) throw shortRead(base + p, vecsField(row, d), 4 * d, left - 4);
      this.want = 4 + 4 * d;
      if (view.length - p < this.want) break;
      if (d !== dim) {
        this.mismatch = { index: row, id: String(row), length: d };
        break;
      }
      this.offsets[this.count++] = p + 4;
      p += this.want;
    }
    return p;
  }

  /** `.npy` rows: `cols × f32`, back to back (the header has checked the data size). */
  private decodeNpy(maxRecords: number, dim: number): number {
    if (this.npyRowsLeft === 0) return 0;
    if (this.npyCols !== dim) {
      this.mismatch = { index: this.first, id: String(this.first), length: this.npyCols };
      return 0;
    }
    const rowBytes = 4 * dim;
    this.want = rowBytes;
    const rows = Math.min(maxRecords, this.npyRowsLeft, Math.floor(this.view.length / rowBytes));
    for (let r = 0; r < rows; r++) this.offsets[r] = r * rowBytes;
    this.count = rows;
    this.npyRowsLeft -= rows;
    return rows * rowBytes;
  }
}
