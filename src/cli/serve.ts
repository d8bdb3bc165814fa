/**
 * @module cli/serve
 * `quantumdb serve --index index.qdb --port 6333 [--grpc-port 6334] [--host 127.0.0.1]`: opens an
 * index and serves it over HTTP (`server/http.ts`), and over gRPC (`server/grpc.ts`, loaded only
 * with --grpc-port) from the same service layer, until SIGINT or SIGTERM; then both shut down
 * gracefully together: in-flight requests finish, and with --save-on-exit a changed index is saved
 * back atomically.
 */
import { createService } from '../server/service.js';
import { startHttpServer, DEFAULT_MAX_BODY_BYTES } from '../server/http.js';
import type { GrpcServerHandle } from '../server/grpc.js';
import { EXIT, choiceOption, fmtInt, intOption, requiredOption, type Command } from './command.js';
import { openIndex } from './db-files.js';
import type { QuantumDB } from './lib.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** An AbortSignal that fires on SIGINT or SIGTERM; `dispose` removes the handlers. */
function processSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); },
  };
}

/**
 * Runs a few searches before the first client's, which would otherwise pay for compiling the
 * search path and faulting in the first pages of the file mapping (~0.2 s on a 10k × 768 index).
 */
function warmUp(db: QuantumDB): void {
  if (!db.isBuilt || db.size === 0) return;
  const probe = new Float32Array(db.dim);
  for (let i = 0; i < 8; i++) {
    probe.fill(0);
    probe[(i * 7919) % db.dim] = 1;
    probe[(i * 104729 + 1) % db.dim] = 0.5;
    db.search(probe, { k: 10 });
  }
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve a .qdb index over HTTP (search, add, delete, health, stats)',
  positionals: [],
  options: {
    index: { type: 'string' },
    port: { type: 'string', short: 'p' },
    'grpc-port': { type: 'string' },
    host: { type: 'string' },
    'max-body-bytes': { type: 'string' },
    'read-only': { type: 'boolean' },
    'save-on-exit': { type: 'boolean' },
    'shutdown-timeout': { type: 'string' },
    vectors: { type: 'string' },
  },
  help: `Usage: quantumdb serve --index index.qdb [--port 6333] [--grpc-port 6334] [--host 127.0.0.1]

Serves an index as JSON over HTTP:
  POST /search  {"vector": [...], "k": 10, "ef": 64, "filter": {"ids": [...], "metadata": {...}}}
  POST /add     {"items": [{"id": "a", "vector": [...], "metadata": {...}}]}
  POST /delete  {"ids": ["a", "b"]}
  POST /build   {"codec": "pq" | "opq"}   (trains and builds the index; searches get 409
                meanwhile; an opened index needs --vectors memory)
  GET  /health, GET /stats
Errors are {"error": {"code", "message"}} with 400 (invalid request), 403 (read-only),
404 (unknown id or route), 409 (duplicate id), 413 (body too large) or 500.
With --grpc-port, also serves gRPC (proto/quantumdb.proto in the package: Add, Search,
BatchSearch, BuildIndex, Delete, Stats, Health; plus grpc.health.v1 and server reflection).
Stops on SIGINT/SIGTERM after answering the requests in flight (HTTP and gRPC).

Options:
  --index <file>            the .qdb index (required)
  -p, --port <n>            TCP port (default 6333; 0 = any free port)
  --grpc-port <n>           also serve gRPC on this port (0 = any free port)
  --host <addr>             address to bind (default 127.0.0.1, loopback only)
  --max-body-bytes <n>      largest request body or gRPC message (default 16777216)
  --read-only               refuse /add, /delete and /build (403)
  --save-on-exit            save the index back to --index on shutdown if it changed
  --shutdown-timeout <s>    seconds to wait for in-flight requests (default 10)
  --vectors <where>         re-rank vectors left in the file ("mapped", default) or
                            loaded into memory ("memory": exact inserts, and /build works)
`,
  async run(ctx) {
    const index = requiredOption(ctx.values, 'index');
    const port = intOption(ctx.values, 'port', 6333, 0, 65535);
    const grpcPort = ctx.values['grpc-port'] === undefined ? undefined : intOption(ctx.values, 'grpc-port', 6334, 0, 65535);
    const host = (ctx.values.host as string | undefined) ?? '127.0.0.1';
    const maxBodyBytes = intOption(ctx.values, 'max-body-bytes', DEFAULT_MAX_BODY_BYTES, 1);
    const shutdownTimeoutMs = intOption(ctx.values, 'shutdown-timeout', 10, 0, 3600) * 1000;
    const readOnly = ctx.values['read-only'] === true;
    const saveOnExit = ctx.values['save-on-exit'] === true;
    const vectors = choiceOption(ctx.values, 'vectors', ['mapped', 'memory'] as const, 'mapped');
    const db = await openIndex(index, readOnly, vectors);
    warmUp(db);
    const service = createService(db, { readOnly });
    const log = (line: string) => { if (!ctx.json) ctx.io.stderr.write(`${line}\n`); };
    const onInternalError = (e: unknown) => ctx.io.stderr.write(`quantumdb serve: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    const http = await startHttpServer(service, { host, port, maxBodyBytes, shutdownTimeoutMs, onInternalError });
    let grpc: GrpcServerHandle | undefined;
    try {
      if (grpcPort !== undefined) {
        const { startGrpcServer } = await import('../server/grpc.js');
        grpc = await startGrpcServer(service, { host, port: grpcPort, maxMessageBytes: maxBodyBytes, shutdownTimeoutMs, onInternalError });
      }
    } catch (e) {
      await http.shutdown();
      throw e;
    }
    if (!LOOPBACK.test(host)) log(`warning: listening on ${host}, not loopback: anyone who can reach this address can query${readOnly ? '' : ' and change'} the index`);
    ctx.print(`serving ${index} (${fmtInt(db.size)} vectors, ${db.dim}-d ${db.metric}) on ${http.url}${grpc ? ` and gRPC ${grpc.address}` : ''}`);
    ctx.printJson({ listening: http.url, ...(grpc ? { grpc: grpc.address } : {}), index, vectors: db.size, dim: db.dim, metric: db.metric, readOnly });
    ctx.io.onListening?.(http.url);
    const external = ctx.io.signal === undefined ? processSignal() : undefined;
    const signal = ctx.io.signal ?? external!.signal;
    try {
      if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      log(`shutting down: finishing ${http.inFlight() + (grpc?.inFlight() ?? 0)} request(s) in flight`);
      await Promise.all([http.shutdown(), grpc?.shutdown()]);
    } finally {
      external?.dispose();
    }
    if (saveOnExit && service.changed) {
      await db.save(index);
      log(`saved ${index} (${fmtInt(db.size)} vectors)`);
    }
    db.close();
    log('stopped');
    return EXIT.OK;
  },
};
