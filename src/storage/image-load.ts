/**
 * @module storage/image-load
 * Loads a `.qdb` database into a database's kernel memory, from a file or from bytes.
 *
 * The big sections (ids, graph, codes) are read straight into kernel memory and checked there by
 * the kernels: every checksum in place, the id table (offsets, UTF-8, empty or repeated live ids)
 * and the level-0 links. Opening a file, those reads run on libuv's thread pool, which also takes
 * the first-touch page faults of their fresh memory on the other core: ids first (twice: a second
 * copy in JavaScript memory for the database's table, which must equal the checked one), then the
 * upper graph, the codes and the level-0 graph in pieces. Meanwhile this thread reads the small
 * sections, then checks each big one, in that order, as it lands: the level-0 graph piece by
 * piece, so the last check waits only for the last piece. Every block of kernel memory the load
 * uses is reserved before the first read starts: nothing grows (and so detaches) the memory under
 * a read.
 */
import { qdbError } from '../errors.js';
import { ioError } from '../formats/atomic-file.js';
import { ID_TABLE, type Kernels } from '../wasm/abi.js';
import { xxh64Stream, XXH64_STAGING_BYTES } from './checksum.js';
import { fileHasRows, readConfig, readSmallSections, upperSectionParts, type LoadedImage, type SmallSections, type StoredConfig } from './database-file.js';
import { isMmapAvailable, mapFile } from './mmap.js';
import { bytesSource, decodeQdb, SectionKind, type QdbByteSource, type QdbFile } from './qdb-layout.js';
import { StringTable } from './section-codecs.js';

/** Where the sections that go straight to kernel memory are put: regions a database reserved for the file's slots. */
export interface KernelRegions {
  kernels: Kernels;
  codes: number;
  level0: number;
  levels: number;
  upperOffsets: number;
  upper: number;
}

/** A database taking a file: the kernel regions it reserved, and what takes the rest once they are filled and checked. */
export interface ImageReceiver<T> {
  regions: KernelRegions;
  finish(image: LoadedImage): T;
}

/** Makes the receiver for a file's configuration; `fileHasRows`: the file stores re-rank rows. */
export type Receive<T> = (config: StoredConfig, fileHasRows: boolean) => ImageReceiver<T>;

/** Level-0 reads: enough pieces that checking one overlaps reading the next. */
const LEVEL0_PIECES = 8;

/** The `CORRUPT_FILE` of a graph whose links at `slot` leave the database. */
export function graphLinksCorrupt(slot: number) {
  return qdbError('CORRUPT_FILE', [`the graph links of slot ${slot} point outside the database; the file is damaged`], { slot });
}

/** A stretch of kernel memory a section's bytes go to. */
interface Span {
  ptr: number;
  bytes: Uint8Array;
}

type BigSection = 'ids' | 'upper' | 'codes' | 'level0';

/** One load: the receiver's regions, the scratch blocks reserved next to them, and the checks of each section. */
class KernelLoad<T> {
  readonly config: StoredConfig;
  private readonly receiver: ImageReceiver<T>;
  private readonly kernels: Kernels;
  private readonly scratch: { ids: number; upperPad: number; bitmap: number; work: number; staging: number };
  /** Where each big section goes, in order (views made once every block is reserved). */
  readonly spans: Record<BigSection, Span[]>;
  readonly kinds: Record<BigSection, number> = { ids: SectionKind.IDS, upper: SectionKind.GRAPH_UPPER, codes: SectionKind.CODES, level0: SectionKind.GRAPH_LEVEL0 };
  private level0Checked = 0;
  private level0Bad = -1;

  constructor(private readonly file: QdbFile, receive: Receive<T>) {
    this.config = readConfig(file);
    this.receiver = receive(this.config, fileHasRows(file));
    const { kernels } = this.receiver.regions;
    this.kernels = kernels;
    const raw = kernels.raw;
    const n = this.config.slotCount;
    const idsBytes = file.info(SectionKind.IDS)!.length;
    this.scratch = {
      // 8 bytes of slack: the id hash loads whole words.
      ids: raw.arenaAllocUnfilled(idsBytes + 8),
      upperPad: raw.arenaAllocUnfilled(4),
      bitmap: raw.arenaAllocUnfilled(Math.max(Math.ceil(n / 8), 1)),
      work: raw.arenaAllocUnfilled(raw.idCheckWorkBytes(n)),
      staging: raw.arenaAllocUnfilled(XXH64_STAGING_BYTES),
    };
    const { regions } = this.receiver;
    const span = (ptr: number, length: number): Span => ({ ptr, bytes: kernels.u8(ptr, length) });
    const level0Bytes = n * this.recordBytes;
    const upper = upperSectionParts(this.config);
    const step = Math.max(4096, Math.ceil(level0Bytes / LEVEL0_PIECES / 4096) * 4096);
    this.spans = {
      ids: [span(this.scratch.ids, idsBytes)],
      upper: [span(regions.levels, upper.levels), span(this.scratch.upperPad, upper.pad), span(regions.upperOffsets, upper.offsets), span(regions.upper, upper.pool)],
      codes: [span(regions.codes, n * this.config.params.m)],
      // Piece boundaries on 4 KiB pages, so no page is faulted in by two readers.
      level0: Array.from({ length: Math.max(1, Math.ceil(level0Bytes / step)) }, (_, i) => span(regions.level0 + i * step, Math.min(step, level0Bytes - i * step))),
    };
  }

  /** Bytes of one slot's level-0 record: its count and 2·M links. */
  get recordBytes(): number { return (1 + 2 * this.config.params.M) * 4; }

  /** The section's bytes, as the file reads them. */
  bytes(part: BigSection): Uint8Array[] {
    return this.spans[part].map((s) => s.bytes);
  }

  /** The checksum of a section that landed whole, hashed where it lies. */
  checksum(part: BigSection): () => bigint {
    return () => {
      const sum = this.sum();
      for (const { ptr, bytes } of this.spans[part]) sum.add(ptr, bytes.length);
      return sum.digest();
    };
  }

  /** Checks a section that landed whole against its checksum. */
  verify(part: Exclude<BigSection, 'level0'>): void {
    this.file.verifyInPlace(this.kinds[part], this.bytes(part), this.checksum(part));
  }

  /** A checksum stream over kernel memory (one at a time). */
  sum() {
    return xxh64Stream(this.kernels, this.scratch.staging);
  }

  /**
   * Checks the verified id table in the kernels and returns it as a string table over `copy`, the
   * same bytes in JavaScript memory (used in place).
   */
  takeIds(small: SmallSections, copy: Uint8Array): StringTable {
    const raw = this.kernels.raw;
    const n = this.config.slotCount;
    const [{ bytes }] = this.spans.ids as [Span];
    const offset = this.file.info(SectionKind.IDS)!.offset;
    this.kernels.u8(this.scratch.bitmap, small.deletedBitmap.length).set(small.deletedBitmap);
    const result = raw.idTableCheck(this.scratch.ids, bytes.length, n, this.scratch.bitmap, this.scratch.work);
    if (result === ID_TABLE.malformed) {
      // The parser names the first fault; a table it accepts has the wrong count.
      const parsed = new StringTable(copy, offset);
      const why = parsed.count !== n ? `${parsed.count} ids for ${n} slots` : 'the id table is malformed';
      throw qdbError('CORRUPT_FILE', [`not a valid QuantumDB database: ${why}`], { offset });
    }
    const table = new StringTable(copy, offset, true, { ascii: result === ID_TABLE.ascii });
    if (result >= 0) throw qdbError('CORRUPT_FILE', [`not a valid QuantumDB database: slot ${result} has ${table.at(result) === '' ? 'an empty' : 'a duplicate'} id`], { slot: result });
    return table;
  }

  /** Checks the level-0 links of every slot whose record lies within the first `end` bytes; remembers the first bad one. */
  checkLevel0Until(end: number): void {
    const last = Math.min(Math.floor(end / this.recordBytes), this.config.slotCount);
    if (this.level0Bad < 0 && this.config.built) {
      this.level0Bad = this.kernels.raw.graphValidateLevel0(this.level0Checked, last, this.config.slotCount);
    }
    this.level0Checked = last;
  }

  /** After the level-0 checksum: a bad link is damage the checksum did not catch. */
  level0Verdict(): void {
    if (this.level0Bad >= 0) throw graphLinksCorrupt(this.level0Bad);
  }

  finish(small: SmallSections, ids: StringTable): T {
    const raw = this.kernels.raw;
    for (const ptr of Object.values(this.scratch)) raw.arenaFree(ptr);
    const { deletedBitmap: _, ...rest } = small;
    return this.receiver.finish({ config: this.config, ids, ...rest });
  }
}

/** Loads `.qdb` bytes (vectors stay in `bytes`; the caller keeps them unchanged). */
export function loadImage<T>(bytes: Uint8Array, receive: Receive<T>): T {
  const source = bytesSource(bytes);
  return loadAll(decodeQdb(source), source, true, receive);
}

/** Loads a file in memory or mapped, one section after another. `keep`: as for {@link readSmallSections}. */
function loadAll<T>(file: QdbFile, source: QdbByteSource, keep: boolean, receive: Receive<T>): T {
  const load = new KernelLoad(file, receive);
  const small = readSmallSections(file, load.config, source, keep);
  const readWhole = (part: BigSection) => file.sectionInto(load.kinds[part], load.bytes(part), load.checksum(part));
  readWhole('ids');
  const idsBytes = file.section(SectionKind.IDS, { verify: false });
  const ids = load.takeIds(small, keep ? idsBytes : idsBytes.slice());
  readWhole('upper');
  readWhole('codes');
  readWhole('level0');
  load.checkLevel0Until(load.config.slotCount * load.recordBytes);
  load.level0Verdict();
  return load.finish(small, ids);
}

/** Loads a file whose source reads on the thread pool (see the module comment for the order). */
async function loadOverlapped<T>(file: QdbFile, source: QdbByteSource, receive: Receive<T>): Promise<T> {
  const load = new KernelLoad(file, receive);
  const reads: Promise<void>[] = [];
  const start = (kind: number, spans: Uint8Array[]) => {
    const started = file.readSpans(kind, spans);
    reads.push(...started);
    return started;
  };
  try {
    const [ids] = start(SectionKind.IDS, load.bytes('ids'));
    // The ids again, into JavaScript memory for the database's table: the thread pool takes that copy too.
    const idsCopy = new Uint8Array(load.spans.ids[0]!.bytes.length);
    const [idsCopied] = start(SectionKind.IDS, [idsCopy]);
    const upper = start(SectionKind.GRAPH_UPPER, load.bytes('upper'));
    const [codes] = start(SectionKind.CODES, load.bytes('codes'));
    const level0 = start(SectionKind.GRAPH_LEVEL0, load.bytes('level0'));
    // Handlers on every read now, so a failing one is never an unhandled rejection while this thread works.
    void Promise.allSettled(reads);
    const small = readSmallSections(file, load.config, source, true);
    await ids;
    load.verify('ids');
    await idsCopied;
    if (!Buffer.from(idsCopy.buffer).equals(load.spans.ids[0]!.bytes)) throw qdbError('IO_ERROR', ['the file changed while it was being opened; open it again']);
    const table = load.takeIds(small, idsCopy);
    await Promise.all(upper);
    load.verify('upper');
    await codes;
    load.verify('codes');
    const sum = load.sum();
    const level0Start = load.spans.level0[0]!.ptr;
    for (const [i, piece] of level0.entries()) {
      await piece;
      const { ptr, bytes } = load.spans.level0[i]!;
      sum.add(ptr, bytes.length);
      load.checkLevel0Until(ptr + bytes.length - level0Start);
    }
    file.verifyInPlace(SectionKind.GRAPH_LEVEL0, load.bytes('level0'), () => sum.digest());
    load.level0Verdict();
    return load.finish(small, table);
  } finally {
    // A read still in flight writes into this memory and uses the file: let every one settle first.
    await Promise.allSettled(reads);
  }
}

/**
 * Opens and loads `path`. Sections are read with positional reads on the thread pool, or through
 * a memory mapping when `mmap` is set and the addon is installed (dropped once loaded). Vector
 * rows are always read with positional reads, one row per re-ranked candidate, so they never
 * become resident: mapped rows measured far worse (the kernel maps whole large page-cache folios
 * per fault; 160 re-ranked rows added ~260 MB to the process's RSS). `release` closes the file.
 */
export async function openImage<T>(path: string, mmap: boolean, receive: Receive<T>): Promise<{ result: T; release: () => void }> {
  const { openSync, fstatSync, readSync, closeSync, read } = await import('node:fs');
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw ioError('open', path, e);
  }
  const endedEarly = (offset: number) => qdbError('IO_ERROR', [`${JSON.stringify(path)} ended early while reading it; the file changed while open`], { path, offset });
  const readInto = (offset: number, target: Uint8Array) => {
    for (let done = 0; done < target.length;) {
      const got = readSync(fd, target, done, target.length - done, offset + done);
      if (got === 0) throw endedEarly(offset);
      done += got;
    }
  };
  const readIntoAsync = async (offset: number, target: Uint8Array) => {
    for (let done = 0; done < target.length;) {
      const got = await new Promise<number>((resolve, reject) => {
        read(fd, target, done, target.length - done, offset + done, (e, n) => (e ? reject(ioError('read', path, e)) : resolve(n)));
      });
      if (got === 0) throw endedEarly(offset);
      done += got;
    }
  };
  const rows: QdbByteSource = {
    byteLength: fstatSync(fd).size,
    read(offset, length) {
      const out = new Uint8Array(length);
      readInto(offset, out);
      return out;
    },
    readInto,
    readIntoAsync,
  };
  // A file the kernel will not map (address space or a per-mapping limit) is read with positional reads instead.
  const mapped = mmap && (await isMmapAvailable()) ? await mapFile(path).catch(() => undefined) : undefined;
  try {
    const result = mapped ? loadAll(decodeQdb(mapped.bytes), rows, false, receive) : await loadOverlapped(decodeQdb(rows), rows, receive);
    return { result, release: () => closeSync(fd) };
  } catch (e) {
    closeSync(fd);
    throw e;
  } finally {
    mapped?.close();
  }
}
