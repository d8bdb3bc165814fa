/**
 * Shared helpers of the gRPC tests: a small seeded database, a raw `@grpc/grpc-js` client built from
 * `proto/quantumdb.proto` with proto-loader (independently of `src/`), and promise wrappers.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { expect } from 'vitest';
import { QuantumDB } from '../../src/index.js';
import { randomRows } from '../cli/cli-helpers.js';

export const DIM = 16;
export const N = 300;
export const rows = randomRows(N, DIM, 21);
export const ids = rows.map((_, i) => `v${i}`);

export const PROTO_PATH = fileURLToPath(new URL('../../proto/quantumdb.proto', import.meta.url));
export const REFLECTION_PROTO = fileURLToPath(new URL('../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto', import.meta.url));
export const HEALTH_PROTO = fileURLToPath(new URL('../../node_modules/grpc-health-check/proto/health/v1/health.proto', import.meta.url));

/** A built cosine database of N seeded rows, metadata `{ parity, i }`. */
export async function makeDb(): Promise<QuantumDB> {
  const db = new QuantumDB({ dim: DIM, seed: 1 });
  db.addBatch(ids, rows, rows.map((_, i) => ({ parity: i % 2 === 0 ? 'even' : 'odd', i })));
  await db.buildIndex();
  return db;
}

const OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, arrays: true, oneofs: true };

/** Raw stubs for the QuantumDB service, grpc.health.v1.Health and reflection v1 (snake_case fields, as written in the .proto). */
export function rawClients(address: string, channelOptions: grpc.ChannelOptions = {}) {
  const load = (file: string) => grpc.loadPackageDefinition(loadSync(file, OPTIONS)) as any;
  const creds = grpc.credentials.createInsecure();
  const qdb = new (load(PROTO_PATH).quantumdb.v1.QuantumDBService)(address, creds, channelOptions) as grpc.Client & Record<string, any>;
  const health = new (load(HEALTH_PROTO).grpc.health.v1.Health)(address, creds) as grpc.Client & Record<string, any>;
  const reflection = new (load(REFLECTION_PROTO).grpc.reflection.v1.ServerReflection)(address, creds) as grpc.Client & Record<string, any>;
  return { qdb, health, reflection, close: () => { qdb.close(); health.close(); reflection.close(); } };
}

/** A unary call as a promise of the response (rejects with the grpc-js ServiceError). */
export function unary<T = any>(client: Record<string, any>, method: string, request: unknown, options: grpc.CallOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](request, options, (error: grpc.ServiceError | null, value: T) => (error ? reject(error) : resolve(value)));
  });
}

/** The ServiceError a call fails with; fails the test when the call succeeds. */
export async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, 'expected the call to fail').toBeDefined();
  return error as grpc.ServiceError;
}

/** The `qdb-code` trailer of a failed call. */
export const qdbCode = (e: grpc.ServiceError) => e.metadata?.get('qdb-code')[0];

/** Resolves when `predicate()` is true (polled), or fails after `ms`. */
export async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A search request over the wire, snake_case as in the .proto. */
export const searchMessage = (i: number, extra: Record<string, unknown> = {}) => ({ embedding: Array.from(rows[i]!), top_k: 5, ...extra });
