/**
 * The gRPC server with real calls from `@grpc/grpc-js` on an ephemeral loopback port, the stubs
 * built from `proto/quantumdb.proto` by proto-loader: every RPC, every bad request (wrong
 * dimension, NaN, empty id, duplicate id, unknown id, bad metadata, oversize message), statuses
 * and trailers, nothing internal leaking, health and reflection, and read-only mode.
 */
import { Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuantumDB } from '../../src/index.js';
import { grpcStatusOf, startGrpcServer, type GrpcServerHandle } from '../../src/server/grpc.js';
import { createService, type Service } from '../../src/server/service.js';
import { qdbError } from '../../src/errors.js';
import { DIM, N, failure, makeDb, qdbCode, rawClients, rows, searchMessage, unary } from './grpc-helpers.js';

let db: QuantumDB;
let server: GrpcServerHandle;
let clients: ReturnType<typeof rawClients>;
const internalErrors: unknown[] = [];

beforeAll(async () => {
  db = await makeDb();
  server = await startGrpcServer(createService(db), { port: 0, maxMessageBytes: 64 * 1024, onInternalError: (e) => internalErrors.push(e) });
  clients = rawClients(server.address);
});
afterAll(async () => {
  clients.close();
  await server.shutdown();
});

describe('every RPC', () => {
  it('binds to loopback by default', () => {
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.port).toBeGreaterThan(0);
  });

  it('Search finds a stored vector first, best first, with took_ms', async () => {
    const r = await unary(clients.qdb, 'Search', searchMessage(7));
    expect(r.results).toHaveLength(5);
    expect(r.results[0]).toEqual({ id: 'v7', score: expect.closeTo(1, 5) });
    const scores = r.results.map((h: { score: number }) => h.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(r.took_ms).toBeGreaterThanOrEqual(0);
  });

  it('Search answers exactly what QuantumDB.search answers (scores as f32)', async () => {
    const r = await unary(clients.qdb, 'Search', { embedding: Array.from(rows[11]!), top_k: 10, ef_search: 32, rerank: 0 });
    expect(r.results).toEqual(db.search(rows[11]!, { k: 10, ef: 32, rerank: 0 }));
  });

  it('top_k 0 means the default 10; rerank unset is the default, rerank 0 is off', async () => {
    const r = await unary(clients.qdb, 'Search', { embedding: Array.from(rows[3]!) });
    expect(r.results).toHaveLength(10);
    expect(r.results).toEqual(db.search(rows[3]!));
    const off = await unary(clients.qdb, 'Search', { embedding: Array.from(rows[3]!), rerank: 0 });
    expect(off.results).toEqual(db.search(rows[3]!, { rerank: 0 }));
  });

  it('Search with filters: allow-list, metadata equality (string, number), both', async () => {
    const allowed = ['v1', 'v2', 'v3', 'v4'];
    const allow = await unary(clients.qdb, 'Search', searchMessage(7, { top_k: 3, filter: { ids: allowed } }));
    expect(allow.results).toHaveLength(3);
    expect(allow.results.every((h: { id: string }) => allowed.includes(h.id))).toBe(true);
    const meta = await unary(clients.qdb, 'Search', searchMessage(7, { top_k: 10, filter: { metadata: { parity: { string_value: 'even' } } } }));
    expect(meta.results).toHaveLength(10);
    expect(meta.results.every((h: { id: string }) => Number(h.id.slice(1)) % 2 === 0)).toBe(true);
    const num = await unary(clients.qdb, 'Search', searchMessage(7, { filter: { metadata: { i: { number_value: 42 } } } }));
    expect(num.results.map((h: { id: string }) => h.id)).toEqual(['v42']);
    const both = await unary(clients.qdb, 'Search', searchMessage(7, { top_k: 10, filter: { ids: ['v1', 'v2', 'v3'], metadata: { parity: { string_value: 'odd' } } } }));
    expect(both.results.map((h: { id: string }) => h.id).sort()).toEqual(['v1', 'v3']);
    const none = await unary(clients.qdb, 'Search', searchMessage(7, { filter: { metadata: { parity: { null_value: true } } } }));
    expect(none.results).toEqual([]);
  });

  it('Add (with metadata JSON), Search finds it, Delete removes it', async () => {
    const vector = Array.from(rows[0]!, (x) => -x);
    const added = await unary(clients.qdb, 'Add', {
      ids: ['new-1', 'new-2'],
      embeddings: [{ values: vector }, { values: Array.from(rows[1]!, (x) => -x) }],
      metadata_json: ['{"tag":"x","n":1}', ''],
    });
    expect(added).toEqual({ added: 2, size: N + 2 });
    expect(db.get('new-1')?.metadata).toEqual({ tag: 'x', n: 1 });
    expect(db.get('new-2')?.metadata).toBeUndefined();
    const found = await unary(clients.qdb, 'Search', { embedding: vector, top_k: 1, filter: { metadata: { tag: { string_value: 'x' } } } });
    expect(found.results.map((h: { id: string }) => h.id)).toEqual(['new-1']);
    expect(await unary(clients.qdb, 'Delete', { ids: ['new-1', 'new-2'] })).toEqual({ deleted: 2, size: N });
    const gone = await unary(clients.qdb, 'Search', { embedding: vector, top_k: 5 });
    expect(gone.results.map((h: { id: string }) => h.id)).not.toContain('new-1');
  });

  it('Stats: the database stats with params.hnsw_m, and the service counters', async () => {
    const s = await unary(clients.qdb, 'Stats', {});
    const local = db.stats();
    expect(s).toMatchObject({ size: N, dim: DIM, metric: 'cosine', built: true, code_bytes: local.codeBytes, vectors: 'memory', deleted: local.deleted });
    const p = local.params;
    expect(s.params).toEqual({
      m: p.m, target_dim: p.targetDim, rotation: p.rotation, hnsw_m: p.M, ef_construction: p.efConstruction, ef: p.ef, rerank: p.rerank,
      flat_threshold: p.flatThreshold, build_distance: p.buildDistance, seed: 1,
    });
    expect(s.bytes.total).toBe(local.bytes.total);
    expect(s.service.requests).toBeGreaterThan(0);
    expect(s.service.changed).toBe(true);
    const whole = JSON.parse(s.json);
    expect(whole).toMatchObject({ ...local, buildSeconds: expect.any(Object) });
    expect(whole.service).toMatchObject({ requests: s.service.requests, changed: true });
    expect(Date.parse(s.service.started_at)).toBeLessThanOrEqual(Date.now());
  });

  it('Health mirrors GET /health', async () => {
    expect(await unary(clients.qdb, 'Health', {})).toEqual({ status: 'ok', size: N, dim: DIM, metric: 'cosine', built: true, read_only: false });
  });

  it('BuildIndex retrains and rebuilds; the index answers afterwards', async () => {
    const r = await unary(clients.qdb, 'BuildIndex', {});
    expect(r).toMatchObject({ size: N, built: true });
    expect(r.build_seconds.codec).toBeGreaterThan(0);
    const after = await unary(clients.qdb, 'Search', searchMessage(9, { top_k: 1 }));
    expect(after.results[0].id).toBe('v9');
  });

  it('the standard health service: SERVING for "" and for the QuantumDB service; NOT_FOUND for others', async () => {
    expect(await unary(clients.health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });
    expect(await unary(clients.health, 'Check', { service: 'quantumdb.v1.QuantumDBService' })).toEqual({ status: 'SERVING' });
    expect((await failure(unary(clients.health, 'Check', { service: 'nope' }))).code).toBe(status.NOT_FOUND);
  });

  it('server reflection lists the services and serves the file descriptor', async () => {
    const stream = clients.reflection.ServerReflectionInfo();
    const answers: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: any) => answers.push(m));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write({ list_services: '' });
    stream.write({ file_containing_symbol: 'quantumdb.v1.QuantumDBService' });
    stream.end();
    await done;
    const names = answers[0].list_services_response.service.map((s: { name: string }) => s.name);
    expect(names).toEqual(expect.arrayContaining(['quantumdb.v1.QuantumDBService', 'grpc.health.v1.Health']));
    expect(answers[1].file_descriptor_response.file_descriptor_proto.length).toBeGreaterThan(0);
  });
});

describe('bad requests → status, message and qdb-code trailer', () => {
  const vector = () => Array.from(rows[3]!);
  const nan = () => vector().map((x, i) => (i === 5 ? Number.NaN : x));
  const cases: [string, string, () => unknown, status, string][] = [
    ['wrong dimension', 'Search', () => ({ embedding: [1, 2, 3] }), status.INVALID_ARGUMENT, 'DIMENSION_MISMATCH'],
    ['an empty embedding', 'Search', () => ({ embedding: [] }), status.INVALID_ARGUMENT, 'DIMENSION_MISMATCH'],
    ['NaN in a query', 'Search', () => ({ embedding: nan() }), status.INVALID_ARGUMENT, 'NON_FINITE_VALUE'],
    ['Infinity in a query', 'Search', () => ({ embedding: vector().map((x, i) => (i === 0 ? Infinity : x)) }), status.INVALID_ARGUMENT, 'NON_FINITE_VALUE'],
    ['a zero vector (cosine)', 'Search', () => ({ embedding: Array(DIM).fill(0) }), status.INVALID_ARGUMENT, 'ZERO_VECTOR'],
    ['top_k too large', 'Search', () => ({ embedding: vector(), top_k: 100_000 }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['negative top_k', 'Search', () => ({ embedding: vector(), top_k: -1 }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['negative rerank', 'Search', () => ({ embedding: vector(), rerank: -1 }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['a filter value without a kind', 'Search', () => ({ embedding: vector(), filter: { metadata: { a: {} } } }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['an empty id', 'Add', () => ({ ids: [''], embeddings: [{ values: vector() }] }), status.INVALID_ARGUMENT, 'EMPTY_ID'],
    ['no ids', 'Add', () => ({ ids: [], embeddings: [] }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['fewer embeddings than ids', 'Add', () => ({ ids: ['a', 'b'], embeddings: [{ values: vector() }] }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['NaN in an added vector', 'Add', () => ({ ids: ['nan'], embeddings: [{ values: nan() }] }), status.INVALID_ARGUMENT, 'NON_FINITE_VALUE'],
    ['wrong dimension in an add', 'Add', () => ({ ids: ['short'], embeddings: [{ values: [1, 2] }] }), status.INVALID_ARGUMENT, 'DIMENSION_MISMATCH'],
    ['a duplicate id', 'Add', () => ({ ids: ['v1'], embeddings: [{ values: vector() }] }), status.ALREADY_EXISTS, 'DUPLICATE_ID'],
    ['metadata that is not JSON', 'Add', () => ({ ids: ['m'], embeddings: [{ values: vector() }], metadata_json: ['{oops'] }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['metadata that is not an object', 'Add', () => ({ ids: ['m'], embeddings: [{ values: vector() }], metadata_json: ['[1]'] }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['metadata for some ids only', 'Add', () => ({ ids: ['m', 'n'], embeddings: [{ values: vector() }, { values: vector() }], metadata_json: ['{}'] }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['an unknown id', 'Delete', () => ({ ids: ['v1', 'no-such-id'] }), status.NOT_FOUND, 'UNKNOWN_ID'],
    ['an empty id list', 'Delete', () => ({ ids: [] }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['an empty id to delete', 'Delete', () => ({ ids: [''] }), status.INVALID_ARGUMENT, 'EMPTY_ID'],
    ['an unknown codec', 'BuildIndex', () => ({ codec: 'zip' }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
  ];
  for (const [name, method, request, code, qdb] of cases) {
    it(`${method}: ${name} → ${status[code]} ${qdb}`, async () => {
      const e = await failure(unary(clients.qdb, method, request()));
      expect(e.code).toBe(code);
      expect(qdbCode(e)).toBe(qdb);
      expect(e.details.length).toBeGreaterThan(10);
    });
  }

  it('nothing changed: a failed add adds nothing, a failed delete deletes nothing', async () => {
    expect(db.size).toBe(N);
    expect(db.get('v1')).toBeDefined();
    expect(db.get('m')).toBeUndefined();
  });

  it('the error message is the QuantumDBError message; details travel as JSON in qdb-details', async () => {
    const e = await failure(unary(clients.qdb, 'Delete', { ids: ['v1', 'nöpe'] }));
    expect(e.details).toBe('id "nöpe" is not in the database; check the id or add it first.');
    expect(JSON.parse(String(e.metadata.get('qdb-details')[0]))).toEqual({ id: 'nöpe' });
    const nanError = await failure(unary(clients.qdb, 'Search', { embedding: nan() }));
    expect(JSON.parse(String(nanError.metadata.get('qdb-details')[0]))).toEqual({ index: 5 });
  });

  it('an oversize message → RESOURCE_EXHAUSTED from grpc-js, and the server keeps serving', async () => {
    const n = 2000; // 2000 × 16 floats ≈ 140 KB > the 64 KiB limit
    const e = await failure(unary(clients.qdb, 'Add', { ids: Array.from({ length: n }, (_, i) => `big${i}`), embeddings: Array.from({ length: n }, () => ({ values: Array.from(rows[0]!) })) }));
    expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(db.size).toBe(N);
    expect((await unary(clients.qdb, 'Health', {})).size).toBe(N);
  });

  it('an unknown method → UNIMPLEMENTED', async () => {
    const e = await failure(new Promise((resolve, reject) => {
      clients.qdb.makeUnaryRequest('/quantumdb.v1.QuantumDBService/Nope', (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), (err: unknown, v: unknown) => (err ? reject(err) : resolve(v)));
    }));
    expect(e.code).toBe(status.UNIMPLEMENTED);
  });
});

describe('error mapping', () => {
  it('a non-QuantumDB error is INTERNAL with a fixed message; the error goes to onInternalError only', async () => {
    const base = createService(db);
    const broken: Service = { ...base, changed: false, stats: () => { throw new Error('secret: api-key-123'); } };
    const seen: unknown[] = [];
    const s = await startGrpcServer(broken, { port: 0, onInternalError: (e) => seen.push(e) });
    const c = rawClients(s.address);
    try {
      const e = await failure(unary(c.qdb, 'Stats', {}));
      expect(e.code).toBe(status.INTERNAL);
      expect(e.details).toBe('internal error; see the server log');
      expect(qdbCode(e)).toBe('INTERNAL');
      expect(JSON.stringify(e)).not.toContain('secret');
      expect(seen).toHaveLength(1);
    } finally {
      c.close();
      await s.shutdown();
    }
  });

  it('grpcStatusOf follows ERROR_STATUS: NOT_TRAINED → FAILED_PRECONDITION, read-only → FAILED_PRECONDITION, CAPACITY_EXCEEDED → RESOURCE_EXHAUSTED', () => {
    expect(grpcStatusOf(qdbError('NOT_TRAINED', ['x']), new Metadata()).code).toBe(status.FAILED_PRECONDITION);
    expect(grpcStatusOf(qdbError('INVALID_ARGUMENT', ['ro'], { readOnly: true }), new Metadata()).code).toBe(status.FAILED_PRECONDITION);
    expect(grpcStatusOf(qdbError('CAPACITY_EXCEEDED', ['full']), new Metadata()).code).toBe(status.RESOURCE_EXHAUSTED);
    expect(grpcStatusOf(qdbError('IO_ERROR', ['disk']), new Metadata()).code).toBe(status.INTERNAL);
    expect(internalErrors).toEqual([]);
  });

  it('read-only: Add, Delete and BuildIndex → FAILED_PRECONDITION with qdb-code INVALID_ARGUMENT and details.readOnly', async () => {
    const s = await startGrpcServer(createService(db, { readOnly: true }), { port: 0 });
    const c = rawClients(s.address);
    try {
      for (const [method, request] of [['Add', { ids: ['ro'], embeddings: [{ values: Array.from(rows[0]!) }] }], ['Delete', { ids: ['v1'] }], ['BuildIndex', {}]] as const) {
        const e = await failure(unary(c.qdb, method, request));
        expect(e.code).toBe(status.FAILED_PRECONDITION);
        expect(qdbCode(e)).toBe('INVALID_ARGUMENT');
        expect(JSON.parse(String(e.metadata.get('qdb-details')[0]))).toEqual({ readOnly: true });
      }
      expect((await unary(c.qdb, 'Health', {})).read_only).toBe(true);
      expect((await unary(c.qdb, 'Search', searchMessage(1))).results).toHaveLength(5);
    } finally {
      c.close();
      await s.shutdown();
    }
  });

  it('searching an unbuilt database → FAILED_PRECONDITION NOT_TRAINED; building an empty one too', async () => {
    const { QuantumDB } = await import('../../src/index.js');
    const fresh = new QuantumDB({ dim: DIM });
    const s = await startGrpcServer(createService(fresh), { port: 0 });
    const c = rawClients(s.address);
    try {
      const empty = await failure(unary(c.qdb, 'BuildIndex', {}));
      expect([empty.code, qdbCode(empty)]).toEqual([status.FAILED_PRECONDITION, 'NOT_TRAINED']);
      await unary(c.qdb, 'Add', { ids: ['a', 'b'], embeddings: [{ values: Array.from(rows[0]!) }, { values: Array.from(rows[1]!) }] });
      const unbuilt = await failure(unary(c.qdb, 'Search', searchMessage(0)));
      expect([unbuilt.code, qdbCode(unbuilt)]).toEqual([status.FAILED_PRECONDITION, 'NOT_TRAINED']);
    } finally {
      c.close();
      await s.shutdown();
    }
  });

  it('a port in use → IO_ERROR', async () => {
    let error: unknown;
    try {
      await startGrpcServer(createService(db), { port: server.port });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'QuantumDBError', code: 'IO_ERROR' });
  });
});
