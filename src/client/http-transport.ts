/**
 * @module client/http-transport
 * `QuantumDBClient` over the JSON HTTP API of `server/http.ts`, with `node:http` and a keep-alive
 * agent. `batchSearch` keeps up to `concurrency` `POST /search` requests in flight and yields the
 * answers in query order.
 *
 * Vectors are written by hand rather than by `JSON.stringify`, which would turn NaN and Infinity
 * into `null`: non-finite values go out as `1e999` / `-1e999`, which JSON parses as ±Infinity, so
 * the server answers NON_FINITE_VALUE, as it does over gRPC.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { QuantumDBError, isQuantumDBError } from '../errors.js';
import type { SearchHit } from '../types.js';
import {
  isErrorCode, remainingMs, transportError, type AddItem, type AddResult, type BuildRequest, type BuildResult, type DeleteResult, type SearchQuery,
  type ServerHealth, type ServerStats, type Transport,
} from './transport.js';

const vectorJson = (v: ArrayLike<number> | undefined | null): string => {
  if (v === undefined || v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  let out = '[';
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    out += (i === 0 ? '' : ',') + (typeof x !== 'number' ? JSON.stringify(x ?? null) : Number.isFinite(x) ? String(x) : x > 0 ? '1e999' : '-1e999');
  }
  return `${out}]`;
};

/** `{"vector":[…],…rest}`: the vector by hand, the rest by JSON.stringify. */
function withVector(vector: ArrayLike<number>, rest: Record<string, unknown>): string {
  const tail = JSON.stringify(rest);
  return `{"vector":${vectorJson(vector)}${tail === '{}' ? '}' : `,${tail.slice(1)}`}`;
}

function searchBody(q: SearchQuery): string {
  const { vector, ...rest } = q;
  return withVector(vector, rest);
}

/** The error an HTTP error reply stands for. */
function replyError(status: number, body: unknown, path: string): QuantumDBError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const message = typeof e?.message === 'string' ? e.message : `the server answered ${status} to ${path}`;
  if (e !== undefined && isErrorCode(e.code)) {
    const details = typeof e.details === 'object' && e.details !== null ? (e.details as Record<string, unknown>) : undefined;
    return new QuantumDBError(e.code, message, details);
  }
  const code = typeof e?.code === 'string' ? e.code : `HTTP_${status}`;
  if (status === 413 || code === 'INVALID_JSON') return transportError('INVALID_ARGUMENT', message, 'http', code);
  if (status === 503) return transportError('IO_ERROR', message, 'http', code);
  return transportError('INTERNAL', `the server answered ${status} ${code} to ${path} (${message}); check that the address is a QuantumDB server of this version`, 'http', code);
}

/** The HTTP transport. */
export class HttpTransport implements Transport {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly base: string;

  /**
   * @param url - e.g. `http://127.0.0.1:6333`
   * @param concurrency - `POST /search` requests `batchSearch` keeps in flight
   */
  constructor(url: string, private readonly concurrency: number) {
    this.base = url.replace(/\/+$/, '');
  }

  private call<T>(method: 'GET' | 'POST', path: string, body: string | undefined, deadline: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const left = remainingMs(deadline);
      const timeout = () => transportError('IO_ERROR', `${method} ${path} did not finish within its deadline; raise timeoutMs, or check the server's load`, 'http', 'DEADLINE_EXCEEDED');
      if (left <= 0) { reject(timeout()); return; }
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      const req = request(`${this.base}${path}`, { method, agent: this.agent, headers }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(transportError('IO_ERROR', `the reply to ${path} broke off (${e.message}); retry`, 'http', 'RESPONSE_ERROR', e)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            reject(transportError('INTERNAL', `the reply to ${path} (status ${res.statusCode}) is not JSON; check that the address is a QuantumDB server`, 'http', 'INVALID_REPLY'));
            return;
          }
          if (res.statusCode === 200) resolve(parsed as T);
          else reject(replyError(res.statusCode ?? 0, parsed, path));
        });
      });
      const timer = Number.isFinite(left) ? setTimeout(() => req.destroy(timeout()), left) : undefined;
      req.on('close', () => clearTimeout(timer));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (isQuantumDBError(e)) { reject(e); return; }
        reject(transportError('IO_ERROR', `could not reach the QuantumDB HTTP server at ${this.base} (${e.message}); check that it runs and the address is right`, 'http', e.code ?? 'CONNECTION_ERROR', e));
      });
      req.end(body);
    });
  }

  add(items: readonly AddItem[], deadline: number): Promise<AddResult> {
    const body = `{"items":[${items.map((item) => { const { vector, ...rest } = item ?? {}; return withVector(vector as ArrayLike<number>, rest); }).join(',')}]}`;
    return this.call('POST', '/add', body, deadline);
  }

  async search(query: SearchQuery, deadline: number): Promise<SearchHit[]> {
    return (await this.call<{ hits: SearchHit[] }>('POST', '/search', searchBody(query), deadline)).hits;
  }

  async *batchSearch(queries: AsyncIterable<SearchQuery> | Iterable<SearchQuery>, deadline: number): AsyncGenerator<SearchHit[]> {
    const window: Promise<SearchHit[]>[] = [];
    try {
      for await (const q of queries) {
        const answer = this.search(q, deadline);
        answer.catch(() => undefined); // awaited in order below; this only marks an early failure as handled
        window.push(answer);
        if (window.length >= this.concurrency) yield await window.shift()!;
      }
      while (window.length > 0) yield await window.shift()!;
    } finally {
      window.length = 0;
    }
  }

  delete(ids: readonly string[], deadline: number): Promise<DeleteResult> {
    return this.call('POST', '/delete', JSON.stringify({ ids }), deadline);
  }

  buildIndex(request: BuildRequest, deadline: number): Promise<BuildResult> {
    return this.call('POST', '/build', JSON.stringify(request), deadline);
  }

  stats(deadline: number): Promise<ServerStats> {
    return this.call('GET', '/stats', undefined, deadline);
  }

  health(deadline: number): Promise<ServerHealth> {
    return this.call('GET', '/health', undefined, deadline);
  }

  close(): void {
    this.agent.destroy();
  }
}
