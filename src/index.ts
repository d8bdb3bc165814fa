/**
 * @module quantumdb
 * Public entry point of the `quantumdb` package.
 */
export { AUTO_COMPACT_RATIO, QuantumDB } from './quantumdb.js';
export { QuantumDBError, isQuantumDBError, type ErrorCode } from './errors.js';
export type {
  AutoTuneConfig, AutoTuneFigures, AutoTuneObjective, AutoTuneOptions, AutoTuneReport, AutoTuneTrial, BuildOptions, BuildProgress, CodecKind, CodecReport, Metadata, Metric, OpenOptions, QuantumDBOptions, QuantumDBStats, SaveOptions, SearchFilter, SearchHit,
  SearchOptions, StoredEntry, VectorInput, VectorsInput,
} from './types.js';
export type { ExportStreamOptions, FromStreamOptions, FromStreamProgress } from './formats/stream-io.js';
// Reading and writing vector files (docs/format-stream.md).
export { readFvecs, readIvecs, readJsonl, readNpy, readVectors, writeFvecs, writeIvecs } from './formats/vector-files.js';
export type { ReadVectorsOptions, VectorFileFormat, VectorFileReadOptions } from './formats/vector-files.js';
export { readPQStream1, readQStream1, readStream1, readVectroStream } from './formats/vectro-stream.js';
export type { AnyIterable, PQStream1Record, QStream1Record, StreamReadOptions, VectorRecord, VectroFormat } from './formats/vectro-stream.js';
export { writePQStream1, writeQStream1, writeStream1 } from './formats/vectro-write.js';
export type { Reiterable, VectorRecordInput } from './formats/vectro-write.js';
export type { ProductQuantizer, ProductQuantizerInput, QuantTable } from './formats/vectro-quant.js';
