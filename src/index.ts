/**
 * @module quantumdb
 * Public entry point of the `quantumdb` package.
 */
export { QuantumDB } from './quantumdb.js';
export { QuantumDBError, isQuantumDBError, type ErrorCode } from './errors.js';
export type {
  BuildOptions, BuildProgress, Metric, QuantumDBOptions, QuantumDBStats, SearchHit, SearchOptions, VectorInput, VectorsInput,
} from './types.js';
