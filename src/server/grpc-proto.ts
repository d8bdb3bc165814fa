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
 *
 * The gRPC packages are optional peer dependencies: nothing here imports them until a gRPC server
 * or client starts, and their absence is then an `INVALID_ARGUMENT` that says what to install.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import type { Options, PackageDefinition } from '@grpc/proto-loader';
import { qdbError, type QuantumDBError } from '../errors.js';

/** The fully qualified name of the service, also its name in the health service. */
export const GRPC_SERVICE_NAME = 'quantumdb.v1.QuantumDBService';

/** proto-loader options shared by server and client (the message types below assume them). */
export const PROTO_LOADER_OPTIONS: Readonly<Options> = {
  keepCase: false, longs: Number, enums: String, defaults: true, arrays: true, objects: true, oneofs: true,
};

/** The packages a gRPC client needs; a server also needs {@link GRPC_SERVER_PACKAGES}. */
export const GRPC_CLIENT_PACKAGES = ['@grpc/grpc-js', '@grpc/proto-loader'] as const;
/** The packages a gRPC server needs. */
export const GRPC_SERVER_PACKAGES = [...GRPC_CLIENT_PACKAGES, '@grpc/reflection', 'grpc-health-check'] as const;

/**
 * The error for missing optional gRPC packages.
 * @param packages - what the caller needs
 * @param cause - the failed import
 * @returns an `INVALID_ARGUMENT` naming the install command
 * @example
 * ```ts
 * throw grpcPackagesMissing(GRPC_SERVER_PACKAGES, e);
 * ```
 */
export function grpcPackagesMissing(packages: readonly string[], cause?: unknown): QuantumDBError {
  return qdbError('INVALID_ARGUMENT', [
    `gRPC needs the optional peer dependencies ${packages.join(', ')}; install them with 'npm install ${packages.join(' ')}', or use HTTP`,
  ], { packages: [...packages] }, cause);
}

/** @grpc/grpc-js and @grpc/proto-loader, imported on first use. */
export interface GrpcStack {
  grpc: typeof GrpcJs;
  protoLoader: typeof ProtoLoader;
}

// A variable specifier keeps bundlers from resolving the optional packages at build time.
const importOptional = (pkg: string): Promise<unknown> => import(/* @vite-ignore */ pkg);
let stack: Promise<GrpcStack> | undefined;

/**
 * Imports @grpc/grpc-js and @grpc/proto-loader (once).
 * @returns both modules
 * @throws QuantumDBError `INVALID_ARGUMENT` when either is not installed.
 * @example
 * ```ts
 * const { grpc } = await importGrpcStack();
 * ```
 */
export function importGrpcStack(): Promise<GrpcStack> {
  stack ??= Promise.all([importOptional('@grpc/grpc-js'), importOptional('@grpc/proto-loader')]).then(
    ([grpc, protoLoader]) => ({ grpc: grpc as typeof GrpcJs, protoLoader: protoLoader as typeof ProtoLoader }),
    (cause: unknown) => {
      stack = undefined;
      throw grpcPackagesMissing(GRPC_CLIENT_PACKAGES, cause);
    },
  );
  return stack;
}

/**
 * Imports an optional gRPC package the server needs (@grpc/reflection, grpc-health-check).
 * @throws QuantumDBError `INVALID_ARGUMENT` when it is not installed.
 * @example
 * ```ts
 * const { HealthImplementation } = await importServerPackage<typeof import('grpc-health-check')>('grpc-health-check');
 * ```
 */
export async function importServerPackage<T>(pkg: string): Promise<T> {
  try {
    return (await importOptional(pkg)) as T;
  } catch (cause) {
    throw grpcPackagesMissing(GRPC_SERVER_PACKAGES, cause);
  }
}

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
 * Loads proto files with the shared options (the QuantumDB proto once per path, cached).
 * @param protoPath - Another copy of `quantumdb.proto`; default {@link protoFilePath}.
 * @param extra - More files to load into the same definition (e.g. the health proto, for reflection); not cached.
 * @returns the package definition, for `loadPackageDefinition` and the reflection service
 * @throws QuantumDBError `IO_ERROR` when a file is missing or does not parse; `INVALID_ARGUMENT` without @grpc/proto-loader.
 * @example
 * ```ts
 * const def = await loadQuantumDBProto();
 * def['quantumdb.v1.QuantumDBService'];
 * ```
 */
export async function loadQuantumDBProto(protoPath?: string, extra: readonly string[] = []): Promise<PackageDefinition> {
  const { protoLoader } = await importGrpcStack();
  const path = protoPath ?? protoFilePath();
  const cached = extra.length === 0 ? cache.get(path) : undefined;
  if (cached !== undefined) return cached;
  let def: PackageDefinition;
  try {
    def = protoLoader.loadSync([path, ...extra], { ...PROTO_LOADER_OPTIONS });
  } catch (e) {
    throw qdbError('IO_ERROR', [`could not load ${path} (${(e as Error).message}); check the file`], { path }, e);
  }
  if (extra.length === 0) cache.set(path, def);
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
