/**
 * @module server/service
 * The one service layer behind every network transport (the HTTP adapter in `http.ts` today, gRPC
 * later): validation of request objects, the database calls, and the table that maps error codes to
 * transport statuses. Functions take plain objects (parsed JSON) and return plain objects, or throw
 * a `QuantumDBError`; nothing here knows about sockets, headers or bodies.
 *
 * Requests (all fields JSON):
 * ```
 * search  { vector: number[], k?: int = 10, ef?: int, rerank?: int, filter?: { ids?: string[], metadata?: { key: value } } }
 *         → { hits: [{ id, score }], took_ms }
 * add     { items: [{ id, vector, metadata? }] }   or one item { id, vector, metadata? }   → { added, size }
 * delete  { ids: string[] }   or   { id }                                                  → { deleted, size }
 * build   { codec?: 'auto' | 'pq' | 'opq' | 'learned', opqIterations?: int }              → { size, built, buildSeconds }
 * health  → { status: 'ok', size, dim, metric, built, readOnly }
 * stats   → db.stats() plus { service: { requests, errors, startedAt, uptimeSeconds } }
 * ```
 */
import { qdbError } from '../errors.js';
import type { ErrorCode, Metadata, QuantumDB, QuantumDBError, QuantumDBStats, SearchFilter, SearchHit } from '../index.js';

/** HTTP status and gRPC status code for each error code (gRPC: 3 INVALID_ARGUMENT, 5 NOT_FOUND, 6 ALREADY_EXISTS, 9 FAILED_PRECONDITION, 8 RESOURCE_EXHAUSTED, 13 INTERNAL, 14 UNAVAILABLE). */
export const ERROR_STATUS: Readonly<Record<ErrorCode, { http: number; grpc: number }>> = {
  INVALID_ARGUMENT: { http: 400, grpc: 3 },
  DIMENSION_MISMATCH: { http: 400, grpc: 3 },
  NON_FINITE_VALUE: { http: 400, grpc: 3 },
  ZERO_VECTOR: { http: 400, grpc: 3 },
  EMPTY_ID: { http: 400, grpc: 3 },
  UNKNOWN_ID: { http: 404, grpc: 5 },
  DUPLICATE_ID: { http: 409, grpc: 6 },
  NOT_TRAINED: { http: 409, grpc: 9 },
  CAPACITY_EXCEEDED: { http: 507, grpc: 8 },
  CORRUPT_FILE: { http: 500, grpc: 13 },
  UNSUPPORTED_VERSION: { http: 500, grpc: 13 },
  IO_ERROR: { http: 500, grpc: 13 },
  WASM_UNAVAILABLE: { http: 500, grpc: 14 },
  INTERNAL: { http: 500, grpc: 13 },
};

/** A change refused because the service is read-only: 403 over HTTP, 9 over gRPC. */
const READ_ONLY = { http: 403, grpc: 9 };

/**
 * The transport statuses of any thrown value: a QuantumDBError by its code (read-only refusals
 * are 403), anything else 500.
 * @example
 * ```ts
 * statusOf(e).http; // 400 for DIMENSION_MISMATCH
 * ```
 */
export function statusOf(error: unknown): { http: number; grpc: number } {
  if (!(error instanceof Error) || (error as { name?: string }).name !== 'QuantumDBError') return ERROR_STATUS.INTERNAL;
  const e = error as QuantumDBError;
  if (e.details?.readOnly === true) return READ_ONLY;
  return ERROR_STATUS[e.code] ?? ERROR_STATUS.INTERNAL;
}

/** Options of {@link createService}. */
export interface ServiceOptions {
  /** Refuse add and delete (403). */
  readOnly?: boolean;
  /** Largest `k` a search may ask for; default 1,000. */
  maxK?: number;
  /** Largest batch an add or delete may carry; default 10,000. */
  maxBatch?: number;
  /** Milliseconds clock. */
  now?: () => number;
}

/** The operations every transport exposes. */
export interface Service {
  search(request: unknown): { hits: SearchHit[]; took_ms: number };
  add(request: unknown): { added: number; size: number };
  delete(request: unknown): { deleted: number; size: number };
  /** Trains the codec and builds the graph (searches fail with NOT_TRAINED meanwhile). */
  buildIndex(request?: unknown): Promise<{ size: number; built: boolean; buildSeconds: { codec: number; graph: number } }>;
  health(): { status: 'ok'; size: number; dim: number; metric: string; built: boolean; readOnly: boolean };
  stats(): QuantumDBStats & { service: { requests: number; errors: number; startedAt: string; uptimeSeconds: number; changed: boolean } };
  /** True once an add or delete succeeded (the transport may save on shutdown). */
  readonly changed: boolean;
}

const invalid = (message: string, details?: Record<string, unknown>) => qdbError('INVALID_ARGUMENT', [message], details);

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function vectorOf(value: unknown, what: string): Float32Array {
  if (!Array.isArray(value)) throw invalid(`${what} must be an array of numbers`);
  const bad = value.findIndex((x) => typeof x !== 'number');
  if (bad >= 0) throw invalid(`${what}[${bad}] is ${JSON.stringify(value[bad]) ?? 'undefined'}, not a number`, { index: bad });
  return Float32Array.from(value as number[]);
}

function intOf(value: unknown, name: string, fallback: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return value;
}

function idsOf(value: unknown, name: string, maxBatch: number): string[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid(`${name} must be a non-empty array of id strings`);
  if (value.length > maxBatch) throw invalid(`${name} holds ${value.length} ids; send at most ${maxBatch} per request`);
  value.forEach((id, i) => { if (typeof id !== 'string' || id === '') throw qdbError('EMPTY_ID', [i], { index: i }); });
  return value as string[];
}

/** A metadata filter: every key must equal (===) the item's value. */
function filterOf(value: unknown, maxBatch: number): SearchFilter | undefined {
  if (value === undefined || value === null) return undefined;
  const f = asObject(value, 'filter');
  const unknownKey = Object.keys(f).find((key) => key !== 'ids' && key !== 'metadata');
  if (unknownKey !== undefined) throw invalid(`filter.${unknownKey} is not a filter; use filter.ids (an allow-list) and/or filter.metadata (key: value pairs)`);
  const ids = f.ids === undefined ? undefined : idsOf(f.ids, 'filter.ids', Math.max(maxBatch, 100_000));
  if (f.metadata === undefined) return ids;
  const wanted = Object.entries(asObject(f.metadata, 'filter.metadata'));
  for (const [key, v] of wanted) {
    if (v !== null && typeof v === 'object') throw invalid(`filter.metadata.${key} must be a string, number, boolean or null`);
  }
  const allowed = ids === undefined ? undefined : new Set(ids);
  return (id: string, metadata: Metadata | undefined) =>
    (allowed === undefined || allowed.has(id)) && wanted.every(([key, v]) => metadata !== undefined && metadata[key] === v);
}

function metadataOf(value: unknown, what: string): Metadata | undefined {
  if (value === undefined || value === null) return undefined;
  return asObject(value, what);
}

/**
 * Wraps a database in the transport-independent operations.
 *
 * @param db - An open database (built, or empty).
 * @param options - `readOnly`, `maxK`, `maxBatch`, `now`.
 * @returns The operations; each validates its request and throws `QuantumDBError` on failure.
 * @example
 * ```ts
 * const service = createService(await QuantumDB.open('index.qdb'));
 * service.search({ vector: [0.1, 0.2, 0.3], k: 5 });
 * ```
 */
export function createService(db: QuantumDB, options: ServiceOptions = {}): Service {
  const now = options.now ?? (() => performance.now());
  const maxK = options.maxK ?? 1000;
  const maxBatch = options.maxBatch ?? 10_000;
  const readOnly = options.readOnly === true;
  const started = new Date();
  const t0 = now();
  let requests = 0;
  let errors = 0;
  let changed = false;
  const counted = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A): R => {
    requests++;
    try {
      return fn(...args);
    } catch (e) {
      errors++;
      throw e;
    }
  };
  const assertWritable = (verb: string) => {
    if (readOnly) throw qdbError('INVALID_ARGUMENT', [`this server is read-only, so ${verb} is refused; restart it without --read-only to change the index`], { readOnly: true });
  };
  return {
    get changed() { return changed; },
    search: counted((request: unknown) => {
      const r = asObject(request, 'the search request');
      const vector = vectorOf(r.vector, 'vector');
      const k = intOf(r.k, 'k', 10, 1, maxK)!;
      const ef = intOf(r.ef, 'ef', undefined, 1, 100_000);
      const rerank = intOf(r.rerank, 'rerank', undefined, 0, 100_000);
      const filter = filterOf(r.filter, maxBatch);
      const start = now();
      const hits = db.search(vector, { k, ef, rerank, filter });
      return { hits, took_ms: now() - start };
    }),
    add: counted((request: unknown) => {
      assertWritable('add');
      const r = asObject(request, 'the add request');
      const items = r.items === undefined ? [r] : r.items;
      if (!Array.isArray(items) || items.length === 0) throw invalid('items must be a non-empty array of { id, vector, metadata? }');
      if (items.length > maxBatch) throw invalid(`items holds ${items.length} entries; send at most ${maxBatch} per request`);
      const ids: string[] = [];
      const vectors: Float32Array[] = [];
      const metadata: (Metadata | undefined)[] = [];
      items.forEach((raw, i) => {
        const item = asObject(raw, `items[${i}]`);
        if (typeof item.id !== 'string' || item.id === '') throw qdbError('EMPTY_ID', [i], { index: i });
        ids.push(item.id);
        vectors.push(vectorOf(item.vector, `items[${i}].vector`));
        metadata.push(metadataOf(item.metadata, `items[${i}].metadata`));
      });
      db.addBatch(ids, vectors, metadata.some((m) => m !== undefined) ? metadata : undefined);
      changed = true;
      return { added: ids.length, size: db.size };
    }),
    delete: counted((request: unknown) => {
      assertWritable('delete');
      const r = asObject(request, 'the delete request');
      const ids = r.ids === undefined && typeof r.id === 'string' ? idsOf([r.id], 'id', 1) : idsOf(r.ids, 'ids', maxBatch);
      // All or nothing: an unknown id fails the request before anything is deleted.
      const missing = ids.find((id) => db.get(id) === undefined);
      if (missing !== undefined) throw qdbError('UNKNOWN_ID', [missing], { id: missing });
      const deleted = db.delete(ids);
      changed = true;
      return { deleted, size: db.size };
    }),
    buildIndex: async (request: unknown = {}) => {
      requests++;
      try {
        assertWritable('buildIndex');
        const r = asObject(request ?? {}, 'the build request');
        const codec = r.codec ?? undefined;
        if (codec !== undefined && !['auto', 'pq', 'opq', 'learned'].includes(codec as string)) {
          throw invalid(`codec must be "auto", "pq", "opq" or "learned", got ${JSON.stringify(codec)}`);
        }
        const opqIterations = intOf(r.opqIterations, 'opqIterations', undefined, 1, 1000);
        await db.buildIndex({ codec: codec as 'auto' | 'pq' | 'opq' | 'learned' | undefined, opqIterations });
        changed = true;
        return { size: db.size, built: db.isBuilt, buildSeconds: db.stats().buildSeconds };
      } catch (e) {
        errors++;
        throw e;
      }
    },
    health: () => ({ status: 'ok', size: db.size, dim: db.dim, metric: db.metric, built: db.isBuilt, readOnly }),
    stats: () => ({ ...db.stats(), service: { requests, errors, startedAt: started.toISOString(), uptimeSeconds: (now() - t0) / 1000, changed } }),
  };
}
