/**
 * @module quantumdb
 * Public entry point of the `quantumdb` package.
 */
export { AUTO_COMPACT_RATIO, QuantumDB } from './quantumdb.js';
export { QuantumDBError, isQuantumDBError, type ErrorCode } from './errors.js';
export type {
  BuildOptions, BuildProgress, CodecKind, CodecReport, Metadata, Metric, OpenOptions, QuantumDBOptions, QuantumDBStats, SaveOptions, SearchFilter, SearchHit,
  SearchOptions, StoredEntry, VectorInput, VectorsInput,
} from './types.js';
export type { ExportStreamOptions, FromStreamOptions, FromStreamProgress } from './formats/stream-io.js';
export type { VectorFileFormat } from './formats/vector-files.js';
