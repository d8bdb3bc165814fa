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
   * Read the sections through a memory mapping made by the optional `@riaskov/mmap-io` addon
   * (`true`, when it is installed), instead of positional reads straight into kernel memory
   * (default). The result is the same; the mapping measured slower (100k × 768: 127 ms against
   * 51 ms to open, median of 5; docs/benchmarks.md), because WebAssembly memory cannot alias a mapping, so the sections are
   * copied either way, and loading the addon's binary locator costs ~60 ms.
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
  /**
   * The auto-tuner's trials (`autotune`, see {@link BuildOptions.autoTune}), PCA, choosing targetDim,
   * k-means (and OPQ), training the learned codec, encoding every vector, inserting into the graph.
   */
  phase: 'autotune' | 'rotation' | 'tuning' | 'codebooks' | 'learned' | 'encode' | 'graph';
  /** Steps of this phase done so far (during `autotune`: trials). */
  done: number;
  /** Steps of this phase in all. */
  total: number;
  /** During `learned`: the TF.js backend training runs on. */
  backend?: string;
  /** During `autotune`: the stage of the trial just finished (1 random search, 2 successive halving). */
  stage?: 1 | 2;
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

/**
 * Weights of the auto-tuner's objective, `quality·Q + compression·C + speed·S − memory·B`, where
 * every term is normalised to [0, 1] (see {@link AutoTuneFigures.terms}). Any non-negative numbers;
 * they need not sum to 1.
 */
export interface AutoTuneObjective {
  /** Weight of search quality; default 0.4. */
  quality: number;
  /** Weight of the compression ratio; default 0.1. */
  compression: number;
  /** Weight of search speed; default 0.4. */
  speed: number;
  /** Weight of the memory penalty (subtracted); default 0.1. */
  memory: number;
}

/** Options of the auto-tuner (`buildIndex({ autoTune })`). */
export interface AutoTuneOptions {
  /**
   * Seconds the tuning and the codec training are planned to take on a 2-core machine; default 120.
   * The plan (trials, sample sizes, training steps) follows from it by a fixed formula and is never
   * cut short by the clock, so the result does not depend on the machine's speed or load; encoding
   * every vector and building the graph come on top, as in any build.
   */
  budgetSeconds?: number;
  /** Objective weights; omitted ones keep their defaults (0.4, 0.1, 0.4, 0.1). */
  objective?: Partial<AutoTuneObjective>;
  /** Seed of the random search and of every trial; default the database's seed. */
  seed?: number;
  /** Random-search trials of stage 1 (2 to 64); default from the budget. */
  trials?: number;
}

/** One configuration the auto-tuner tries: codec size, training hyper-parameters and graph parameters. */
export interface AutoTuneConfig {
  /** Sub-quantizers = bytes per code: 12, 16 or 24. */
  m: number;
  /** Dimensions kept by the rotation, a multiple of `m`. */
  targetDim: number;
  /** HNSW links per node: 12, 16 or 24. */
  M: number;
  /** HNSW build beam width: 100, 200 or 400. */
  efConstruction: number;
  /** Learned codec: Adam step size (3e-4, 1e-3 or 3e-3). */
  learningRate: number;
  /** Learned codec: anchors per batch; a batch holds `groupsPerBatch × groupSize` rows. */
  groupsPerBatch: number;
  /** Learned codec: rows per anchor group (the anchor and its nearest neighbours). */
  groupSize: number;
  /** Learned codec: positives per anchor in the local-structure loss (5, 10 or 20). */
  kNeighbours: number;
  /** Learned codec: loss weights, summing to 1. */
  lossWeights: {
    /** ‖x − x̂‖² of the decoded reconstruction. */
    reconstruction: number;
    /** Within-codeword variance. */
    cluster: number;
    /** Entropy of the code usage. */
    diversity: number;
    /** VQ-VAE commitment of the encoder to its codewords. */
    commitment: number;
    /** Triplet loss on the k-nearest-neighbour graph. */
    structure: number;
  };
}

/** What one trial measured (stages 1 and 2 on a sample; stage 3 on the built database). */
export interface AutoTuneFigures {
  /** The codec the trial kept: the best of those compared by validation recall. */
  codec: CodecKind;
  /** Rows the trial's codec and graph were built from. */
  rows: number;
  /** Learned-codec optimizer steps (0 when it was not trained). */
  steps: number;
  /** Held-out queries the figures below were measured with. */
  queries: number;
  /** 10-recall@10 of a flat ADC scan (codes only, no re-rank) against the exact neighbours. */
  recall10: number;
  /** 10-recall@10 of the graph search at ef 64 with ADC distances, no re-rank. */
  graphRecall10: number;
  /** Mean ‖x − x̂‖² of the queries' reconstructions over their mean ‖x − mean‖² (0 perfect, 1 = as bad as the mean). */
  reconstructionMse: number;
  /** Bytes per code (= m). */
  codeBytes: number;
  /** dim · 4 / codeBytes. */
  compressionRatio: number;
  /** Distances the graph search at ef 64 computed per query (counted in the kernels). */
  distanceEvaluationsPerQuery: number;
  /**
   * Modelled cost of one query: lookup-table reads (`distanceEvaluationsPerQuery × m`) plus the
   * projection and table build in multiply-adds / 32 (a random-order table read measured about 32×
   * a SIMD multiply-add on the reference machine).
   */
  searchCost: number;
  /** Index bytes per vector: code, level-0 links, expected upper links, level and offset, id overhead. */
  bytesPerVector: number;
  /** The objective's terms, each in [0, 1]. */
  terms: {
    /** 0.8 · graphRecall10 + 0.2 · (1 − reconstructionMse clamped to [0, 1]). */
    quality: number;
    /** compressionRatio / the largest ratio of the space (that of m = 12). */
    compression: number;
    /** The lowest searchCost among the trials compared with this one / this searchCost (1 for stage 3). */
    speed: number;
    /** bytesPerVector / the largest of the space (m = 24, M = 24). */
    memory: number;
  };
  /** The weighted objective (higher is better). */
  objective: number;
  /** For information only (wall clock, never used to decide): graph searches per second at ef 64. */
  qps: number;
  /** For information only: wall-clock seconds of the trial. */
  seconds: number;
}

/** One auto-tuning trial. */
export interface AutoTuneTrial {
  /** 1: random search on a small sample; 2: successive halving on larger samples; 3: the final build. */
  stage: 1 | 2 | 3;
  /** Halving round within stage 2 (1, 2, …); 0 in stages 1 and 3. */
  round: number;
  /** The configuration tried. */
  config: AutoTuneConfig;
  /** What it measured. */
  figures: AutoTuneFigures;
}

/** What `stats().autoTune` reports after `buildIndex({ autoTune })`; stored in the `.qdb` file. */
export interface AutoTuneReport {
  /** Seed of the search. */
  seed: number;
  /** The planned budget. */
  budgetSeconds: number;
  /** Wall-clock seconds the tuning and the final codec training took (information only). */
  seconds: number;
  /** The objective weights used. */
  objectiveWeights: AutoTuneObjective;
  /** Whether the trials trained the learned codec (false without TF.js, or with codec 'pq' / 'opq'). */
  learned: boolean;
  /** The configuration in force and the final build's figures. */
  chosen: {
    /** The winning configuration, as `stats().params` and the codec now use it. */
    config: AutoTuneConfig;
    /** What the built database measured (the stage-3 trial). */
    figures: AutoTuneFigures;
  };
  /** Every trial of stages 1 and 2, in order, then the final build (stage 3). */
  trials: AutoTuneTrial[];
  /** Why this configuration was chosen, and why the learned codec was not tried when it was not. */
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
  /**
   * Chooses m, targetDim, M, efConstruction and the learned codec's training settings for this data
   * (`true` = default {@link AutoTuneOptions}): (1) seeded random search on a small sample, (2)
   * successive halving of the best half on twice the rows and steps per round, (3) the build with
   * the winner. Trials are ranked by {@link AutoTuneObjective}. With `codec` 'pq', 'opq' or
   * 'learned' every trial uses that codec; with 'auto' each keeps the best it trained. Not with
   * `trainEpochs`, `trainBudgetSeconds` or an imported codec. The report is `stats().autoTune`.
   */
  autoTune?: boolean | AutoTuneOptions;
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
  /** The auto-tuner's trials and choice when the last build ran with `autoTune`; null otherwise. */
  autoTune: AutoTuneReport | null;
}
