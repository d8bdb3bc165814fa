/**
 * @module cli/lib
 * Everything the command line and the server take from the library, in one place: the public API
 * (`src/index.ts`, imported from there only), then the few internal helpers the front doors share
 * with the engines. The second list is internal on purpose: error construction, atomic writes, the
 * QSTREAM1 table arithmetic that `compress` runs in workers, the file → database loader with a
 * caller-chosen constructor, and the exhaustive file scan behind `search`.
 */
export {
  QuantumDB, QuantumDBError, isQuantumDBError, type ErrorCode,
  readVectors, readJsonl, readFvecs, readIvecs, writeFvecs, writeIvecs, type VectorFileFormat,
  readVectroStream, readStream1, readQStream1, readPQStream1, writeStream1, writeQStream1, writePQStream1,
  type VectorRecord, type VectroFormat,
} from '../index.js';
export type { AutoTuneReport, Metric, QuantumDBOptions, QuantumDBStats, SearchHit, BuildProgress, ExportStreamOptions, FromStreamOptions } from '../index.js';

// Internal helpers (not part of the package API).
export { qdbError } from '../errors.js';
export { writeFileAtomic, type ChunkSink } from '../formats/atomic-file.js';
export { widenQuantTables, quantizeValue } from '../formats/vectro-quant.js';
export { buildFromStream } from '../formats/stream-io.js';
export { scanVectorFile } from '../formats/vector-scan.js';
