/**
 * @module storage/database-file
 * What a QuantumDB database looks like inside a `.qdb` container (docs/format-qdb.md): the
 * sections it writes, the atomic save, and the checks of the configuration and of the sections
 * that do not go to the kernels (`storage/image-load.ts` reads and checks those that do).
 *
 *   CONFIG            JSON {@link StoredConfig}
 *   CODEC             safetensors: rotation (targetDim, dim), mean (dim), codebooks (m, 256, dsub), F32
 *   CODES             slots × m u8
 *   GRAPH_LEVEL0      slots × (1 + 2M) u32 LE: [count | neighbour slots…]
 *   GRAPH_UPPER       levels: slots u8, zero-padded to a multiple of 4 | offsets: slots u32 | pool: upperWords u32
 *   IDS               string table, one id per slot ("" for a deleted slot)
 *   METADATA          string table of JSON texts, "" for none (only when some slot has metadata)
 *   DELETED           bitmap, bit (slot & 7) of byte (slot >> 3)
 *   VECTORS           re-rank rows, encoding in the section flags (f32 / f16 / int8 / none)
 *   VECTOR_CHECKSUMS  u32 CRC32C per 2^flags-byte chunk of VECTORS (4 KiB), verified when a chunk is first read
 */
import { qdbError } from '../errors.js';
import { writeFileAtomic } from '../formats/atomic-file.js';
import { decodeSafetensors, encodeSafetensors } from '../formats/safetensors.js';
import { decodeCodecFile, type CodecFile } from '../codec/codec-file.js';
import type { AutoTuneReport, CodecReport, QuantumDBStats } from '../types.js';
import { chunkChecksums, encodedRowBytes, MappedRows, VECTOR_CHUNK_SHIFT } from './row-store.js';
import { encodeQdb, planQdb, qdbPieces, SectionKind, VectorEncoding, type QdbByteSource, type QdbFile, type QdbSectionInput } from './qdb-layout.js';
import { encodeF16, encodeStringTable, quantizeInt8, StringTable } from './section-codecs.js';

/** Section kind of the per-chunk checksums of VECTORS (added in format 1.0 by this module). */
export const VECTOR_CHECKSUMS_KIND = 10;
/** Section kind of a learned codec (a codec file: src/codec/codec-file.ts), present only when one is in use. */
export const LEARNED_CODEC_KIND = 11;

/** How re-rank vectors are stored in a file. */
export type VectorStorage = 'f32' | 'f16' | 'int8' | 'none';
export const VECTOR_ENCODINGS: Record<VectorStorage, number> = { f32: VectorEncoding.F32, f16: VectorEncoding.F16, int8: VectorEncoding.INT8, none: VectorEncoding.NONE };

/** The CONFIG section. */
export interface StoredConfig {
  format: 'quantumdb';
  dim: number;
  metric: 'cosine' | 'l2' | 'ip';
  params: QuantumDBStats['params'] & { trainSampleSize: number; kmeansIterations: number };
  slotCount: number;
  built: boolean;
  graph: { entryPoint: number; maxLevel: number; nodeCount: number; upperWords: number; levelState: number };
  buildSeconds: { codec: number; graph: number };
  /** The build report of the codec (absent in files from before the learned codec). */
  codec?: CodecReport;
  /** The auto-tuner's report, when the database was built with `autoTune`. */
  autoTune?: AutoTuneReport;
}

/** A database to write: copies of its kernel regions, and a reader for its full-precision rows. */
export interface DatabaseImage {
  config: StoredConfig;
  codec: LoadedImage['codec'];
  levels: Uint8Array;
  upperOffsets: Uint8Array;
  upper: Uint8Array;
  /** u8 per slot, 1 = deleted. */
  deleted: Uint8Array;
  /** The learned codec as a codec file, when one is in use. */
  learnedCodec: Uint8Array | undefined;
  /** One id per slot, "" for a deleted slot. */
  ids: readonly string[];
  codes: Uint8Array;
  level0: Uint8Array;
  /** JSON text per slot ("" for none), or undefined when no slot has metadata. */
  metadata: string[] | undefined;
  vectors: VectorStorage;
  dim: number;
  slotCount: number;
  readRow(slot: number, out: Float32Array<ArrayBuffer>): void;
}

/**
 * A database read from a checked file, but for the sections that went straight to kernel memory
 * (codes and graph); its rows stay where the file's bytes are.
 */
export interface LoadedImage {
  config: StoredConfig;
  codec: { rotation: Float32Array; mean: Float32Array; codebooks: Float32Array } | undefined;
  /** The learned codec, when the file holds one. */
  learnedCodec: CodecFile | undefined;
  /** One id per slot (a deleted slot's is ignored), decoded when asked for. */
  ids: StringTable;
  /** u8 per slot, 1 = deleted. */
  deleted: Uint8Array;
  /** The deleted slots, ascending (the slots set in `deleted`). */
  deletedSlots: Uint32Array;
  /** JSON text per slot ("" for none), parsed when asked for; where the section starts, for errors. */
  metadata: { texts: StringTable; offset: number } | undefined;
  rows: MappedRows;
}

/** Everything of a {@link LoadedImage} but the ids, with the raw deleted bitmap the id check reads. */
export type SmallSections = Omit<LoadedImage, 'config' | 'ids'> & { deletedBitmap: Uint8Array };

/** Rows encoded per chunk while saving. */
const ROWS_PER_CHUNK = 4096;

const pad4 = (n: number) => (n + 3) & ~3;
const corrupt = (offset: number, what: string) => qdbError('CORRUPT_FILE', [`not a valid QuantumDB database: ${what}`], { offset });

/** The sections of `image`, in file order. */
export function imageSections(image: DatabaseImage): QdbSectionInput[] {
  const { config } = image;
  const n = config.slotCount;
  const vectorChunks = encodeVectors(image);
  const bitmap = new Uint8Array(Math.ceil(n / 8));
  image.deleted.forEach((d, slot) => { if (d) bitmap[slot >> 3] = (bitmap[slot >> 3] as number) | (1 << (slot & 7)); });
  const sections: QdbSectionInput[] = [{ kind: SectionKind.CONFIG, bytes: new TextEncoder().encode(JSON.stringify(config)) }];
  if (image.codec) {
    const { targetDim, m } = config.params;
    sections.push({ kind: SectionKind.CODEC, bytes: encodeSafetensors({
      rotation: { dtype: 'F32', shape: [targetDim, config.dim], data: image.codec.rotation },
      mean: { dtype: 'F32', shape: [config.dim], data: image.codec.mean },
      codebooks: { dtype: 'F32', shape: [m, 256, targetDim / m], data: image.codec.codebooks },
    }, { kind: 'pq', config: JSON.stringify({ metric: config.metric, dim: config.dim, m, targetDim, rotation: config.params.rotation }) }) });
  }
  sections.push(
    { kind: SectionKind.CODES, bytes: image.codes },
    { kind: SectionKind.GRAPH_LEVEL0, bytes: image.level0 },
    { kind: SectionKind.GRAPH_UPPER, bytes: [image.levels, new Uint8Array(upperSectionParts(config).pad), image.upperOffsets, image.upper] },
    { kind: SectionKind.IDS, bytes: encodeStringTable(image.ids) },
  );
  if (image.metadata) sections.push({ kind: SectionKind.METADATA, bytes: encodeStringTable(image.metadata) });
  if (image.learnedCodec) sections.push({ kind: LEARNED_CODEC_KIND, bytes: image.learnedCodec });
  sections.push(
    { kind: SectionKind.DELETED, bytes: bitmap },
    { kind: SectionKind.VECTORS, flags: VECTOR_ENCODINGS[image.vectors], bytes: vectorChunks },
    { kind: VECTOR_CHECKSUMS_KIND, flags: VECTOR_CHUNK_SHIFT, bytes: new Uint8Array(chunkChecksums(vectorChunks).buffer) },
  );
  return sections;
}

function encodeVectors(image: DatabaseImage): Uint8Array[] {
  if (image.vectors === 'none') return [];
  const chunks: Uint8Array[] = [];
  for (let first = 0; first < image.slotCount; first += ROWS_PER_CHUNK) {
    const count = Math.min(ROWS_PER_CHUNK, image.slotCount - first);
    const rows = new Float32Array(count * image.dim);
    for (let i = 0; i < count; i++) image.readRow(first + i, rows.subarray(i * image.dim, (i + 1) * image.dim));
    if (image.vectors === 'f32') chunks.push(new Uint8Array(rows.buffer));
    else if (image.vectors === 'f16') chunks.push(new Uint8Array(encodeF16(rows).buffer));
    else chunks.push(quantizeInt8(rows, image.dim));
  }
  return chunks;
}

/** Writes `image` to `path` atomically, streaming the sections. */
export async function saveImage(path: string, image: DatabaseImage): Promise<void> {
  const plan = planQdb(imageSections(image));
  await writeFileAtomic(path, async (sink) => {
    for (const piece of qdbPieces(plan)) await sink.write(piece);
  });
}

/** `image` as the bytes of a `.qdb` file. */
export function snapshotImage(image: DatabaseImage): Uint8Array {
  return encodeQdb(imageSections(image));
}

/**
 * Reads and checks the configuration, and that the sections the kernels take (codes, graph, ids)
 * exist with the lengths it implies, so their kernel regions can be reserved before they are read.
 * @throws QuantumDBError `CORRUPT_FILE` naming the section and offset of the first inconsistency.
 */
export function readConfig(file: QdbFile): StoredConfig {
  const offsetOf = (kind: number) => file.info(kind)?.offset ?? 0;
  let config: StoredConfig;
  try {
    config = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.section(SectionKind.CONFIG))) as StoredConfig;
  } catch (e) {
    if ((e as { name?: string }).name === 'QuantumDBError') throw e;
    throw corrupt(offsetOf(SectionKind.CONFIG), 'the configuration is not valid JSON');
  }
  checkConfig(config, offsetOf(SectionKind.CONFIG));
  const n = config.slotCount;
  const { m, M } = config.params;
  const expect = (kind: number, length: number | undefined, name: string, optional = false) => {
    const actual = file.info(kind)?.length;
    if (actual === undefined && !optional) throw corrupt(0, `the ${name} section is missing`);
    if (actual !== undefined && length !== undefined && actual !== length) throw corrupt(offsetOf(kind), `the ${name} section holds ${actual} bytes, ${length} expected for ${n} slots`);
  };
  expect(SectionKind.CODES, n * m, 'codes');
  expect(SectionKind.GRAPH_LEVEL0, n * (1 + 2 * M) * 4, 'level-0 graph');
  expect(SectionKind.GRAPH_UPPER, upperSectionBytes(config), 'upper-graph');
  expect(SectionKind.IDS, undefined, 'ids');
  // An absent DELETED section means no slot is deleted.
  expect(SectionKind.DELETED, Math.ceil(n / 8), 'deleted', true);
  return config;
}

/** The byte lengths of the GRAPH_UPPER section's parts, in order: levels, their zero padding to 4, offsets, pool. */
export function upperSectionParts(config: StoredConfig): { levels: number; pad: number; offsets: number; pool: number } {
  const n = config.slotCount;
  return { levels: n, pad: pad4(n) - n, offsets: 4 * n, pool: 4 * config.graph.upperWords };
}

function upperSectionBytes(config: StoredConfig): number {
  const { levels, pad, offsets, pool } = upperSectionParts(config);
  return levels + pad + offsets + pool;
}

/** Whether the file stores re-rank rows (its VECTORS encoding is not "none"). */
export function fileHasRows(file: QdbFile): boolean {
  return (file.info(SectionKind.VECTORS)?.flags ?? VectorEncoding.NONE) !== VectorEncoding.NONE;
}

/**
 * Reads and checks the sections that are not kernel memory nor ids: codec, metadata, deleted
 * bitmap, the vectors' encoding and chunk checksums (the rows themselves are verified on first use),
 * a learned codec. `keep`: the section bytes outlive the database (positional reads, or bytes the
 * caller keeps), so they are used in place instead of copied out of a mapping.
 * @throws QuantumDBError `CORRUPT_FILE` naming the section and offset of the first inconsistency.
 */
export function readSmallSections(file: QdbFile, config: StoredConfig, source: QdbByteSource, keep: boolean): SmallSections {
  const section = (kind: number) => file.section(kind);
  const offsetOf = (kind: number) => file.info(kind)?.offset ?? 0;
  const { slotCount: n, dim } = config;
  const { m, targetDim } = config.params;
  let codec: LoadedImage['codec'];
  if (config.built) {
    const { tensors } = decodeSafetensors(section(SectionKind.CODEC));
    const tensor = (name: string, length: number) => {
      const t = tensors[name];
      if (!t || t.dtype !== 'F32' || t.data.length !== length) throw corrupt(offsetOf(SectionKind.CODEC), `the codec lacks a valid ${name} tensor`);
      return Float32Array.from(t.data as Float32Array);
    };
    codec = { rotation: tensor('rotation', targetDim * dim), mean: tensor('mean', dim), codebooks: tensor('codebooks', m * 256 * (targetDim / m)) };
  }
  let metadata: LoadedImage['metadata'];
  if (file.info(SectionKind.METADATA)) {
    metadata = { texts: new StringTable(section(SectionKind.METADATA), offsetOf(SectionKind.METADATA), keep), offset: offsetOf(SectionKind.METADATA) };
    if (metadata.texts.count !== n) throw corrupt(metadata.offset, `${metadata.texts.count} metadata entries for ${n} slots`);
  }
  const bitmap = file.info(SectionKind.DELETED) ? section(SectionKind.DELETED) : new Uint8Array(Math.ceil(n / 8));
  const deleted = new Uint8Array(n);
  const deletedSlots: number[] = [];
  bitmap.forEach((bits, byte) => {
    for (let bit = 0; bits !== 0 && bit < 8; bit++, bits >>= 1) {
      if (bits & 1 && byte * 8 + bit < n) {
        deleted[byte * 8 + bit] = 1;
        deletedSlots.push(byte * 8 + bit);
      }
    }
  });
  const vectorsInfo = file.info(SectionKind.VECTORS);
  const vectorEncoding = vectorsInfo?.flags ?? VectorEncoding.NONE;
  if (!Object.values(VectorEncoding).includes(vectorEncoding as never)) throw corrupt(vectorsInfo?.offset ?? 0, `unknown vector encoding ${vectorEncoding}`);
  const vectorsLength = vectorsInfo?.length ?? 0;
  if (vectorsLength !== n * encodedRowBytes(vectorEncoding, dim)) throw corrupt(vectorsInfo?.offset ?? 0, `the vectors section holds ${vectorsLength} bytes, ${n * encodedRowBytes(vectorEncoding, dim)} expected for ${n} slots`);
  const sums = section(VECTOR_CHECKSUMS_KIND);
  if (sums.length % 4 !== 0) throw corrupt(offsetOf(VECTOR_CHECKSUMS_KIND), 'the vector checksums are not whole u32 values');
  const vectorChecksums = keep && sums.byteOffset % 4 === 0 ? new Uint32Array(sums.buffer, sums.byteOffset, sums.length >> 2) : new Uint32Array(sums.slice().buffer);
  const chunkShift = file.info(VECTOR_CHECKSUMS_KIND)?.flags ?? 0;
  if (chunkShift < 10 || chunkShift > 30) throw corrupt(offsetOf(VECTOR_CHECKSUMS_KIND), `the vector checksum chunk size 2^${chunkShift} is out of range`);
  if (vectorChecksums.length !== Math.ceil(vectorsLength / 2 ** chunkShift)) throw corrupt(offsetOf(VECTOR_CHECKSUMS_KIND), 'the vector checksums do not cover the vectors');
  let learnedCodec: CodecFile | undefined;
  if (file.info(LEARNED_CODEC_KIND)) {
    learnedCodec = decodeCodecFile(section(LEARNED_CODEC_KIND));
    if (learnedCodec.kind !== 'learned' || learnedCodec.metric !== config.metric) throw corrupt(offsetOf(LEARNED_CODEC_KIND), 'the learned codec does not match the database');
  }
  return {
    codec, metadata, deleted, deletedSlots: Uint32Array.from(deletedSlots), deletedBitmap: bitmap, learnedCodec,
    rows: new MappedRows(source, vectorEncoding, dim, n, vectorChecksums, vectorsInfo?.offset ?? 0, 2 ** chunkShift),
  };
}

function checkConfig(c: StoredConfig, offset: number): void {
  const int = (v: unknown, min = 0) => typeof v === 'number' && Number.isInteger(v) && v >= min;
  const p = c?.params;
  const ok = c?.format === 'quantumdb' && int(c.dim, 1) && ['cosine', 'l2', 'ip'].includes(c.metric) && int(c.slotCount) && typeof c.built === 'boolean'
    && p && int(p.m, 1) && int(p.targetDim, 1) && p.targetDim % p.m === 0 && p.targetDim <= c.dim && int(p.M, 2) && int(p.efConstruction, 1)
    && c.graph && int(c.graph.upperWords) && int(c.graph.nodeCount) && int(c.graph.entryPoint, -1) && int(c.graph.maxLevel, -1) && int(c.graph.levelState)
    && c.graph.entryPoint < c.slotCount && c.graph.nodeCount <= c.slotCount;
  if (!ok) throw corrupt(offset, 'the configuration has missing or out-of-range fields');
}
