/**
 * The HTTP server with real requests on an ephemeral loopback port: every route, every bad request
 * (wrong dimension, NaN, infinite values, empty id, unknown id, oversize body, bad JSON, wrong
 * method or route), read-only mode, and a graceful shutdown during an in-flight request.
 * Also `quantumdb serve` run in-process, stopped through its abort signal.
 */
import { request, Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuantumDB } from '../../src/index.js';
import { startHttpServer, type HttpServerHandle } from '../../src/server/http.js';
import { ERROR_STATUS, createService, statusOf } from '../../src/server/service.js';
import { qdbError } from '../../src/errors.js';
import { cli, randomRows, tempDir } from '../cli/cli-helpers.js';

const DIM = 16;
const N = 300;
const rows = randomRows(N, DIM, 11);
const ids = rows.map((_, i) => `v${i}`);

async function makeDb(): Promise<QuantumDB> {
  const db = new QuantumDB({ dim: DIM, seed: 1 });
  db.addBatch(ids, rows, rows.map((_, i) => ({ parity: i % 2 === 0 ? 'even' : 'odd', i })));
  await db.buildIndex();
  return db;
}

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: any }

/** One request; `body` is sent as is when it is a string, else as JSON. */
function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(`${url}${path}`, { method, headers: { ...(text !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } : {}), ...headers } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data === '' ? undefined : JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

let db: QuantumDB;
let server: HttpServerHandle;
let url: string;

beforeAll(async () => {
  db = await makeDb();
  server = await startHttpServer(createService(db), { port: 0, maxBodyBytes: 64 * 1024 });
  url = server.url;
});
afterAll(async () => { await server.shutdown(); });

describe('routes', () => {
  it('binds to loopback by default', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('GET /health', async () => {
    const r = await call(url, 'GET', '/health');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.body).toEqual({ status: 'ok', size: N, dim: DIM, metric: 'cosine', built: true, readOnly: false });
  });

  it('GET /stats', async () => {
    const r = await call(url, 'GET', '/stats');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ size: N, dim: DIM, metric: 'cosine', built: true, codeBytes: 16 });
    expect(r.body.service).toMatchObject({ changed: false });
    expect(r.body.service.requests).toBeGreaterThanOrEqual(0);
  });

  it('POST /search finds a stored vector first, best first', async () => {
    const r = await call(url, 'POST', '/search', { vector: Array.from(rows[7]!), k: 5 });
    expect(r.status).toBe(200);
    expect(r.body.hits).toHaveLength(5);
    expect(r.body.hits[0]).toEqual({ id: 'v7', score: expect.closeTo(1, 5) });
    const scores = r.body.hits.map((h: { score: number }) => h.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(typeof r.body.took_ms).toBe('number');
  });

  it('POST /search with ef and filters (allow-list, metadata, both)', async () => {
    const vector = Array.from(rows[7]!);
    const allow = await call(url, 'POST', '/search', { vector, k: 3, ef: 32, filter: { ids: ['v1', 'v2', 'v3', 'v4'] } });
    expect(allow.status).toBe(200);
    expect(allow.body.hits.map((h: { id: string }) => h.id).every((id: string) => ['v1', 'v2', 'v3', 'v4'].includes(id))).toBe(true);
    expect(allow.body.hits).toHaveLength(3);
    const meta = await call(url, 'POST', '/search', { vector, k: 10, filter: { metadata: { parity: 'even' } } });
    expect(meta.body.hits).toHaveLength(10);
    expect(meta.body.hits.every((h: { id: string }) => Number(h.id.slice(1)) % 2 === 0)).toBe(true);
    const both = await call(url, 'POST', '/search', { vector, k: 10, filter: { ids: ['v1', 'v2', 'v3'], metadata: { parity: 'odd' } } });
    expect(both.body.hits.map((h: { id: string }) => h.id).sort()).toEqual(['v1', 'v3']);
  });

  it('POST /add (one item, then a batch) and POST /delete', async () => {
    const one = await call(url, 'POST', '/add', { id: 'new-1', vector: Array.from(rows[0]!, (x) => -x), metadata: { tag: 'x' } });
    expect(one).toMatchObject({ status: 200, body: { added: 1, size: N + 1 } });
    const batch = await call(url, 'POST', '/add', { items: [{ id: 'new-2', vector: Array.from(rows[1]!, (x) => -x) }, { id: 'new-3', vector: Array.from(rows[2]!, (x) => -x) }] });
    expect(batch).toMatchObject({ status: 200, body: { added: 2, size: N + 3 } });
    const found = await call(url, 'POST', '/search', { vector: Array.from(rows[0]!, (x) => -x), k: 1 });
    expect(found.body.hits[0].id).toBe('new-1');
    const del = await call(url, 'POST', '/delete', { ids: ['new-1', 'new-2', 'new-3'] });
    expect(del).toMatchObject({ status: 200, body: { deleted: 3, size: N } });
    const gone = await call(url, 'POST', '/search', { vector: Array.from(rows[0]!, (x) => -x), k: 5 });
    expect(gone.body.hits.map((h: { id: string }) => h.id)).not.toContain('new-1');
    const stats = await call(url, 'GET', '/stats');
    expect(stats.body.service.changed).toBe(true);
  });
});

describe('POST /build', () => {
  it('retrains and rebuilds (pq or opq), searches work after it; a bad codec is a 400', async () => {
    const own = await makeDb();
    const s = await startHttpServer(createService(own), { port: 0 });
    try {
      const r = await call(s.url, 'POST', '/build', { codec: 'pq' });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ size: N, built: true, buildSeconds: { codec: expect.any(Number), graph: expect.any(Number) } });
      expect((await call(s.url, 'POST', '/build', { codec: 'opq', opqIterations: 2 })).status).toBe(200);
      expect((await call(s.url, 'POST', '/search', { vector: Array.from(rows[3]!), k: 1 })).body.hits[0].id).toBe('v3');
      const bad = await call(s.url, 'POST', '/build', { codec: 'lsh' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_ARGUMENT');
    } finally {
      await s.shutdown();
    }
  });
});

describe('bad requests', () => {
  const vector = Array.from(rows[3]!);
  const cases: [string, string, string, unknown, number, string][] = [
    ['wrong dimension', 'POST', '/search', { vector: [1, 2, 3] }, 400, 'DIMENSION_MISMATCH'],
    ['NaN (not JSON)', 'POST', '/search', `{"vector":[${Array(DIM).fill('NaN').join(',')}]}`, 400, 'INVALID_JSON'],
    ['"NaN" as a string', 'POST', '/search', { vector: [...vector.slice(1), 'NaN'] }, 400, 'INVALID_ARGUMENT'],
    ['an infinite value', 'POST', '/search', `{"vector":[1e999${',0'.repeat(DIM - 1)}]}`, 400, 'NON_FINITE_VALUE'],
    ['a zero vector (cosine)', 'POST', '/search', { vector: Array(DIM).fill(0) }, 400, 'ZERO_VECTOR'],
    ['no vector', 'POST', '/search', { k: 3 }, 400, 'INVALID_ARGUMENT'],
    ['k too large', 'POST', '/search', { vector, k: 100_000 }, 400, 'INVALID_ARGUMENT'],
    ['k not an integer', 'POST', '/search', { vector, k: 2.5 }, 400, 'INVALID_ARGUMENT'],
    ['an unknown filter', 'POST', '/search', { vector, filter: { where: 1 } }, 400, 'INVALID_ARGUMENT'],
    ['a body that is an array', 'POST', '/search', [1, 2], 400, 'INVALID_ARGUMENT'],
    ['bad JSON', 'POST', '/search', '{"vector": [1, 2', 400, 'INVALID_JSON'],
    ['an empty body', 'POST', '/search', '', 400, 'INVALID_JSON'],
    ['an empty id', 'POST', '/add', { id: '', vector }, 400, 'EMPTY_ID'],
    ['a missing id', 'POST', '/add', { items: [{ vector }] }, 400, 'EMPTY_ID'],
    ['a duplicate id', 'POST', '/add', { id: 'v1', vector }, 409, 'DUPLICATE_ID'],
    ['an add with a NaN string', 'POST', '/add', { id: 'nan', vector: ['NaN', ...vector.slice(1)] }, 400, 'INVALID_ARGUMENT'],
    ['an unknown id', 'POST', '/delete', { ids: ['v1', 'no-such-id'] }, 404, 'UNKNOWN_ID'],
    ['an empty id list', 'POST', '/delete', { ids: [] }, 400, 'INVALID_ARGUMENT'],
    ['an unknown route', 'GET', '/nowhere', undefined, 404, 'NOT_FOUND'],
    ['GET on a POST route', 'GET', '/search', undefined, 405, 'METHOD_NOT_ALLOWED'],
    ['POST on a GET route', 'POST', '/health', {}, 405, 'METHOD_NOT_ALLOWED'],
  ];
  for (const [name, method, path, body, status, code] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      const r = await call(url, method, path, body);
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBe(code);
      expect(typeof r.body.error.message).toBe('string');
    });
  }

  it('a failed delete deletes nothing, and 405 names the allowed method', async () => {
    expect((await call(url, 'GET', '/health')).body.size).toBe(N);
    expect((await call(url, 'GET', '/search')).headers.allow).toBe('POST');
  });

  it('an oversize body → 413, with or without Content-Length', async () => {
    const big = JSON.stringify({ vector, pad: 'x'.repeat(70 * 1024) });
    const declared = await call(url, 'POST', '/search', big);
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const chunked = await new Promise<Reply>((resolve, reject) => {
      const req = request(`${url}/search`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let data = '';
        res.on('data', (c) => { data += c; });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(data) }));
      });
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write('x'.repeat(10 * 1024));
      req.end();
    });
    expect(chunked.status).toBe(413);
    expect(chunked.headers.connection).toBe('close');
  });

  it('the service maps every error code to a status', () => {
    expect(ERROR_STATUS.DIMENSION_MISMATCH).toEqual({ http: 400, grpc: 3 });
    expect(statusOf(qdbError('UNKNOWN_ID', ['x'])).http).toBe(404);
    expect(statusOf(qdbError('DUPLICATE_ID', ['x'])).http).toBe(409);
    expect(statusOf(qdbError('IO_ERROR', ['x'])).http).toBe(500);
    expect(statusOf(new Error('boom')).http).toBe(500);
  });
});

describe('listening', () => {
  it('a port in use is an IO_ERROR that says what to do', async () => {
    const port = Number(new URL(url).port);
    const e = await startHttpServer(createService(db), { port }).then(() => undefined, (err: unknown) => err as { code: string; message: string });
    expect(e?.code).toBe('IO_ERROR');
    expect(e?.message).toMatch(/could not listen on 127\.0\.0\.1:\d+ \(.*EADDRINUSE.*\); another process uses this port/);
  });
});

describe('read-only', () => {
  it('refuses /add and /delete with 403 and still searches', async () => {
    const ro = await startHttpServer(createService(db, { readOnly: true }), { port: 0 });
    try {
      expect((await call(ro.url, 'POST', '/add', { id: 'z', vector: Array.from(rows[0]!) })).status).toBe(403);
      expect((await call(ro.url, 'POST', '/delete', { ids: ['v1'] })).status).toBe(403);
      expect((await call(ro.url, 'POST', '/build', {})).status).toBe(403);
      expect((await call(ro.url, 'POST', '/search', { vector: Array.from(rows[0]!), k: 1 })).body.hits[0].id).toBe('v0');
    } finally {
      await ro.shutdown();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes a request that is in flight, refuses new connections, then resolves', async () => {
    const s = await startHttpServer(createService(db), { port: 0 });
    const body = JSON.stringify({ vector: Array.from(rows[9]!), k: 2 });
    const half = body.length >> 1;
    const response = new Promise<Reply>((resolve, reject) => {
      const req = request(`${s.url}/search`, { method: 'POST', headers: { 'content-length': String(body.length) } }, (res) => {
        let data = '';
        res.on('data', (c) => { data += c; });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(data) }));
      });
      req.on('error', reject);
      req.write(body.slice(0, half));
      const finish = setInterval(() => {
        if (s.inFlight() === 1) {
          clearInterval(finish);
          shutdown = s.shutdown();
          setTimeout(() => req.end(body.slice(half)), 100);
        }
      }, 5);
    });
    let shutdown: Promise<void> | undefined;
    const r = await response;
    expect(r.status).toBe(200);
    expect(r.headers.connection).toBe('close');
    expect(r.body.hits[0].id).toBe('v9');
    await shutdown;
    await expect(call(s.url, 'GET', '/health')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('closes idle keep-alive connections at once', async () => {
    const s = await startHttpServer(createService(db), { port: 0, shutdownTimeoutMs: 30_000 });
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      request(`${s.url}/health`, { agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject).end();
    });
    const t0 = performance.now();
    await s.shutdown();
    expect(performance.now() - t0).toBeLessThan(2000);
    agent.destroy();
  });
});

describe('quantumdb serve', () => {
  it('serves an index until its signal aborts, then saves it with --save-on-exit', async () => {
    const tmp = await tempDir();
    try {
      const file = tmp.path('index.qdb');
      await (await makeDb()).save(file);
      const controller = new AbortController();
      let listening = '';
      const done = cli(['serve', '--index', file, '--port', '0', '--save-on-exit', '--vectors', 'memory'], {
        signal: controller.signal,
        onListening: async (u) => {
          listening = u;
          const add = await call(u, 'POST', '/add', { id: 'added', vector: Array.from(rows[0]!, (x) => x + 1) });
          expect(add.status).toBe(200);
          // With the vectors in memory an opened index can be rebuilt.
          expect((await call(u, 'POST', '/build', {})).body).toMatchObject({ size: N + 1, built: true });
          controller.abort();
        },
      });
      const { code, stdout, stderr } = await done;
      expect(code).toBe(0);
      expect(stdout).toBe(`serving ${file} (300 vectors, 16-d cosine) on ${listening}\n`);
      expect(stderr).toMatch(/shutting down: finishing \d request\(s\) in flight\nsaved .* \(301 vectors\)\nstopped\n$/);
      const reopened = await QuantumDB.open(file, { readOnly: true });
      expect(reopened.size).toBe(N + 1);
      reopened.close();
    } finally {
      await tmp.cleanup();
    }
  });

  it('--read-only refuses changes; a bad port is a usage error', async () => {
    const tmp = await tempDir();
    try {
      const file = tmp.path('index.qdb');
      await (await makeDb()).save(file);
      const controller = new AbortController();
      const result = await cli(['serve', '--index', file, '--port', '0', '--read-only', '--json'], {
        signal: controller.signal,
        onListening: async (u) => {
          expect((await call(u, 'POST', '/delete', { ids: ['v1'] })).status).toBe(403);
          controller.abort();
        },
      });
      const mapped = new AbortController();
      const rebuild = await cli(['serve', '--index', file, '--port', '0'], {
        signal: mapped.signal,
        onListening: async (u) => {
          // The default keeps the vectors in the file mapping, which cannot be rebuilt from.
          const r = await call(u, 'POST', '/build', {});
          expect(r.status).toBe(400);
          expect(r.body.error.message).toMatch(/vectors: "memory"/);
          mapped.abort();
        },
      });
      expect(rebuild.code).toBe(0);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ vectors: N, dim: DIM, readOnly: true });
      const bad = await cli(['serve', '--index', file, '--port', '70000']);
      expect(bad.code).toBe(2);
      expect(bad.stderr.split('\n')[0]).toBe('quantumdb serve: --port must be an integer from 0 to 65535, got "70000"');
    } finally {
      await tmp.cleanup();
    }
  });
});
