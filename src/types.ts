/**
 * @module types
 * Public option and result types. Everything a caller passes to or gets from `QuantumDB`.
 */

/**
 * How vectors are compared.
 * - `'cosine'`: vectors are scaled to unit length on the way in; score = cosine similarity (higher is better).
 * - `'l2'`: score = squared Euclidean distance (lower is better).
 * - `'ip'`: score = inner product (higher is better).
 */
export type Metric = 'cosine' | 'l2' | 'ip';

/** Vectors as accepted by `addBatch`: one row-major `Float32Array` of n × dim, or one row per entry. */
export type VectorsInput = Float32Array | readonly Float32Array[] | readonly (readonly number[])[];

/** A single vector, as accepted by `search`. */
export type VectorInput = Float32Array | readonly number[];

/** Options of `new QuantumDB(options)`. Only `dim` is required. */
export interface QuantumDBOptions {
  /** Vector length. */
  dim: number;
  /** Similarity measure; default `'cosine'`. */
  metric?: Metric;
  /** Seed for sampling, k-means and graph levels: same data + seed → same codes, graph and results. Default 42. */
  seed?: number;
  /** PQ sub-quantizers = bytes per code; default `min(16, dim)`. */
  m?: number;
  /** Rotation before quantization: PCA with eigenvalue allocation (default), or none. */
  rotation?: 'pca' | 'none';
  /**
   * Dimensions kept by the PCA rotation, a multiple of `m`; default `'auto'`: chosen among
   * 2m … 16m (at most 256) by the recall of a quick codec on held-out sample rows.
   */
  targetDim?: number | 'auto';
  /** HNSW links per node on upper layers (2·M on layer 0); default 16. */
  M?: number;
  /** HNSW build beam width; default 200. */
  efConstruction?: number;
  /**
   * Distances the graph is built with: full-precision vectors, their rotated `targetDim`
   * projections (bulk build only; later inserts use full vectors), or PQ reconstructions.
   */
  buildDistance?: 'exact' | 'projected' | 'decoded';
  /** Default search beam width; default 160 (Recall@10 ≥ 0.95 on the benchmark sets). */
  ef?: number;
  /** Default number of candidates re-scored with full-precision vectors (0 = off); default 160. */
  rerank?: number;
  /** Below this many vectors, `search` scans every code instead of walking the graph; default 2,000. */
  flatThreshold?: number;
  /** Training rows sampled for the codec; default 20,000. */
  trainSampleSize?: number;
  /** Lloyd iterations per sub-quantizer; default 20. */
  kmeansIterations?: number;
}

/** Per-id metadata: any JSON-serialisable object. */
export type Metadata = Record<string, unknown>;

/**
 * Restricts a search: a predicate on the id and its metadata, or an allow-list of ids. Applied
 * inside the search, so `k` results come back whenever `k` items match.
 */
export type SearchFilter = ((id: string, metadata: Metadata | undefined) => boolean) | readonly string[];

/** What `get` returns. `vector` is the stored vector (unit length under cosine). */
export interface StoredEntry {
  /** The id asked for. */
  id: string;
  /** Undefined when the database was saved without vectors. */
  vector: Float32Array | undefined;
  /** The metadata given with the vector, if any. */
  metadata: Metadata | undefined;
}

/** Options of `save` and `toBytes`. */
export interface SaveOptions {
  /** How re-rank vectors are stored: f32 (default, exact), f16, int8, or none (smallest file, no re-rank). */
  vectors?: 'f32' | 'f16' | 'int8' | 'none';
}

/** Options of `QuantumDB.open` and `QuantumDB.fromBytes`. */
export interface OpenOptions {
  /** Refuse every change (add, delete, upsert, build, compact). */
  readOnly?: boolean;
  /**
   * Where the re-rank vectors live: left in the file mapping and read per query (default), or
   * loaded into memory, which allows later inserts with exact distances and `buildIndex()`.
   */
  vectors?: 'mapped' | 'memory';
  /**
   * Map the file with the optional `@riaskov/mmap-io` addon when it is installed (default), or
   * read it with positional reads (`false`: for file systems where mapping is unreliable).
   */
  mmap?: boolean;
}

/** Options of `search`. */
export interface SearchOptions {
  /** Results wanted; clamped to the database size. Default 10. */
  k?: number;
  /** Beam width of the graph search (raised to at least `k` and `rerank`). */
  ef?: number;
  /** Candidates re-scored with the full-precision vectors; 0 returns approximate (ADC) scores. */
  rerank?: number;
  /** Force the exhaustive ADC scan instead of the graph. */
  flat?: boolean;
  /** Only items passing this filter are returned. */
  filter?: SearchFilter;
}

/** One search result. `score` follows the metric: see {@link Metric}. */
export interface SearchHit {
  /** The id given to `addBatch`. */
  id: string;
  /** Cosine similarity, squared L2 distance or inner product, by the database's metric. */
  score: number;
}

/** Progress of `buildIndex`, reported once per step of each phase. */
export interface BuildProgress {
  /** PCA, choosing targetDim, k-means (and OPQ), training the learned codec, encoding every vector, inserting into the graph. */
  phase: 'rotation' | 'tuning' | 'codebooks' | 'learned' | 'encode' | 'graph';
  /** Steps of this phase done so far. */
  done: number;
  /** Steps of this phase in all. */
  total: number;
  /** During `learned`: the TF.js backend training runs on. */
  backend?: string;
}

/** The codecs a build can keep. */
export type CodecKind = 'pq' | 'opq' | 'learned';

/** What `stats().codec` reports about the codec in use. */
export interface CodecReport {
  /** The codec in use. */
  kind: CodecKind;
  /** TF.js backend that trained the learned codec; null when none was trained. */
  backend: string | null;
  /** Seconds spent training the learned codec (0 when none was trained). */
  trainSeconds: number;
  /** Validation 10-recall@10 (flat ADC, no re-rank) of each codec compared; null = not measured. */
  validation: {
    /** Codec v1: PCA + product quantization. */
    pq: number | null;
    /** PQ with the OPQ-refined rotation. */
    opq: number | null;
    /** The neural encoder with learnable codebooks. */
    learned: number | null;
  };
  /** Why this codec was kept. */
  reason: string;
}

/** Options of `buildIndex`. */
export interface BuildOptions {
  /** Called as the build advances. */
  onProgress?: (progress: BuildProgress) => void;
  /**
   * The codec: product quantization after the PCA rotation (`'pq'`); that rotation refined by OPQ's
   * alternating Procrustes steps (`'opq'`); the neural encoder and learnable codebooks trained with
   * TensorFlow.js (`'learned'`, needs the optional peer `@tensorflow/tfjs`); or `'auto'` (default):
   * from 50,000 vectors up, PQ, OPQ and the learned codec are compared on held-out rows by flat-ADC
   * 10-recall@10 and the learned one is kept only if it beats both; below that, PQ.
   */
  codec?: 'auto' | CodecKind;
  /** OPQ refinement rounds; default 8. */
  opqIterations?: number;
  /** Wall-clock seconds for the learned codec (load TF.js, mine neighbours, train, validate); default 60. */
  trainBudgetSeconds?: number;
  /** Passes over the learned codec's training sample at most (the time budget still applies); default: until the budget or early stop. */
  trainEpochs?: number;
  /** TF.js backend: `'auto'` (default) tries tfjs-node-gpu, tfjs-node, wasm, then cpu. */
  trainBackend?: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
}

/** What `stats()` reports. Byte counts are what each part holds in memory now. */
export interface QuantumDBStats {
  /** Live vectors. */
  size: number;
  /** Vector length. */
  dim: number;
  /** Similarity measure. */
  metric: Metric;
  /** Whether `buildIndex()` has run. */
  built: boolean;
  /** Bytes per stored code (= `params.m`). */
  codeBytes: number;
  /** The parameters in force, with `targetDim` resolved. */
  params: {
    /** Sub-quantizers. */
    m: number;
    /** Dimensions kept by the rotation. */
    targetDim: number;
    /** Rotation before quantization. */
    rotation: 'pca' | 'none';
    /** HNSW links per node. */
    M: number;
    /** HNSW build beam width. */
    efConstruction: number;
    /** Default search beam width. */
    ef: number;
    /** Default re-ranked candidates. */
    rerank: number;
    /** Size below which search scans every code. */
    flatThreshold: number;
    /** Distances the graph is built with. */
    buildDistance: 'exact' | 'projected' | 'decoded';
    /** Seed of every random choice. */
    seed: number;
  };
  /** Bytes held per part. */
  bytes: {
    /** PQ codes. */
    codes: number;
    /** HNSW links, levels and upper-layer pool. */
    graph: number;
    /** Id strings and the id map (estimated from V8's string and Map layouts). */
    ids: number;
    /** Full-precision vectors held in memory (0 when they stay in a file mapping). */
    vectors: number;
    /** Rotation, mean, codebooks and lookup table. */
    codec: number;
    /** Search and build scratch (visited tags, heaps, staging). */
    scratch: number;
    /** codes + graph + ids: what the index itself costs, without the re-rank vectors. */
    index: number;
    /** Everything above. */
    total: number;
  };
  /** Seconds the last build spent on the codec and on the graph. */
  buildSeconds: {
    /** Sampling, PCA, targetDim choice, k-means and encoding every vector. */
    codec: number;
    /** Graph insertion. */
    graph: number;
  };
  /** The codec in use, the backend that trained it, and the validation that chose it. */
  codec: CodecReport;
  /** Deleted items still holding a slot (reclaimed by `compact()`). */
  deleted: number;
  /** Where the re-rank vectors are: in memory, in a file mapping, or absent. */
  vectors: 'memory' | 'mapped' | 'none';
}
