/**
 * `quantumdb/client` against real HTTP and gRPC servers on loopback that share one service layer:
 * one contract suite run for each transport (same methods, same answers, same error codes), plus
 * the failures of the transports themselves (unreachable server, deadline, oversize message).
 */
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { QuantumDB, SearchHit } from '../../src/index.js';
import { QuantumDBClient, isQuantumDBError, type ServerStats } from '../../src/client/index.js';
import { startGrpcServer, type GrpcServerHandle } from '../../src/server/grpc.js';
import { startHttpServer, type HttpServerHandle } from '../../src/server/http.js';
import { createService, type Service } from '../../src/server/service.js';
import { expectQdbErrorAsync } from '../helpers.js';
import { DIM, N, makeDb, rows } from './grpc-helpers.js';

let db: QuantumDB;
let http: HttpServerHandle;
let grpc: GrpcServerHandle;
const LIMIT = 64 * 1024;

beforeAll(async () => {
  db = await makeDb();
  const service = createService(db);
  http = await startHttpServer(service, { port: 0, maxBodyBytes: LIMIT });
  grpc = await startGrpcServer(service, { port: 0, maxMessageBytes: LIMIT });
});
afterAll(async () => {
  await Promise.all([http.shutdown(), grpc.shutdown()]);
});

/** The thrown QuantumDBError of a promise (fails when it resolves). */
async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(isQuantumDBError(error), `expected a QuantumDBError, got ${String(error)}`).toBe(true);
  return error as { code: string; message: string; details?: Record<string, unknown> };
}

const negated = (i: number) => Array.from(rows[i]!, (x) => -x);

describe.each(['http', 'grpc'] as const)('QuantumDBClient over %s', (transport) => {
  let client: QuantumDBClient;
  beforeAll(() => {
    client = new QuantumDBClient(transport === 'http' ? { http: http.url } : { grpc: grpc.address });
  });
  afterAll(() => client.close());

  it('speaks the transport it was given', () => {
    expect(client.transport).toBe(transport);
  });

  it('health', async () => {
    expect(await client.health()).toEqual({ status: 'ok', size: db.size, dim: DIM, metric: 'cosine', built: true, readOnly: false });
  });

  it('stats: the database stats, params.M included, and the service counters', async () => {
    await client.search(rows[0]!);
    const s = await client.stats();
    const { buildSeconds, ...local } = db.stats();
    expect(s).toMatchObject(local);
    expect(s.buildSeconds.codec).toBeCloseTo(buildSeconds.codec, 9);
    expect(s.params.M).toBe(16);
    expect(s.service.requests).toBeGreaterThan(0);
    expect(typeof s.service.startedAt).toBe('string');
  });

  it('search answers exactly what QuantumDB.search answers', async () => {
    for (const [i, options] of [[3, {}], [8, { k: 3 }], [12, { k: 7, ef: 20, rerank: 0 }]] as const) {
      expect(await client.search(rows[i]!, options)).toEqual(db.search(rows[i]!, options));
    }
    expect(await client.search(Float32Array.from(rows[5]!), { k: 1 })).toEqual([{ id: 'v5', score: expect.closeTo(1, 5) }]);
  });

  it('search with filters: allow-list, metadata (string, number, null), both', async () => {
    const ids = (hits: SearchHit[]) => hits.map((h) => h.id);
    expect(ids(await client.search(rows[7]!, { k: 10, filter: { ids: ['v1', 'v2', 'v3'] } })).sort()).toEqual(['v1', 'v2', 'v3']);
    const even = await client.search(rows[7]!, { k: 10, filter: { metadata: { parity: 'even' } } });
    expect(even).toHaveLength(10);
    expect(even.every((h) => Number(h.id.slice(1)) % 2 === 0)).toBe(true);
    expect(ids(await client.search(rows[7]!, { filter: { metadata: { i: 42 } } }))).toEqual(['v42']);
    expect(await client.search(rows[7]!, { filter: { metadata: { parity: null } } })).toEqual([]);
    expect(ids(await client.search(rows[7]!, { filter: { ids: ['v1', 'v2', 'v3'], metadata: { parity: 'odd' } } })).sort()).toEqual(['v1', 'v3']);
  });

  it('batchSearch: one answer per query, in order', async () => {
    const order = [4, 9, 1, 250, 77];
    const all = await client.batchSearch(order.map((i) => ({ vector: rows[i]!, k: 3 })));
    expect(all).toEqual(order.map((i) => db.search(rows[i]!, { k: 3 })));
    expect(await client.batchSearch([])).toEqual([]);
  });

  it('batchSearchStream: answers as they come, from an async source; leaving early is clean', async () => {
    async function* queries() {
      for (let i = 0; i < 40; i++) yield { vector: rows[i]!, k: 1 };
    }
    const seen: string[] = [];
    for await (const hits of client.batchSearchStream(queries())) {
      seen.push(hits[0]!.id);
      if (seen.length === 5) break;
    }
    expect(seen).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect((await client.health()).status).toBe('ok');
  });

  it('add, search, delete', async () => {
    const id = `added-${transport}`;
    expect(await client.add([{ id, vector: negated(0), metadata: { tag: transport, n: 1 } }, { id: `${id}-2`, vector: negated(1) }])).toEqual({ added: 2, size: N + 2 });
    expect(db.get(id)?.metadata).toEqual({ tag: transport, n: 1 });
    expect((await client.search(negated(0), { k: 1, filter: { metadata: { tag: transport } } }))[0]!.id).toBe(id);
    expect(await client.delete([id, `${id}-2`])).toEqual({ deleted: 2, size: N });
  });

  it('buildIndex', async () => {
    const r = await client.buildIndex();
    expect(r).toMatchObject({ size: N, built: true });
    expect(r.buildSeconds.codec).toBeGreaterThan(0);
    expect((await client.search(rows[9]!, { k: 1 }))[0]!.id).toBe('v9');
  });

  describe('errors come back as QuantumDBError with the server code', () => {
    const nan = () => rows[3]!.map((x, i) => (i === 2 ? Number.NaN : x));
    const cases: [string, () => Promise<unknown>, string][] = [
      ['wrong dimension', () => client.search([1, 2, 3]), 'DIMENSION_MISMATCH'],
      ['NaN in a query', () => client.search(nan()), 'NON_FINITE_VALUE'],
      ['Infinity in a query', () => client.search(rows[3]!.map((x, i) => (i === 0 ? -Infinity : x))), 'NON_FINITE_VALUE'],
      ['NaN in an added vector', () => client.add([{ id: 'nan', vector: nan() }]), 'NON_FINITE_VALUE'],
      ['a zero vector', () => client.search(new Float32Array(DIM)), 'ZERO_VECTOR'],
      ['an empty id', () => client.add([{ id: '', vector: rows[0]! }]), 'EMPTY_ID'],
      ['a duplicate id', () => client.add([{ id: 'v1', vector: rows[0]! }]), 'DUPLICATE_ID'],
      ['an unknown id', () => client.delete(['v1', 'no-such-id']), 'UNKNOWN_ID'],
      ['no ids', () => client.delete([]), 'INVALID_ARGUMENT'],
      ['k = 0', () => client.search(rows[0]!, { k: 0 }), 'INVALID_ARGUMENT'],
      ['k = 2.5', () => client.search(rows[0]!, { k: 2.5 }), 'INVALID_ARGUMENT'],
      ['k too large', () => client.search(rows[0]!, { k: 5000 }), 'INVALID_ARGUMENT'],
      ['an empty allow-list', () => client.search(rows[0]!, { filter: { ids: [] } }), 'INVALID_ARGUMENT'],
      ['an object as a filter value', () => client.search(rows[0]!, { filter: { metadata: { a: { b: 1 } as never } } }), 'INVALID_ARGUMENT'],
      ['an unknown codec', () => client.buildIndex({ codec: 'zip' as never }), 'INVALID_ARGUMENT'],
      ['a bad query inside a batch', () => client.batchSearch([{ vector: rows[0]! }, { vector: [1] }, { vector: rows[1]! }]), 'DIMENSION_MISMATCH'],
    ];
    for (const [name, run, code] of cases) {
      it(`${name} → ${code}`, async () => {
        await expectQdbErrorAsync(run, code as never);
      });
    }

    it('the message and details are the server\'s', async () => {
      const e = await errorOf(client.delete(['nöpe']));
      expect(e.message).toBe('id "nöpe" is not in the database; check the id or add it first.');
      expect(e.details).toEqual({ id: 'nöpe' });
    });

    it('an oversize request → INVALID_ARGUMENT naming the transport limit; the server keeps serving', async () => {
      const items = Array.from({ length: 2000 }, (_, i) => ({ id: `big${i}`, vector: rows[0]! }));
      const e = await errorOf(client.add(items));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.details).toEqual({ transport, transportCode: transport === 'http' ? 'PAYLOAD_TOO_LARGE' : 'RESOURCE_EXHAUSTED' });
      expect(db.size).toBe(N);
      expect((await client.health()).size).toBe(N);
    });

    it('nothing was added or deleted by the failures', () => {
      expect(db.size).toBe(N);
      expect(db.get('v1')).toBeDefined();
    });
  });
});

describe('transport failures', () => {
  it('an unreachable server → IO_ERROR on both transports', async () => {
    const closed = await startHttpServer(createService(db), { port: 0 });
    const closedGrpc = await startGrpcServer(createService(db), { port: 0 });
    const [url, address] = [closed.url, closedGrpc.address];
    await Promise.all([closed.shutdown(), closedGrpc.shutdown()]);
    for (const options of [{ http: url }, { grpc: address }]) {
      const client = new QuantumDBClient({ ...options, timeoutMs: 3000 });
      const e = await errorOf(client.health());
      expect(e.code).toBe('IO_ERROR');
      expect(e.details?.transport).toBe(client.transport);
      client.close();
    }
  });

  it('a deadline → IO_ERROR with transportCode DEADLINE_EXCEEDED on both transports', async () => {
    const base = createService(db);
    const slow: Service = {
      ...base, changed: false,
      buildIndex: () => new Promise((resolve) => setTimeout(() => resolve({ size: 0, built: true, buildSeconds: { codec: 0, graph: 0 } }), 500)),
    };
    const h = await startHttpServer(slow, { port: 0 });
    const g = await startGrpcServer(slow, { port: 0 });
    try {
      for (const options of [{ http: h.url }, { grpc: g.address }]) {
        const client = new QuantumDBClient(options);
        const t0 = Date.now();
        const e = await errorOf(client.buildIndex({ timeoutMs: 80 }));
        expect(Date.now() - t0).toBeLessThan(450);
        expect(e.code).toBe('IO_ERROR');
        expect(e.details).toEqual({ transport: client.transport, transportCode: 'DEADLINE_EXCEEDED' });
        expect((await client.buildIndex({ timeoutMs: 5000 })).built).toBe(true);
        client.close();
      }
    } finally {
      await Promise.all([h.shutdown(), g.shutdown()]);
    }
  });

  it('read-only servers refuse changes with INVALID_ARGUMENT and details.readOnly on both transports', async () => {
    const service = createService(db, { readOnly: true });
    const h = await startHttpServer(service, { port: 0 });
    const g = await startGrpcServer(service, { port: 0 });
    try {
      for (const options of [{ http: h.url }, { grpc: g.address }]) {
        const client = new QuantumDBClient(options);
        const e = await errorOf(client.add([{ id: 'ro', vector: rows[0]! }]));
        expect(e.code).toBe('INVALID_ARGUMENT');
        expect(e.details).toEqual({ readOnly: true });
        expect((await client.health()).readOnly).toBe(true);
        client.close();
      }
    } finally {
      await Promise.all([h.shutdown(), g.shutdown()]);
    }
  });

  it('both transports answer the same stats, apart from the counters', async () => {
    const a = new QuantumDBClient({ http: http.url });
    const b = new QuantumDBClient({ grpc: grpc.address });
    try {
      const strip = ({ service: _service, ...rest }: ServerStats) => rest;
      expect(strip(await b.stats())).toEqual(strip(await a.stats()));
    } finally {
      a.close();
      b.close();
    }
  });

  it('the constructor wants exactly one address and sane options', () => {
    expect(() => new QuantumDBClient({})).toThrow(/exactly one/);
    expect(() => new QuantumDBClient({ http: 'http://127.0.0.1:1', grpc: '127.0.0.1:2' })).toThrow(/exactly one/);
    expect(() => new QuantumDBClient({ http: '127.0.0.1:6333' })).toThrow(/http must be a URL/);
    expect(() => new QuantumDBClient({ grpc: '127.0.0.1:6334', timeoutMs: 0 })).toThrow(/timeoutMs/);
  });

  it('types: every method is the same on both transports', () => {
    expectTypeOf<QuantumDBClient['search']>().returns.toEqualTypeOf<Promise<SearchHit[]>>();
    expectTypeOf<QuantumDBClient['batchSearch']>().returns.toEqualTypeOf<Promise<SearchHit[][]>>();
    expectTypeOf<QuantumDBClient['batchSearchStream']>().returns.toEqualTypeOf<AsyncGenerator<SearchHit[]>>();
    expectTypeOf<QuantumDBClient['stats']>().returns.toEqualTypeOf<Promise<ServerStats>>();
  });
});
