/**
 * @module cli/db-files
 * File helpers the verbs share: telling a `.qdb` index from a vector file, opening an index,
 * reading query files, building a database from a vector file, and printing hits.
 */
import { open } from 'node:fs/promises';
import type { CommandContext } from './command.js';
import { QuantumDB, buildFromStream, qdbError, readVectors, type FromStreamOptions, type QuantumDBOptions, type SearchHit } from './lib.js';

// "QDB\0\r\n\x1a\n", the magic of docs/format-qdb.md.
const QDB_MAGIC = [0x51, 0x44, 0x42, 0x00, 0x0d, 0x0a, 0x1a, 0x0a];

/** The first `n` bytes of a file (fewer when it is shorter). */
export async function readHead(path: string, n: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw qdbError('IO_ERROR', [`could not open ${path} (${(e as Error).message}); check that the path exists and is accessible`], { path }, e);
  }
  try {
    const head = new Uint8Array(n);
    const { bytesRead } = await handle.read(head, 0, n, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** True when the file starts with the `.qdb` magic. */
export async function isQdbFile(path: string): Promise<boolean> {
  const head = await readHead(path, QDB_MAGIC.length);
  return head.length === QDB_MAGIC.length && QDB_MAGIC.every((b, i) => head[i] === b);
}

/**
 * Opens a saved index, its re-rank vectors left in the file mapping or loaded into memory.
 * @throws QuantumDBError as `QuantumDB.open` does (`CORRUPT_FILE`, `UNSUPPORTED_VERSION`, `IO_ERROR`).
 */
export async function openIndex(path: string, readOnly: boolean, vectors: 'mapped' | 'memory' = 'mapped'): Promise<QuantumDB> {
  return QuantumDB.open(path, { readOnly, vectors });
}

/** Reads every vector of a query file (any format `readVectors` reads) into memory. */
export async function readQueries(path: string): Promise<{ id: string; vector: Float32Array }[]> {
  const out: { id: string; vector: Float32Array }[] = [];
  for await (const record of readVectors(path)) out.push(record);
  if (out.length === 0) throw qdbError('INVALID_ARGUMENT', [`${path} holds no query vectors`]);
  return out;
}

/**
 * Reads a vector file into a new database with a progress bar per phase (reading, then each phase of the build).
 * @param build - Build the index after reading.
 */
export async function loadDatabase(
  ctx: CommandContext, path: string, options: FromStreamOptions, build: boolean, create: (o: QuantumDBOptions) => QuantumDB = (o) => new QuantumDB(o),
): Promise<QuantumDB> {
  let phase = '';
  let bar = ctx.progress('reading', 'vectors');
  try {
    return await buildFromStream(path, {
      ...options,
      build,
      onProgress: (p) => {
        if (p.phase !== phase) {
          bar.finish();
          phase = p.phase;
          bar = ctx.progress(p.phase === 'read' ? 'reading' : p.phase, p.phase === 'read' ? 'vectors' : undefined);
        }
        bar.update(p.done, Number.isFinite(p.total) ? p.total : undefined);
      },
    }, create);
  } finally {
    bar.finish();
  }
}

/** Prints hits as Vectro+ does: `1. id -> 0.987654`. */
export function printHits(ctx: CommandContext, hits: readonly SearchHit[]): void {
  if (hits.length === 0) ctx.print('no results');
  hits.forEach((h, i) => ctx.print(`${i + 1}. ${h.id} -> ${h.score.toFixed(6)}`));
}
