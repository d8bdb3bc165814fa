/**
 * @module pool/protocol
 * The messages between a {@link QuantumDBPool} and its workers. Queries travel as one transferred
 * `Float32Array` per request; results come back flat (ids, scores, counts per query), so a batch
 * of thousands of queries costs two transfers and one small clone instead of thousands of objects.
 *
 * ```
 * main thread                                  worker i
 *   new Worker(script, { path, vectors }) ──►  QuantumDB.open(path, { readOnly: true })
 *   ◄── { type: 'ready', size, dim, metric }   (or { type: 'failed', error })
 *   { id, queries, options } ──────────────►   db.search(row, options) for each row
 *   ◄── { id, ids, scores, counts }            (or { id, error })
 * ```
 */
import type { ErrorCode, Metric } from '../index.js';

/** What the pool hands a worker at start (`workerData`). */
export interface WorkerConfig {
  path: string;
  vectors: 'mapped' | 'memory';
}

/** Search options that can cross a thread: a filter must be an allow-list of ids. */
export interface WireSearchOptions {
  k?: number;
  ef?: number;
  rerank?: number;
  flat?: boolean;
  filter?: readonly string[];
}

/** A search request: `queries` holds `queries.length / dim` rows. */
export interface SearchRequest {
  id: number;
  queries: Float32Array;
  options: WireSearchOptions;
}

/** An error, as plain data. */
export interface WireError {
  name: string;
  code?: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** Worker → pool messages. */
export type WorkerMessage =
  | { type: 'ready'; size: number; dim: number; metric: Metric }
  | { type: 'failed'; error: WireError }
  | { type: 'result'; id: number; ids: string[]; scores: Float64Array; counts: Uint32Array }
  | { type: 'error'; id: number; error: WireError };

/** An error as plain data, keeping a QuantumDBError's code and details. */
export function toWireError(e: unknown): WireError {
  if (typeof e === 'object' && e !== null) {
    const { name, code, message, details } = e as Partial<WireError>;
    return { name: String(name ?? 'Error'), message: String(message ?? e), ...(typeof code === 'string' ? { code } : {}), ...(details ? { details } : {}) };
  }
  return { name: 'Error', message: String(e) };
}
