/**
 * @module cli/lib
 * Everything the command line and the server take from the library, in one place. The front doors
 * should see only the public API (`src/index.ts`); the format readers and writers below are not
 * exported there yet, so they are re-exported from their modules here. Once `src/index.ts` exports
 * them, only this file changes.
 */
export { QuantumDB, QuantumDBError, isQuantumDBError, type ErrorCode } from '../index.js';
export type { Metric, QuantumDBOptions, QuantumDBStats, SearchHit, BuildProgress } from '../index.js';
export { qdbError } from '../errors.js';
// TODO(lead): export these from src/index.ts, then import them from '../index.js' above.
export {
  readVectors, readJsonl, readFvecs, readIvecs, writeFvecs, writeIvecs, type VectorFileFormat,
} from '../formats/vector-files.js';
export {
  readVectroStream, readStream1, readQStream1, readPQStream1, writeStream1, writeQStream1, writePQStream1,
  type VectorRecord, type VectroFormat,
} from '../formats/vectro-stream.js';
export { writeFileAtomic, type ChunkSink } from '../formats/atomic-file.js';
export { widenQuantTables, quantizeValue } from '../formats/vectro-quant.js';
export { buildFromStream, exportStream, type FromStreamOptions, type ExportStreamOptions } from '../formats/stream-io.js';
