/**
 * @module quantumdb/pool
 * Search off the main thread: `QuantumDBPool` opens one `.qdb` file in several worker threads and
 * answers `searchAsync` and `searchBatch` without blocking the event loop. Each worker opens the
 * file read-only; with the native mmap addon the re-rank vectors stay in one shared page-cache
 * mapping, and each worker holds its own copy of the codes and graph (16 bytes + ~2·M·4 bytes per
 * vector). Results are exactly those of `QuantumDB.search` on the same file: same ids, same scores.
 *
 * Use it for servers (a search never stalls other requests) and for large batches (queries are
 * split across the workers). A single query is faster in-thread: a worker round trip costs tens of
 * microseconds, so keep `QuantumDB.search` for tight loops that can block.
 *
 * @example
 * ```ts
 * import { QuantumDBPool } from 'quantumdb/pool';
 *
 * const pool = await QuantumDBPool.open('index.qdb', { workers: 4 });
 * const hits = await pool.searchAsync(query, { k: 10 });
 * const all = await pool.searchBatch(queries, { k: 10 }); // one SearchHit[] per query
 * await pool.close();
 * ```
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { QuantumDBError, type Metric, type SearchHit, type SearchOptions, type VectorInput } from '../index.js';
import type { SearchRequest, WireError, WireSearchOptions, WorkerConfig, WorkerMessage } from './protocol.js';

/** Options of {@link QuantumDBPool.open}. */
export interface QuantumDBPoolOptions {
  /** Worker threads; default: the number of cores (`os.availableParallelism()`). */
  workers?: number;
  /**
   * Where each worker keeps the re-rank vectors: in the file mapping (default; shared between
   * workers when the mmap addon is installed) or copied into its own memory.
   */
  vectors?: 'mapped' | 'memory';
  /**
   * The worker script. Default: `pool-worker.js` beside this module in `dist/`. Set it when a
   * bundler moves files (point it at the copied `quantumdb/dist/pool-worker.js`).
   */
  workerScript?: string | URL;
}

/** Search options of the pool: those of `QuantumDB.search`, with `filter` limited to an allow-list of ids. */
export interface PoolSearchOptions extends Omit<SearchOptions, 'filter'> {
  /** Only these ids may be returned. A predicate function cannot cross threads, so it is not accepted here. */
  filter?: readonly string[];
}

interface Pending {
  resolve: (value: SearchHit[][]) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * A read-only database served by worker threads.
 *
 * @example
 * ```ts
 * const pool = await QuantumDBPool.open('index.qdb');
 * const [hits] = await pool.searchBatch([query], { k: 5, filter: ['doc-1', 'doc-7'] });
 * await pool.close();
 * ```
 */
export class QuantumDBPool {
  /** Number of vectors in the database. */
  readonly size: number;
  /** Vector length. */
  readonly dim: number;
  /** Similarity measure (scores follow it, as in `QuantumDB.search`). */
  readonly metric: Metric;
  private readonly slots: Slot[];
  private nextId = 1;
  private closed: QuantumDBError | undefined;

  private constructor(slots: Slot[], info: { size: number; dim: number; metric: Metric }) {
    this.slots = slots;
    this.size = info.size;
    this.dim = info.dim;
    this.metric = info.metric;
    for (const slot of slots) {
      slot.worker.on('message', (m: WorkerMessage) => this.onMessage(slot, m));
      slot.worker.on('error', (e) => this.fail(new QuantumDBError('INTERNAL', `a search worker failed: ${e.message}`, undefined, e)));
      slot.worker.on('exit', (code) => {
        if (!this.closed) this.fail(new QuantumDBError('INTERNAL', `a search worker exited with code ${code}`));
      });
      // An idle pool does not keep the process alive; a pending search does (see dispatch).
      slot.worker.unref();
    }
  }

  /**
   * Starts the workers and opens `path` read-only in each.
   * @param path a `.qdb` file written by `QuantumDB.save`
   * @param options `workers`, `vectors`, `workerScript`
   * @returns the pool, once every worker has opened the file
   * @throws QuantumDBError `INVALID_ARGUMENT` for a bad worker count; the errors of `QuantumDB.open`
   *   (`CORRUPT_FILE`, `UNSUPPORTED_VERSION`, `IO_ERROR`) as the first worker reports them; `INTERNAL` when a worker cannot start.
   * @example
   * ```ts
   * const pool = await QuantumDBPool.open('index.qdb', { workers: 2 });
   * ```
   */
  static async open(path: string, options: QuantumDBPoolOptions = {}): Promise<QuantumDBPool> {
    const count = options.workers ?? availableParallelism();
    if (!Number.isInteger(count) || count < 1) throw new QuantumDBError('INVALID_ARGUMENT', `workers must be an integer ≥ 1, got ${String(options.workers)}`);
    if (typeof path !== 'string' || path === '') throw new QuantumDBError('INVALID_ARGUMENT', 'pass the path of a .qdb file');
    const script = options.workerScript ?? new URL('./pool-worker.js', import.meta.url);
    const config: WorkerConfig = { path, vectors: options.vectors ?? 'mapped' };
    const workers: Worker[] = [];
    try {
      const infos = await Promise.all(Array.from({ length: count }, () => {
        const worker = new Worker(script, { workerData: config });
        workers.push(worker);
        return started(worker);
      }));
      return new QuantumDBPool(workers.map((worker) => ({ worker, pending: new Map() })), infos[0] as { size: number; dim: number; metric: Metric });
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
  }

  /** Number of worker threads. */
  get workers(): number {
    return this.slots.length;
  }

  /**
   * The `k` nearest vectors to `query`, computed on the least busy worker.
   * @param query a vector of length `dim`
   * @param options `k`, `ef`, `rerank`, `flat`, and `filter` as an array of allowed ids
   * @returns up to `k` hits, best first: the same as `QuantumDB.search`
   * @throws QuantumDBError `DIMENSION_MISMATCH`, `INVALID_ARGUMENT` (bad options, a function filter, a closed pool), and
   *   the search errors of `QuantumDB.search` (`NON_FINITE_VALUE`, `ZERO_VECTOR`) reported by the worker.
   * @example
   * ```ts
   * const hits = await pool.searchAsync(query, { k: 10 });
   * ```
   */
  async searchAsync(query: VectorInput, options: PoolSearchOptions = {}): Promise<SearchHit[]> {
    const [hits] = await this.searchBatch([query], options);
    return hits as SearchHit[];
  }

  /**
   * The `k` nearest vectors to each query. The queries are split into one contiguous block per
   * worker and searched in parallel; the answer keeps the order of the queries.
   * @param queries a row-major `Float32Array` of `n × dim` values, or one vector per query
   * @param options as {@link searchAsync}
   * @returns one array of hits per query
   * @throws QuantumDBError as {@link searchAsync}.
   * @example
   * ```ts
   * const results = await pool.searchBatch(queryMatrix, { k: 10, ef: 128 });
   * ```
   */
  async searchBatch(queries: Float32Array | readonly VectorInput[], options: PoolSearchOptions = {}): Promise<SearchHit[][]> {
    if (this.closed) throw this.closed;
    const wire = wireOptions(options);
    const flat = this.packQueries(queries);
    const n = flat.length / this.dim;
    if (n === 0) return [];
    const blocks = Math.min(this.slots.length, n);
    const parts: Promise<SearchHit[][]>[] = [];
    for (let b = 0; b < blocks; b++) {
      const first = Math.floor((b * n) / blocks), end = Math.floor(((b + 1) * n) / blocks);
      parts.push(this.dispatch(flat.slice(first * this.dim, end * this.dim), wire));
    }
    return (await Promise.all(parts)).flat();
  }

  /**
   * Stops every worker. Searches still running are rejected with `INVALID_ARGUMENT`, and so are later calls.
   * @throws Never: closing twice is harmless.
   * @example
   * ```ts
   * await pool.close();
   * ```
   */
  async close(): Promise<void> {
    if (!this.closed) this.fail(new QuantumDBError('INVALID_ARGUMENT', 'this QuantumDBPool is closed; open a new one'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private packQueries(queries: Float32Array | readonly VectorInput[]): Float32Array {
    const dim = this.dim;
    if (queries instanceof Float32Array) {
      if (queries.length % dim !== 0) throw new QuantumDBError('DIMENSION_MISMATCH', `a Float32Array of ${queries.length} values is not a whole number of ${dim}-dimensional queries; pass n × ${dim} values, row-major`, { expected: dim });
      return queries;
    }
    if (!Array.isArray(queries)) throw new QuantumDBError('INVALID_ARGUMENT', 'queries must be a Float32Array (row-major) or an array of vectors');
    const out = new Float32Array(queries.length * dim);
    queries.forEach((q, i) => {
      if (!(q instanceof Float32Array) && !Array.isArray(q)) throw new QuantumDBError('INVALID_ARGUMENT', `query ${i} is not a Float32Array or an array of numbers`, { index: i });
      if (q.length !== dim) throw new QuantumDBError('DIMENSION_MISMATCH', `query ${i} has ${q.length} dimensions but this database holds ${dim}-dimensional vectors; pass vectors of length ${dim}.`, { index: i, expected: dim });
      out.set(q, i * dim);
    });
    return out;
  }

  /** Sends one block to the least busy worker (its queries buffer is transferred). */
  private dispatch(queries: Float32Array, options: WireSearchOptions): Promise<SearchHit[][]> {
    const slot = this.slots.reduce((best, s) => (s.pending.size < best.pending.size ? s : best));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject });
      const request: SearchRequest = { id, queries, options };
      slot.worker.postMessage(request, [queries.buffer as ArrayBuffer]);
    });
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    if (m.type !== 'result' && m.type !== 'error') return;
    const pending = slot.pending.get(m.id);
    if (!pending) return;
    slot.pending.delete(m.id);
    if (slot.pending.size === 0) slot.worker.unref();
    if (m.type === 'error') { pending.reject(fromWireError(m.error)); return; }
    const out: SearchHit[][] = new Array(m.counts.length);
    let at = 0;
    for (let q = 0; q < m.counts.length; q++) {
      const hits: SearchHit[] = new Array(m.counts[q] as number);
      for (let i = 0; i < hits.length; i++, at++) hits[i] = { id: m.ids[at] as string, score: m.scores[at] as number };
      out[q] = hits;
    }
    pending.resolve(out);
  }

  private fail(error: QuantumDBError): void {
    this.closed ??= error;
    for (const slot of this.slots) {
      for (const p of slot.pending.values()) p.reject(error);
      slot.pending.clear();
      slot.worker.unref();
    }
  }
}

/** Resolves with the worker's database facts once it has opened the file. */
function started(worker: Worker): Promise<{ size: number; dim: number; metric: Metric }> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerMessage) => {
      if (m.type === 'ready') { cleanup(); resolve({ size: m.size, dim: m.dim, metric: m.metric }); }
      if (m.type === 'failed') { cleanup(); reject(fromWireError(m.error)); }
    };
    const onError = (e: Error) => { cleanup(); reject(new QuantumDBError('INTERNAL', `a search worker could not start: ${e.message}`, undefined, e)); };
    const onExit = (code: number) => { cleanup(); reject(new QuantumDBError('INTERNAL', `a search worker exited with code ${code} before opening the file`)); };
    const cleanup = () => { worker.off('message', onMessage); worker.off('error', onError); worker.off('exit', onExit); };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

function wireOptions(options: PoolSearchOptions): WireSearchOptions {
  if (typeof options !== 'object' || options === null) throw new QuantumDBError('INVALID_ARGUMENT', 'search options must be an object');
  const { filter, ...rest } = options as PoolSearchOptions & { filter?: unknown };
  if (filter === undefined) return rest;
  if (typeof filter === 'function') {
    throw new QuantumDBError('INVALID_ARGUMENT', 'a function filter cannot be sent to a worker thread; pass an array of allowed ids, or search with QuantumDB in this thread');
  }
  if (!Array.isArray(filter) || filter.some((id) => typeof id !== 'string')) throw new QuantumDBError('INVALID_ARGUMENT', 'filter must be an array of id strings');
  return { ...rest, filter };
}

function fromWireError(e: WireError): Error {
  if (e.name === 'QuantumDBError' && e.code) return new QuantumDBError(e.code, e.message, e.details);
  return new QuantumDBError('INTERNAL', `a search worker threw ${e.name}: ${e.message}`, { name: e.name });
}
