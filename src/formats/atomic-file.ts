/**
 * @module formats/atomic-file
 * File I/O shared by the format codecs: crash-safe whole-file writes and bounded-memory chunked reads.
 *
 * Writes go to a sibling temp file that is flushed, fsynced and renamed over the target, and then the
 * directory is fsynced, so a reader sees either the old file or the complete new one, never a torn
 * one (the usual POSIX recipe; see also the `rename(2)` atomicity guarantee). Reads go through a
 * {@link ByteSource}, which keeps one reusable buffer and checks every requested length against the
 * bytes left in the file before it allocates or reads anything.
 *
 * Node built-ins are imported lazily, so the in-memory path (`Uint8Array` input) also runs in browsers.
 */

import type { FileHandle } from 'node:fs/promises';
import { qdbError, type QuantumDBError } from '../errors.js';

/** Read-buffer size when the caller does not choose one: large enough to amortize syscalls, small enough to stay constant. */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;

/** Writes are gathered into a buffer of this size, because records are often a few dozen bytes each. */
const WRITE_BUFFER_BYTES = 64 * 1024;

const LINE_FEED = 0x0a;

/** With read-ahead, the room in front of each buffer's data for the unread tail of the buffer before. */
const CARRY_BYTES = 64 * 1024;

const loadFs = () => import('node:fs/promises');

/** Builds the `IO_ERROR` for a failed file-system call on `path`. @internal */
export function ioError(action: string, path: string, cause: unknown): QuantumDBError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return qdbError('IO_ERROR', [`could not ${action} ${path} (${reason}); check that the path exists and is accessible, and that the disk has space`], { path }, cause);
}

/** Builds the `CORRUPT_FILE` for bad bytes at `offset`; `problem` says what was wrong there. @internal */
export function corruptFile(offset: number, problem: string, cause?: unknown): QuantumDBError {
  return qdbError('CORRUPT_FILE', [`${problem} (at byte ${offset}); the file is damaged or truncated, so re-create it from the source data`], { offset }, cause);
}

/** Builds the `CORRUPT_FILE` for a field of `n` bytes at `offset` that only `remaining` bytes are left for. @internal */
export function shortRead(offset: number, what: string, n: number, remaining: number): QuantumDBError {
  return corruptFile(offset, `${what} needs ${n} bytes but only ${remaining} remain`);
}

/** Runs one file-system call and turns its failure into `IO_ERROR`. */
async function fsCall<T>(action: string, path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw ioError(action, path, e);
  }
}

/** Where {@link writeFileAtomic} sends bytes. */
export interface ChunkSink {
  /** Appends `bytes`; the caller may reuse the array as soon as the promise resolves. */
  write(bytes: Uint8Array): Promise<void>;
}

/** A {@link ChunkSink} that gathers small writes so the file sees few, large `write` calls. */
class BufferedSink implements ChunkSink {
  private readonly buffer = new Uint8Array(WRITE_BUFFER_BYTES);
  private used = 0;

  constructor(private readonly handle: FileHandle, private readonly path: string) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (this.used + bytes.length > this.buffer.length) await this.flush();
    if (bytes.length >= this.buffer.length) return this.writeAll(bytes);
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  async flush(): Promise<void> {
    await this.writeAll(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  private async writeAll(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length;) {
      const { bytesWritten } = await fsCall('write', this.path, () => this.handle.write(bytes, done, bytes.length - done));
      done += bytesWritten;
    }
  }
}

/**
 * Writes a file atomically: `produce` streams the content into a sibling temp file, which is then
 * fsynced and renamed over `path`; last, the directory is fsynced so the rename survives a crash.
 * If anything fails the temp file is removed and `path` is left as it was.
 *
 * @param path - Destination file.
 * @param produce - Writes the content through the sink, in order.
 * @returns Resolves once the new file is durable under `path`.
 * @throws QuantumDBError `IO_ERROR` when the file system refuses a step (`details.path` names the file).
 * @throws Whatever `produce` throws, unchanged (for example `INVALID_ARGUMENT` from input validation).
 * @example
 * ```ts
 * await writeFileAtomic('out.bin', async (sink) => { await sink.write(new Uint8Array([1, 2, 3])); });
 * ```
 */
export async function writeFileAtomic(path: string, produce: (sink: ChunkSink) => Promise<void>): Promise<void> {
  const fs = await loadFs();
  const { dirname, basename, join } = await import('node:path');
  const dir = dirname(path);
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('');
  const tempPath = join(dir, `.${basename(path)}.${process.pid}.${suffix}.tmp`);
  const handle = await fsCall('create', tempPath, () => fs.open(tempPath, 'wx'));
  let closed = false;
  try {
    const sink = new BufferedSink(handle, tempPath);
    await produce(sink);
    await sink.flush();
    await fsCall('fsync', tempPath, () => handle.sync());
    closed = true;
    await fsCall('close', tempPath, () => handle.close());
    await fsCall('rename into place', path, () => fs.rename(tempPath, path));
  } catch (e) {
    // Cleanup is best effort: the error that stopped the write is the one the caller needs to see.
    if (!closed) await handle.close().catch(() => undefined);
    await fs.unlink(tempPath).catch(() => undefined);
    throw e;
  }
  // Windows cannot open a directory for fsync; NTFS journals the rename itself.
  if (process.platform === 'win32') return;
  const dirHandle = await fsCall('open directory', dir, () => fs.open(dir, 'r'));
  try {
    await fsCall('fsync directory', dir, () => dirHandle.sync());
  } finally {
    await dirHandle.close();
  }
}

/** One line from {@link ByteSource.readLine}: its bytes (without the `\n`) and the offset of its first byte. */
export interface SourceLine {
  bytes: Uint8Array;
  offset: number;
}

/**
 * Sequential reader over a file or an in-memory byte array with one reusable buffer.
 * Views it returns stay valid only until the next call; copy what you keep.
 * @internal
 */
export class ByteSource {
  private constructor(
    private readonly handle: FileHandle | null,
    private readonly path: string,
    /** Total size in bytes, fixed when opened. */
    readonly size: number,
    private buffer: Uint8Array,
    private start: number,
    private end: number,
    /** Absolute file offset of `buffer[end]`. */
    private filePos: number,
    private readonly chunkBytes: number,
    private readonly readAhead: boolean,
  ) {}

  /** Read-ahead: the next chunk being read into `spare` (at {@link CARRY_BYTES}) from `filePos`, or null. */
  private pending: Promise<number> | null = null;
  private spare: Uint8Array | null = null;

  /**
   * Opens a path (read in chunks of `chunkBytes`) or wraps a byte array (no copy).
   * @param readAhead - Read the next chunk of a file into a second buffer while the caller works on
   *   this one (bulk scans; twice the memory).
   * @throws QuantumDBError `IO_ERROR` when the file cannot be opened; `INVALID_ARGUMENT` for a bad `chunkBytes`.
   */
  static async open(input: string | Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES, readAhead = false): Promise<ByteSource> {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) {
      throw qdbError('INVALID_ARGUMENT', [`chunkBytes must be a positive integer, got ${chunkBytes}`]);
    }
    if (input instanceof Uint8Array) {
      // A plain view, because a Node Buffer's slice() shares memory where callers here rely on a copy.
      const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
      return new ByteSource(null, '<memory>', bytes.length, bytes, 0, bytes.length, bytes.length, chunkBytes, false);
    }
    if (typeof input !== 'string') throw qdbError('INVALID_ARGUMENT', ['the input must be a file path or a Uint8Array']);
    const fs = await loadFs();
    const handle = await fsCall('open', input, () => fs.open(input, 'r'));
    try {
      const { size } = await fsCall('stat', input, () => handle.stat());
      const bufferBytes = Math.min(chunkBytes, Math.max(size, 1)) + (readAhead ? CARRY_BYTES : 0);
      return new ByteSource(handle, input, size, new Uint8Array(bufferBytes), 0, 0, 0, chunkBytes, readAhead);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /** Absolute offset of the next unread byte. */
  get position(): number {
    return this.filePos - (this.end - this.start);
  }

  /** Bytes left after {@link position}. */
  get remaining(): number {
    return this.size - this.position;
  }

  /** Returns up to `n` upcoming bytes without consuming them (fewer only at the end of the file). */
  async peek(n: number): Promise<Uint8Array> {
    await this.fill(n);
    return this.buffer.subarray(this.start, this.start + Math.min(n, this.end - this.start));
  }

  /** The bytes already read ahead of {@link position}, without any I/O (a view, valid until the next call). */
  buffered(): Uint8Array {
    return this.buffer.subarray(this.start, this.end);
  }

  /**
   * Consumes exactly `n` bytes.
   * @param what - Names the field for the error message.
   * @param reportAt - Offset the error names, e.g. that of the length field that asked for `n`.
   * @throws QuantumDBError `CORRUPT_FILE` (offset = `reportAt`) when fewer than `n` bytes remain.
   */
  async take(n: number, what: string, reportAt = this.position): Promise<Uint8Array> {
    if (n > this.remaining) throw shortRead(reportAt, what, n, this.remaining);
    await this.fill(n);
    const view = this.buffer.subarray(this.start, this.start + n);
    this.start += n;
    return view;
  }

  /** Consumes the next `\n`-terminated line (the last line may lack the `\n`); `null` at the end. */
  async readLine(): Promise<SourceLine | null> {
    for (let scanned = 0; ;) {
      const newline = this.buffer.subarray(this.start + scanned, this.end).indexOf(LINE_FEED);
      const buffered = this.end - this.start;
      if (newline >= 0 || buffered === this.remaining) {
        if (buffered === 0) return null;
        const length = newline >= 0 ? scanned + newline : buffered;
        const line = { bytes: this.buffer.subarray(this.start, this.start + length), offset: this.position };
        this.start += Math.min(length + 1, buffered);
        return line;
      }
      scanned = buffered;
      await this.fill(buffered + this.chunkBytes);
    }
  }

  /** Releases the file handle; safe to call twice. */
  async close(): Promise<void> {
    // Its error, if any, no longer matters; the read must just end before the handle does.
    await this.pending?.catch(() => 0);
    this.pending = null;
    await this.handle?.close();
  }

  /** Makes at least `min(n, remaining)` bytes available in the buffer, growing it only when a single request needs it. */
  private async fill(n: number): Promise<void> {
    const want = Math.min(n, this.remaining);
    if (this.end - this.start >= want || this.handle === null) return;
    if (this.pending !== null) {
      const read = this.pending;
      this.pending = null;
      this.swapInReadAhead(await read);
    }
    if (this.end - this.start < want) await this.readAtLeast(want, this.handle);
    if (this.readAhead) this.startReadAhead(this.handle);
  }

  /**
   * Makes the read-ahead buffer current, with the unread tail copied in front of its `got` new
   * bytes. A tail longer than the room there (a record larger than {@link CARRY_BYTES}) drops the
   * read-ahead instead, and the plain path reads those bytes again.
   */
  private swapInReadAhead(got: number): void {
    const tail = this.end - this.start;
    if (got === 0 || tail > CARRY_BYTES) return;
    const next = this.spare!;
    next.set(this.buffer.subarray(this.start, this.end), CARRY_BYTES - tail);
    this.spare = this.buffer;
    this.buffer = next;
    this.start = CARRY_BYTES - tail;
    this.end = CARRY_BYTES + got;
    this.filePos += got;
  }

  /** Starts reading the chunk after `filePos` into the spare buffer. */
  private startReadAhead(handle: FileHandle): void {
    this.spare ??= new Uint8Array(CARRY_BYTES + this.chunkBytes);
    const spare = this.spare;
    const length = Math.min(this.chunkBytes, spare.length - CARRY_BYTES, this.size - this.filePos);
    if (length <= 0) return;
    const at = this.filePos;
    this.pending = fsCall('read', this.path, () => handle.read(spare, CARRY_BYTES, length, at)).then((r) => r.bytesRead);
    // Handled when awaited in fill() or close(); this keeps an early failure from being reported as unhandled.
    this.pending.catch(() => undefined);
  }

  /** The plain path: compacts (or grows) the buffer and reads until `want` bytes are buffered. */
  private async readAtLeast(want: number, handle: FileHandle): Promise<void> {
    if (this.buffer.length - this.start < want) {
      const target = want > this.buffer.length ? new Uint8Array(Math.max(want, this.chunkBytes)) : this.buffer;
      target.set(this.buffer.subarray(this.start, this.end));
      this.end -= this.start;
      this.start = 0;
      this.buffer = target;
    }
    while (this.end - this.start < want) {
      const length = Math.min(this.buffer.length - this.end, this.size - this.filePos);
      const { bytesRead } = await fsCall('read', this.path, () => handle.read(this.buffer, this.end, length, this.filePos));
      if (bytesRead === 0) throw corruptFile(this.filePos, 'the file became shorter while it was being read');
      this.end += bytesRead;
      this.filePos += bytesRead;
    }
  }
}

/**
 * Opens `input`, runs `body` on it and always closes it, so generators release the file even when
 * the consumer stops early.
 * @internal
 */
export async function* withSource<T>(input: string | Uint8Array, chunkBytes: number | undefined, body: (src: ByteSource) => AsyncGenerator<T>): AsyncGenerator<T> {
  const src = await ByteSource.open(input, chunkBytes);
  try {
    yield* body(src);
  } finally {
    await src.close();
  }
}
