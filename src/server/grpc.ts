/**
 * @module server/grpc
 * A thin `@grpc/grpc-js` adapter over the service layer (`service.ts`), beside the HTTP adapter:
 * it turns proto messages into the service's request objects and back, maps errors to gRPC
 * statuses, and adds the standard health service and server reflection.
 *
 * ```
 * quantumdb.v1.QuantumDBService   Add, Search, BatchSearch (bidi stream), BuildIndex, Delete, Stats, Health
 * grpc.health.v1.Health           "" and "quantumdb.v1.QuantumDBService": SERVING, NOT_SERVING once shutting down
 * grpc.reflection.v1(alpha)       ServerReflection over proto/quantumdb.proto and the health proto
 * errors                          status of ERROR_STATUS with the error's message; trailers qdb-code and
 *                                 qdb-details (JSON); anything but a QuantumDBError is INTERNAL with a
 *                                 fixed message (the error goes to onInternalError, never to the caller)
 * ```
 * Limits: messages over `maxMessageBytes` are refused by grpc-js with RESOURCE_EXHAUSTED. Deadlines:
 * grpc-js ends an expired call with DEADLINE_EXCEEDED; work for a call whose deadline has passed or
 * that was cancelled is skipped (a running BuildIndex cannot be interrupted and completes).
 * BatchSearch answers each request as soon as it is computed and stops reading while its answers
 * are not being consumed (back-pressure through the stream buffers and HTTP/2 flow control).
 * Shutdown: health turns NOT_SERVING, listeners close, connections get GOAWAY (no new calls) and
 * calls in flight (streams included) run on; after `shutdownTimeoutMs` the calls still open end
 * with UNAVAILABLE and the connections are closed.
 *
 * The gRPC packages are optional peers, imported when a server starts (`grpc-proto.ts`); this
 * module itself only imports their types.
 */
import type {
  Metadata, Server, ServerDuplexStream, ServerUnaryCall, ServiceDefinition, StatusObject, UntypedServiceImplementation, sendUnaryData,
} from '@grpc/grpc-js';
import { isQuantumDBError, qdbError } from '../errors.js';
import { statusOf, type Service } from './service.js';
import {
  GRPC_SERVICE_NAME, importGrpcStack, importServerPackage, loadQuantumDBProto, type AddRequestMessage, type BuildIndexRequestMessage,
  type BuildIndexResponseMessage, type FilterMessage, type GrpcStack, type IndexParamsMessage, type MetadataValueMessage,
  type SearchRequestMessage, type SearchResponseMessage,
} from './grpc-proto.js';

/** Options of {@link startGrpcServer}. */
export interface GrpcServerOptions {
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 6334; 0 picks a free port. */
  port?: number;
  /** Largest message received or sent; default 16 MiB. */
  maxMessageBytes?: number;
  /** Grace period of {@link GrpcServerHandle.shutdown}; default 10 s. */
  shutdownTimeoutMs?: number;
  /** Called with every error that became INTERNAL. */
  onInternalError?: (error: unknown) => void;
  /** Another copy of `quantumdb.proto`; default the one shipped with the package. */
  protoPath?: string;
}

/** A running gRPC server. */
export interface GrpcServerHandle {
  readonly server: Server;
  /** `host:port`, e.g. `127.0.0.1:6334`, as a client dials it. */
  readonly address: string;
  readonly port: number;
  /** Calls (unary or streaming) being answered right now. */
  inFlight(): number;
  /** Stops accepting, lets calls in flight finish (within the grace period), closes every connection. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** The port of `quantumdb serve --grpc-port` in the docs' examples (the HTTP port + 1). */
export const DEFAULT_GRPC_PORT = 6334;
/** Largest message in either direction unless `maxMessageBytes` says otherwise (the HTTP body limit too). */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** After the grace period, how long ended calls get to flush their status before connections are cut. */
const FORCE_AFTER_MS = 1000;

/** The gRPC status codes this adapter sets itself (the others come from ERROR_STATUS). */
const STATUS = { DEADLINE_EXCEEDED: 4, INTERNAL: 13, UNAVAILABLE: 14 } as const;

const invalid = (message: string) => qdbError('INVALID_ARGUMENT', [message]);

/** Metadata values must be printable ASCII: JSON with every other character escaped. */
const asciiJson = (value: unknown) => JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * The gRPC status of any thrown value: a QuantumDBError keeps its message and travels with its
 * code in the `qdb-code` trailer; anything else is INTERNAL with a fixed message.
 * @param error - What a service call threw.
 * @param metadata - A fresh `Metadata` of @grpc/grpc-js, for the trailers.
 * @param onInternal - Receives the error when the status is INTERNAL.
 * @returns a status for grpc-js (`callback(status)` or `call.emit('error', status)`)
 * @example
 * ```ts
 * grpcStatusOf(qdbError('UNKNOWN_ID', ['x']), new Metadata()).code; // 5 (NOT_FOUND)
 * ```
 */
export function grpcStatusOf(error: unknown, metadata: Metadata, onInternal?: (error: unknown) => void): Partial<StatusObject> {
  const code = statusOf(error).grpc;
  if (!isQuantumDBError(error)) {
    onInternal?.(error);
    metadata.set('qdb-code', 'INTERNAL');
    return { code: STATUS.INTERNAL, details: 'internal error; see the server log', metadata };
  }
  if (code === STATUS.INTERNAL) onInternal?.(error);
  metadata.set('qdb-code', error.code);
  if (error.details !== undefined) metadata.set('qdb-details', asciiJson(error.details));
  return { code, details: error.message, metadata };
}

function scalarOf(key: string, v: MetadataValueMessage): string | number | boolean | null {
  switch (v.kind) {
    case 'stringValue': return v.stringValue ?? '';
    case 'numberValue': return v.numberValue ?? 0;
    case 'boolValue': return v.boolValue ?? false;
    case 'nullValue': return null;
    default: throw invalid(`filter.metadata[${JSON.stringify(key)}] holds no value; set string_value, number_value, bool_value or null_value`);
  }
}

function filterOf(f: FilterMessage | null): Record<string, unknown> | undefined {
  if (f === null || f === undefined) return undefined;
  const filter: Record<string, unknown> = {};
  if (f.ids.length > 0) filter.ids = f.ids;
  const entries = Object.entries(f.metadata);
  if (entries.length > 0) filter.metadata = Object.fromEntries(entries.map(([k, v]) => [k, scalarOf(k, v)]));
  return filter;
}

/** `SearchRequest` → the service's search request (0 means "default" for top_k and ef_search). */
function searchRequestOf(m: SearchRequestMessage): Record<string, unknown> {
  return {
    vector: m.embedding,
    k: m.topK === 0 ? undefined : m.topK,
    ef: m.efSearch === 0 ? undefined : m.efSearch,
    rerank: m.rerank,
    filter: filterOf(m.filter),
  };
}

function searchResponseOf(r: ReturnType<Service['search']>): SearchResponseMessage {
  return { results: r.hits, tookMs: r.took_ms };
}

function metadataOf(text: string, i: number): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalid(`metadata_json[${i}] is not valid JSON (${(e as Error).message}); send a JSON object text, or "" for no metadata`);
  }
}

/** `AddRequest` (parallel lists) → the service's `{ items }`. */
function addRequestOf(m: AddRequestMessage): Record<string, unknown> {
  const n = m.ids.length;
  if (n === 0) throw invalid('ids is empty; send at least one id with its embedding');
  if (m.embeddings.length !== n) throw invalid(`embeddings holds ${m.embeddings.length} vectors for ${n} ids; send one vector per id`);
  if (m.metadataJson.length !== 0 && m.metadataJson.length !== n) {
    throw invalid(`metadata_json holds ${m.metadataJson.length} entries for ${n} ids; send none, or one per id ("" for none)`);
  }
  const items = m.ids.map((id, i) => ({
    id,
    vector: m.embeddings[i]!.values,
    metadata: m.metadataJson.length === 0 ? undefined : metadataOf(m.metadataJson[i]!, i),
  }));
  return { items };
}

function buildRequestOf(m: BuildIndexRequestMessage): Record<string, unknown> {
  return { codec: m.codec === '' ? undefined : m.codec, opqIterations: m.opqIterations === 0 ? undefined : m.opqIterations };
}

function statsResponseOf(s: ReturnType<Service['stats']>): Record<string, unknown> {
  const { M, ...params } = s.params;
  const renamed: IndexParamsMessage = { ...params, hnswM: M };
  return { ...s, params: renamed, json: JSON.stringify(s) };
}

/** True when the caller can no longer receive an answer: cancelled, or past its deadline. */
function gone(call: { cancelled: boolean; getDeadline(): Date | number }): boolean {
  if (call.cancelled) return true;
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) && ms <= Date.now();
}

const DEADLINE_PASSED = { code: STATUS.DEADLINE_EXCEEDED, details: 'the deadline passed before the call ran; raise the deadline' };

/** Calls in flight, each with a function that ends it with a status (used when the grace period ends). */
type ActiveCalls = Map<object, (s: Partial<StatusObject>) => void>;

/** What the handlers share: grpc-js, the calls in flight, the sink of internal errors. */
interface HandlerContext {
  grpc: GrpcStack['grpc'];
  active: ActiveCalls;
  onInternal: GrpcServerOptions['onInternalError'];
}

/** A unary handler: the answer of `run`, or the status of what it threw; tracked while it runs. */
function unaryHandler<Req, Res>({ grpc, active, onInternal }: HandlerContext, run: (request: Req) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    if (gone(call)) { callback(DEADLINE_PASSED); return; }
    let answered = false;
    const answer = (error: Partial<StatusObject> | null, value?: Res) => {
      if (answered) return;
      answered = true;
      active.delete(call);
      if (error !== null) callback(error);
      else callback(null, value);
    };
    active.set(call, (s) => answer(s));
    call.once('cancelled', () => active.delete(call));
    // Promise.resolve().then: synchronous throws and async rejections take the same path.
    Promise.resolve().then(() => run(call.request)).then((value) => answer(null, value), (e: unknown) => answer(grpcStatusOf(e, new grpc.Metadata(), onInternal)));
  };
}

/**
 * BatchSearch: each request answered in order as soon as it is computed. While the answers are
 * not draining, requests are not read (back-pressure); the first failure ends the stream.
 */
function batchSearchHandler(service: Service, { grpc, active, onInternal }: HandlerContext) {
  return (call: ServerDuplexStream<SearchRequestMessage, SearchResponseMessage>) => {
    let ended = false;
    const finish = (s?: Partial<StatusObject>) => {
      if (ended) return;
      ended = true;
      active.delete(call);
      if (s === undefined) call.end();
      else call.emit('error', s);
    };
    active.set(call, finish);
    call.once('cancelled', () => { ended = true; active.delete(call); });
    call.on('error', () => { ended = true; active.delete(call); });
    call.on('data', (request: SearchRequestMessage) => {
      if (ended) return;
      if (gone(call)) { finish(DEADLINE_PASSED); return; }
      let response: SearchResponseMessage;
      try {
        response = searchResponseOf(service.search(searchRequestOf(request)));
      } catch (e) {
        finish(grpcStatusOf(e, new grpc.Metadata(), onInternal));
        return;
      }
      if (!call.write(response)) {
        call.pause();
        call.once('drain', () => call.resume());
      }
    });
    call.on('end', () => finish());
  };
}

/** tryShutdown, bounded: after `timeoutMs` the calls still open end with UNAVAILABLE, then connections are cut. */
function shutdownWithin(server: Server, active: ActiveCalls, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let force: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(grace);
      clearTimeout(force);
      resolve();
    };
    const grace = setTimeout(() => {
      const ending = { code: STATUS.UNAVAILABLE, details: 'the server is shutting down; retry the call against a running server' };
      for (const end of [...active.values()]) end(ending);
      // Calls this server does not track (a health Watch) hold their connection open: cut them
      // once the statuses above have had time to go out.
      force = setTimeout(() => {
        server.forceShutdown();
        finish();
      }, FORCE_AFTER_MS);
      force.unref();
    }, timeoutMs);
    grace.unref();
    server.tryShutdown(finish);
  });
}

/**
 * Starts the gRPC server and resolves once it listens.
 *
 * @param service - The service layer (see `createService`), shared with the HTTP server.
 * @param options - `host` (default 127.0.0.1), `port` (default 6334), `maxMessageBytes`, `shutdownTimeoutMs`, `onInternalError`, `protoPath`.
 * @returns A handle with the address, the in-flight count and `shutdown()`.
 * @throws QuantumDBError `IO_ERROR` when the address cannot be bound or the proto file is missing;
 *   `INVALID_ARGUMENT` when the optional gRPC packages are not installed.
 * @example
 * ```ts
 * const grpc = await startGrpcServer(createService(db), { port: 0 });
 * process.once('SIGTERM', () => void grpc.shutdown());
 * ```
 */
export async function startGrpcServer(service: Service, options: GrpcServerOptions = {}): Promise<GrpcServerHandle> {
  const { grpc } = await importGrpcStack();
  const [{ ReflectionService }, { HealthImplementation, protoPath: healthProto }] = await Promise.all([
    importServerPackage<typeof import('@grpc/reflection')>('@grpc/reflection'),
    importServerPackage<typeof import('grpc-health-check')>('grpc-health-check'),
  ]);
  const definition = await loadQuantumDBProto(options.protoPath);
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  // Channelz (per-call bookkeeping for the channelz admin service, which is not served) costs time on every call.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': maxMessageBytes, 'grpc.max_send_message_length': maxMessageBytes, 'grpc.enable_channelz': 0 });
  const active: ActiveCalls = new Map();
  const context: HandlerContext = { grpc, active, onInternal: options.onInternalError };
  const unary = <Req, Res>(run: (request: Req) => Res | Promise<Res>) => unaryHandler(context, run);
  const handlers: UntypedServiceImplementation = {
    Add: unary((m: AddRequestMessage) => service.add(addRequestOf(m))),
    Search: unary((m: SearchRequestMessage) => searchResponseOf(service.search(searchRequestOf(m)))),
    BatchSearch: batchSearchHandler(service, context),
    BuildIndex: unary(async (m: BuildIndexRequestMessage): Promise<BuildIndexResponseMessage> => service.buildIndex(buildRequestOf(m))),
    Delete: unary((m: { ids: string[] }) => service.delete({ ids: m.ids })),
    Stats: unary(() => statsResponseOf(service.stats())),
    Health: unary(() => service.health()),
  };
  server.addService(definition[GRPC_SERVICE_NAME] as ServiceDefinition, handlers);
  const health = new HealthImplementation({ '': 'SERVING', [GRPC_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);
  // Reflection describes the health service too, so tools can call it without its .proto file.
  new ReflectionService(await loadQuantumDBProto(options.protoPath, [healthProto])).addToServer(server);

  const hostname = options.host ?? '127.0.0.1';
  const port = options.port ?? DEFAULT_GRPC_PORT;
  const hostPart = hostname.includes(':') ? `[${hostname}]` : hostname;
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${hostPart}:${port}`, grpc.ServerCredentials.createInsecure(), (e, actual) => {
      if (e === null) { resolve(actual); return; }
      const inUse = /EADDRINUSE|address already in use/i.test(e.message);
      reject(qdbError('IO_ERROR', [
        `could not listen on ${hostname}:${port} for gRPC (${e.message})${inUse ? '; another process uses this port, so pick another with --grpc-port (0 = any free port)' : ''}`,
      ], { host: hostname, port }, e));
    });
  });

  let closed: Promise<void> | undefined;
  return {
    server,
    address: `${hostPart}:${bound}`,
    port: bound,
    inFlight: () => active.size,
    shutdown() {
      if (closed !== undefined) return closed;
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(GRPC_SERVICE_NAME, 'NOT_SERVING');
      closed = shutdownWithin(server, active, options.shutdownTimeoutMs ?? 10_000);
      return closed;
    },
  };
}
