/**
 * @module formats/stream-io
 * Bridges between vector files and a database: {@link buildFromStream} reads any file
 * `readVectors` understands (STREAM1 / QSTREAM1 / PQSTREAM1, `.fvecs`, `.npy`, JSONL) into a new
 * database in batches and builds its index; {@link exportStream} writes a database's vectors as a
 * Vectro+ STREAM1, QSTREAM1 or PQSTREAM1 file. Exposed as `QuantumDB.fromStream` / `db.exportStream`.
 *
 * PQSTREAM1 needs a codebook. Vectro+'s `ProductQuantizer` is plain PQ on unit-normalised vectors
 * (Jégou et al., "Product quantization for nearest neighbor search", TPAMI 2011), so
 * {@link trainProductQuantizer} runs Lloyd's k-means per subspace on the unit-length vectors of a
 * seeded sample, in the WebAssembly kernels (`vectroKmeans`, assembly/vectro.ts): deterministic
 * (same vectors + seed → same codebook), Vectro+'s binary32 distance, binary64 sums for the means.
 * Two deliberate differences from Vectro+'s trainer (wesleyscholl/vectro-plus
 * `vectro_lib/src/pq.rs`): it samples at most `trainSampleSize` rows (Vectro+ uses every row, which
 * costs n·k·dim per iteration), and it keeps centroids as means instead of re-normalising each
 * sub-centroid (so a decoded vector has norm ≈ 1, not ≈ √m). Encoding is Vectro+'s own rule
 * (`writePQStream1`, on the same kernels), so Vectro+ reads these files as its own.
 */
import { qdbError } from '../errors.js';
import { mulberry32 } from '../random.js';
import type { QuantumDB } from '../quantumdb.js';
import type { BuildProgress, QuantumDBOptions } from '../types.js';
import type { ProductQuantizer } from './vectro-quant.js';
import { readVectors, type VectorFileFormat } from './vector-files.js';
import { trainPqCodebooks } from './vectro-pq.js';
import type { VectorRecord } from './vectro-stream.js';
import { writePQStream1, writeQStream1, writeStream1 } from './vectro-write.js';

/** Progress of `QuantumDB.fromStream`: rows read (total unknown), then the phases of `buildIndex`. */
export type FromStreamProgress = {
  /** Reading the file. */
  phase: 'read';
  /** Rows read so far. */
  done: number;
  /** Unknown while streaming: `NaN`. */
  total: number;
} | BuildProgress;

/** Options of `QuantumDB.fromStream`: the database options (with `dim` optional) plus reading options. */
export interface FromStreamOptions extends Partial<QuantumDBOptions> {
  /** Skip format detection (see `readVectors`). */
  format?: VectorFileFormat;
  /** Strict Vectro+ reading (default `true`). */
  strict?: boolean;
  /** Rows handed to `addBatch` at a time; default 4,096. */
  batchSize?: number;
  /** Build the index after reading (default `true`). */
  build?: boolean;
  /** Called as rows are read and as the build advances. */
  onProgress?: (progress: FromStreamProgress) => void;
}

/** The database calls {@link exportStream} needs (`QuantumDB` has them). */
export interface ExportableDB {
  readonly dim: number;
  readonly size: number;
  ids(): Iterable<string>;
  /** `vector` is undefined when the database was saved without vectors. */
  get(id: string): { id: string; vector: Float32Array | undefined } | undefined;
}

/** The stored vector of `id`; a database saved without vectors cannot be exported. */
function vectorOf(db: ExportableDB, id: string): Float32Array {
  const entry = db.get(id);
  if (entry === undefined) throw qdbError('INTERNAL', [`ids() listed ${JSON.stringify(id)} but get() did not find it`]);
  if (entry.vector === undefined) {
    throw qdbError('INVALID_ARGUMENT', ['this database was saved without its vectors (save option vectors: "none"), so there is nothing to export; export from the database that holds them']);
  }
  return entry.vector;
}

/** Options of `db.exportStream`. The PQ fields apply to `pqstream1` only. */
export interface ExportStreamOptions {
  /** Vectro+ file kind; default `'stream1'` (f32 rows). */
  format?: 'stream1' | 'qstream1' | 'pqstream1';
  /** PQ subspaces (bytes per code); default 16, or the largest of 8, 4, 2, 1 that divides `dim`. */
  m?: number;
  /** Centroids per subspace, at most 256; default `min(256, rows sampled)`. */
  k?: number;
  /** Lloyd iterations (stops early when no assignment changes); default 15. */
  iterations?: number;
  /** Rows sampled to train the codebook; default 4,096. */
  trainSampleSize?: number;
  /** Sampling seed; default 42. */
  seed?: number;
}

const DEFAULT_BATCH = 4096;

/**
 * Reads every vector of a file into a new database, in batches, and builds its index.
 *
 * @param path - A file path (or bytes) in any format `readVectors` reads.
 * @param options - Database options (`dim` is taken from the first row when absent), `format`,
 *   `strict`, `batchSize`, `build`, `onProgress`.
 * @param create - Makes the database (`QuantumDB.fromStream` passes `(o) => new QuantumDB(o)`).
 * @returns The database, built unless `build: false` or the file is empty.
 * @throws QuantumDBError `INVALID_ARGUMENT` when the file holds no vectors and no `dim` is given.
 * @throws QuantumDBError `DIMENSION_MISMATCH` naming the first row of another length.
 * @throws QuantumDBError whatever the reader (`CORRUPT_FILE`, `IO_ERROR` …) or `addBatch` (`DUPLICATE_ID`, `ZERO_VECTOR` …) throws.
 * @example
 * ```ts
 * const db = await buildFromStream('embeddings.bin', { metric: 'cosine' }, (o) => new QuantumDB(o));
 * ```
 */
export async function buildFromStream(
  path: string | Uint8Array, options: FromStreamOptions, create: (options: QuantumDBOptions) => QuantumDB,
): Promise<QuantumDB> {
  const { format, strict, batchSize = DEFAULT_BATCH, build = true, onProgress, ...dbOptions } = options;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw qdbError('INVALID_ARGUMENT', [`batchSize must be a positive integer, got ${batchSize}`]);
  let db: QuantumDB | undefined;
  let dim = 0;
  let ids: string[] = [];
  let rows = new Float32Array(0);
  let row = 0;
  const flush = () => {
    if (ids.length === 0) return;
    db!.addBatch(ids, rows.subarray(0, ids.length * dim));
    ids = [];
    onProgress?.({ phase: 'read', done: row, total: NaN });
  };
  for await (const { id, vector } of readVectors(path, { format, strict })) {
    if (db === undefined) {
      dim = dbOptions.dim ?? vector.length;
      db = create({ ...dbOptions, dim });
      rows = new Float32Array(batchSize * dim);
    }
    if (vector.length !== dim) throw qdbError('DIMENSION_MISMATCH', [dim, vector.length, `row ${row} (id ${JSON.stringify(id)})`], { index: row, id });
    rows.set(vector, ids.length * dim);
    ids.push(id);
    row++;
    if (ids.length === batchSize) flush();
  }
  if (db === undefined) {
    if (dbOptions.dim === undefined) throw qdbError('INVALID_ARGUMENT', ['the file holds no vectors, so there is nothing to build; pass dim to get an empty database']);
    return create({ ...dbOptions, dim: dbOptions.dim });
  }
  flush();
  if (build) await db.buildIndex({ onProgress });
  return db;
}

/** Every stored vector in id order. For cosine databases these are the unit-length vectors. */
function* storedRecords(db: ExportableDB): Generator<VectorRecord> {
  for (const id of db.ids()) yield { id, vector: vectorOf(db, id) };
}

/**
 * Writes a database's vectors as a Vectro+ file (replacing `path` atomically). For `pqstream1` a
 * codebook is trained first (see the module comment).
 *
 * @param db - The database (its `ids()` and `get(id)`; cosine databases hold unit-length vectors).
 * @param path - Destination file.
 * @param options - `format` (default `'stream1'`) and, for PQ, `m`, `k`, `iterations`, `trainSampleSize`, `seed`.
 * @returns The number of records written.
 * @throws QuantumDBError `INVALID_ARGUMENT` for an unknown format, PQ parameters that do not fit `dim`,
 *   or a database saved without its vectors.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be written.
 * @example
 * ```ts
 * await exportStream(db, 'vectors.qbin', { format: 'qstream1' });
 * ```
 */
export async function exportStream(db: ExportableDB, path: string, options: ExportStreamOptions = {}): Promise<number> {
  const format = options.format ?? 'stream1';
  if (format === 'stream1') return writeStream1(path, storedRecords(db));
  if (format === 'qstream1') return writeQStream1(path, () => storedRecords(db));
  if (format === 'pqstream1') return writePQStream1(path, trainProductQuantizer(db, options), storedRecords(db));
  throw qdbError('INVALID_ARGUMENT', [`format must be 'stream1', 'qstream1' or 'pqstream1', got ${JSON.stringify(format)}`]);
}

function checkInt(value: number, name: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw qdbError('INVALID_ARGUMENT', [`${name} must be an integer from ${min} to ${max}, got ${value}`]);
  return value;
}

/** The unit-length rows of a seeded sample (without replacement), row-major in a Float32Array. */
function sampleUnitRows(db: ExportableDB, sampleSize: number, seed: number): { rows: Float32Array; n: number } {
  const all = Array.from(db.ids());
  const n = Math.min(sampleSize, all.length);
  const random = mulberry32(seed);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (all.length - i));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  const dim = db.dim;
  const rows = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const v = vectorOf(db, all[i]!);
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += v[j]! * v[j]!;
    norm = Math.sqrt(norm);
    for (let j = 0; j < dim; j++) rows[i * dim + j] = norm > 1e-12 ? v[j]! / norm : v[j]!;
  }
  return { rows, n };
}

/**
 * Trains a Vectro+-compatible product quantizer on a seeded sample of the database's unit-length vectors.
 *
 * @param db - The database to sample.
 * @param options - `m`, `k`, `iterations`, `trainSampleSize`, `seed` (see {@link ExportStreamOptions}).
 * @returns `{ m, k, dim, codebooks }` ready for `writePQStream1`.
 * @throws QuantumDBError `INVALID_ARGUMENT` for an empty database, `m` not dividing `dim`, or `k` outside 1..256.
 * @example
 * ```ts
 * const pq = trainProductQuantizer(db, { m: 8, k: 256 });
 * ```
 */
export function trainProductQuantizer(db: ExportableDB, options: ExportStreamOptions = {}): ProductQuantizer {
  const dim = db.dim;
  if (db.size === 0) throw qdbError('INVALID_ARGUMENT', ['the database is empty, so there is nothing to train a PQ codebook on; add vectors first or export as stream1']);
  const m = options.m ?? [16, 8, 4, 2, 1].find((x) => dim % x === 0)!;
  checkInt(m, 'm', 1, dim);
  if (dim % m !== 0) throw qdbError('INVALID_ARGUMENT', [`m (${m}) must divide dim (${dim})`]);
  const sampleSize = checkInt(options.trainSampleSize ?? 4096, 'trainSampleSize', 1, Number.MAX_SAFE_INTEGER);
  const iterations = checkInt(options.iterations ?? 15, 'iterations', 1, 1000);
  const { rows, n } = sampleUnitRows(db, sampleSize, options.seed ?? 42);
  const k = checkInt(options.k ?? Math.min(256, n), 'k', 1, 256);
  const codebooks = trainPqCodebooks(rows, n, dim, m, Math.min(k, n), iterations);
  return { m, k, dim, codebooks };
}
