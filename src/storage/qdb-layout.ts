/**
 * @module storage/qdb-layout
 * The `.qdb` container: a 64-byte header, a table of 32-byte section entries, then 64-byte aligned
 * sections. Pure functions on bytes: plan and encode a file (whole or piece by piece, so a large
 * file is never assembled in memory), decode and validate one, and the section encodings that are
 * plain bytes (string tables, f16 and int8 vectors). Full specification: `docs/format-qdb.md`.
 *
 * ```text
 * header (64 bytes, all integers little-endian)
 * +0   8  magic          51 44 42 00 0D 0A 1A 0A   "QDB\0\r\n\x1a\n"
 * +8   2  major u16      2     incompatible changes (this reader takes 1 and 2)
 * +10  2  minor u16      0     compatible additions (readers accept any minor)
 * +12  4  flags u32      0     reserved; written 0, ignored by readers of the same major
 * +16  8  file length    u64   total bytes; must equal the actual size
 * +24  4  section count  u32
 * +28  4  entry bytes    u32   32 (≥ 32, multiple of 8; readers use the first 32 bytes)
 * +32  4  table crc32c   u32   over the whole section table
 * +36 24  reserved             written 0, ignored by readers of the same major
 * +60  4  header crc32c  u32   over bytes 0..59
 *
 * section table entry (at 64 + i * entry bytes)
 * +0   4  kind u32       SectionKind; 0 is invalid; each kind at most once
 * +4   4  flags u32      per-kind encoding (VECTORS: VectorEncoding)
 * +8   8  offset u64     multiple of 64
 * +16  8  length u64     bytes, without padding
 * +24  8  checksum       over the section's `length` bytes: format 2 XXH64 u64;
 *                        format 1 CRC32C u32 followed by 4 reserved bytes
 *
 * file:  [header][table][0-pad to 64][section 0][0-pad to 64][section 1] … [last section] EOF
 * ```
 * The layout is canonical: section i starts at the first 64-byte boundary after the end of the
 * table (i = 0) or of section i - 1, so offsets, lengths and file length must agree exactly.
 */
import { qdbError } from '../errors.js';
import { crc32c, xxh64 } from './checksum.js';

/** The 8 magic bytes. The NUL, CR LF and Ctrl-Z catch text-mode transfers, as PNG's signature does. */
export const QDB_MAGIC: Uint8Array = Uint8Array.of(0x51, 0x44, 0x42, 0x00, 0x0d, 0x0a, 0x1a, 0x0a);
/** Format version this library writes; it reads every minor of majors 1 and 2. */
export const QDB_FORMAT_VERSION = { major: 2, minor: 0 } as const;
/** Majors this library reads: 1 (sections checksummed with CRC32C) and 2 (XXH64). */
const READABLE_MAJORS: readonly number[] = [1, 2];
/** Size of the fixed header. */
export const QDB_HEADER_BYTES = 64;
/** Size of one section table entry as written by this version. */
export const QDB_TABLE_ENTRY_BYTES = 32;
/** Alignment of every section's start offset. */
export const QDB_SECTION_ALIGN = 64;

/** Section kinds (the table entry's `kind`). Readers ignore kinds they do not know. */
export const SectionKind = {
  /** UTF-8 JSON object: the database configuration. */
  CONFIG: 1,
  /** safetensors blob: codec weights and codebooks (`formats/safetensors.ts`). */
  CODEC: 2,
  /** PQ codes, 16 bytes per slot (layout owned by the lead; see the format doc). */
  CODES: 3,
  /** HNSW level-0 adjacency (layout owned by the lead; see the format doc). */
  GRAPH_LEVEL0: 4,
  /** HNSW upper-level adjacency (layout owned by the lead; see the format doc). */
  GRAPH_UPPER: 5,
  /** External ids, a string table indexed by slot (`encodeStringTable` in section-codecs.ts). */
  IDS: 6,
  /** Optional per-slot metadata: a string table of JSON texts, "" for none. */
  METADATA: 7,
  /** Deleted-slot bitmap: bit (slot & 7) of byte (slot >> 3), ceil(count / 8) bytes. */
  DELETED: 8,
  /** Re-rank vectors; the entry's flags hold a {@link VectorEncoding}. */
  VECTORS: 9,
} as const;
/** A known section kind. */
export type SectionKind = (typeof SectionKind)[keyof typeof SectionKind];

/** Encoding of the VECTORS section (its table entry's flags). */
export const VectorEncoding = {
  /** No vectors stored. */
  NONE: 0,
  /** count × dim f32. */
  F32: 1,
  /** count × dim IEEE 754 binary16 (`f32ToF16` in section-codecs.ts). */
  F16: 2,
  /** count records of (f32 scale, dim × i8) (`quantizeInt8` in section-codecs.ts). */
  INT8: 3,
} as const;
/** A VECTORS section encoding. */
export type VectorEncoding = (typeof VectorEncoding)[keyof typeof VectorEncoding];

/** One section to write. `bytes` may be split into chunks; they are never concatenated. */
export interface QdbSectionInput {
  kind: number;
  flags?: number;
  bytes: Uint8Array | readonly Uint8Array[];
}

/** Where a section sits in a file and its checksum (XXH64 in format 2; CRC32C, widened, in format 1). */
export interface QdbSectionInfo {
  readonly kind: number;
  readonly flags: number;
  readonly offset: number;
  readonly length: number;
  readonly checksum: bigint;
}

/** A planned file: write `head`, then each section's chunks at its offset (see {@link qdbPieces}). */
export interface QdbPlan {
  /** Header, section table and zero padding up to the first section. */
  readonly head: Uint8Array;
  readonly sections: readonly QdbSectionInfo[];
  readonly fileLength: number;
  /** Each section's chunks, in table order. */
  readonly chunks: readonly (readonly Uint8Array[])[];
}

/** Random-access bytes of a file too large to hold as one `Uint8Array`. */
export interface QdbByteSource {
  readonly byteLength: number;
  /** Returns exactly `length` bytes starting at `offset`. */
  read(offset: number, length: number): Uint8Array;
  /** Fills `target` with the bytes starting at `offset`, without an intermediate buffer. */
  readInto?(offset: number, target: Uint8Array): void;
  /** {@link QdbByteSource.readInto} on another thread (file reads on the thread pool). */
  readIntoAsync?(offset: number, target: Uint8Array): Promise<void>;
}

const H = { MAJOR: 8, MINOR: 10, FLAGS: 12, FILE_LENGTH: 16, COUNT: 24, ENTRY_BYTES: 28, TABLE_CRC: 32, HEADER_CRC: 60 } as const;
const E = { KIND: 0, FLAGS: 4, OFFSET: 8, LENGTH: 16, CHECKSUM: 24 } as const;
const U32_MAX = 0xffff_ffff;

const isU32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= U32_MAX;
const align = (n: number) => Math.ceil(n / QDB_SECTION_ALIGN) * QDB_SECTION_ALIGN;
const dataView = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const sectionName = (kind: number) => Object.keys(SectionKind).find((k) => SectionKind[k as keyof typeof SectionKind] === kind) ?? `kind ${kind}`;
const corrupt = (offset: number, why: string, extra?: Record<string, unknown>) =>
  qdbError('CORRUPT_FILE', [`not a valid .qdb file: ${why}`], { offset, ...extra });

function setU64(v: DataView, at: number, n: number): void {
  v.setUint32(at, n % 2 ** 32, true);
  v.setUint32(at + 4, Math.floor(n / 2 ** 32), true);
}

/** Reads a u64 that must fit a JS safe integer; `fileOffset` locates it for the error. */
function getU64(v: DataView, at: number, fileOffset: number, what: string): number {
  const hi = v.getUint32(at + 4, true);
  if (hi >= 2 ** 21) throw corrupt(fileOffset, `${what} is larger than 2^53 bytes.`);
  return hi * 2 ** 32 + v.getUint32(at, true);
}

/**
 * Lays out a `.qdb` file: computes every section's offset and XXH64 (streaming over its chunks)
 * and builds the header and section table. Nothing is copied, so the chunks must stay unchanged
 * until written: a view of WebAssembly memory is detached (empty) after `memory.grow`.
 *
 * @param sections - Sections in file order; each kind at most once.
 * @returns The plan: `head` bytes, section infos and the total file length.
 * @throws QuantumDBError `INVALID_ARGUMENT` for a kind that is not an integer in 1..2^32-1, a
 *   repeated kind, or flags that are not a u32.
 * @example
 * ```ts
 * const plan = planQdb([{ kind: SectionKind.CONFIG, bytes: configBytes }, { kind: SectionKind.CODES, bytes: [part1, part2] }]);
 * for (const piece of qdbPieces(plan)) fs.writeSync(fd, piece);
 * ```
 */
export function planQdb(sections: readonly QdbSectionInput[]): QdbPlan {
  const tableEnd = QDB_HEADER_BYTES + sections.length * QDB_TABLE_ENTRY_BYTES;
  const head = new Uint8Array(align(tableEnd));
  const view = dataView(head);
  const seen = new Set<number>();
  const infos: QdbSectionInfo[] = [];
  const chunks: (readonly Uint8Array[])[] = [];
  let end = head.length;
  sections.forEach(({ kind, flags = 0, bytes }, i) => {
    if (!isU32(kind) || kind === 0 || seen.has(kind)) {
      throw qdbError('INVALID_ARGUMENT', [`section ${i} has kind ${kind}; kinds must be distinct integers in 1..2^32-1.`]);
    }
    if (!isU32(flags)) throw qdbError('INVALID_ARGUMENT', [`section ${sectionName(kind)} has flags ${flags}; flags must be a u32.`]);
    seen.add(kind);
    const parts = bytes instanceof Uint8Array ? [bytes] : bytes;
    const checksum = xxh64(parts);
    const length = parts.reduce((sum, p) => sum + p.length, 0);
    const offset = align(end);
    const at = QDB_HEADER_BYTES + i * QDB_TABLE_ENTRY_BYTES;
    view.setUint32(at + E.KIND, kind, true);
    view.setUint32(at + E.FLAGS, flags, true);
    setU64(view, at + E.OFFSET, offset);
    setU64(view, at + E.LENGTH, length);
    view.setBigUint64(at + E.CHECKSUM, checksum, true);
    infos.push({ kind, flags, offset, length, checksum });
    chunks.push(parts);
    end = offset + length;
  });
  head.set(QDB_MAGIC, 0);
  view.setUint16(H.MAJOR, QDB_FORMAT_VERSION.major, true);
  view.setUint16(H.MINOR, QDB_FORMAT_VERSION.minor, true);
  setU64(view, H.FILE_LENGTH, end);
  view.setUint32(H.COUNT, sections.length, true);
  view.setUint32(H.ENTRY_BYTES, QDB_TABLE_ENTRY_BYTES, true);
  view.setUint32(H.TABLE_CRC, crc32c(head.subarray(QDB_HEADER_BYTES, tableEnd)), true);
  view.setUint32(H.HEADER_CRC, crc32c(head.subarray(0, H.HEADER_CRC)), true);
  return { head, sections: infos, fileLength: end, chunks };
}

/**
 * The bytes of a planned file in write order: head, then each section's chunks with zero padding
 * before it. Writing every piece sequentially produces the file.
 *
 * @param plan - From {@link planQdb}.
 * @returns A generator of byte pieces (padding pieces are fresh arrays; chunks are the caller's own).
 * @example
 * ```ts
 * for (const piece of qdbPieces(planQdb(sections))) await handle.write(piece);
 * ```
 */
export function* qdbPieces(plan: QdbPlan): Generator<Uint8Array> {
  yield plan.head;
  let at = plan.head.length;
  for (let i = 0; i < plan.sections.length; i++) {
    const { offset, length } = plan.sections[i]!;
    if (offset > at) yield new Uint8Array(offset - at);
    yield* plan.chunks[i]!;
    at = offset + length;
  }
}

/**
 * Encodes a whole `.qdb` file into one buffer (for small files and tests; stream large files with
 * {@link planQdb} and {@link qdbPieces}).
 *
 * @param sections - Sections in file order.
 * @returns The file bytes.
 * @throws QuantumDBError `INVALID_ARGUMENT` as {@link planQdb}.
 * @example
 * ```ts
 * const bytes = encodeQdb([{ kind: SectionKind.CONFIG, bytes: new TextEncoder().encode('{}') }]);
 * ```
 */
export function encodeQdb(sections: readonly QdbSectionInput[]): Uint8Array {
  const plan = planQdb(sections);
  const out = new Uint8Array(plan.fileLength);
  let at = 0;
  for (const piece of qdbPieces(plan)) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/**
 * Random access over bytes already in memory (a whole file or a mapping).
 *
 * @param bytes - The file's bytes.
 * @returns A source whose reads are views into `bytes`.
 * @example
 * ```ts
 * const file = decodeQdb(bytesSource(mapped.bytes));
 * ```
 */
export function bytesSource(bytes: Uint8Array): QdbByteSource {
  return {
    byteLength: bytes.length,
    read: (offset, length) => bytes.subarray(offset, offset + length),
    readInto: (offset, target) => target.set(bytes.subarray(offset, offset + target.length)),
  };
}

/** Reads exactly `length` bytes, rejecting short reads from a custom source. */
function readExact(source: QdbByteSource, offset: number, length: number): Uint8Array {
  const b = source.read(offset, length);
  if (b.length !== length) throw qdbError('IO_ERROR', [`short read: asked for ${length} bytes at offset ${offset}, got ${b.length}.`], { offset });
  return b;
}

/**
 * A decoded, structurally validated `.qdb` file. Section contents are checksummed when first
 * requested (or all at once by {@link QdbFile.verifyAll}), so a large mapped section costs nothing
 * until it is used.
 */
export class QdbFile {
  private readonly verified = new Set<number>();

  /** @internal Use {@link decodeQdb}. */
  constructor(
    private readonly source: QdbByteSource,
    /** Format version of the file (major 1 or 2; minor may exceed this library's). */
    readonly version: { readonly major: number; readonly minor: number },
    /** Header flags (reserved in 1.0). */
    readonly flags: number,
    /** Total size in bytes, as declared and verified. */
    readonly fileLength: number,
    /** Table entries in file order, including kinds this version does not know. */
    readonly sections: readonly QdbSectionInfo[],
    private readonly tableEnd: number,
  ) {}

  /**
   * Looks up a section's table entry without reading the section.
   *
   * @param kind - A section kind.
   * @returns The section's table entry, or `undefined` when the file has none.
   * @example
   * ```ts
   * const encoding = file.info(SectionKind.VECTORS)?.flags ?? VectorEncoding.NONE;
   * ```
   */
  info(kind: number): QdbSectionInfo | undefined {
    return this.sections.find((s) => s.kind === kind);
  }

  /**
   * Returns a section's bytes (a view into the source when it is a `Uint8Array`).
   *
   * @param kind - The section kind.
   * @param options - `verify: false` skips the checksum (the caller verifies later or accepts the risk).
   * @returns The section's `length` bytes.
   * @throws QuantumDBError `CORRUPT_FILE` when the section is missing or its checksum does not match.
   * @throws QuantumDBError `IO_ERROR` when a custom source returns a short read.
   * @example
   * ```ts
   * const config = JSON.parse(new TextDecoder().decode(file.section(SectionKind.CONFIG)));
   * ```
   */
  section(kind: number, options: { verify?: boolean } = {}): Uint8Array {
    const s = this.info(kind);
    if (s === undefined) throw corrupt(this.fileLength, `the file has no ${sectionName(kind)} section.`, { section: sectionName(kind) });
    const bytes = readExact(this.source, s.offset, s.length);
    if ((options.verify ?? true) && !this.verified.has(kind)) this.verify(s, [bytes]);
    return bytes;
  }

  /**
   * Reads a section straight into `spans` (for instance WebAssembly memory: one copy from the
   * file), consecutive pieces that together hold exactly its bytes, and checks it there.
   *
   * @param kind - The section kind.
   * @param spans - Where its bytes go, in order.
   * @param checksumOfSpans - Computes the format-2 checksum of `spans` where they lie (default: {@link xxh64}).
   * @throws QuantumDBError `CORRUPT_FILE` when the section is missing, of another length, or fails its checksum.
   * @example
   * ```ts
   * file.sectionInto(SectionKind.CODES, [kernels.u8(codesPtr, n * m)]);
   * ```
   */
  sectionInto(kind: number, spans: readonly Uint8Array[], checksumOfSpans?: () => bigint): void {
    const s = this.sectionFitting(kind, spans);
    let at = s.offset;
    for (const span of spans) {
      this.readSpan(at, span);
      at += span.length;
    }
    this.verify(s, spans, checksumOfSpans);
  }

  /**
   * Starts reading a section into `spans`, consecutive pieces that together hold exactly its
   * bytes, each on the thread pool when the source can (otherwise now): the copy and the first
   * touch of fresh span pages then happen off this thread, while it goes on with other work.
   * Nothing is checked yet: call {@link QdbFile.verifyInPlace} once every span has landed.
   *
   * @param kind - The section kind.
   * @param spans - Where its bytes go, in order; nothing may grow or move them until the reads settle.
   * @returns Each span's read, in order.
   * @throws QuantumDBError `CORRUPT_FILE` when the section is missing or the spans do not add up
   *   to its length; the reads reject with `IO_ERROR`.
   * @example
   * ```ts
   * const [read] = file.readSpans(SectionKind.CODES, [kernels.u8(codesPtr, n * m)]);
   * ```
   */
  readSpans(kind: number, spans: readonly Uint8Array[]): Array<Promise<void>> {
    let at = this.sectionFitting(kind, spans).offset;
    return spans.map((span) => {
      const read = this.readPart(at, span);
      at += span.length;
      return read;
    });
  }

  /**
   * Checks a section that {@link QdbFile.readSpans} read.
   *
   * @param kind - The section kind.
   * @param spans - The section's bytes, as read.
   * @param checksumOfSpans - Computes the format-2 checksum of `spans` where they lie (default: {@link xxh64}).
   * @throws QuantumDBError `CORRUPT_FILE` when the bytes fail their checksum.
   * @example
   * ```ts
   * file.verifyInPlace(SectionKind.CODES, [codes], () => xxh64At(kernels, codesPtr, codes.length));
   * ```
   */
  verifyInPlace(kind: number, spans: readonly Uint8Array[], checksumOfSpans?: () => bigint): void {
    this.verify(this.sectionFitting(kind, spans), spans, checksumOfSpans);
  }

  private async readPart(offset: number, span: Uint8Array): Promise<void> {
    if (this.source.readIntoAsync) await this.source.readIntoAsync(offset, span);
    else this.readSpan(offset, span);
  }

  private readSpan(offset: number, span: Uint8Array): void {
    if (this.source.readInto) this.source.readInto(offset, span);
    else span.set(readExact(this.source, offset, span.length));
  }


  /** The entry of section `kind`, which must exist and be exactly as long as `spans` together. */
  private sectionFitting(kind: number, spans: readonly Uint8Array[]): QdbSectionInfo {
    const s = this.info(kind);
    if (s === undefined) throw corrupt(this.fileLength, `the file has no ${sectionName(kind)} section.`, { section: sectionName(kind) });
    const length = spans.reduce((sum, span) => sum + span.length, 0);
    if (s.length !== length) throw corrupt(s.offset, `the ${sectionName(kind)} section holds ${s.length} bytes, ${length} expected.`, { section: sectionName(kind) });
    return s;
  }

  private verify(s: QdbSectionInfo, spans: readonly Uint8Array[], checksumOfSpans?: () => bigint): void {
    const [actual, name] = this.version.major === 1
      ? [BigInt(spans.reduce((crc, span) => crc32c(span, crc), 0)), 'CRC32C']
      : [checksumOfSpans ? checksumOfSpans() : xxh64(spans), 'XXH64'];
    if (actual !== s.checksum) throw corrupt(s.offset, `the ${sectionName(s.kind)} section fails its ${name} check.`, { section: sectionName(s.kind) });
    this.verified.add(s.kind);
  }

  /**
   * Checks every section's checksum and that all padding between sections is zero.
   *
   * @throws QuantumDBError `CORRUPT_FILE` at the first failing section or padding byte.
   * @throws QuantumDBError `IO_ERROR` when a custom source returns a short read.
   * @example
   * ```ts
   * decodeQdb(bytes).verifyAll();
   * ```
   */
  verifyAll(): void {
    let at = this.tableEnd;
    for (const s of this.sections) {
      const pad = readExact(this.source, at, s.offset - at);
      const bad = pad.findIndex((b) => b !== 0);
      if (bad >= 0) throw corrupt(at + bad, 'padding before a section is not zero.');
      this.section(s.kind);
      at = s.offset + s.length;
    }
  }
}

/**
 * Validates a `.qdb` file's header and section table and returns accessors for its sections.
 * Checked before any section byte is trusted: magic, header CRC32C, major version, file length
 * against the actual size, table CRC32C, and for every entry a non-zero unique kind and an offset
 * and length that follow the canonical 64-byte aligned layout inside the file.
 *
 * @param source - The whole file as bytes (e.g. from `mapFile`) or a random-access reader.
 * @param options - `verifyAll: true` also checks every section's checksum and padding now.
 * @returns The decoded file.
 * @throws QuantumDBError `CORRUPT_FILE` (with `details.offset`) for a foreign file, a truncated or
 *   extended file, a checksum mismatch or an inconsistent table.
 * @throws QuantumDBError `UNSUPPORTED_VERSION` for a format major version other than 1 or 2.
 * @throws QuantumDBError `IO_ERROR` when a custom source returns a short read.
 * @example
 * ```ts
 * const file = decodeQdb((await mapFile('db.qdb')).bytes);
 * const ids = decodeStringTable(file.section(SectionKind.IDS), file.info(SectionKind.IDS)!.offset);
 * ```
 */
export function decodeQdb(source: Uint8Array | QdbByteSource, options: { verifyAll?: boolean } = {}): QdbFile {
  const src: QdbByteSource = source instanceof Uint8Array ? bytesSource(source) : source;
  const size = src.byteLength;
  const prefix = readExact(src, 0, Math.min(size, QDB_MAGIC.length));
  if (prefix.some((b, i) => b !== QDB_MAGIC[i])) {
    throw corrupt(0, 'this is not a QuantumDB file (its first bytes are not the .qdb magic "QDB\\0\\r\\n\\x1a\\n").');
  }
  if (size < QDB_HEADER_BYTES) throw corrupt(size, `the file is truncated to ${size} bytes, shorter than the 64-byte header.`);
  const header = readExact(src, 0, QDB_HEADER_BYTES);
  const hv = dataView(header);
  if (crc32c(header.subarray(0, H.HEADER_CRC)) !== hv.getUint32(H.HEADER_CRC, true)) {
    throw corrupt(H.HEADER_CRC, 'the header fails its CRC32C check.');
  }
  const version = { major: hv.getUint16(H.MAJOR, true), minor: hv.getUint16(H.MINOR, true) };
  if (!READABLE_MAJORS.includes(version.major)) {
    throw qdbError('UNSUPPORTED_VERSION', [
      `this file has .qdb format version ${version.major}.${version.minor}, but this QuantumDB reads formats ${READABLE_MAJORS.join('.x and ')}.x ` +
        `(writes ${QDB_FORMAT_VERSION.major}.${QDB_FORMAT_VERSION.minor}); open it with a QuantumDB release that reads format ${version.major}.x.`,
    ], { offset: H.MAJOR, major: version.major, minor: version.minor, supportedMajor: QDB_FORMAT_VERSION.major });
  }
  const fileLength = getU64(hv, H.FILE_LENGTH, H.FILE_LENGTH, 'the file length');
  if (fileLength > size) throw corrupt(size, `the file is truncated: the header says ${fileLength} bytes but only ${size} are present.`);
  if (fileLength < size) throw corrupt(fileLength, `the file has ${size - fileLength} unexpected bytes after its declared ${fileLength}-byte end.`);
  const count = hv.getUint32(H.COUNT, true);
  const entryBytes = hv.getUint32(H.ENTRY_BYTES, true);
  if (entryBytes < QDB_TABLE_ENTRY_BYTES || entryBytes % 8 !== 0) throw corrupt(H.ENTRY_BYTES, `the table entry size ${entryBytes} is invalid.`);
  const tableEnd = QDB_HEADER_BYTES + count * entryBytes;
  if (tableEnd > fileLength) throw corrupt(H.COUNT, `the section table (${count} entries of ${entryBytes} bytes) runs past the end of the file.`);
  const table = readExact(src, QDB_HEADER_BYTES, tableEnd - QDB_HEADER_BYTES);
  if (crc32c(table) !== hv.getUint32(H.TABLE_CRC, true)) throw corrupt(QDB_HEADER_BYTES, 'the section table fails its CRC32C check.');

  const tv = dataView(table);
  const sections: QdbSectionInfo[] = [];
  let end = tableEnd;
  for (let i = 0; i < count; i++) {
    const at = i * entryBytes;
    const entryOffset = QDB_HEADER_BYTES + at;
    const kind = tv.getUint32(at + E.KIND, true);
    const name = sectionName(kind);
    const offset = getU64(tv, at + E.OFFSET, entryOffset + E.OFFSET, `the offset of section ${name}`);
    const length = getU64(tv, at + E.LENGTH, entryOffset + E.LENGTH, `the length of section ${name}`);
    if (kind === 0) throw corrupt(entryOffset, `section table entry ${i} has kind 0.`);
    if (sections.some((s) => s.kind === kind)) throw corrupt(entryOffset, `the ${name} section appears twice.`);
    if (offset % QDB_SECTION_ALIGN !== 0) throw corrupt(entryOffset + E.OFFSET, `section ${name} starts at ${offset}, not a multiple of ${QDB_SECTION_ALIGN}.`);
    if (offset < end) throw corrupt(entryOffset + E.OFFSET, `section ${name} at ${offset} overlaps the bytes before it (which end at ${end}).`);
    if (offset !== align(end)) throw corrupt(entryOffset + E.OFFSET, `section ${name} starts at ${offset}, leaving a gap after byte ${end}.`);
    if (offset + length > fileLength) {
      throw corrupt(entryOffset + E.LENGTH, `section ${name} (${length} bytes at ${offset}) runs past the end of the ${fileLength}-byte file.`);
    }
    const checksum = version.major === 1 ? BigInt(tv.getUint32(at + E.CHECKSUM, true)) : tv.getBigUint64(at + E.CHECKSUM, true);
    sections.push({ kind, flags: tv.getUint32(at + E.FLAGS, true), offset, length, checksum });
    end = offset + length;
  }
  if (end !== fileLength) throw corrupt(end, `the file has ${fileLength - end} bytes after its last section.`);
  const file = new QdbFile(src, version, hv.getUint32(H.FLAGS, true), fileLength, sections, tableEnd);
  if (options.verifyAll === true) file.verifyAll();
  return file;
}
