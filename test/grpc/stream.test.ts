/**
 * BatchSearch, deadlines and shutdown, with real `@grpc/grpc-js` calls on loopback: answers stream
 * as they are computed, in order; back-pressure stops the server while the client does not read;
 * a failing request ends the stream; expired deadlines end calls and skip their work; a shutdown
 * lets a stream in flight finish, refuses new calls, and ends streams still open after the grace
 * period with UNAVAILABLE.
 */
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuantumDB } from '../../src/index.js';
import { startGrpcServer, type GrpcServerHandle } from '../../src/server/grpc.js';
import { createService, type Service } from '../../src/server/service.js';
import { failure, makeDb, qdbCode, rawClients, rows, searchMessage, unary, until } from './grpc-helpers.js';

let db: QuantumDB;

beforeAll(async () => { db = await makeDb(); });

/** A service that counts the searches it runs. */
function countingService(options: Parameters<typeof createService>[1] = {}): { service: Service; searches: () => number } {
  const base = createService(db, options);
  let searches = 0;
  return { service: { ...base, changed: false, search: (r) => { searches++; return base.search(r); } }, searches: () => searches };
}

/** Collects a duplex call's answers and its end (status or error). */
function collect(call: ClientDuplexStream<any, any>) {
  const answers: any[] = [];
  const ended = new Promise<{ code: number; error?: any }>((resolve) => {
    call.on('data', (m) => answers.push(m));
    call.on('status', (s) => { if (s.code === status.OK) resolve({ code: s.code }); });
    call.on('error', (e: any) => resolve({ code: e.code, error: e }));
  });
  return { answers, ended };
}

describe('BatchSearch', () => {
  let server: GrpcServerHandle;
  let clients: ReturnType<typeof rawClients>;
  let counted: ReturnType<typeof countingService>;
  beforeAll(async () => {
    counted = countingService();
    server = await startGrpcServer(counted.service, { port: 0 });
    clients = rawClients(server.address);
  });
  afterAll(async () => {
    clients.close();
    await server.shutdown();
  });

  it('answers each request as soon as it is computed, before the next one is sent', async () => {
    const call = clients.qdb.BatchSearch();
    const { answers, ended } = collect(call);
    for (let i = 0; i < 3; i++) {
      call.write(searchMessage(i, { top_k: 1 }));
      await until(() => answers.length === i + 1);
      expect(answers[i].results[0].id).toBe(`v${i}`);
    }
    call.end();
    expect((await ended).code).toBe(status.OK);
  });

  it('answers many requests in request order, each what QuantumDB.search answers', async () => {
    const call = clients.qdb.BatchSearch();
    const { answers, ended } = collect(call);
    const order = Array.from({ length: 200 }, (_, j) => (j * 37) % rows.length);
    for (const i of order) call.write(searchMessage(i, { top_k: 4 }));
    call.end();
    expect((await ended).code).toBe(status.OK);
    expect(answers).toHaveLength(order.length);
    answers.forEach((a, j) => expect(a.results).toEqual(db.search(rows[order[j]!]!, { k: 4 })));
  });

  it('back-pressure: a client that does not read stops the server; reading again finishes the batch', async () => {
    const total = 3000;
    const before = counted.searches();
    const call = clients.qdb.BatchSearch();
    call.on('error', () => undefined);
    const ended = new Promise<number>((resolve) => call.on('status', (s: { code: number }) => resolve(s.code)));
    // Read the first answer, then stop reading. (Before its first read, a grpc-js client call
    // buffers whatever arrives; from then on it reads only as its consumer does.)
    const answers: any[] = [];
    call.on('data', (m: any) => {
      answers.push(m);
      if (answers.length === 1) call.pause();
    });
    for (let j = 0; j < total; j++) call.write(searchMessage(j % rows.length, { top_k: 100 }));
    call.end();
    await until(() => answers.length === 1, 20_000);
    // Wait until the server stalls: no new search for 300 ms.
    let last = -1;
    while (counted.searches() !== last) {
      last = counted.searches();
      await new Promise((r) => setTimeout(r, 300));
    }
    const stalledAt = counted.searches() - before;
    expect(stalledAt).toBeGreaterThan(0);
    expect(stalledAt).toBeLessThan(total);
    expect(answers).toHaveLength(1);
    call.resume();
    expect(await ended).toBe(status.OK);
    expect(answers).toHaveLength(total);
    expect(answers[total - 1].results[0].id).toBe(`v${(total - 1) % rows.length}`);
  });

  it('a failing request ends the stream with its status; the answers before it stand, nothing after it runs', async () => {
    const before = counted.searches();
    const call = clients.qdb.BatchSearch();
    const { answers, ended } = collect(call);
    call.write(searchMessage(1));
    call.write({ embedding: [1, 2, 3] });
    call.write(searchMessage(2));
    call.end();
    const end = await ended;
    expect(end.code).toBe(status.INVALID_ARGUMENT);
    expect(qdbCode(end.error)).toBe('DIMENSION_MISMATCH');
    expect(answers).toHaveLength(1);
    expect(counted.searches() - before).toBe(2);
  });

  it('an empty stream ends OK with no answers', async () => {
    const call = clients.qdb.BatchSearch();
    const { answers, ended } = collect(call);
    call.end();
    expect((await ended).code).toBe(status.OK);
    expect(answers).toEqual([]);
  });
});

describe('deadlines', () => {
  it('a stream past its deadline ends with DEADLINE_EXCEEDED, and requests written after it are not run', async () => {
    const counted = countingService();
    const server = await startGrpcServer(counted.service, { port: 0 });
    const clients = rawClients(server.address);
    try {
      const call = clients.qdb.BatchSearch({ deadline: Date.now() + 300 });
      const { answers, ended } = collect(call);
      call.write(searchMessage(4));
      await until(() => answers.length === 1);
      const end = await ended;
      expect(end.code).toBe(status.DEADLINE_EXCEEDED);
      call.write(searchMessage(5));
      await new Promise((r) => setTimeout(r, 100));
      expect(counted.searches()).toBe(1);
      await until(() => server.inFlight() === 0);
    } finally {
      clients.close();
      await server.shutdown();
    }
  });

  it('a unary call past its deadline ends with DEADLINE_EXCEEDED; the server forgets it', async () => {
    const base = createService(db);
    const slow: Service = {
      ...base, changed: false,
      buildIndex: () => new Promise((resolve) => setTimeout(() => resolve({ size: 0, built: true, buildSeconds: { codec: 0, graph: 0 } }), 400)),
    };
    const server = await startGrpcServer(slow, { port: 0 });
    const clients = rawClients(server.address);
    try {
      const t0 = Date.now();
      const e = await failure(unary(clients.qdb, 'BuildIndex', {}, { deadline: Date.now() + 60 }));
      expect(e.code).toBe(status.DEADLINE_EXCEEDED);
      expect(Date.now() - t0).toBeLessThan(350);
      await until(() => server.inFlight() === 0);
      expect((await unary(clients.qdb, 'Health', {}, { deadline: Date.now() + 2000 })).status).toBe('ok');
    } finally {
      clients.close();
      await server.shutdown();
    }
  });
});

describe('graceful shutdown', () => {
  it('during a stream: the stream finishes (new requests on it answered), new calls are refused, then shutdown resolves', async () => {
    const server = await startGrpcServer(createService(db), { port: 0, shutdownTimeoutMs: 10_000 });
    const clients = rawClients(server.address);
    const fresh = rawClients(server.address);
    try {
      const call = clients.qdb.BatchSearch();
      const { answers, ended } = collect(call);
      call.write(searchMessage(1, { top_k: 1 }));
      call.write(searchMessage(2, { top_k: 1 }));
      await until(() => answers.length === 2);
      expect(server.inFlight()).toBe(1);
      let stopped = false;
      const stopping = server.shutdown().then(() => { stopped = true; });
      expect(server.shutdown()).toBe(server.shutdown());
      // A new connection is refused.
      const refused = await failure(unary(fresh.qdb, 'Health', {}, { deadline: Date.now() + 2000 }));
      expect(refused.code).toBe(status.UNAVAILABLE);
      // The open stream keeps working.
      call.write(searchMessage(3, { top_k: 1 }));
      await until(() => answers.length === 3);
      expect(answers.map((a) => a.results[0].id)).toEqual(['v1', 'v2', 'v3']);
      expect(stopped).toBe(false);
      call.end();
      expect((await ended).code).toBe(status.OK);
      await stopping;
      expect(server.inFlight()).toBe(0);
    } finally {
      clients.close();
      fresh.close();
    }
  });

  it('a stream still open after the grace period ends with UNAVAILABLE; shutdown resolves, even with a health watcher', async () => {
    const server = await startGrpcServer(createService(db), { port: 0, shutdownTimeoutMs: 250 });
    const clients = rawClients(server.address);
    try {
      const watch = clients.health.Watch({ service: '' });
      const statuses: string[] = [];
      watch.on('data', (m: { status: string }) => statuses.push(m.status));
      watch.on('error', () => undefined);
      await until(() => statuses.length === 1);
      const call = clients.qdb.BatchSearch();
      const { answers, ended } = collect(call);
      call.write(searchMessage(1));
      await until(() => answers.length === 1);
      const t0 = Date.now();
      await server.shutdown();
      expect(Date.now() - t0).toBeLessThan(3000);
      const end = await ended;
      expect(end.code).toBe(status.UNAVAILABLE);
      expect(end.error.details).toMatch(/shutting down/);
      expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    } finally {
      clients.close();
    }
  });

  it('a unary call in flight at shutdown is answered before shutdown resolves', async () => {
    const base = createService(db);
    const slow: Service = {
      ...base, changed: false,
      buildIndex: () => new Promise((resolve) => setTimeout(() => resolve({ size: 7, built: true, buildSeconds: { codec: 1, graph: 2 } }), 200)),
    };
    const server = await startGrpcServer(slow, { port: 0 });
    const clients = rawClients(server.address);
    try {
      const answer = unary(clients.qdb, 'BuildIndex', {});
      await until(() => server.inFlight() === 1);
      await server.shutdown();
      expect(await answer).toEqual({ size: 7, built: true, build_seconds: { codec: 1, graph: 2 } });
    } finally {
      clients.close();
    }
  });
});
