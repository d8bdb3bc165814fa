/**
 * @module client/grpc-transport
 * `QuantumDBClient` over gRPC (`proto/quantumdb.proto`, `@grpc/grpc-js`). The gRPC stack is
 * imported on the first call, so a client that only speaks HTTP never loads it.
 *
 * The wire cannot carry a few values the HTTP API refuses (a non-integer or zero `k`, an empty
 * allow-list, an object as a filter value: proto3 reads 0 and an empty list as "not set"); the
 * client refuses those itself with the server's code, INVALID_ARGUMENT. Everything else is checked
 * by the server.
 */
import { once } from 'node:events';
import type { Client, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import type { SearchHit } from '../types.js';
import type { AddRequestMessage, BuildIndexResponseMessage, IndexParamsMessage, MetadataValueMessage, SearchRequestMessage, SearchResponseMessage } from '../server/grpc-proto.js';
import { QuantumDBError, isQuantumDBError } from '../errors.js';
import {
  invalidArgument, isErrorCode, transportError, type AddItem, type AddResult, type BuildRequest, type BuildResult, type DeleteResult,
  type FilterSpec, type SearchQuery, type ServerHealth, type ServerStats, type Transport,
} from './transport.js';

type Callback = (error: ServiceError | null, value?: unknown) => void;
type Stub = Client & Record<string, (request: unknown, options: { deadline: number }, callback: Callback) => void> & {
  BatchSearch(options: { deadline: number }): ClientDuplexStream<SearchRequestMessage, SearchResponseMessage>;
};

const STATUS = { CANCELLED: 1, DEADLINE_EXCEEDED: 4, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14 } as const;
/** gRPC status names by number (the transportCode of a failure without a qdb-code). */
const STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

/** An int32 field where 0 means "default": refuse what would silently become something else. */
function positiveField(value: number | undefined, name: string): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 1 || value > 0x7fffffff) throw invalidArgument(`${name} must be an integer from 1, got ${JSON.stringify(value)}`);
  return value;
}

function metadataValue(key: string, v: unknown): MetadataValueMessage {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (v === null) return { nullValue: true };
  throw invalidArgument(`filter.metadata.${key} must be a string, number, boolean or null`);
}

function filterMessage(f: FilterSpec | undefined): SearchRequestMessage['filter'] {
  if (f === undefined || f === null) return null;
  if (f.ids !== undefined && (!Array.isArray(f.ids) || f.ids.length === 0)) throw invalidArgument('filter.ids must be a non-empty array of id strings');
  const metadata = Object.fromEntries(Object.entries(f.metadata ?? {}).map(([k, v]) => [k, metadataValue(k, v)]));
  return { ids: [...(f.ids ?? [])], metadata };
}

function searchMessage(q: SearchQuery): SearchRequestMessage {
  if (q.rerank !== undefined && !Number.isInteger(q.rerank)) throw invalidArgument(`rerank must be an integer from 0, got ${JSON.stringify(q.rerank)}`);
  const m: SearchRequestMessage = {
    embedding: q.vector === undefined || q.vector === null ? [] : Array.from(q.vector),
    topK: positiveField(q.k, 'k'),
    efSearch: positiveField(q.ef, 'ef'),
    filter: filterMessage(q.filter),
  };
  if (q.rerank !== undefined) m.rerank = q.rerank;
  return m;
}

function addMessage(items: readonly AddItem[]): AddRequestMessage {
  const withMetadata = items.some((item) => item?.metadata !== undefined);
  return {
    // A missing id goes out as "" so the server answers EMPTY_ID for its position.
    ids: items.map((item) => (typeof item?.id === 'string' ? item.id : '')),
    embeddings: items.map((item) => ({ values: item?.vector === undefined || item.vector === null ? [] : Array.from(item.vector) })),
    metadataJson: withMetadata ? items.map((item) => (item?.metadata === undefined ? '' : JSON.stringify(item.metadata))) : [],
  };
}

/** The HTTP answer when the server sent it whole (`json`); else rebuilt from the typed fields. */
function statsOf(m: Record<string, unknown> & { params: IndexParamsMessage; json?: string }): ServerStats {
  const { json, ...typed } = m;
  if (typeof json === 'string' && json !== '') {
    try {
      return JSON.parse(json) as ServerStats;
    } catch {
      // A server that sends broken JSON still sent the typed fields: use those.
    }
  }
  const { hnswM, ...params } = typed.params;
  return { ...typed, params: { ...params, M: hnswM } } as unknown as ServerStats;
}

/** The gRPC transport. */
export class GrpcTransport implements Transport {
  private stubPromise: Promise<Stub> | undefined;
  private stub: Stub | undefined;

  /**
   * @param address - `host:port`, e.g. `127.0.0.1:6334`
   * @param maxMessageBytes - largest message sent or received
   * @param protoPath - another copy of `quantumdb.proto`
   */
  constructor(private readonly address: string, private readonly maxMessageBytes: number, private readonly protoPath?: string) {}

  private connect(): Promise<Stub> {
    // A failed start (packages missing, proto not found) is not cached: the next call tries again.
    this.stubPromise ??= (async () => {
      const { importGrpcStack, loadQuantumDBProto, GRPC_SERVICE_NAME } = await import('../server/grpc-proto.js');
      const { grpc } = await importGrpcStack();
      const definition = await loadQuantumDBProto(this.protoPath);
      const Ctor = grpc.makeClientConstructor(definition[GRPC_SERVICE_NAME] as Parameters<typeof grpc.makeClientConstructor>[0], GRPC_SERVICE_NAME);
      this.stub = new Ctor(this.address, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': this.maxMessageBytes,
        'grpc.max_send_message_length': this.maxMessageBytes,
        'grpc.enable_channelz': 0,
      }) as unknown as Stub;
      return this.stub;
    })().catch((e: unknown) => {
      this.stubPromise = undefined;
      throw e;
    });
    return this.stubPromise;
  }

  /** The QuantumDBError a failed call stands for. */
  private errorOf(e: unknown, method: string): QuantumDBError {
    if (isQuantumDBError(e)) return e;
    const err = e as Partial<ServiceError>;
    const code = err.metadata?.get('qdb-code')[0];
    const message = err.details ?? (e as Error)?.message ?? String(e);
    if (isErrorCode(code)) {
      const text = err.metadata?.get('qdb-details')[0];
      let details: Record<string, unknown> | undefined;
      try {
        details = typeof text === 'string' ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      } catch {
        details = undefined;
      }
      return new QuantumDBError(code, message, details, e);
    }
    const name = STATUS_NAMES[err.code ?? -1] ?? `STATUS_${String(err.code)}`;
    switch (err.code) {
      case STATUS.DEADLINE_EXCEEDED:
        return transportError('IO_ERROR', `${method} did not finish within its deadline (${message}); raise timeoutMs, or check the server's load`, 'grpc', name, e);
      case STATUS.UNAVAILABLE:
      case STATUS.CANCELLED:
        return transportError('IO_ERROR', `${method} to the QuantumDB gRPC server at ${this.address} failed (${message}); check that it runs and the address is right, then retry`, 'grpc', name, e);
      case STATUS.RESOURCE_EXHAUSTED:
        return transportError('INVALID_ARGUMENT', `${method}: ${message}; send smaller batches, or raise the message limit (maxMessageBytes, --max-body-bytes)`, 'grpc', name, e);
      default:
        return transportError('INTERNAL', `${method} failed with gRPC status ${name} (${message}); check that the address is a QuantumDB server of this version`, 'grpc', name, e);
    }
  }

  private async unary<T>(method: string, request: unknown, deadline: number): Promise<T> {
    const stub = await this.connect();
    return new Promise<T>((resolve, reject) => {
      stub[method]!(request, { deadline }, (error, value) => {
        if (error) reject(this.errorOf(error, method));
        else resolve(value as T);
      });
    });
  }

  add(items: readonly AddItem[], deadline: number): Promise<AddResult> {
    return this.unary('Add', addMessage(items), deadline);
  }

  async search(query: SearchQuery, deadline: number): Promise<SearchHit[]> {
    return (await this.unary<SearchResponseMessage>('Search', searchMessage(query), deadline)).results;
  }

  async *batchSearch(queries: AsyncIterable<SearchQuery> | Iterable<SearchQuery>, deadline: number): AsyncGenerator<SearchHit[]> {
    const stub = await this.connect();
    const call = stub.BatchSearch({ deadline });
    // grpc-js emits a failed status as an 'error' event; the loop below and once() see it, this
    // listener only keeps a late one (after a cancel) from being an uncaught exception.
    call.on('error', () => undefined);
    let feedError: unknown;
    let finished = false;
    // Feed the requests as the stream accepts them (write() returning false means: wait for drain).
    const feeding = (async () => {
      for await (const q of queries) {
        if (finished) return;
        if (!call.write(searchMessage(q))) await once(call, 'drain');
      }
      call.end();
    })().catch((e: unknown) => {
      feedError = e;
      call.cancel();
    });
    try {
      for await (const response of call) yield (response as SearchResponseMessage).results;
    } catch (e) {
      await feeding;
      throw this.errorOf(feedError ?? e, 'BatchSearch');
    } finally {
      finished = true;
      call.cancel();
    }
    await feeding;
    if (feedError !== undefined) throw this.errorOf(feedError, 'BatchSearch');
  }

  delete(ids: readonly string[], deadline: number): Promise<DeleteResult> {
    return this.unary('Delete', { ids: [...ids] }, deadline);
  }

  async buildIndex(request: BuildRequest, deadline: number): Promise<BuildResult> {
    const r = await this.unary<BuildIndexResponseMessage>('BuildIndex', { codec: request.codec ?? '', opqIterations: request.opqIterations ?? 0 }, deadline);
    return { size: r.size, built: r.built, buildSeconds: r.buildSeconds ?? { codec: 0, graph: 0 } };
  }

  async stats(deadline: number): Promise<ServerStats> {
    return statsOf(await this.unary('Stats', {}, deadline));
  }

  async health(deadline: number): Promise<ServerHealth> {
    return this.unary('Health', {}, deadline);
  }

  close(): void {
    this.stub?.close();
  }
}
