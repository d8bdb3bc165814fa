/**
 * @module quantumdb
 * The `QuantumDB` class: validates input, keeps ids and metadata, and sequences codec → kernels →
 * re-rank. Search is synchronous; only training, building, saving and opening are async.
 */
import { autoTune, resolveAutoTune, type AutoTuneOutcome, type ResolvedAutoTune } from './codec/auto-tune.js';
import { decodeCodecFile, encodeCodecFile, type CodecFile } from './codec/codec-file.js';
import { buildCodec } from './codec/build-codec.js';
import { loadLearnedCodec, loadLinearCodec, readLinearCodec, type LearnedCodecWeights } from './codec/learned-codec.js';
import { encodeRows, type PqCodecConfig } from './codec/pq-codec.js';
import { qdbError } from './errors.js';
import { IdMap } from './ids.js';
import { SlotMetadata } from './metadata.js';
import { checkMetadata, checkQuery, copyRows, countRows, positiveInt, resolveOptions } from './input.js';
import { ioError, writeFileAtomic } from './formats/atomic-file.js';
import { buildFromStream, exportStream, type ExportStreamOptions, type FromStreamOptions } from './formats/stream-io.js';
import { planFilter, type FilterPlan } from './search/filter.js';
import { saveImage, snapshotImage, type DatabaseImage, type LoadedImage, type StoredConfig } from './storage/database-file.js';
import { graphLinksCorrupt, loadImage, openImage, type ImageReceiver } from './storage/image-load.js';
import { MappedRows } from './storage/row-store.js';
import type {
  AutoTuneReport, BuildOptions, BuildProgress, CodecReport, Metadata, Metric, OpenOptions, QuantumDBOptions, QuantumDBStats, SaveOptions, SearchHit, SearchOptions,
  StoredEntry, VectorInput, VectorsInput,
} from './types.js';
import { KERNEL_BUILD, KERNEL_FILTER, KERNEL_METRIC, Kernels } from './wasm/abi.js';

/** Rows inserted into the graph between progress reports and event-loop turns. */
const GRAPH_CHUNK = 1_000;
/** Memory grows by half again when full, so n appends cost O(n) copies in total. */
const GROWTH = 1.5;
/** Rows staged in kernel scratch at a time while adding. */
const STAGE_ROWS = 4_096;
/** `save()` compacts first when more than this fraction of slots are deleted. */
export const AUTO_COMPACT_RATIO = 0.25;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

type Params = QuantumDBStats['params'];

/**
 * An in-process vector database: 16-byte product-quantized codes, an HNSW graph searched with
 * asymmetric distances, and an exact re-rank of the best candidates.
 *
 * @example
 * ```ts
 * const db = new QuantumDB({ dim: 768, metric: 'cosine' });
 * await db.addBatch(ids, vectors).buildIndex();
 * const hits = db.search(query, { k: 10 }); // [{ id, score }], best first
 * ```
 */
export class QuantumDB {
  /** Vector length. */
  readonly dim: number;
  /** Similarity measure. */
  readonly metric: Metric;
  private kernels = new Kernels();
  private readonly idMap = new IdMap();
  private readonly metadata = new SlotMetadata();
  private readonly codec: PqCodecConfig;
  /** The learned codec's weights when it is in use. */
  private learned: LearnedCodecWeights | undefined;
  private codecReport: CodecReport = { kind: 'pq', backend: null, trainSeconds: 0, validation: { pq: null, opq: null, learned: null }, reason: 'not built yet' };
  /** Set by `importCodec`: `buildIndex` keeps this codec instead of training one. */
  private codecImported = false;
  /** The auto-tuner's report of the last build, when it ran with `autoTune`. */
  private autoTuneReport: AutoTuneReport | null = null;
  private readonly params: Params;

  private capacity = 0;
  private built = false;
  private busy: 'building' | 'saving' | 'compacting' | undefined;
  private readOnly = false;
  /** Set when the re-rank vectors stay in a file mapping instead of kernel memory. */
  private mapped: MappedRows | undefined;
  private releaseMapping: (() => void) | undefined;
  private readonly buildSeconds = { codec: 0, graph: 0 };

  /**
   * @param options `dim` is required; everything else has a default (see {@link QuantumDBOptions}).
   * @throws QuantumDBError `INVALID_ARGUMENT` for an option out of range.
   * @throws QuantumDBError `WASM_UNAVAILABLE` when the runtime lacks WebAssembly SIMD.
   */
  constructor(options: QuantumDBOptions) {
    const resolved = resolveOptions(options);
    this.dim = resolved.dim;
    this.metric = resolved.metric;
    this.params = resolved.params;
    this.codec = resolved.codec;
    this.configure(this.kernels);
  }

  /** Number of vectors held (deleted ones excluded). */
  get size(): number { return this.idMap.size; }

  /** True once `buildIndex()` has trained the codec and built the graph. */
  get isBuilt(): boolean { return this.built; }

  /**
   * The live ids, in slot order (insertion order until a compaction).
   * @returns an iterator over the ids
   * @throws nothing
   * @example
   * ```ts
   * for (const id of db.ids()) console.log(id, db.get(id)?.metadata);
   * ```
   */
  ids(): IterableIterator<string> { return this.idMap.ids(); }

  /**
   * Builds a database from a vector file: Vectro+ STREAM1 / QSTREAM1 / PQSTREAM1, `.fvecs`,
   * `.npy` (float32, C order) or JSONL `{"id": …, "vector": […]}`, read in batches.
   * @param path the file (or its bytes)
   * @param options database options (`dim` defaults to the first row's length) and reading options
   * @returns the database, built unless `build: false`
   * @throws QuantumDBError `CORRUPT_FILE` (with the byte offset), `IO_ERROR`, `DIMENSION_MISMATCH`, `DUPLICATE_ID`, …
   * @example
   * ```ts
   * const db = await QuantumDB.fromStream('embeddings.stream1.bin', { metric: 'cosine' });
   * ```
   */
  static async fromStream(path: string | Uint8Array, options: FromStreamOptions = {}): Promise<QuantumDB> {
    return buildFromStream(path, options, (resolved) => new QuantumDB(resolved));
  }

  /**
   * Writes the stored vectors (unit length under cosine) as a Vectro+ STREAM1, QSTREAM1 or
   * PQSTREAM1 file, in id order, atomically.
   * @param path the file to write
   * @param options `format` (default `'stream1'`) and, for PQSTREAM1, the codebook's `m`, `k`, …
   * @returns the number of records written
   * @throws QuantumDBError `IO_ERROR`; `INVALID_ARGUMENT` for a database saved without vectors.
   * @example
   * ```ts
   * await db.exportStream('vectors.qstream1.bin', { format: 'qstream1' });
   * ```
   */
  async exportStream(path: string, options: ExportStreamOptions = {}): Promise<number> {
    return exportStream(this, path, options);
  }

  /**
   * Adds vectors under new ids, with optional metadata. Before `buildIndex()` they are only
   * stored; afterwards each is encoded with the trained codec and inserted into the graph at once
   * (no retraining). Nothing changes when any check fails.
   * @param ids one non-empty, unique string per vector
   * @param vectors a row-major `Float32Array` of ids.length × dim, or one row per id
   * @param metadata one JSON-serialisable object (or undefined) per id
   * @returns this database, for chaining
   * @throws QuantumDBError `EMPTY_ID`, `DUPLICATE_ID`, `DIMENSION_MISMATCH`, `NON_FINITE_VALUE`,
   *   `ZERO_VECTOR` (cosine only), `INVALID_ARGUMENT` (count, type or metadata), `CAPACITY_EXCEEDED`.
   * @example
   * ```ts
   * db.addBatch(['a', 'b'], [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]], [{ lang: 'en' }, { lang: 'fr' }]);
   * ```
   */
  addBatch(ids: readonly string[], vectors: VectorsInput, metadata?: readonly (Metadata | undefined)[]): this {
    this.writeRows(ids, vectors, metadata, false);
    return this;
  }

  /**
   * Adds or replaces: ids already present are deleted first, then every vector is added.
   * @returns this database
   * @throws QuantumDBError the codes of {@link QuantumDB.addBatch}; nothing changes when a check fails.
   * @example
   * ```ts
   * db.upsert(['a'], [[0.2, 0.2, 0.2]], [{ lang: 'de' }]);
   * ```
   */
  upsert(ids: readonly string[], vectors: VectorsInput, metadata?: readonly (Metadata | undefined)[]): this {
    this.writeRows(ids, vectors, metadata, true);
    return this;
  }

  /**
   * Deletes ids; they never come back from search. Their slots are reclaimed by `compact()`,
   * which `save()` runs by itself past {@link AUTO_COMPACT_RATIO} deleted slots.
   * @param ids ids to delete; ids not present are ignored
   * @returns how many were deleted
   * @throws QuantumDBError `INVALID_ARGUMENT` when read-only, busy, or ids is not an array of strings.
   * @example
   * ```ts
   * db.delete(['a', 'b']); // 2
   * ```
   */
  delete(ids: readonly string[]): number {
    this.assertWritable();
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) throw qdbError('INVALID_ARGUMENT', ['delete takes an array of id strings']);
    let deleted = 0;
    for (const id of ids) if (this.deleteOne(id)) deleted++;
    return deleted;
  }

  /**
   * The stored vector (unit length under cosine; undefined when the file was saved without
   * vectors) and metadata of `id`, or undefined when absent.
   * @throws QuantumDBError `CORRUPT_FILE` when the mapped file's vectors fail their checksum.
   * @example
   * ```ts
   * const entry = db.get('a'); // { id: 'a', vector: Float32Array(3), metadata: { lang: 'en' } }
   * ```
   */
  get(id: string): StoredEntry | undefined {
    const slot = this.idMap.slotOf(id);
    if (slot === undefined) return undefined;
    return { id, vector: this.readVector(slot), metadata: this.metadata.get(slot) };
  }

  /**
   * Trains the codec on a seeded sample of the stored vectors, encodes them all and builds the
   * graph. Calling it again retrains and rebuilds from scratch. With `autoTune`, m, targetDim, M,
   * efConstruction and the learned codec's training settings are chosen first (see
   * {@link BuildOptions.autoTune}); `stats().params` and `stats().autoTune` then show the choice.
   * @param options codec, training, auto-tuning and progress callback
   * @returns this database
   * @throws QuantumDBError `NOT_TRAINED` when the database is empty; `INVALID_ARGUMENT` when busy,
   *   read-only, opened with its vectors left in the file mapping, or for bad `autoTune` options.
   * @example
   * ```ts
   * await db.buildIndex({ onProgress: ({ phase, done, total }) => console.log(phase, done, total) });
   * await db.buildIndex({ autoTune: { budgetSeconds: 60 } }); // then db.stats().autoTune
   * ```
   */
  async buildIndex(options: BuildOptions = {}): Promise<this> {
    this.assertWritable();
    if (this.mapped) throw qdbError('INVALID_ARGUMENT', ['this database keeps its vectors in the file mapping; open it with { vectors: "memory" } to rebuild it']);
    if (this.size === 0) throw qdbError('NOT_TRAINED', ['the database is empty, so there is nothing to train the codec on; add vectors first']);
    const tune = resolveAutoTune(options, this.params.seed, this.codecImported);
    const onProgress = options.onProgress;
    const report = async (phase: BuildProgress['phase'], done: number, total: number): Promise<void> => {
      onProgress?.({ phase, done, total });
      await yieldToEventLoop();
    };
    this.busy = 'building';
    this.built = false;
    try {
      if (this.kernels.raw.deletedCount() > 0) this.moveLiveSlots();
      const n = this.idMap.slotCount;
      this.autoTuneReport = null;
      const tuned = tune && (await this.tune(tune, options));
      const t0 = performance.now();
      if (!this.codecImported) {
        this.learned = undefined;
        const codec = await buildCodec({ kernels: this.kernels, dim: this.dim, metric: this.metric, seed: this.params.seed, slotCount: n, config: this.codec }, options, report, tuned);
        this.params.targetDim = codec.targetDim;
        this.codecReport = codec.report;
        this.learned = codec.learned;
      }
      const t1 = await this.buildGraph(this.kernels, report);
      this.buildSeconds.codec = (t1 - t0) / 1000;
      this.buildSeconds.graph = (performance.now() - t1) / 1000;
      this.built = true;
      if (tuned) this.autoTuneReport = tuned.finish(this.kernels, n, this.codecReport.kind, this.learned);
    } finally {
      this.busy = undefined;
    }
    return this;
  }

  /**
   * Stages 1 and 2 of the auto-tuner on a sample of the stored rows; then the winner's parameters
   * in force, in fresh kernels sized for them (the vectors move over; codec and graph follow).
   */
  private async tune(tune: ResolvedAutoTune, options: BuildOptions): Promise<AutoTuneOutcome> {
    const outcome = await autoTune({
      dim: this.dim, metric: this.metric, rotation: this.params.rotation, buildDistance: this.params.buildDistance,
      slotCount: this.idMap.slotCount, readRow: (slot) => this.kernels.f32(this.kernels.raw.rowPtr(slot), this.dim),
      baseline: { ...this.params, targetDim: this.codec.targetDim }, codec: options.codec ?? 'auto', backend: options.trainBackend ?? 'auto', idBytesPerVector: this.idMap.approximateBytes() / this.size,
    }, tune, async (done, total, stage) => {
      options.onProgress?.({ phase: 'autotune', done, total, stage });
      await yieldToEventLoop();
    });
    const { m, targetDim, M, efConstruction } = outcome.config;
    // The codec in use (if any) has the old sizes and is retrained next: the move leaves it behind.
    this.built = false;
    this.learned = undefined;
    Object.assign(this.params, { m, targetDim, M, efConstruction });
    Object.assign(this.codec, { m, targetDim });
    this.moveLiveSlots();
    return outcome;
  }

  /** The codec in use as a codec file. */
  private codecFileBytes(): Uint8Array {
    if (this.learned) return encodeCodecFile({ kind: 'learned', metric: this.metric, weights: this.learned });
    const { m, targetDim } = this.params;
    const kind = this.codecReport.kind === 'opq' ? 'opq' : 'pq';
    return encodeCodecFile({ kind, metric: this.metric, codec: readLinearCodec(this.kernels, kind, this.dim, targetDim, m) });
  }

  /** Loads a decoded codec file into the kernels; `buildIndex` will keep it. */
  private useCodecFile(file: CodecFile, reason: string): void {
    const c = file.kind === 'learned' ? file.weights : file.codec;
    if (file.metric !== this.metric || c.dim !== this.dim || c.m !== this.params.m || c.targetDim !== this.params.targetDim) {
      throw qdbError('INVALID_ARGUMENT', [`the codec was trained for ${file.metric}, dim ${c.dim}, m ${c.m}, targetDim ${c.targetDim}; this database uses ${this.metric}, dim ${this.dim}, m ${this.params.m}, targetDim ${this.params.targetDim}`]);
    }
    if (file.kind === 'learned') {
      loadLearnedCodec(this.kernels, file.weights);
      this.learned = file.weights;
    } else {
      loadLinearCodec(this.kernels, file.codec);
    }
    this.kernels.raw.codecLoaded();
    this.codecImported = true;
    this.codecReport = { kind: file.kind, backend: null, trainSeconds: 0, validation: { pq: null, opq: null, learned: null }, reason };
  }

  /**
   * Reclaims the slots of deleted items: renumbers the live ones and rebuilds the graph with the
   * trained codec (no retraining).
   * @throws QuantumDBError `INVALID_ARGUMENT` when busy or read-only.
   * @example
   * ```ts
   * db.delete(oldIds);
   * await db.compact();
   * ```
   */
  async compact(): Promise<void> {
    this.assertWritable();
    if (this.kernels.raw.deletedCount() === 0) return;
    this.busy = 'compacting';
    try {
      this.moveLiveSlots();
      if (this.built) await this.buildGraph(this.kernels, async () => yieldToEventLoop());
    } finally {
      this.busy = undefined;
    }
  }

  /**
   * The `k` nearest stored vectors to `query`, best first. Scores follow the metric: cosine
   * similarity, squared L2 distance, or inner product. With `rerank: 0` they are the approximate
   * (ADC) scores of the codes; otherwise the best `rerank` candidates are re-scored exactly.
   * @param query a vector of length `dim`
   * @param options `k` (default 10), `ef`, `rerank`, `flat`, `filter`
   * @returns up to `k` hits; `[]` for an empty database
   * @throws QuantumDBError `DIMENSION_MISMATCH`, `NON_FINITE_VALUE`, `ZERO_VECTOR` (cosine), `INVALID_ARGUMENT`,
   *   `NOT_TRAINED` when vectors were added but `buildIndex()` has not run, `CORRUPT_FILE` (mapped vectors).
   * @example
   * ```ts
   * const hits = db.search(query, { k: 5, filter: (id, meta) => meta?.lang === 'en' });
   * ```
   */
  search(query: VectorInput, options: SearchOptions = {}): SearchHit[] {
    checkQuery(query, this.dim);
    const k = positiveInt(options.k, 10, 'k');
    const ef = positiveInt(options.ef, this.params.ef, 'ef');
    const rerank = positiveInt(options.rerank, this.params.rerank, 'rerank', 0);
    const { kernels } = this;
    const raw = kernels.raw;
    kernels.f32(raw.queryPtr(), this.dim).set(query);
    const bad = raw.queryFirstNonFinite();
    if (bad >= 0) throw qdbError('NON_FINITE_VALUE', [`the query (value ${bad})`], { index: bad });
    const plan = options.filter === undefined ? undefined : planFilter(options.filter, this.filterContext());
    if (this.size === 0 || (plan !== undefined && plan.kind !== 'predicate' && plan.slots.length === 0)) return [];
    if (!this.built) throw qdbError('NOT_TRAINED', [`${this.size} vectors are stored but not indexed yet`]);
    if (raw.queryPrepare() !== 0) throw qdbError('ZERO_VECTOR', ['the query']);
    const kk = Math.min(k, this.size);
    const rr = this.mapped && !this.mapped.available ? 0 : rerank;
    // With mapped vectors the kernels return candidates and the exact re-rank runs on copied rows.
    const inKernel = this.mapped ? 0 : rr;
    const wanted = this.mapped && rr > 0 ? Math.max(kk, rr) : kk;
    const flat = options.flat === true || this.idMap.slotCount < this.params.flatThreshold;
    let count = this.runSearch(plan, flat, wanted, ef, inKernel);
    if (this.mapped && rr > 0) count = this.rerankMapped(count, kk);
    const slots = kernels.u32(raw.outSlotsPtr(), count);
    const dists = kernels.f32(raw.outDistsPtr(), count);
    const sign = this.metric === 'l2' ? 1 : -1;
    const hits: SearchHit[] = new Array(count);
    for (let i = 0; i < count; i++) hits[i] = { id: this.idMap.idOf(slots[i] as number), score: sign * (dists[i] as number) };
    return hits;
  }

  /**
   * Writes the database to `path` atomically (temporary sibling file, fsync, rename, fsync of the
   * directory): a crash leaves the old file or the new one, never a broken one. Compacts first
   * when more than {@link AUTO_COMPACT_RATIO} of the slots are deleted.
   * @param options how re-rank vectors are stored (`f32` default, `f16`, `int8`, `none`)
   * @throws QuantumDBError `IO_ERROR` on a file-system failure; `INVALID_ARGUMENT` when busy.
   * @example
   * ```ts
   * await db.save('index.qdb');
   * ```
   */
  async save(path: string, options: SaveOptions = {}): Promise<void> {
    if (this.busy) throw qdbError('INVALID_ARGUMENT', [`${this.busy} is running; await it before saving`]);
    const deleted = this.kernels.raw.deletedCount();
    if (!this.readOnly && deleted > AUTO_COMPACT_RATIO * this.idMap.slotCount) await this.compact();
    const image = this.image(options);
    this.busy = 'saving';
    try {
      await saveImage(path, image);
    } finally {
      this.busy = undefined;
    }
  }

  /**
   * The `.qdb` file as bytes (for browsers and other storage). No automatic compaction.
   * @throws QuantumDBError `INVALID_ARGUMENT` for bad options.
   * @example
   * ```ts
   * const bytes = db.toBytes({ vectors: 'f16' });
   * ```
   */
  toBytes(options: SaveOptions = {}): Uint8Array {
    return snapshotImage(this.image(options));
  }

  /**
   * Opens a `.qdb` file. Codes and graph are read straight into kernel memory (one copy); the
   * re-rank vectors stay in the file and only the rows a query re-ranks are read. Every section is
   * checked before it is trusted.
   * @param path the file
   * @param options `readOnly`, `vectors: 'mapped' | 'memory'`, `mmap`
   * @throws QuantumDBError `CORRUPT_FILE` (truncated, damaged or foreign file), `UNSUPPORTED_VERSION`, `IO_ERROR`.
   * @example
   * ```ts
   * const db = await QuantumDB.open('index.qdb', { readOnly: true });
   * ```
   */
  static async open(path: string, options: OpenOptions = {}): Promise<QuantumDB> {
    const { result: db, release } = await openImage(path, options.mmap === true, (config, fileHasRows) => QuantumDB.receiver(config, fileHasRows, options));
    if (db.mapped) db.releaseMapping = release;
    else release();
    return db;
  }

  /**
   * Opens a database from `.qdb` bytes (see {@link QuantumDB.toBytes}). The bytes must stay unchanged while the database is used.
   * @throws QuantumDBError `CORRUPT_FILE`, `UNSUPPORTED_VERSION`.
   * @example
   * ```ts
   * const copy = QuantumDB.fromBytes(db.toBytes());
   * ```
   */
  static fromBytes(bytes: Uint8Array, options: OpenOptions = {}): QuantumDB {
    return loadImage(bytes, (config, fileHasRows) => QuantumDB.receiver(config, fileHasRows, options));
  }

  /**
   * Writes the trained codec as a safetensors file (encoder, decoder and codebooks of a learned
   * codec; rotation, mean and codebooks of PQ / OPQ; `__metadata__` holds its configuration), so
   * a codec trained once can encode other databases of the same dimension.
   * @param path the file to write (atomically)
   * @throws QuantumDBError `NOT_TRAINED` before `buildIndex()`; `IO_ERROR`.
   * @example
   * ```ts
   * await db.exportCodec('codec.safetensors');
   * ```
   */
  async exportCodec(path: string): Promise<void> {
    if (!this.built && !this.codecImported) throw qdbError('NOT_TRAINED', ['there is no trained codec to export']);
    const bytes = this.codecFileBytes();
    await writeFileAtomic(path, async (sink) => sink.write(bytes));
  }

  /**
   * A new, empty database that uses a codec exported by {@link QuantumDB.exportCodec}: its
   * `buildIndex()` encodes the vectors and builds the graph without training.
   * @param path a codec file
   * @param options database options other than those the codec fixes (dim, metric, m, targetDim)
   * @throws QuantumDBError `CORRUPT_FILE`, `UNSUPPORTED_VERSION`, `IO_ERROR`, `INVALID_ARGUMENT`.
   * @example
   * ```ts
   * const db = await QuantumDB.importCodec('codec.safetensors');
   * await db.addBatch(ids, vectors).buildIndex(); // no training
   * ```
   */
  static async importCodec(path: string, options: Omit<Partial<QuantumDBOptions>, 'dim' | 'metric' | 'm' | 'targetDim' | 'rotation'> = {}): Promise<QuantumDB> {
    const { readFile } = await import('node:fs/promises');
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (e) {
      throw ioError('read', path, e);
    }
    const file = decodeCodecFile(bytes);
    const c = file.kind === 'learned' ? file.weights : file.codec;
    const db = new QuantumDB({ ...options, dim: c.dim, metric: file.metric, m: c.m, targetDim: c.targetDim });
    db.useCodecFile(file, `imported from ${path}`);
    return db;
  }

  /**
   * Lets go of the file mapping of an opened database; searching it afterwards is an error.
   * @throws nothing
   * @example
   * ```ts
   * const db = await QuantumDB.open('index.qdb');
   * try { db.search(query); } finally { db.close(); }
   * ```
   */
  close(): void {
    this.releaseMapping?.();
    this.releaseMapping = undefined;
  }

  /**
   * What the database holds and what each part costs in memory.
   * @returns sizes, parameters, byte counts per part and build times
   * @throws nothing
   * @example
   * ```ts
   * console.log(db.stats().bytes.index / db.size, 'bytes per vector');
   * ```
   */
  stats(): QuantumDBStats {
    const raw = this.kernels.raw;
    const { m, targetDim } = this.params;
    const codes = this.capacity * m;
    const graph = raw.graphBytes();
    const ids = this.idMap.approximateBytes();
    const vectors = this.mapped ? this.mapped.residentBytes : raw.vectorBytes();
    const encoder = this.learned ? (this.learned.w1.length + this.learned.b1.length + this.learned.w2.length + this.learned.b2.length) * 4 : 0;
    const codec = (targetDim * this.dim + this.dim + targetDim + m * 256 * (targetDim / m) * 2 + m * 256 * 2) * 4 + encoder;
    const scratch = raw.scratchBytes();
    return {
      size: this.size, dim: this.dim, metric: this.metric, built: this.built, codeBytes: m,
      params: { ...this.params },
      bytes: { codes, graph, ids, vectors, codec, scratch, index: codes + graph + ids, total: codes + graph + ids + vectors + codec + scratch },
      buildSeconds: { ...this.buildSeconds },
      codec: { ...this.codecReport, validation: { ...this.codecReport.validation } },
      deleted: raw.deletedCount(),
      vectors: this.mapped ? (this.mapped.available ? 'mapped' : 'none') : 'memory',
      autoTune: this.autoTuneReport && structuredClone(this.autoTuneReport),
    };
  }

  private configure(kernels: Kernels): void {
    const p = this.params;
    kernels.check(kernels.raw.configure(
      this.metric === 'l2' ? KERNEL_METRIC.l2 : KERNEL_METRIC.ip, this.metric === 'cosine' ? 1 : 0, this.dim, p.targetDim, p.m,
      p.M, p.efConstruction, KERNEL_BUILD[p.buildDistance], p.seed >>> 0,
    ), 'configuring the database');
  }

  private assertWritable(): void {
    if (this.readOnly) throw qdbError('INVALID_ARGUMENT', ['this database was opened read-only; open it without { readOnly: true } to change it']);
    if (this.busy) throw qdbError('INVALID_ARGUMENT', [`${this.busy} is running; await it before changing the database`]);
  }

  private reserve(needed: number): void {
    if (needed <= this.capacity) return;
    const next = Math.max(needed, Math.ceil(this.capacity * GROWTH), 1024);
    this.kernels.raw.reserve(next);
    this.capacity = next;
  }

  /** The distance later single inserts use: full vectors when resident, else reconstructions. */
  private insertMode(): number {
    return KERNEL_BUILD[this.mapped || this.params.buildDistance === 'decoded' ? 'decoded' : 'exact'];
  }

  private writeRows(ids: readonly string[], vectors: VectorsInput, metadata: readonly (Metadata | undefined)[] | undefined, replacing: boolean): void {
    this.assertWritable();
    if (!Array.isArray(ids)) throw qdbError('INVALID_ARGUMENT', ['ids must be an array of strings']);
    const n = countRows(vectors, this.dim, ids.length);
    this.idMap.validateNew(ids, replacing);
    const meta = checkMetadata(metadata, n);
    if (n === 0) return;
    const first = this.idMap.slotCount;
    this.reserve(first + n);
    // Rows pass through a staging block twice: every row is checked before anything changes,
    // then each is normalised, stored (kernel rows or the mapped store's memory) and indexed.
    this.forEachStagedBlock(vectors, n, (rowsPtr, at, count) => {
      const raw = this.kernels.raw;
      const bad = raw.rowsFirstNonFinite(rowsPtr, count);
      if (bad >= 0) throw qdbError('NON_FINITE_VALUE', [`vector ${at + bad} (id ${JSON.stringify(ids[at + bad])})`], { index: at + bad });
      const zero = this.metric === 'cosine' ? raw.rowsFirstZero(rowsPtr, count) : -1;
      if (zero >= 0) throw qdbError('ZERO_VECTOR', [`vector ${at + zero} (id ${JSON.stringify(ids[at + zero])})`], { index: at + zero });
    });
    if (replacing) for (const id of ids) this.deleteOne(id);
    this.idMap.append(ids);
    this.metadata.append(meta);
    this.forEachStagedBlock(vectors, n, (rowsPtr, at, count) => {
      const raw = this.kernels.raw;
      if (this.metric === 'cosine') raw.rowsNormalize(rowsPtr, count);
      if (this.mapped) this.mapped.append(this.kernels.f32(rowsPtr, count * this.dim).slice());
      else raw.storeRows(rowsPtr, first + at, count);
      if (this.built) {
        raw.encodeRows(rowsPtr, first + at, count);
        raw.graphInsertRows(first + at, count);
      }
    });
  }

  /** Copies the input, STAGE_ROWS rows at a time, into kernel scratch and calls `fn` on each block. */
  private forEachStagedBlock(vectors: VectorsInput, n: number, fn: (rowsPtr: number, first: number, count: number) => void): void {
    for (let at = 0; at < n; at += STAGE_ROWS) {
      const count = Math.min(STAGE_ROWS, n - at);
      const rowsPtr = this.kernels.raw.scratch(count * this.dim * 4);
      copyRows(vectors, this.dim, at, count, this.kernels.f32(rowsPtr, count * this.dim));
      fn(rowsPtr, at, count);
    }
  }

  private deleteOne(id: string): boolean {
    const slot = this.idMap.remove(id);
    if (slot === undefined) return false;
    this.kernels.raw.markDeleted(slot);
    this.metadata.set(slot, undefined);
    return true;
  }

  private readVector(slot: number): Float32Array | undefined {
    if (!this.mapped) return this.kernels.f32(this.kernels.raw.rowPtr(slot), this.dim).slice();
    if (!this.mapped.available) return undefined;
    const out = new Float32Array(this.dim);
    this.mapped.read(slot, out);
    return out;
  }

  /** Encodes every row and builds the graph in `kernels`; returns the time the graph phase began. */
  private async buildGraph(kernels: Kernels, report: (phase: BuildProgress['phase'], done: number, total: number) => Promise<void>): Promise<number> {
    const raw = kernels.raw;
    const n = this.idMap.slotCount;
    const mode = this.mapped ? 'decoded' : this.params.buildDistance;
    let started = performance.now();
    try {
      raw.bulkBuildBegin(n, KERNEL_BUILD[mode]);
      if (!this.mapped) await encodeRows(kernels, 0, n, report);
      started = performance.now();
      for (let done = 0; done < n; done += GRAPH_CHUNK) {
        await report('graph', done, n);
        raw.graphInsertRows(done, Math.min(GRAPH_CHUNK, n - done));
      }
    } finally {
      // Projections exist only during the bulk build; later inserts compare full vectors or reconstructions.
      raw.bulkBuildEnd(this.insertMode());
    }
    await report('graph', n, n);
    return started;
  }

  /** Renumbers the live slots 0, 1, … into a fresh kernel instance (the graph is rebuilt by the caller). */
  private moveLiveSlots(): void {
    const kept: number[] = [];
    for (let slot = 0; slot < this.idMap.slotCount; slot++) if (this.idMap.idOf(slot) !== '') kept.push(slot);
    const from = this.kernels;
    const to = new Kernels();
    this.configure(to);
    if (this.mapped) to.raw.dropVectors();
    to.raw.reserve(Math.max(kept.length, 1));
    const { m, targetDim } = this.params;
    // Codes exist only with a codec.
    if (this.built || this.codecImported) {
      if (this.learned) loadLearnedCodec(to, this.learned);
      else loadLinearCodec(to, readLinearCodec(from, 'pq', this.dim, targetDim, m));
      to.raw.codecLoaded();
      const codes = from.u8(from.raw.codesPtr(), this.idMap.slotCount * m);
      const toCodes = to.u8(to.raw.codesPtr(), kept.length * m);
      kept.forEach((slot, i) => toCodes.set(codes.subarray(slot * m, (slot + 1) * m), i * m));
    }
    if (!this.mapped) kept.forEach((slot, i) => to.f32(to.raw.rowPtr(i), this.dim).set(from.f32(from.raw.rowPtr(slot), this.dim)));
    this.mapped?.renumber(kept);
    this.idMap.renumber(kept);
    this.metadata.renumber(kept);
    this.kernels = to;
    this.capacity = Math.max(kept.length, 1);
  }

  private filterContext() {
    return {
      slotCount: this.idMap.slotCount,
      liveCount: this.size,
      slotOf: (id: string) => this.idMap.slotOf(id),
      idOf: (slot: number) => this.idMap.idOf(slot),
      metadataOf: (slot: number) => this.metadata.get(slot),
    };
  }

  private runSearch(plan: FilterPlan | undefined, flat: boolean, k: number, ef: number, rerank: number): number {
    const { kernels } = this;
    const raw = kernels.raw;
    const n = this.idMap.slotCount;
    const search = () => (flat ? raw.searchFlat(0, n, k, rerank) : raw.searchGraph(k, ef, rerank));
    if (plan === undefined) return search();
    if (plan.kind === 'slots') return kernels.withSlots(plan.slots, (ptr) => raw.searchFlat(ptr, plan.slots.length, k, rerank));
    if (plan.kind === 'predicate') {
      kernels.filterPredicate = plan.accepts;
      raw.setFilterMode(KERNEL_FILTER.host);
    } else {
      const allowed = kernels.u8(raw.allowedPtr(), n);
      for (const slot of plan.slots) allowed[slot] = 1;
      raw.setFilterMode(KERNEL_FILTER.bitmap);
    }
    try {
      return search();
    } finally {
      raw.setFilterMode(KERNEL_FILTER.none);
      kernels.filterPredicate = () => true;
      if (plan.kind === 'bitmap') kernels.u8(raw.allowedPtr(), n).fill(0);
    }
  }

  /** Exact re-rank of `count` kernel candidates whose rows live in the file mapping. */
  private rerankMapped(count: number, k: number): number {
    const { kernels, dim } = this;
    const raw = kernels.raw;
    const slots = kernels.u32(raw.outSlotsPtr(), count).slice();
    const ptr = raw.scratch(count * (dim + 1) * 4);
    const rows = kernels.f32(ptr, count * dim);
    for (let i = 0; i < count; i++) (this.mapped as MappedRows).read(slots[i] as number, rows.subarray(i * dim, (i + 1) * dim));
    kernels.u32(ptr + count * dim * 4, count).set(slots);
    return raw.rerankRows(ptr, ptr + count * dim * 4, count, k);
  }

  private image(options: SaveOptions): DatabaseImage {
    const raw = this.kernels.raw;
    const n = this.idMap.slotCount;
    const { m, targetDim, M } = this.params;
    const copy = (ptr: number, bytes: number) => this.kernels.u8(ptr, bytes).slice();
    const vectors = options.vectors ?? 'f32';
    if (vectors === 'none' && !this.built) throw qdbError('INVALID_ARGUMENT', ['an unbuilt database needs its vectors; save it with vectors f32, f16 or int8, or build it first']);
    return {
      vectors, dim: this.dim, slotCount: n,
      readRow: (slot, out) => {
        if (this.mapped) this.mapped.read(slot, out);
        else out.set(this.kernels.f32(raw.rowPtr(slot), this.dim));
      },
      config: {
        format: 'quantumdb', dim: this.dim, metric: this.metric, slotCount: n, built: this.built,
        params: { ...this.params, trainSampleSize: this.codec.trainSampleSize, kmeansIterations: this.codec.kmeansIterations },
        graph: { entryPoint: raw.entryPoint(), maxLevel: raw.maxLevel(), nodeCount: raw.graphNodeCount(), upperWords: raw.upperUsed(), levelState: raw.levelState() >>> 0 },
        buildSeconds: { ...this.buildSeconds },
        codec: { ...this.codecReport },
        ...(this.autoTuneReport ? { autoTune: this.autoTuneReport } : {}),
      },
      codec: this.built ? {
        rotation: this.kernels.f32(raw.rotationPtr(), targetDim * this.dim).slice(),
        mean: this.kernels.f32(raw.meanPtr(), this.dim).slice(),
        codebooks: this.kernels.f32(raw.codebooksPtr(), m * 256 * (targetDim / m)).slice(),
      } : undefined,
      codes: copy(raw.codesPtr(), n * m),
      level0: copy(raw.level0Ptr(), n * (1 + 2 * M) * 4),
      levels: copy(raw.levelsPtr(), n),
      upperOffsets: copy(raw.upperOffsetsPtr(), n * 4),
      upper: copy(raw.upperPtr(), raw.upperUsed() * 4),
      learnedCodec: this.learned ? encodeCodecFile({ kind: 'learned', metric: this.metric, weights: this.learned }) : undefined,
      ids: [...this.idMap.allSlots()],
      metadata: this.metadata.toTexts(),
      deleted: copy(raw.deletedPtr(), n),
    };
  }

  /**
   * A new database for a file's configuration, with kernel regions reserved for its slots: the
   * load reads codes and graph straight into them (untouched until then: the reads fault their
   * pages in, off this thread), then hands over the rest.
   */
  private static receiver(config: StoredConfig, fileHasRows: boolean, options: OpenOptions): ImageReceiver<QuantumDB> {
    const db = new QuantumDB({ dim: config.dim, metric: config.metric, ...config.params });
    const raw = db.kernels.raw;
    const n = Math.max(config.slotCount, 1);
    const vectorsInFile = db.keepsVectorsInFile(config, fileHasRows, options);
    if (vectorsInFile) raw.dropVectors();
    raw.reserveForRead(n);
    db.capacity = n;
    raw.graphReserveUpperForRead(config.graph.upperWords);
    return {
      regions: { kernels: db.kernels, codes: raw.codesPtr(), level0: raw.level0Ptr(), levels: raw.levelsPtr(), upperOffsets: raw.upperOffsetsPtr(), upper: raw.upperPtr() },
      finish: (image) => db.restoreFinish(image, vectorsInFile, options),
    };
  }

  /** Takes everything of a loaded file but codes and graph links, which are already in place. */
  private restoreFinish(image: LoadedImage, vectorsInFile: boolean, options: OpenOptions): QuantumDB {
    const { config } = image;
    const n = config.slotCount;
    const { kernels } = this;
    const raw = kernels.raw;
    const { m, targetDim } = this.params;
    if (image.codec) {
      kernels.f32(raw.rotationPtr(), targetDim * this.dim).set(image.codec.rotation);
      kernels.f32(raw.meanPtr(), this.dim).set(image.codec.mean);
      kernels.f32(raw.codebooksPtr(), m * 256 * (targetDim / m)).set(image.codec.codebooks);
      raw.codecLoaded();
    }
    const g = config.graph;
    raw.graphRestore(g.entryPoint, g.maxLevel, g.nodeCount, g.upperWords, g.levelState >>> 0);
    const badSlot = config.built ? raw.graphValidateUpper(n) : -1;
    if (badSlot >= 0) throw graphLinksCorrupt(badSlot);
    if (image.learnedCodec) this.useCodecFile(image.learnedCodec, 'stored with the database');
    this.codecImported = false;
    if (config.codec) this.codecReport = config.codec;
    this.autoTuneReport = config.autoTune ?? null;
    for (const slot of image.deletedSlots) raw.markDeleted(slot);
    this.idMap.load(image.ids, image.deleted, image.deletedSlots.length);
    this.metadata.load(n, image.metadata?.texts, image.metadata?.offset);
    if (vectorsInFile) {
      this.mapped = image.rows;
    } else {
      for (let slot = 0; slot < n; slot++) image.rows.read(slot, kernels.f32(raw.rowPtr(slot), this.dim));
    }
    raw.setBuildMode(this.insertMode());
    this.built = config.built;
    Object.assign(this.buildSeconds, config.buildSeconds);
    this.readOnly = options.readOnly === true;
    return this;
  }

  private keepsVectorsInFile(config: StoredConfig, fileHasRows: boolean, options: OpenOptions): boolean {
    return config.built && (options.vectors !== 'memory' || !fileHasRows);
  }

}
