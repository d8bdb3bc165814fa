/**
 * @module server/grpc-proto
 * Finds and loads `proto/quantumdb.proto` for the gRPC server (`grpc.ts`) and the gRPC client
 * (`client/index.ts`), with one set of loader options, and types the messages as the loader
 * delivers them (field names in camelCase: `top_k` → `topK`; 64-bit integers as numbers; unset
 * scalars as their zero value; unset sub-messages as null; `optional` fields absent when unset).
 *
 * The file ships in the package beside `dist/`. Bundling moves this code: it runs from `src/server/`
 * under vitest, from `dist/` (entry bundles) or `dist/chunks/` (shared chunks) once published, so
 * the loader looks for `../proto/` and `../../proto/` relative to the running module.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { qdbError } from '../errors.js';

/** The fully qualified name of the service, also its name in the health service. */
export const GRPC_SERVICE_NAME = 'quantumdb.v1.QuantumDBService';

/** proto-loader options shared by server and client (the message types below assume them). */
export const PROTO_LOADER_OPTIONS: Readonly<Options> = {
  keepCase: false, longs: Number, enums: String, defaults: true, arrays: true, objects: true, oneofs: true,
};

const CANDIDATES = ['../proto/quantumdb.proto', '../../proto/quantumdb.proto', '../../../proto/quantumdb.proto'];

/**
 * The path of `quantumdb.proto` shipped with the package.
 * @returns an absolute file path
 * @throws QuantumDBError `IO_ERROR` when no candidate exists (a package installed without `proto/`).
 * @example
 * ```ts
 * protoFilePath(); // …/node_modules/quantumdb/proto/quantumdb.proto
 * ```
 */
export function protoFilePath(): string {
  const tried = CANDIDATES.map((c) => fileURLToPath(new URL(c, import.meta.url)));
  const found = tried.find((p) => existsSync(p));
  if (found === undefined) throw qdbError('IO_ERROR', [`quantumdb.proto was not found (looked at ${tried.join(', ')}); reinstall the package, or pass protoPath`]);
  return found;
}

const cache = new Map<string, PackageDefinition>();

/**
 * Loads the QuantumDB proto (once per path).
 * @param protoPath - Another copy of the file; default {@link protoFilePath}.
 * @returns the package definition, for `loadPackageDefinition` and the reflection service
 * @throws QuantumDBError `IO_ERROR` when the file is missing or does not parse.
 * @example
 * ```ts
 * const def = loadQuantumDBProto();
 * def['quantumdb.v1.QuantumDBService'];
 * ```
 */
export function loadQuantumDBProto(protoPath?: string): PackageDefinition {
  const path = protoPath ?? protoFilePath();
  let def = cache.get(path);
  if (def === undefined) {
    try {
      def = loadSync(path, { ...PROTO_LOADER_OPTIONS });
    } catch (e) {
      throw qdbError('IO_ERROR', [`could not load ${path} (${(e as Error).message}); check the file`], { path }, e);
    }
    cache.set(path, def);
  }
  return def;
}

/** `MetadataValue`: one scalar, named by `kind`. */
export interface MetadataValueMessage {
  kind?: 'stringValue' | 'numberValue' | 'boolValue' | 'nullValue';
  stringValue?: string;
  numberValue?: number;
  boolValue?: boolean;
  nullValue?: boolean;
}

/** `Filter`. */
export interface FilterMessage {
  ids: string[];
  metadata: Record<string, MetadataValueMessage>;
}

/** `SearchRequest`. `rerank` is absent when unset. */
export interface SearchRequestMessage {
  embedding: number[];
  topK: number;
  efSearch: number;
  rerank?: number;
  filter: FilterMessage | null;
}

/** `SearchResponse`. */
export interface SearchResponseMessage {
  results: { id: string; score: number }[];
  tookMs: number;
}

/** `AddRequest`. */
export interface AddRequestMessage {
  ids: string[];
  embeddings: { values: number[] }[];
  metadataJson: string[];
}

/** `BuildIndexRequest`. */
export interface BuildIndexRequestMessage {
  codec: string;
  opqIterations: number;
}

/** `BuildIndexResponse`. */
export interface BuildIndexResponseMessage {
  size: number;
  built: boolean;
  buildSeconds: { codec: number; graph: number } | null;
}

/** `IndexParams`: the database's params with `M` renamed `hnswM` (proto3 forbids fields differing only in case). */
export interface IndexParamsMessage {
  m: number; targetDim: number; rotation: string; hnswM: number; efConstruction: number;
  ef: number; rerank: number; flatThreshold: number; buildDistance: string; seed: number;
}
