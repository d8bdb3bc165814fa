/**
 * @module client
 * `quantumdb/client`: a typed Node client for `quantumdb serve`, over HTTP or gRPC with the same
 * methods and the same answers. Errors come back as `QuantumDBError` with the server's code,
 * message and details; failures of the transport itself (deadline, unreachable server, message
 * too large) as `IO_ERROR` / `INVALID_ARGUMENT` / `INTERNAL` with `details.transportCode`.
 *
 * ```ts
 * import { QuantumDBClient } from 'quantumdb/client';
 * const client = new QuantumDBClient({ grpc: '127.0.0.1:6334' });   // or { http: 'http://127.0.0.1:6333' }
 * await client.add([{ id: 'a', vector: [0.1, 0.2, 0.3], metadata: { lang: 'en' } }]);
 * await client.buildIndex();
 * const hits = await client.search([0.1, 0.2, 0.3], { k: 5, filter: { metadata: { lang: 'en' } } });
 * client.close();
 * ```
 */
import { QuantumDBError, isQuantumDBError, type ErrorCode } from '../errors.js';
import type { Metadata, SearchHit } from '../types.js';
import { GrpcTransport } from './grpc-transport.js';
import { HttpTransport } from './http-transport.js';
import type {
  AddItem, AddResult, BuildRequest, BuildResult, BuildSeconds, DeleteResult, FilterSpec, MetadataScalar, SearchQuery, ServerHealth, ServerStats,
  ServiceCounters, Transport,
} from './transport.js';

export { QuantumDBError, isQuantumDBError };
export type {
  AddItem, AddResult, BuildRequest, BuildResult, BuildSeconds, DeleteResult, ErrorCode, FilterSpec, Metadata, MetadataScalar, SearchHit, SearchQuery,
  ServerHealth, ServerStats, ServiceCounters,
};

/** Options of {@link QuantumDBClient}: exactly one of `http` and `grpc`. */
export interface QuantumDBClientOptions {
  /** Base URL of the HTTP server, e.g. `http://127.0.0.1:6333`. */
  http?: string;
  /** `host:port` of the gRPC server, e.g. `127.0.0.1:6334`. */
  grpc?: string;
  /** Deadline of each call (of a whole batch for `batchSearch`); default 30,000 ms; `Infinity` for none. */
  timeoutMs?: number;
  /** gRPC: largest message sent or received; default 16 MiB (the server's default). */
  maxMessageBytes?: number;
  /** HTTP: `POST /search` requests `batchSearch` keeps in flight; default 4. */
  batchConcurrency?: number;
  /** gRPC: another copy of `quantumdb.proto`; default the one shipped with the package. */
  protoPath?: string;
}

/** Per-call options. */
export interface CallOptions {
  /** Overrides the client's `timeoutMs` for this call. */
  timeoutMs?: number;
}

/** Options of {@link QuantumDBClient.search}. */
export type SearchCallOptions = Omit<SearchQuery, 'vector'> & CallOptions;

const DEFAULT_TIMEOUT_MS = 30_000;

function checkPositive(value: number | undefined, name: string, allowInfinity: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new QuantumDBError('INVALID_ARGUMENT', `${name} must be a positive number${allowInfinity ? ' (or Infinity)' : ''}, got ${String(value)}`);
  }
}

/**
 * A client of a QuantumDB server. Every method returns a promise (or an async generator) and
 * rejects with a `QuantumDBError`.
 *
 * @example
 * ```ts
 * const client = new QuantumDBClient({ http: 'http://127.0.0.1:6333', timeoutMs: 5000 });
 * const { size } = await client.health();
 * ```
 */
export class QuantumDBClient {
  /** Which transport this client speaks. */
  readonly transport: 'http' | 'grpc';
  private readonly impl: Transport;
  private readonly timeoutMs: number;

  /**
   * @param options - `http` or `grpc` (exactly one), `timeoutMs`, `maxMessageBytes`, `batchConcurrency`, `protoPath`.
   * @throws QuantumDBError `INVALID_ARGUMENT` for neither or both addresses, or an option out of range.
   */
  constructor(options: QuantumDBClientOptions) {
    const { http, grpc } = options ?? {};
    if ((http === undefined) === (grpc === undefined)) {
      throw new QuantumDBError('INVALID_ARGUMENT', 'pass exactly one of { http: "http://127.0.0.1:6333" } and { grpc: "127.0.0.1:6334" }');
    }
    checkPositive(options.timeoutMs, 'timeoutMs', true);
    checkPositive(options.maxMessageBytes, 'maxMessageBytes', false);
    checkPositive(options.batchConcurrency, 'batchConcurrency', false);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (http !== undefined) {
      if (!/^https?:\/\/./.test(http)) throw new QuantumDBError('INVALID_ARGUMENT', `http must be a URL such as http://127.0.0.1:6333, got ${JSON.stringify(http)}`);
      this.transport = 'http';
      this.impl = new HttpTransport(http, Math.floor(options.batchConcurrency ?? 4));
    } else {
      if (typeof grpc !== 'string' || grpc === '') throw new QuantumDBError('INVALID_ARGUMENT', `grpc must be an address such as 127.0.0.1:6334, got ${JSON.stringify(grpc)}`);
      this.transport = 'grpc';
      this.impl = new GrpcTransport(grpc, options.maxMessageBytes ?? 16 * 1024 * 1024, options.protoPath);
    }
  }

  private deadline(options: CallOptions | undefined): number {
    checkPositive(options?.timeoutMs, 'timeoutMs', true);
    return Date.now() + (options?.timeoutMs ?? this.timeoutMs);
  }

  /**
   * Adds vectors, all or nothing.
   * @param items - `{ id, vector, metadata? }` each
   * @returns how many were added and the database's size after
   * @throws QuantumDBError `EMPTY_ID`, `DUPLICATE_ID`, `DIMENSION_MISMATCH`, `NON_FINITE_VALUE`, `INVALID_ARGUMENT` (read-only, batch too large), `IO_ERROR` (transport).
   * @example
   * ```ts
   * await client.add([{ id: 'a', vector: [1, 0, 0] }]);
   * ```
   */
  add(items: readonly AddItem[], options?: CallOptions): Promise<AddResult> {
    return this.impl.add(items, this.deadline(options));
  }

  /**
   * The `k` nearest stored vectors, best first.
   * @param vector - the query, of the database's dimension
   * @param options - `k` (default 10), `ef`, `rerank`, `filter: { ids?, metadata? }`, `timeoutMs`
   * @returns hits `{ id, score }`
   * @throws QuantumDBError `DIMENSION_MISMATCH`, `NON_FINITE_VALUE`, `ZERO_VECTOR`, `NOT_TRAINED`, `INVALID_ARGUMENT`, `IO_ERROR` (transport).
   * @example
   * ```ts
   * const hits = await client.search(query, { k: 5, filter: { metadata: { lang: 'en' } } });
   * ```
   */
  search(vector: ArrayLike<number>, options: SearchCallOptions = {}): Promise<SearchHit[]> {
    const { timeoutMs, ...rest } = options;
    return this.impl.search({ ...rest, vector }, this.deadline({ timeoutMs }));
  }

  /**
   * Answers queries as they are computed (gRPC: one `BatchSearch` stream; HTTP: a few `/search`
   * requests in flight), in query order. Pulling slowly slows the server down (back-pressure).
   * The first failing query ends the batch with its error. `timeoutMs` bounds the whole batch.
   * @param queries - `{ vector, k?, ef?, rerank?, filter? }` each; an iterable or async iterable
   * @returns the hits of each query
   * @throws QuantumDBError the codes of {@link QuantumDBClient.search}.
   * @example
   * ```ts
   * for await (const hits of client.batchSearchStream(queries)) console.log(hits[0]);
   * ```
   */
  batchSearchStream(queries: AsyncIterable<SearchQuery> | Iterable<SearchQuery>, options?: CallOptions): AsyncGenerator<SearchHit[]> {
    return this.impl.batchSearch(queries, this.deadline(options));
  }

  /**
   * {@link QuantumDBClient.batchSearchStream}, collected.
   * @returns the hits of each query, in query order
   * @throws QuantumDBError the codes of {@link QuantumDBClient.search}.
   * @example
   * ```ts
   * const [first, second] = await client.batchSearch([{ vector: a }, { vector: b, k: 3 }]);
   * ```
   */
  async batchSearch(queries: AsyncIterable<SearchQuery> | Iterable<SearchQuery>, options?: CallOptions): Promise<SearchHit[][]> {
    const all: SearchHit[][] = [];
    for await (const hits of this.batchSearchStream(queries, options)) all.push(hits);
    return all;
  }

  /**
   * Deletes ids, all or nothing.
   * @returns how many were deleted and the size after
   * @throws QuantumDBError `UNKNOWN_ID` (nothing deleted), `EMPTY_ID`, `INVALID_ARGUMENT` (read-only), `IO_ERROR` (transport).
   * @example
   * ```ts
   * await client.delete(['a', 'b']);
   * ```
   */
  delete(ids: readonly string[], options?: CallOptions): Promise<DeleteResult> {
    return this.impl.delete(ids, this.deadline(options));
  }

  /**
   * Trains the codec and builds the graph on the server (searches fail with NOT_TRAINED meanwhile).
   * A deadline does not stop a build that has started; only the answer is lost.
   * @param options - `codec: 'pq' | 'opq'`, `opqIterations`, `timeoutMs`
   * @returns the size, `built`, and the seconds of each phase
   * @throws QuantumDBError `NOT_TRAINED` (empty database), `INVALID_ARGUMENT` (busy, read-only, bad option), `IO_ERROR` (transport).
   * @example
   * ```ts
   * await client.buildIndex({ timeoutMs: 600_000 });
   * ```
   */
  buildIndex(options: BuildRequest & CallOptions = {}): Promise<BuildResult> {
    const { timeoutMs, ...request } = options;
    return this.impl.buildIndex(request, this.deadline({ timeoutMs }));
  }

  /**
   * The database's stats plus the service's counters.
   * @throws QuantumDBError `IO_ERROR` (transport).
   * @example
   * ```ts
   * (await client.stats()).bytes.index;
   * ```
   */
  stats(options?: CallOptions): Promise<ServerStats> {
    return this.impl.stats(this.deadline(options));
  }

  /**
   * Size, dimension, metric, whether it is built and read-only.
   * @throws QuantumDBError `IO_ERROR` (transport).
   * @example
   * ```ts
   * const { status, size } = await client.health();
   * ```
   */
  health(options?: CallOptions): Promise<ServerHealth> {
    return this.impl.health(this.deadline(options));
  }

  /**
   * Closes the connections. Calls made afterwards fail.
   * @throws never
   * @example
   * ```ts
   * try { await client.health(); } finally { client.close(); }
   * ```
   */
  close(): void {
    this.impl.close();
  }
}
