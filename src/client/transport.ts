/**
 * @module client/transport
 * What both transports of `QuantumDBClient` implement, the request and answer types they share,
 * and the turning of a server's error (or a failure of the transport itself) back into a
 * `QuantumDBError`. A server error keeps the server's code, message and details; a transport
 * failure gets the closest code and names the transport's own code in `details.transportCode`:
 *
 * ```
 * deadline exceeded, connection refused or reset, server unreachable   → IO_ERROR
 * message too large (gRPC RESOURCE_EXHAUSTED, HTTP 413), body not JSON → INVALID_ARGUMENT
 * anything else (unknown route or method, a reply that is not ours)     → INTERNAL
 * ```
 */
import { QuantumDBError, type ErrorCode } from '../errors.js';
import type { Metadata, QuantumDBStats, SearchHit } from '../types.js';

/** A metadata value a filter compares with (`===`). */
export type MetadataScalar = string | number | boolean | null;

/** What a search may be restricted to: an allow-list of ids and/or metadata equalities (both must hold). */
export interface FilterSpec {
  /** Only these ids may come back (non-empty). */
  ids?: readonly string[];
  /** Every key must be in the item's metadata with exactly this value (`===`). */
  metadata?: Readonly<Record<string, MetadataScalar>>;
}

/** One query, as `search` options plus the vector. */
export interface SearchQuery {
  /** The query, of the database's dimension. */
  vector: ArrayLike<number>;
  /** Results wanted; default 10. */
  k?: number;
  /** Beam width of the graph search; default the database's. */
  ef?: number;
  /** Candidates re-scored exactly; 0 = off; default the database's. */
  rerank?: number;
  /** Restricts the results; applied inside the search. */
  filter?: FilterSpec;
}

/** One entry of `add`. */
export interface AddItem {
  /** A non-empty id, not yet in the database. */
  id: string;
  /** The vector, of the database's dimension. */
  vector: ArrayLike<number>;
  /** Any JSON object; search filters match on its keys. */
  metadata?: Metadata;
}

/** What `add` answers. */
export interface AddResult {
  /** Vectors added. */
  added: number;
  /** Vectors in the database after the call. */
  size: number;
}

/** What `delete` answers. */
export interface DeleteResult {
  /** Ids deleted. */
  deleted: number;
  /** Vectors in the database after the call. */
  size: number;
}

/** Seconds spent in each phase of a build. */
export interface BuildSeconds {
  /** Training and encoding. */
  codec: number;
  /** Building the graph. */
  graph: number;
}

/** What `buildIndex` answers. */
export interface BuildResult {
  /** Vectors indexed. */
  size: number;
  /** True once the index is searchable. */
  built: boolean;
  /** Seconds per phase. */
  buildSeconds: BuildSeconds;
}

/** Options of `buildIndex`. */
export interface BuildRequest {
  /** `'auto'` (the database's default), `'pq'`, `'opq'` (the PCA rotation refined by OPQ) or `'learned'` (needs TF.js on the server). */
  codec?: 'auto' | 'pq' | 'opq' | 'learned';
  /** OPQ refinement rounds; default 8. */
  opqIterations?: number;
}

/** What `health` answers. */
export interface ServerHealth {
  /** Always `'ok'` (a server that cannot answer fails the call instead). */
  status: 'ok';
  /** Vectors in the database. */
  size: number;
  /** Vector length. */
  dim: number;
  /** `'cosine'`, `'l2'` or `'ip'`. */
  metric: string;
  /** True when the index is searchable. */
  built: boolean;
  /** True when the server refuses changes. */
  readOnly: boolean;
}

/** The service's counters, in `stats`. */
export interface ServiceCounters {
  /** Search, add, delete and build calls answered or refused. */
  requests: number;
  /** Those that failed. */
  errors: number;
  /** ISO 8601 time the service started. */
  startedAt: string;
  /** Seconds since. */
  uptimeSeconds: number;
  /** True once an add, delete or build succeeded. */
  changed: boolean;
}

/** What `stats` answers: the database's `stats()` plus the service counters. */
export type ServerStats = QuantumDBStats & {
  /** The service's counters. */
  service: ServiceCounters;
};

/** The operations, each bounded by an absolute deadline in ms since the epoch (Infinity: none). */
export interface Transport {
  add(items: readonly AddItem[], deadline: number): Promise<AddResult>;
  search(query: SearchQuery, deadline: number): Promise<SearchHit[]>;
  /** Answers in query order, each as soon as it arrives. */
  batchSearch(queries: AsyncIterable<SearchQuery> | Iterable<SearchQuery>, deadline: number): AsyncGenerator<SearchHit[]>;
  delete(ids: readonly string[], deadline: number): Promise<DeleteResult>;
  buildIndex(request: BuildRequest, deadline: number): Promise<BuildResult>;
  stats(deadline: number): Promise<ServerStats>;
  health(deadline: number): Promise<ServerHealth>;
  close(): void;
}

/** Every error code; `satisfies` makes the type check fail when `errors.ts` gains a code. */
const CODES = {
  INVALID_ARGUMENT: true, DIMENSION_MISMATCH: true, NON_FINITE_VALUE: true, ZERO_VECTOR: true, EMPTY_ID: true, DUPLICATE_ID: true,
  UNKNOWN_ID: true, NOT_TRAINED: true, CAPACITY_EXCEEDED: true, CORRUPT_FILE: true, UNSUPPORTED_VERSION: true, IO_ERROR: true,
  WASM_UNAVAILABLE: true, INTERNAL: true,
} as const satisfies Record<ErrorCode, true>;

/** True when `code` is one of QuantumDB's error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(CODES, code);
}

/** A failure of the transport (not an error the service raised). */
export function transportError(code: ErrorCode, message: string, transport: 'http' | 'grpc', transportCode: string, cause?: unknown): QuantumDBError {
  return new QuantumDBError(code, message, { transport, transportCode }, cause);
}

/** The client-side refusal of a value the wire cannot carry (the server would refuse it too). */
export function invalidArgument(message: string): QuantumDBError {
  return new QuantumDBError('INVALID_ARGUMENT', message);
}

/** Milliseconds left until `deadline` (≥ 0; Infinity when there is none). */
export function remainingMs(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}
