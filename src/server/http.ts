/**
 * @module server/http
 * A thin `node:http` adapter over the service layer (`service.ts`): routing, bounded JSON bodies,
 * status codes, and a graceful shutdown that lets in-flight requests finish.
 *
 * ```
 * GET  /health   → 200 service.health()
 * GET  /stats    → 200 service.stats()
 * POST /search   → 200 service.search(body)
 * POST /add      → 200 service.add(body)
 * POST /delete   → 200 service.delete(body)
 * POST /build    → 200 await service.buildIndex(body)
 * errors         → { "error": { "code", "message", "details"? } } with the status of ERROR_STATUS;
 *                  400 INVALID_JSON (body not JSON), 404 NOT_FOUND (route), 405 METHOD_NOT_ALLOWED,
 *                  413 PAYLOAD_TOO_LARGE (body over maxBodyBytes), 503 SHUTTING_DOWN
 * ```
 * Shutdown: stop accepting connections, close idle keep-alive sockets, answer the requests already
 * being read or run (with `Connection: close`), then resolve; sockets still open after
 * `shutdownTimeoutMs` are destroyed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { qdbError } from '../errors.js';
import { statusOf, type Service } from './service.js';

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 6333; 0 picks a free port. */
  port?: number;
  /** Largest request body; default 16 MiB. Larger bodies get 413. */
  maxBodyBytes?: number;
  /** Grace period of {@link HttpServerHandle.shutdown}; default 10 s. */
  shutdownTimeoutMs?: number;
  /** Called with every error that became a 500. */
  onInternalError?: (error: unknown) => void;
}

/** A running server. */
export interface HttpServerHandle {
  readonly server: Server;
  /** e.g. `http://127.0.0.1:6333` */
  readonly url: string;
  /** Requests being read or answered right now. */
  inFlight(): number;
  /** Stops accepting, finishes in-flight requests, closes every socket. Safe to call twice. */
  shutdown(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** An error of the transport itself (not of the service). */
class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

type Route = { method: 'GET' | 'POST'; call: (service: Service, body: unknown) => unknown };

const ROUTES: Readonly<Record<string, Route>> = {
  '/health': { method: 'GET', call: (s) => s.health() },
  '/stats': { method: 'GET', call: (s) => s.stats() },
  '/search': { method: 'POST', call: (s, body) => s.search(body) },
  '/add': { method: 'POST', call: (s, body) => s.add(body) },
  '/delete': { method: 'POST', call: (s, body) => s.delete(body) },
  '/build': { method: 'POST', call: (s, body) => s.buildIndex(body) },
};

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, 'PAYLOAD_TOO_LARGE', `the request body exceeds ${limit} bytes; send smaller batches`, { connection: 'close' });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new HttpError(400, 'INVALID_JSON', 'the request body is empty; send a JSON object');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, 'INVALID_JSON', `the request body is not valid JSON (${(e as Error).message})`);
  }
}

function send(res: ServerResponse, status: number, value: unknown, headers: Record<string, string>, closing: boolean): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...(closing ? { connection: 'close' } : {}),
    ...headers,
  });
  res.end(body);
}

function errorBody(e: unknown): { status: number; body: unknown; headers: Record<string, string> } {
  if (e instanceof HttpError) return { status: e.status, body: { error: { code: e.code, message: e.message } }, headers: e.headers };
  const status = statusOf(e).http;
  const q = e as { code?: string; message?: string; details?: Record<string, unknown> };
  if (status === 500 && !(e instanceof Error && e.name === 'QuantumDBError')) {
    return { status, body: { error: { code: 'INTERNAL', message: 'internal error; see the server log' } }, headers: {} };
  }
  return { status, body: { error: { code: q.code, message: q.message, ...(q.details ? { details: q.details } : {}) } }, headers: {} };
}

/**
 * Starts the HTTP server and resolves once it listens.
 *
 * @param service - The service layer (see `createService`).
 * @param options - `host` (default 127.0.0.1), `port` (default 6333), `maxBodyBytes`, `shutdownTimeoutMs`, `onInternalError`.
 * @returns A handle with the URL, the in-flight count and `shutdown()`.
 * @throws QuantumDBError `IO_ERROR` when the address cannot be bound (e.g. the port is in use).
 * @example
 * ```ts
 * const http = await startHttpServer(createService(db), { port: 0 });
 * process.once('SIGTERM', () => void http.shutdown());
 * ```
 */
export async function startHttpServer(service: Service, options: HttpServerOptions = {}): Promise<HttpServerHandle> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let inFlight = 0;
  let closing = false;
  let closed: Promise<void> | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = ROUTES[path];
    if (route === undefined) throw new HttpError(404, 'NOT_FOUND', `no route ${path}; the routes are ${Object.keys(ROUTES).join(', ')}`);
    if (req.method !== route.method) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${path} takes ${route.method}`, { allow: route.method });
    const body = route.method === 'POST' ? parseJson(await readBody(req, maxBodyBytes)) : undefined;
    send(res, 200, await route.call(service, body), {}, closing);
  };

  const server = createServer((req, res) => {
    inFlight++;
    res.on('close', () => { inFlight--; });
    handle(req, res).catch((e: unknown) => {
      const { status, body, headers } = errorBody(e);
      if (status === 500) options.onInternalError?.(e);
      if (!res.headersSent) send(res, status, body, headers, closing || headers.connection === 'close');
    });
  });
  const port = options.port ?? 6333;
  const hostname = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException) => reject(qdbError('IO_ERROR', [
      `could not listen on ${hostname}:${port} (${e.message})${e.code === 'EADDRINUSE' ? '; another process uses this port, so pick another with --port (0 = any free port)' : ''}`,
    ], { host: hostname, port, errno: e.code }, e));
    server.once('error', fail);
    server.listen(port, hostname, () => {
      server.off('error', fail);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    inFlight: () => inFlight,
    shutdown() {
      if (closed !== undefined) return closed;
      closing = true;
      closed = new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs ?? 10_000);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
