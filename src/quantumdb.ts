/**
 * @module quantumdb
 * The `QuantumDB` class: validates input, keeps ids, and sequences codec → kernels → re-rank.
 * Vectors live in kernel memory from the moment they are added; search is synchronous.
 */
import { encodeRows, trainPqCodec, type PqCodecConfig } from './codec/pq-codec.js';
import { qdbError } from './errors.js';
import { IdMap } from './ids.js';
import { checkQuery, copyRows, countRows, positiveInt } from './input.js';
import type { BuildOptions, BuildProgress, Metric, QuantumDBOptions, QuantumDBStats, SearchHit, SearchOptions, VectorInput, VectorsInput } from './types.js';
import { KERNEL_BUILD, KERNEL_METRIC, Kernels } from './wasm/abi.js';

const METRICS: readonly Metric[] = ['cosine', 'l2', 'ip'];
/** Rows inserted into the graph between progress reports and event-loop turns. */
const GRAPH_CHUNK = 1_000;
/** Memory grows by half again when full, so n appends cost O(n) copies in total. */
const GROWTH = 1.5;
const DEFAULTS = { seed: 42, M: 16, efConstruction: 200, ef: 64, rerank: 64, flatThreshold: 2_000, trainSampleSize: 20_000, kmeansIterations: 20 };

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

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
  private readonly kernels = new Kernels();
  private readonly ids = new IdMap();
  private readonly codec: PqCodecConfig;
  private readonly params: QuantumDBStats['params'];
  private capacity = 0;
  private built = false;
  private building = false;
  private readonly buildSeconds = { codec: 0, graph: 0 };

  /**
   * @param options `dim` is required; everything else has a default (see {@link QuantumDBOptions}).
   * @throws QuantumDBError `INVALID_ARGUMENT` for an option out of range.
   * @throws QuantumDBError `WASM_UNAVAILABLE` when the runtime lacks WebAssembly SIMD.
   */
  constructor(options: QuantumDBOptions) {
    if (typeof options !== 'object' || options === null) throw qdbError('INVALID_ARGUMENT', ['pass an options object such as { dim: 768 }']);
    this.dim = positiveInt(options.dim, NaN, 'dim');
    this.metric = options.metric ?? 'cosine';
    if (!METRICS.includes(this.metric)) throw qdbError('INVALID_ARGUMENT', [`metric must be one of ${METRICS.join(', ')}, got ${String(options.metric)}`]);
    const rotation = options.rotation ?? 'pca';
    if (rotation !== 'pca' && rotation !== 'none') throw qdbError('INVALID_ARGUMENT', [`rotation must be 'pca' or 'none', got ${String(rotation)}`]);
    const m = positiveInt(options.m, Math.min(16, this.dim), 'm');
    if (m > this.dim) throw qdbError('INVALID_ARGUMENT', [`m (${m}) cannot exceed dim (${this.dim})`]);
    const defaultTarget = rotation === 'none' ? this.dim : Math.floor(Math.min(this.dim, 256) / m) * m;
    const targetDim = positiveInt(options.targetDim, defaultTarget, 'targetDim');
    if (targetDim % m !== 0 || targetDim > this.dim || (rotation === 'none' && targetDim !== this.dim)) {
      throw qdbError('INVALID_ARGUMENT', [rotation === 'none'
        ? `with rotation 'none', dim (${this.dim}) must be a multiple of m (${m}); use rotation 'pca' or another m`
        : `targetDim (${targetDim}) must be a multiple of m (${m}) and at most dim (${this.dim})`]);
    }
    const buildDistance = options.buildDistance ?? 'projected';
    if (!(buildDistance in KERNEL_BUILD)) throw qdbError('INVALID_ARGUMENT', [`buildDistance must be 'exact', 'projected' or 'decoded', got ${String(buildDistance)}`]);
    const seed = options.seed ?? DEFAULTS.seed;
    if (!Number.isInteger(seed)) throw qdbError('INVALID_ARGUMENT', [`seed must be an integer, got ${String(seed)}`]);
    this.params = {
      m, targetDim, rotation, seed, buildDistance,
      M: positiveInt(options.M, DEFAULTS.M, 'M', 2),
      efConstruction: positiveInt(options.efConstruction, DEFAULTS.efConstruction, 'efConstruction'),
      ef: positiveInt(options.ef, DEFAULTS.ef, 'ef'),
      rerank: positiveInt(options.rerank, DEFAULTS.rerank, 'rerank', 0),
      flatThreshold: positiveInt(options.flatThreshold, DEFAULTS.flatThreshold, 'flatThreshold', 0),
    };
    this.codec = {
      m, targetDim, rotation, seed,
      trainSampleSize: positiveInt(options.trainSampleSize, DEFAULTS.trainSampleSize, 'trainSampleSize'),
      kmeansIterations: positiveInt(options.kmeansIterations, DEFAULTS.kmeansIterations, 'kmeansIterations'),
    };
    this.kernels.check(this.kernels.raw.configure(
      this.metric === 'l2' ? KERNEL_METRIC.l2 : KERNEL_METRIC.ip, this.metric === 'cosine' ? 1 : 0, this.dim, targetDim, m,
      this.params.M, this.params.efConstruction, KERNEL_BUILD[buildDistance], seed >>> 0,
    ), 'configuring the database');
  }

  /** Number of vectors held. */
  get size(): number { return this.ids.size; }

  /** True once `buildIndex()` has trained the codec and built the graph. */
  get isBuilt(): boolean { return this.built; }

  /**
   * Adds vectors under new ids. Before `buildIndex()` they are only stored; afterwards each is
   * encoded with the trained codec and inserted into the graph at once (no retraining).
   * Nothing changes when any check fails.
   * @param ids one non-empty, unique string per vector
   * @param vectors a row-major `Float32Array` of ids.length × dim, or one row per id
   * @returns this database, for chaining
   * @throws QuantumDBError `EMPTY_ID`, `DUPLICATE_ID`, `DIMENSION_MISMATCH`, `NON_FINITE_VALUE`,
   *   `ZERO_VECTOR` (cosine only), `INVALID_ARGUMENT` (count or type mismatch), `CAPACITY_EXCEEDED`.
   * @example
   * ```ts
   * db.addBatch(['a', 'b'], [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]);
   * ```
   */
  addBatch(ids: readonly string[], vectors: VectorsInput): this {
    if (this.building) throw qdbError('INVALID_ARGUMENT', ['buildIndex() is running; await it before adding vectors']);
    if (!Array.isArray(ids)) throw qdbError('INVALID_ARGUMENT', ['ids must be an array of strings']);
    const n = countRows(vectors, this.dim, ids.length);
    this.ids.validateNew(ids);
    if (n === 0) return this;
    const first = this.size;
    this.reserve(first + n);
    const raw = this.kernels.raw;
    copyRows(vectors, this.dim, this.kernels.f32(raw.vectorsPtr() + first * this.dim * 4, n * this.dim));
    const bad = raw.rowsFirstNonFinite(first, n);
    if (bad >= 0) throw qdbError('NON_FINITE_VALUE', [`vector ${bad - first} (id ${JSON.stringify(ids[bad - first])})`], { index: bad - first });
    if (this.metric === 'cosine') {
      const zero = raw.rowsNormalize(first, n);
      if (zero >= 0) throw qdbError('ZERO_VECTOR', [`vector ${zero - first} (id ${JSON.stringify(ids[zero - first])})`], { index: zero - first });
    }
    this.ids.append(ids);
    if (this.built) {
      raw.encodeRows(first, n);
      raw.graphInsertRows(first, n);
    }
    return this;
  }

  /**
   * Trains the codec on a seeded sample of the stored vectors, encodes them all and builds the
   * graph. Calling it again retrains and rebuilds from scratch.
   * @param options progress callback
   * @returns this database
   * @throws QuantumDBError `NOT_TRAINED` when the database is empty; `INVALID_ARGUMENT` when a build is already running.
   * @example
   * ```ts
   * await db.buildIndex({ onProgress: ({ phase, done, total }) => console.log(phase, done, total) });
   * ```
   */
  async buildIndex(options: BuildOptions = {}): Promise<this> {
    if (this.building) throw qdbError('INVALID_ARGUMENT', ['buildIndex() is already running; await the first call']);
    if (this.size === 0) throw qdbError('NOT_TRAINED', ['the database is empty, so there is nothing to train the codec on; add vectors first']);
    const onProgress = options.onProgress;
    const report = async (phase: BuildProgress['phase'], done: number, total: number): Promise<void> => {
      onProgress?.({ phase, done, total });
      await yieldToEventLoop();
    };
    this.building = true;
    this.built = false;
    try {
      const n = this.size;
      const raw = this.kernels.raw;
      const mode = this.params.buildDistance;
      const t0 = performance.now();
      await trainPqCodec(this.kernels, n, this.codec, report);
      let t1 = t0;
      try {
        raw.bulkBuildBegin(n, KERNEL_BUILD[mode]);
        await encodeRows(this.kernels, 0, n, report);
        t1 = performance.now();
        for (let done = 0; done < n; done += GRAPH_CHUNK) {
          await report('graph', done, n);
          raw.graphInsertRows(done, Math.min(GRAPH_CHUNK, n - done));
        }
      } finally {
        // Projections exist only during the bulk build; later inserts compare full vectors.
        raw.bulkBuildEnd(KERNEL_BUILD[mode === 'projected' ? 'exact' : mode]);
      }
      await report('graph', n, n);
      this.buildSeconds.codec = (t1 - t0) / 1000;
      this.buildSeconds.graph = (performance.now() - t1) / 1000;
      this.built = true;
    } finally {
      this.building = false;
    }
    return this;
  }

  /**
   * The `k` nearest stored vectors to `query`, best first. Scores follow the metric: cosine
   * similarity, squared L2 distance, or inner product. With `rerank: 0` they are the approximate
   * (ADC) scores of the codes; otherwise the best `rerank` candidates are re-scored exactly.
   * @param query a vector of length `dim`
   * @param options `k` (default 10), `ef`, `rerank`, `flat`
   * @returns up to `k` hits; `[]` for an empty database
   * @throws QuantumDBError `DIMENSION_MISMATCH`, `NON_FINITE_VALUE`, `ZERO_VECTOR` (cosine), `INVALID_ARGUMENT`,
   *   `NOT_TRAINED` when vectors were added but `buildIndex()` has not run.
   * @example
   * ```ts
   * const hits = db.search(query, { k: 5, rerank: 100 });
   * ```
   */
  search(query: VectorInput, options: SearchOptions = {}): SearchHit[] {
    checkQuery(query, this.dim);
    const k = positiveInt(options.k, 10, 'k');
    const ef = positiveInt(options.ef, this.params.ef, 'ef');
    const rerank = positiveInt(options.rerank, this.params.rerank, 'rerank', 0);
    const raw = this.kernels.raw;
    this.kernels.f32(raw.queryPtr(), this.dim).set(query);
    const bad = raw.queryFirstNonFinite();
    if (bad >= 0) throw qdbError('NON_FINITE_VALUE', [`the query (value ${bad})`], { index: bad });
    if (this.size === 0) return [];
    if (!this.built) throw qdbError('NOT_TRAINED', [`${this.size} vectors are stored but not indexed yet`]);
    if (raw.queryPrepare() !== 0) throw qdbError('ZERO_VECTOR', ['the query']);
    const kk = Math.min(k, this.size);
    const flat = options.flat === true || this.size < this.params.flatThreshold;
    const count = flat ? raw.searchFlat(this.size, kk, rerank) : raw.searchGraph(kk, ef, rerank);
    const slots = this.kernels.u32(raw.outSlotsPtr(), count);
    const dists = this.kernels.f32(raw.outDistsPtr(), count);
    const sign = this.metric === 'l2' ? 1 : -1;
    const hits: SearchHit[] = new Array(count);
    for (let i = 0; i < count; i++) hits[i] = { id: this.ids.idOf(slots[i] as number), score: sign * (dists[i] as number) };
    return hits;
  }

  /**
   * What the database holds and what each part costs in memory.
   * @example
   * ```ts
   * console.log(db.stats().bytes.index / db.size, 'bytes per vector');
   * ```
   */
  stats(): QuantumDBStats {
    const raw = this.kernels.raw;
    const n = this.size;
    const { m, targetDim } = this.params;
    const codes = this.capacity * m;
    const graph = raw.graphBytes();
    const ids = this.ids.approximateBytes();
    const vectors = this.capacity * this.dim * 4;
    const codec = (targetDim * this.dim + this.dim + targetDim + m * 256 * (targetDim / m) + m * 256) * 4;
    const scratch = raw.scratchBytes();
    return {
      size: n, dim: this.dim, metric: this.metric, built: this.built, codeBytes: m,
      params: { ...this.params },
      bytes: { codes, graph, ids, vectors, codec, scratch, index: codes + graph + ids, total: codes + graph + ids + vectors + codec + scratch },
      buildSeconds: { ...this.buildSeconds },
    };
  }

  private reserve(needed: number): void {
    if (needed <= this.capacity) return;
    const next = Math.max(needed, Math.ceil(this.capacity * GROWTH), 1024);
    this.kernels.raw.reserve(next);
    this.capacity = next;
  }
}
