/**
 * `proto/quantumdb.proto`: the design's field numbers are kept, every field number is pinned (a
 * renumbering fails here), the service shape, and how the loader finds the file.
 */
import { loadSync } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { GRPC_SERVER_PACKAGES, GRPC_SERVICE_NAME, grpcPackagesMissing, loadQuantumDBProto, protoFilePath } from '../../src/server/grpc-proto.js';
import { expectQdbErrorAsync } from '../helpers.js';
import { HEALTH_PROTO, PROTO_PATH } from './grpc-helpers.js';

const def = loadSync(PROTO_PATH, { keepCase: true }) as any;
const fields = (message: string) => (def[`quantumdb.v1.${message}`].type.field as { name: string; number: number; type: string; label: string }[])
  .map((f) => `${f.number} ${f.name} ${f.label === 'LABEL_REPEATED' ? 'repeated ' : ''}${f.type.replace('TYPE_', '').toLowerCase()}`);

describe('quantumdb.proto', () => {
  it('keeps the field numbers of the design', () => {
    expect(fields('SearchRequest').slice(0, 3)).toEqual(['1 embedding repeated float', '2 top_k int32', '3 ef_search int32']);
    expect(fields('SearchResponse')[0]).toBe('1 results repeated message');
    expect(fields('SearchResult')).toEqual(['1 id string', '2 score float']);
  });

  it('the service: seven methods, BatchSearch a bidirectional stream', () => {
    const service = def[GRPC_SERVICE_NAME];
    expect(Object.keys(service)).toEqual(['Add', 'Search', 'BatchSearch', 'BuildIndex', 'Delete', 'Stats', 'Health']);
    expect([service.BatchSearch.requestStream, service.BatchSearch.responseStream]).toEqual([true, true]);
    expect(Object.values(service).filter((m: any) => m.requestStream || m.responseStream)).toHaveLength(1);
  });

  it('pins every field number (add fields, never renumber)', () => {
    const all = Object.fromEntries(Object.keys(def).filter((k) => k.startsWith('quantumdb.v1.') && def[k].type?.field).map((k) => [k.slice(13), fields(k.slice(13)).join(', ')]));
    expect(all).toMatchInlineSnapshot(`
      {
        "AddRequest": "1 ids repeated string, 2 embeddings repeated message, 3 metadata_json repeated string",
        "AddResponse": "1 added uint32, 2 size uint64",
        "BuildIndexRequest": "1 codec string, 2 opq_iterations uint32",
        "BuildIndexResponse": "1 size uint64, 2 built bool, 3 build_seconds message",
        "BuildSeconds": "1 codec double, 2 graph double",
        "DeleteRequest": "1 ids repeated string",
        "DeleteResponse": "1 deleted uint32, 2 size uint64",
        "Filter": "1 ids repeated string, 2 metadata repeated message",
        "HealthRequest": "",
        "HealthResponse": "1 status string, 2 size uint64, 3 dim uint32, 4 metric string, 5 built bool, 6 read_only bool",
        "IndexParams": "1 m uint32, 2 target_dim uint32, 3 rotation string, 4 hnsw_m uint32, 5 ef_construction uint32, 6 ef uint32, 7 rerank uint32, 8 flat_threshold uint32, 9 build_distance string, 10 seed int64",
        "MemoryBytes": "1 codes uint64, 2 graph uint64, 3 ids uint64, 4 vectors uint64, 5 codec uint64, 6 scratch uint64, 7 index uint64, 8 total uint64",
        "MetadataValue": "1 string_value string, 2 number_value double, 3 bool_value bool, 4 null_value bool",
        "SearchRequest": "1 embedding repeated float, 2 top_k int32, 3 ef_search int32, 4 rerank int32, 5 filter message",
        "SearchResponse": "1 results repeated message, 2 took_ms double",
        "SearchResult": "1 id string, 2 score float",
        "ServiceCounters": "1 requests uint64, 2 errors uint64, 3 started_at string, 4 uptime_seconds double, 5 changed bool",
        "StatsRequest": "",
        "StatsResponse": "1 size uint64, 2 dim uint32, 3 metric string, 4 built bool, 5 code_bytes uint32, 6 params message, 7 bytes message, 8 deleted uint64, 9 vectors string, 10 build_seconds message, 11 service message, 12 json string",
        "Vector": "1 values repeated float",
      }
    `);
  });
});

describe('loading the proto', () => {
  it('finds the copy shipped beside the code (from src/ here; from dist/ or dist/chunks/ once built)', async () => {
    expect(protoFilePath()).toBe(PROTO_PATH);
    expect(Object.keys(await loadQuantumDBProto())).toContain(GRPC_SERVICE_NAME);
    expect(await loadQuantumDBProto()).toBe(await loadQuantumDBProto());
    expect(Object.keys(await loadQuantumDBProto(undefined, [HEALTH_PROTO]))).toEqual(expect.arrayContaining([GRPC_SERVICE_NAME, 'grpc.health.v1.Health']));
  });

  it('a missing file → IO_ERROR', async () => {
    await expectQdbErrorAsync(() => loadQuantumDBProto('/nonexistent/quantumdb.proto'), 'IO_ERROR');
  });

  it('missing optional packages → INVALID_ARGUMENT that names the install command', () => {
    const e = grpcPackagesMissing(GRPC_SERVER_PACKAGES);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe("gRPC needs the optional peer dependencies @grpc/grpc-js, @grpc/proto-loader, @grpc/reflection, grpc-health-check; install them with 'npm install @grpc/grpc-js @grpc/proto-loader @grpc/reflection grpc-health-check', or use HTTP");
  });
});
