/**
 * @module storage/row-store
 * The full-precision rows behind re-rank and `get`. A database built in this process keeps them
 * in kernel memory; a database opened from a `.qdb` file leaves them in the file (f32, f16 or
 * int8) and reads, with positional reads, only the rows a query re-ranks, so they are never
 * resident as a whole. Rows added after
 * opening are appended in memory. A chunk of the file is checked against its CRC32C the first time
 * any of its rows is read, so a corrupted file can never produce a wrong score.
 */
import { qdbError } from '../errors.js';
import { crc32c } from './checksum.js';
import { VectorEncoding, type QdbByteSource } from './qdb-layout.js';
import { decodeF16, dequantizeInt8 } from './section-codecs.js';

/**
 * log2 of the bytes one checksum of the VECTOR_CHECKSUMS section covers (written in its flags):
 * one page, because a query's first re-rank touches up to `rerank` chunks and verifies each in full.
 */
export const VECTOR_CHUNK_SHIFT = 12;
const VECTOR_CHUNK_BYTES = 1 << VECTOR_CHUNK_SHIFT;

/** Checksums of consecutive 2^VECTOR_CHUNK_SHIFT-byte chunks of an encoded vectors section. */
export function chunkChecksums(sectionBytes: readonly Uint8Array[]): Uint32Array {
  const total = sectionBytes.reduce((s, b) => s + b.length, 0);
  const out = new Uint32Array(Math.ceil(total / VECTOR_CHUNK_BYTES));
  let chunk = 0, filled = 0, crc = 0;
  for (const bytes of sectionBytes) {
    let at = 0;
    while (at < bytes.length) {
      const take = Math.min(VECTOR_CHUNK_BYTES - filled, bytes.length - at);
      crc = crc32c(bytes.subarray(at, at + take), crc);
      at += take; filled += take;
      if (filled === VECTOR_CHUNK_BYTES) { out[chunk++] = crc; crc = 0; filled = 0; }
    }
  }
  if (filled > 0) out[chunk] = crc;
  return out;
}

/** Bytes one row takes under `encoding`. */
export function encodedRowBytes(encoding: number, dim: number): number {
  if (encoding === VectorEncoding.F32) return dim * 4;
  if (encoding === VectorEncoding.F16) return dim * 2;
  if (encoding === VectorEncoding.INT8) return dim + 4;
  return 0;
}

/** Rows of a `.qdb` VECTORS section, read in place, plus rows appended since opening. */
export class MappedRows {
  private readonly verified: Uint8Array;
  private readonly rowBytes: number;
  private appended = new Float32Array(0);
  private appendedCount = 0;
  /** After compaction: slot → source row (base rows first, then appended ones). */
  private sourceOf: Uint32Array | undefined;
  private slots: number;

  /**
   * @param source the file's bytes (a mapping or positional reads)
   * @param fileOffset where the VECTORS section starts in `source`
   */
  constructor(
    private readonly source: QdbByteSource,
    private readonly encoding: number,
    private readonly dim: number,
    /** Rows held by `bytes`. */
    readonly baseCount: number,
    private readonly checksums: Uint32Array,
    private readonly fileOffset: number,
    /** Bytes each checksum covers. */
    private readonly chunkBytes: number,
  ) {
    this.slots = baseCount;
    this.rowBytes = encodedRowBytes(encoding, dim);
    this.verified = new Uint8Array(checksums.length);
  }

  /** True when re-rank vectors exist (the file was not saved with `vectors: 'none'`). */
  get available(): boolean { return this.encoding !== VectorEncoding.NONE; }

  /** Copies row `slot` into `out` (dim floats). */
  read(slot: number, out: Float32Array<ArrayBuffer>): void {
    if (this.sourceOf) slot = this.sourceOf[slot] as number;
    if (slot >= this.baseCount) {
      const at = (slot - this.baseCount) * this.dim;
      out.set(this.appended.subarray(at, at + this.dim));
      return;
    }
    const start = slot * this.rowBytes;
    this.verify(start, start + this.rowBytes);
    let row = this.source.read(this.fileOffset + start, this.rowBytes);
    // Rows are 4-byte aligned in the file; only a small file read into a pooled Buffer can be misaligned.
    if (row.byteOffset % 4 !== 0) row = row.slice();
    if (this.encoding === VectorEncoding.F32) out.set(new Float32Array(row.buffer, row.byteOffset, this.dim));
    else if (this.encoding === VectorEncoding.F16) decodeF16(new Uint16Array(row.buffer, row.byteOffset, this.dim), out);
    else dequantizeInt8(row, this.dim, 0, out);
  }

  /** Appends rows (n × dim floats) for the next slots. */
  append(rows: Float32Array): void {
    const n = rows.length / this.dim;
    if (this.sourceOf) {
      const grown = new Uint32Array(this.slots + n);
      grown.set(this.sourceOf.subarray(0, this.slots));
      for (let i = 0; i < n; i++) grown[this.slots + i] = this.baseCount + this.appendedCount + i;
      this.sourceOf = grown;
    }
    this.slots += n;
    const needed = (this.appendedCount * this.dim) + rows.length;
    if (needed > this.appended.length) {
      const grown = new Float32Array(Math.max(needed, this.appended.length * 2));
      grown.set(this.appended.subarray(0, this.appendedCount * this.dim));
      this.appended = grown;
    }
    this.appended.set(rows, this.appendedCount * this.dim);
    this.appendedCount += rows.length / this.dim;
  }

  /** Keeps the slots listed in `kept` (ascending), renumbered 0, 1, … (compaction). */
  renumber(kept: readonly number[]): void {
    const previous = this.sourceOf;
    this.sourceOf = Uint32Array.from(kept, (slot) => (previous ? (previous[slot] as number) : slot));
    this.slots = kept.length;
  }

  /** Bytes held in memory (appended rows only; the mapping is the operating system's). */
  get residentBytes(): number { return this.appended.byteLength; }

  private verify(from: number, to: number): void {
    for (let c = Math.floor(from / this.chunkBytes); c * this.chunkBytes < to; c++) {
      if (this.verified[c]) continue;
      const start = c * this.chunkBytes;
      const chunk = this.source.read(this.fileOffset + start, Math.min(this.chunkBytes, this.baseCount * this.rowBytes - start));
      if (crc32c(chunk) !== this.checksums[c]) {
        throw qdbError('CORRUPT_FILE', [`the re-rank vectors are damaged near byte ${this.fileOffset + start} (checksum mismatch); restore the file from a good copy or save it again from the source data`], { offset: this.fileOffset + start });
      }
      this.verified[c] = 1;
    }
  }
}
