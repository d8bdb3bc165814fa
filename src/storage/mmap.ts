/**
 * @module storage/mmap
 * Read-only file access for `.qdb` files. The only module that touches the optional native addon
 * `@riaskov/mmap-io`: when it loads, files are memory-mapped (`PROT_READ`, `MAP_SHARED`) so opening
 * a large index costs no copy and pages are read on demand; when it is missing or fails to load
 * (no prebuilt binary for the platform, no compiler), files are read with `fs.readFile`.
 *
 * Safety notes. The mapping is read-only: writing into a mapped `bytes` array crashes the process
 * (SIGSEGV), so callers copy before mutating. A mapped file must not be truncated or rewritten in
 * place while mapped (SIGBUS); QuantumDB's atomic save writes a new file and renames it over the
 * old one, which leaves existing mappings on the old inode intact. The addon has no explicit unmap:
 * the mapping is released when the last view of it is garbage-collected, so `close()` only drops
 * this handle's reference and can never leave a view pointing at unmapped memory.
 *
 * Size limits (Node 20): one `Uint8Array` holds at most 4 GiB, and `fs.readFile` at most 2 GiB, so
 * larger files need positional reads through a `QdbByteSource` instead.
 */
import type { FileHandle } from 'node:fs/promises';
import { qdbError } from '../errors.js';

/** A read-only view of a whole file. */
export interface MappedFile {
  /** The file's bytes; empty after `close()`. Never write into them when `mapped` is true. */
  readonly bytes: Uint8Array;
  /** True when `bytes` is a memory mapping, false when the file was read into memory. */
  readonly mapped: boolean;
  /** Drops this handle's reference to the bytes (idempotent). */
  close(): void;
}

/** Options for {@link mapFile}. */
export interface MapFileOptions {
  /** Read with `fs.readFile` even when the addon is available (tests, network file systems). */
  fallback?: boolean;
  /** Files at least this large get `madvise(MADV_RANDOM)`: HNSW reads jump around, so kernel read-ahead is waste. Default 8 MiB. */
  randomAccessBytes?: number;
}

/** The part of the addon's API this module uses (see its `mmap-io.d.ts`). */
interface MmapAddon {
  map(size: number, protection: number, flags: number, fd: number, offset?: number, advise?: number): Uint8Array;
  readonly PROT_READ: number;
  readonly MAP_SHARED: number;
  readonly MADV_NORMAL: number;
  readonly MADV_RANDOM: number;
}

const ADDON_NAME = '@riaskov/mmap-io';
const DEFAULT_RANDOM_ACCESS_BYTES = 8 * 1024 * 1024;
let addonPromise: Promise<MmapAddon | undefined> | undefined;

function loadAddon(): Promise<MmapAddon | undefined> {
  addonPromise ??= (async () => {
    try {
      // A variable specifier keeps bundlers from resolving the optional native package.
      const specifier = ADDON_NAME;
      const mod = (await import(specifier)) as { default?: MmapAddon } & Partial<MmapAddon>;
      const addon = (mod.default ?? mod) as MmapAddon;
      return typeof addon.map === 'function' ? addon : undefined;
    } catch {
      // Not installed, or its binary does not load on this platform: plain reads are the designed fallback.
      return undefined;
    }
  })();
  return addonPromise;
}

/**
 * Whether the mmap addon loads on this machine.
 *
 * @returns True when {@link mapFile} will memory-map files.
 * @example
 * ```ts
 * if (!(await isMmapAvailable())) console.warn('reading .qdb files into memory');
 * ```
 */
export async function isMmapAvailable(): Promise<boolean> {
  return (await loadAddon()) !== undefined;
}

function ioError(action: string, path: string, cause: unknown) {
  const errno = (cause as { code?: unknown } | null)?.code;
  return qdbError('IO_ERROR', [`could not ${action} ${JSON.stringify(path)}: ${(cause as Error)?.message ?? String(cause)}`], { path, errno }, cause);
}

function handle(bytes: Uint8Array, mapped: boolean): MappedFile {
  let current = bytes;
  return {
    get bytes() {
      return current;
    },
    mapped,
    close() {
      current = new Uint8Array(0);
    },
  };
}

/**
 * Opens a whole file read-only: memory-mapped when the addon is available, else read into memory.
 *
 * @param path - File path.
 * @param options - See {@link MapFileOptions}.
 * @returns The file's bytes and whether they are mapped.
 * @throws QuantumDBError `IO_ERROR` when the file cannot be opened, stat-ed, mapped or read
 *   (`details.errno` carries the system code, e.g. `ENOENT`).
 * @example
 * ```ts
 * const file = await mapFile('index.qdb');
 * try { decodeQdb(file.bytes); } finally { file.close(); }
 * ```
 */
export async function mapFile(path: string, options: MapFileOptions = {}): Promise<MappedFile> {
  const addon = options.fallback === true ? undefined : await loadAddon();
  if (addon === undefined) {
    try {
      const { readFile } = await import('node:fs/promises');
      const buf = await readFile(path);
      return handle(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), false);
    } catch (e) {
      throw ioError('read', path, e);
    }
  }
  let action = 'open';
  let fh: FileHandle | undefined;
  try {
    const { open } = await import('node:fs/promises');
    fh = await open(path, 'r');
    action = 'stat';
    const { size } = await fh.stat();
    // mmap(2) rejects a zero-length mapping.
    if (size === 0) return handle(new Uint8Array(0), false);
    action = 'memory-map';
    const advise = size >= (options.randomAccessBytes ?? DEFAULT_RANDOM_ACCESS_BYTES) ? addon.MADV_RANDOM : addon.MADV_NORMAL;
    const buf = addon.map(size, addon.PROT_READ, addon.MAP_SHARED, fh.fd, 0, advise);
    return handle(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), true);
  } catch (e) {
    throw ioError(action, path, e);
  } finally {
    // The mapping outlives the descriptor (POSIX mmap(2)), so close it right away.
    await fh?.close();
  }
}
