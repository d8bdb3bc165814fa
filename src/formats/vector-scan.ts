/**
 * @module formats/vector-scan
 * Exact top-k cosine similarity over every record of a vector file, the engine of the command
 * line's `search` over STREAM1 / QSTREAM1 / PQSTREAM1 / `.fvecs` / `.npy` / JSONL files. Blocks of
 * whole records ({@link VectorBlockReader}) are copied into WebAssembly memory in one piece and
 * scored in place by the SIMD kernels (assembly/scan.ts); codes are first expanded to rows there,
 * and JSONL records are staged one by one. Only the k best survive each block, so memory stays at
 * one block whatever the file size.
 *
 * Kernel regions (one instance per scan; rowsPerBlock = ⌊4 MiB / (4 · dim)⌋, at least 1):
 * ```
 *   query       (dim) f64
 *   block       the block's file bytes (grown to the largest block)
 *   offsets     (rowsPerBlock) u32     where each record's payload starts in `block`
 *   rows        (rowsPerBlock, dim) f32   decoded QSTREAM1 / PQSTREAM1 rows, staged JSONL rows
 *   rowOffsets  (rowsPerBlock) u32     r · 4 · dim, the offsets of `rows`
 *   scores      (rowsPerBlock) f64
 *   table       (m, KSUB, sub) f32     QSTREAM1: m = dim, sub = 1; PQSTREAM1: the codebooks
 * ```
 * The formats layer drives kernels here (as `codec/` does) because the hot loop belongs in
 * `assembly/`; the block reader itself stays byte-level.
 */
import { qdbError } from '../errors.js';
import type { SearchHit } from '../types.js';
import { Kernels, KSUB } from '../wasm/abi.js';
import { VectorBlockReader } from './vector-blocks.js';
import { readVectors, type VectorFileFormat } from './vector-files.js';
import { packCodebooks } from './vectro-pq.js';
import { dequantizeValue } from './vectro-quant.js';
import type { QStreamHeader } from './vectro-stream.js';

/** Table entries per position: one per u8 code. */
/** File read size and block budget: a 300 MB file is 75 reads. */
const CHUNK_BYTES = 4 << 20;

/** What {@link scanVectorFile} found. */
export interface VectorScanResult {
  /** The best `k`, highest similarity first; ties keep file order. */
  hits: SearchHit[];
  /** Records compared. */
  scanned: number;
}

/** Options of {@link scanVectorFile}. */
export interface VectorScanOptions {
  /** Skip format detection, as for `readVectors`. */
  format?: VectorFileFormat;
  /** File read size in bytes; default 4 MiB. */
  chunkBytes?: number;
  /** Called after each block with the number of records scanned so far. */
  onProgress?: (scanned: number) => void;
}

/** Keeps the `k` best hits, highest score first; a later record must score strictly higher to pass an earlier one. */
function offer(best: SearchHit[], k: number, scores: Float64Array, idOf: (i: number) => string): void {
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i]!;
    if (best.length === k && !(score > best[k - 1]!.score)) continue;
    let at = best.length;
    while (at > 0 && score > best[at - 1]!.score) at--;
    best.splice(at, 0, { id: idOf(i), score });
    if (best.length > k) best.pop();
  }
}

/** The kernel regions of one scan and the k best so far. */
class CosineScan {
  readonly best: SearchHit[] = [];
  scanned = 0;
  readonly rowsPerBlock: number;
  private readonly kernels = new Kernels();
  private readonly queryPtr: number;
  private readonly offsetsPtr: number;
  private readonly rowsPtr: number;
  private readonly rowOffsetsPtr: number;
  private readonly scoresPtr: number;
  private blockPtr = 0;
  private blockBytes = 0;
  private tablePtr = 0;
  private m = 0;
  private sub = 0;

  constructor(private readonly query: Float32Array, private readonly k: number, private readonly onProgress?: (scanned: number) => void) {
    const dim = query.length;
    const raw = this.kernels.raw;
    this.rowsPerBlock = Math.max(1, Math.floor(CHUNK_BYTES / (4 * dim)));
    this.queryPtr = raw.arenaAlloc(8 * dim);
    this.offsetsPtr = raw.arenaAlloc(4 * this.rowsPerBlock);
    this.rowsPtr = raw.arenaAlloc(4 * dim * this.rowsPerBlock);
    this.rowOffsetsPtr = raw.arenaAlloc(4 * this.rowsPerBlock);
    this.scoresPtr = raw.arenaAlloc(8 * this.rowsPerBlock);
    this.kernels.f64(this.queryPtr, dim).set(query);
    this.kernels.u32(this.rowOffsetsPtr, this.rowsPerBlock).set(Array.from({ length: this.rowsPerBlock }, (_, r) => 4 * dim * r));
  }

  /** Codes will be expanded through `table`, `(m, KSUB, sub)` f32. */
  useTable(table: Float32Array, m: number, sub: number): void {
    this.tablePtr = this.kernels.raw.arenaAlloc(4 * table.length);
    this.kernels.f32(this.tablePtr, table.length).set(table);
    [this.m, this.sub] = [m, sub];
  }

  /** The `dim` floats of staged row `r` (JSONL). */
  row(r: number): Float32Array {
    return this.kernels.f32(this.rowsPtr + 4 * this.query.length * r, this.query.length);
  }

  /** Scores `n` records whose payloads start at `offsets` in `bytes` (rows, or codes with a table). */
  scoreBlock(bytes: Uint8Array, offsets: Int32Array, n: number, idOf: (i: number) => string): void {
    const raw = this.kernels.raw;
    if (bytes.length > this.blockBytes) {
      raw.arenaFree(this.blockPtr);
      this.blockBytes = Math.max(bytes.length, CHUNK_BYTES);
      this.blockPtr = raw.arenaAlloc(this.blockBytes);
    }
    this.kernels.u8(this.blockPtr, bytes.length).set(bytes);
    this.kernels.u32(this.offsetsPtr, n).set(offsets.subarray(0, n));
    if (this.tablePtr === 0) return this.score(this.blockPtr, this.offsetsPtr, n, idOf);
    raw.scanDecodeCodes(this.blockPtr, this.offsetsPtr, n, this.m, this.sub, this.tablePtr, this.rowsPtr);
    this.scoreRows(n, idOf);
  }

  /** Scores the first `n` staged rows. */
  scoreRows(n: number, idOf: (i: number) => string): void {
    this.score(this.rowsPtr, this.rowOffsetsPtr, n, idOf);
  }

  private score(basePtr: number, offsetsPtr: number, n: number, idOf: (i: number) => string): void {
    this.kernels.raw.scanCosine(this.queryPtr, basePtr, offsetsPtr, n, this.query.length, this.scoresPtr);
    offer(this.best, this.k, this.kernels.f64(this.scoresPtr, n), idOf);
    this.scanned += n;
    this.onProgress?.(this.scanned);
  }
}

/** The `(m, KSUB, sub)` table that turns QSTREAM1 codes into dequantized values (`sub` = 1). */
function dequantizeTable(tables: QStreamHeader): Float32Array {
  const { mins, maxs } = tables;
  const table = new Float32Array(mins.length * KSUB);
  for (let j = 0; j < mins.length; j++) for (let c = 0; c < KSUB; c++) table[j * KSUB + c] = dequantizeValue(mins[j]!, maxs[j]!, c);
  return table;
}

/** Rejects a query the kernels cannot score: NaN or ±Infinity, or all zero. */
function checkQuery(query: Float32Array): void {
  let norm = 0;
  for (const x of query) norm += x * x;
  if (!Number.isFinite(norm)) throw qdbError('NON_FINITE_VALUE', ['the query']);
  if (norm === 0) throw qdbError('ZERO_VECTOR', ['the query']);
}

function dimensionMismatch(length: number, dim: number, index: number, id: string) {
  return qdbError('DIMENSION_MISMATCH', [length, dim, 'the query'], { index, id, expected: length });
}

/**
 * Exact top-k by cosine similarity over every record of a vector file. A record whose vector is
 * all zero scores 0. QSTREAM1 records are dequantized and PQSTREAM1 records decoded first.
 *
 * @param input - A file path (or bytes) in any format `readVectors` reads.
 * @param query - The query vector.
 * @param k - Results wanted (≥ 1).
 * @param options - `format`, `chunkBytes`, `onProgress`.
 * @returns The best `k` hits and the number of records scanned.
 * @throws QuantumDBError `NON_FINITE_VALUE` / `ZERO_VECTOR` for the query.
 * @throws QuantumDBError `DIMENSION_MISMATCH` naming the first record of another length.
 * @throws QuantumDBError `CORRUPT_FILE` / `UNSUPPORTED_VERSION` / `IO_ERROR` as `readVectors` throws them.
 * @example
 * ```ts
 * const { hits } = await scanVectorFile('embeddings.bin', new Float32Array([1, 0, 0]), 10);
 * ```
 * @internal
 */
export async function scanVectorFile(input: string | Uint8Array, query: Float32Array, k: number, options: VectorScanOptions = {}): Promise<VectorScanResult> {
  checkQuery(query);
  const dim = query.length;
  const scan = new CosineScan(query, k, options.onProgress);
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  const reader = await VectorBlockReader.open(input, { format: options.format, chunkBytes });
  if (reader === null) {
    const ids: string[] = [];
    for await (const { id, vector } of readVectors(input, { format: 'jsonl', chunkBytes })) {
      if (vector.length !== dim) throw dimensionMismatch(vector.length, dim, scan.scanned + ids.length, id);
      scan.row(ids.length).set(vector);
      if (ids.push(id) === scan.rowsPerBlock) {
        scan.scoreRows(ids.length, (i) => ids[i]!);
        ids.length = 0;
      }
    }
    if (ids.length > 0) scan.scoreRows(ids.length, (i) => ids[i]!);
    return { hits: scan.best, scanned: scan.scanned };
  }
  try {
    if (reader.tables !== null && reader.tables.mins.length === dim) scan.useTable(dequantizeTable(reader.tables), dim, 1);
    if (reader.pq !== null && reader.pq.dim === dim) scan.useTable(packCodebooks(reader.pq, new Float32Array(dim * KSUB)), reader.pq.m, dim / reader.pq.m);
    for (;;) {
      const n = await reader.next(scan.rowsPerBlock, dim);
      if (n > 0) scan.scoreBlock(reader.bytes, reader.offsets, n, (i) => reader.id(i));
      const bad = reader.mismatch;
      if (bad !== null) throw dimensionMismatch(bad.length, dim, bad.index, bad.id);
      if (n === 0) return { hits: scan.best, scanned: scan.scanned };
    }
  } finally {
    await reader.close();
  }
}
