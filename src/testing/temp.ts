/**
 * @module testing/temp
 * Temporary directories and files for tests that save and open `.qdb` files. Each directory is
 * removed by `cleanup()`, by the `with…` helpers when their callback settles (pass or fail), and,
 * as a last resort, when the process exits — so a crashed or interrupted test leaves nothing behind.
 *
 * Node modules are imported on first use, so the rest of `quantumdb/testing` (generators, ground
 * truth) also loads in a browser test runner.
 */
import { QuantumDBError } from '../index.js';

/** A temporary directory that removes itself. */
export interface TempDir {
  /** Absolute path of the directory. */
  readonly path: string;
  /**
   * The path of a file inside the directory (the file is not created).
   * @param name a plain file name such as `"db.qdb"`; no separators
   * @returns the absolute path
   * @throws QuantumDBError `INVALID_ARGUMENT` for an empty name or one with a path separator.
   * @example
   * ```ts
   * await db.save(tmp.file('db.qdb'));
   * ```
   */
  file(name: string): string;
  /**
   * Removes the directory and everything in it; safe to call more than once.
   * @throws Never: a directory already gone is fine.
   * @example
   * ```ts
   * afterAll(() => tmp.cleanup());
   * ```
   */
  cleanup(): Promise<void>;
}

/** Directories not yet cleaned up, removed synchronously at process exit. */
const pending = new Set<string>();
let exitHookInstalled = false;

/**
 * Creates a fresh, empty directory under the operating system's temp directory.
 * @param prefix start of the directory name; default `"quantumdb-test-"`
 * @returns the directory; call `cleanup()` when done (it is also removed at process exit)
 * @throws QuantumDBError `IO_ERROR` when the directory cannot be created; `INVALID_ARGUMENT` outside Node.
 * @example
 * ```ts
 * const tmp = await createTempDir();
 * afterAll(() => tmp.cleanup());
 * await db.save(tmp.file('db.qdb'));
 * ```
 */
export async function createTempDir(prefix = 'quantumdb-test-'): Promise<TempDir> {
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new QuantumDBError('INVALID_ARGUMENT', 'temporary files need Node.js; in a browser, keep databases in memory with toBytes()/fromBytes()');
  }
  const [{ mkdtemp, rm }, fs, { tmpdir }, path] = await Promise.all([
    import('node:fs/promises'), import('node:fs'), import('node:os'), import('node:path'),
  ]);
  let dir: string;
  try {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
  } catch (cause) {
    throw new QuantumDBError('IO_ERROR', `could not create a temporary directory: ${String(cause)}`, undefined, cause);
  }
  pending.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const d of pending) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  return {
    path: dir,
    file(name: string): string {
      if (typeof name !== 'string' || name === '' || name !== path.basename(name) || name === '..') {
        throw new QuantumDBError('INVALID_ARGUMENT', `file name must be a plain name such as "db.qdb", got ${JSON.stringify(name)}`);
      }
      return path.join(dir, name);
    },
    async cleanup(): Promise<void> {
      if (!pending.delete(dir)) return;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `fn` with a fresh temporary directory and removes it afterwards, whether `fn` resolves or throws.
 * @param fn receives the directory; its result is returned
 * @param prefix start of the directory name
 * @returns what `fn` returns
 * @throws QuantumDBError `IO_ERROR` when the directory cannot be created; whatever `fn` throws is passed through.
 * @example
 * ```ts
 * await withTempDir(async (tmp) => {
 *   await store.save(tmp.path);
 * });
 * ```
 */
export async function withTempDir<T>(fn: (dir: TempDir) => T | Promise<T>, prefix?: string): Promise<T> {
  const dir = await createTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    await dir.cleanup();
  }
}

/**
 * Runs `fn` with the path of a not-yet-existing file in a fresh temporary directory, then removes
 * the directory (and the file, and anything written beside it, such as an atomic-save temp file).
 * @param fn receives the file path; its result is returned
 * @param name the file's name; default `"test.qdb"`
 * @returns what `fn` returns
 * @throws QuantumDBError `IO_ERROR` when the directory cannot be created; `INVALID_ARGUMENT` for a name with separators; whatever `fn` throws is passed through.
 * @example
 * ```ts
 * await withTempFile(async (file) => {
 *   await db.save(file);
 *   const copy = await QuantumDB.open(file);
 * });
 * ```
 */
export async function withTempFile<T>(fn: (path: string) => T | Promise<T>, name = 'test.qdb'): Promise<T> {
  return withTempDir((dir) => fn(dir.file(name)));
}
