/**
 * @module cli/compress
 * `quantumdb compress <in.jsonl> <out.bin> [--quantize]`: JSONL → Vectro+ STREAM1 (or QSTREAM1),
 * byte for byte what `writeStream1(readJsonl(in))` / `writeQStream1(() => readJsonl(in))` write.
 *
 * The input is read in 1 MiB blocks of whole lines that worker threads turn into STREAM1 records
 * (`jsonl-fast.ts`); the main thread writes them in input order. QSTREAM1 needs the min/max of every
 * dimension before the first record can be written, so pass 1 spills the STREAM1 records to a temp
 * file beside the output while merging per-block tables, and pass 2 quantizes the spilled blocks
 * on the workers. Memory stays bounded by the blocks in flight (2 per worker).
 *
 * If a block holds anything the fast path leaves to the reference reader and that reader rejects
 * (a malformed line, ragged vectors with --quantize, an id with a lone surrogate), the whole file
 * is redone with the reference functions, which report the exact error, offset and line.
 * Other inputs (fvecs, npy, Vectro+ files) go through `readVectors` + the writers directly.
 */
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { EXIT, fmtBytes, fmtInt, fmtSeconds, intOption, type Command, type CommandContext } from './command.js';
import { createRunner, type ChunkRunner } from './compress-worker.js';
import { NeedsReferencePath, type EncodedChunk } from './jsonl-fast.js';
import { qdbError, readJsonl, readVectors, writeFileAtomic, writeQStream1, writeStream1, type ChunkSink } from './lib.js';

const BLOCK_BYTES = 1 << 20;
const encoder = new TextEncoder();
// The Vectro+ headers (docs/format-stream.md); the tests compare whole files with writeStream1/writeQStream1.
const STREAM1_MAGIC = encoder.encode('VECTRO+STREAM1\n');
const QSTREAM1_MAGIC = encoder.encode('VECTRO+QSTREAM1\n');

/** Options of {@link compressFile}. */
export interface CompressOptions {
  quantize: boolean;
  /** Worker threads (0 = parse on the calling thread). */
  workers: number;
  /** The CLI bundle to start workers from. */
  workerScript?: URL;
  /** Progress: input bytes read so far, total bytes, records so far. */
  onProgress?: (bytesDone: number, bytesTotal: number, records: number) => void;
  /** Progress of the second (quantizing) pass of QSTREAM1: records written, records in all. */
  onQuantizeProgress?: (done: number, total: number) => void;
}

/** What {@link compressFile} did. */
export interface CompressResult {
  count: number;
  /** Length of the first vector (-1 when there is none). */
  dim: number;
  format: 'STREAM1' | 'QSTREAM1';
  /** `parallel` for the worker pipeline, `reference` for the readVectors/writer path. */
  path: 'parallel' | 'reference';
  threads: number;
  bytesIn: number;
  bytesOut: number;
}

function ioError(action: string, path: string, cause: unknown) {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return qdbError('IO_ERROR', [`could not ${action} ${path} (${reason}); check that the path exists and is accessible, and that the disk has space`], { path }, cause);
}

/** Whole-line blocks of a file; each block owns its ArrayBuffer so it can be transferred. */
async function* lineBlocks(handle: FileHandle, path: string, onRead: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let carry = new Uint8Array(0);
  let position = 0;
  for (;;) {
    const block = new Uint8Array(carry.length + BLOCK_BYTES);
    block.set(carry);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(block, carry.length, BLOCK_BYTES, position));
    } catch (e) {
      throw ioError('read', path, e);
    }
    position += bytesRead;
    onRead(position);
    const filled = carry.length + bytesRead;
    if (bytesRead === 0) {
      if (filled > 0) yield block.subarray(0, filled);
      return;
    }
    const lastNewline = block.lastIndexOf(0x0a, filled - 1);
    if (lastNewline < 0) {
      carry = block.subarray(0, filled);
      continue;
    }
    carry = block.slice(lastNewline + 1, filled);
    yield block.subarray(0, lastNewline + 1);
  }
}

/** Runs tasks with at most `limit` in flight and hands results to `consume` in submission order. */
async function ordered<T, R>(source: AsyncIterable<T>, run: (item: T) => Promise<R>, limit: number, consume: (result: R) => Promise<void>): Promise<void> {
  const pending: Promise<R>[] = [];
  try {
    for await (const item of source) {
      const p = run(item);
      p.catch(() => undefined);
      pending.push(p);
      while (pending.length >= limit) await consume(await pending.shift()!);
    }
    while (pending.length > 0) await consume(await pending.shift()!);
  } finally {
    for (const p of pending) p.catch(() => undefined);
  }
}

function qstreamHeader(mins: Float32Array, maxs: Float32Array): Uint8Array {
  const n = mins.length;
  const out = new Uint8Array(QSTREAM1_MAGIC.length + 20 + 8 * n);
  const view = new DataView(out.buffer);
  out.set(QSTREAM1_MAGIC);
  let at = QSTREAM1_MAGIC.length;
  for (const v of [n, n, 8 + 8 * n, n, 0]) { view.setUint32(at, v, true); at += 4; }
  for (let i = 0; i < n; i++) {
    view.setFloat32(at, mins[i]!, true);
    view.setFloat32(at + 4, maxs[i]!, true);
    at += 8;
  }
  return out;
}

/** Merges a block's tables into the file's, in file order, with the strict comparisons of the reference. */
function mergeTables(mins: Float32Array, maxs: Float32Array, chunk: EncodedChunk): void {
  const cm = chunk.mins!;
  const cM = chunk.maxs!;
  for (let i = 0; i < mins.length; i++) {
    if (cm[i]! < mins[i]!) mins[i] = cm[i]!;
    if (cM[i]! > maxs[i]!) maxs[i] = cM[i]!;
  }
}

async function compressStream1(input: FileHandle, options: CompressOptions & { inputPath: string; output: string; size: number }, runner: ChunkRunner) {
  let count = 0;
  let dim = -1;
  let bytesRead = 0;
  await writeFileAtomic(options.output, async (sink) => {
    await sink.write(STREAM1_MAGIC);
    await ordered(lineBlocks(input, options.inputPath, (b) => { bytesRead = b; }), (bytes) => runner.run({ kind: 'parse', bytes, tables: false }), Math.max(2, 2 * runner.threads), async (chunk) => {
      await sink.write(chunk.records);
      count += chunk.count;
      if (dim < 0) dim = chunk.firstDim;
      options.onProgress?.(bytesRead, options.size, count);
    });
  });
  return { count, dim };
}

async function compressQStream1(input: FileHandle, options: CompressOptions & { inputPath: string; output: string; size: number }, runner: ChunkRunner) {
  const spillPath = join(dirname(options.output), `.${basename(options.output)}.${process.pid}.${Date.now().toString(36)}.spill`);
  let spill: FileHandle;
  try {
    spill = await open(spillPath, 'wx+');
  } catch (e) {
    throw ioError('create', spillPath, e);
  }
  try {
    const segments: number[] = [];
    const counts: number[] = [];
    let count = 0;
    let dim = -1;
    let mins = new Float32Array(0);
    let maxs = new Float32Array(0);
    let spilled = 0;
    let bytesRead = 0;
    const limit = Math.max(2, 2 * runner.threads);
    await ordered(lineBlocks(input, options.inputPath, (b) => { bytesRead = b; }), (bytes) => runner.run({ kind: 'parse', bytes, tables: true }), limit, async (chunk) => {
      if (chunk.count === 0) return;
      if (chunk.ragged || (dim >= 0 && chunk.firstDim !== dim)) throw new NeedsReferencePath('vectors of different lengths');
      if (dim < 0) [dim, mins, maxs] = [chunk.firstDim, chunk.mins!.slice(), chunk.maxs!.slice()];
      else mergeTables(mins, maxs, chunk);
      try {
        for (let done = 0; done < chunk.records.length;) {
          done += (await spill.write(chunk.records, done, chunk.records.length - done, spilled + done)).bytesWritten;
        }
      } catch (e) {
        throw ioError('write', spillPath, e);
      }
      spilled += chunk.records.length;
      segments.push(chunk.records.length);
      counts.push(chunk.count);
      count += chunk.count;
      options.onProgress?.(bytesRead, options.size, count);
    });
    async function* spilledBlocks(): AsyncGenerator<Uint8Array> {
      let at = 0;
      for (const length of segments) {
        const block = new Uint8Array(length);
        try {
          for (let done = 0; done < length;) {
            const { bytesRead } = await spill.read(block, done, length - done, at + done);
            if (bytesRead === 0) throw new Error('the temp file is shorter than what was written to it');
            done += bytesRead;
          }
        } catch (e) {
          throw ioError('read', spillPath, e);
        }
        at += length;
        yield block;
      }
    }
    await writeFileAtomic(options.output, async (sink: ChunkSink) => {
      await sink.write(qstreamHeader(mins, maxs));
      let written = 0;
      let segment = 0;
      await ordered(spilledBlocks(), (records) => runner.run({ kind: 'quantize', records, mins, maxs }), limit, async (bytes) => {
        await sink.write(bytes);
        written += counts[segment++]!;
        options.onQuantizeProgress?.(written, count);
      });
    });
    return { count, dim };
  } finally {
    await spill.close().catch(() => undefined);
    await rm(spillPath, { force: true });
  }
}

/** Input that the parallel JSONL path does not handle: by magic or by extension. */
async function isJsonl(handle: FileHandle, path: string): Promise<boolean> {
  const head = new Uint8Array(8);
  let bytesRead: number;
  try {
    ({ bytesRead } = await handle.read(head, 0, 8, 0));
  } catch (e) {
    throw ioError('read', path, e);
  }
  const magic = new TextDecoder('latin1').decode(head.subarray(0, bytesRead));
  if (magic.startsWith('\u0093NUMPY') || magic.startsWith('VECTRO+')) return false;
  return !/\.(fvecs|npy|ivecs)$/i.test(path);
}

/**
 * Converts a JSONL file (or any file `readVectors` reads) to STREAM1, or QSTREAM1 with `quantize`.
 *
 * @param inputPath - JSONL `{"id", "vector"}` lines (other vector files are accepted too).
 * @param output - Destination; replaced atomically.
 * @param options - `quantize`, `workers`, `workerScript`, `onProgress`.
 * @returns Counts, sizes and which path ran.
 * @throws QuantumDBError `CORRUPT_FILE` (offset and line of the first bad line), `INVALID_ARGUMENT`
 *   (ragged vectors with `quantize`, an id that is not valid Unicode), `IO_ERROR`.
 * @example
 * ```ts
 * const { count } = await compressFile('in.jsonl', 'out.bin', { quantize: false, workers: 2 });
 * ```
 */
export async function compressFile(inputPath: string, output: string, options: CompressOptions): Promise<CompressResult> {
  const format = options.quantize ? 'QSTREAM1' : 'STREAM1';
  let handle: FileHandle;
  try {
    handle = await open(inputPath, 'r');
  } catch (e) {
    throw ioError('open', inputPath, e);
  }
  let size = 0;
  let result: { count: number; dim: number } | undefined;
  let threads = 0;
  let jsonl = true;
  try {
    size = (await handle.stat()).size;
    jsonl = await isJsonl(handle, inputPath);
    if (jsonl) {
      const runner = createRunner(options.workers, options.workerScript);
      threads = runner.threads;
      try {
        const run = options.quantize ? compressQStream1 : compressStream1;
        result = await run(handle, { ...options, inputPath, output, size }, runner);
      } catch (e) {
        if (!(e instanceof NeedsReferencePath)) throw e;
      } finally {
        await runner.close();
      }
    }
  } finally {
    await handle.close();
  }
  const path = result === undefined ? 'reference' : 'parallel';
  if (result === undefined) result = await compressReference(inputPath, output, options, size, jsonl);
  const bytesOut = (await stat(output)).size;
  return { ...result, format, path, threads: path === 'parallel' ? threads : 0, bytesIn: size, bytesOut };
}

/** The reference path: the library's readers and writers, one record at a time. */
async function compressReference(inputPath: string, output: string, options: CompressOptions, size: number, jsonl: boolean): Promise<{ count: number; dim: number }> {
  let dim = -1;
  let seen = 0;
  const records = async function* () {
    for await (const r of jsonl ? readJsonl(inputPath) : readVectors(inputPath)) {
      if (dim < 0) dim = r.vector.length;
      if (++seen % 1024 === 0) options.onProgress?.(NaN, size, seen);
      yield r;
    }
  };
  const count = options.quantize ? await writeQStream1(output, records) : await writeStream1(output, records());
  return { count, dim };
}

/** The `compress` verb. */
export const compressCommand: Command = {
  name: 'compress',
  summary: 'JSONL embeddings → Vectro+ STREAM1 (or QSTREAM1 with --quantize)',
  positionals: ['in.jsonl', 'out.bin'],
  options: {
    quantize: { type: 'boolean' },
    workers: { type: 'string' },
  },
  help: `Usage: quantumdb compress <in.jsonl> <out.bin> [--quantize] [--workers N]

Converts JSONL embeddings, one {"id": "...", "vector": [...]} object per line, to a
Vectro+ STREAM1 file (f32 vectors), or QSTREAM1 with --quantize (one byte per value,
per-dimension min/max tables). Streams the input and parses it on worker threads;
the output is byte for byte what Vectro+ writes. .fvecs, .npy and Vectro+ files are
accepted as input too.

Options:
  --quantize          write QSTREAM1 instead of STREAM1
  --workers <n>       parser threads (default: one per core; 0 = main thread only)
`,
  async run(ctx: CommandContext) {
    const [input, output] = ctx.positionals as [string, string];
    const workers = intOption(ctx.values, 'workers', Math.min(availableParallelism(), 8), 0, 64);
    const quantize = ctx.values.quantize === true;
    let bar = ctx.progress(quantize ? 'reading' : 'compressing', 'entries');
    let quantizing = false;
    const t0 = ctx.now();
    const cpu0 = process.cpuUsage();
    let result: CompressResult;
    try {
      result = await compressFile(input, output, {
        quantize, workers, workerScript: ctx.io.workerScript,
        onProgress: (bytesDone, bytesTotal, records) => {
          const estimate = bytesDone > 0 ? Math.max(records, Math.round((records * bytesTotal) / bytesDone)) : undefined;
          bar.update(records, estimate);
        },
        onQuantizeProgress: (done, total) => {
          if (!quantizing) {
            bar.finish();
            bar = ctx.progress('quantizing', 'entries');
            quantizing = true;
          }
          bar.update(done, total);
        },
      });
    } finally {
      bar.finish();
    }
    const seconds = (ctx.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const rate = result.count / Math.max(seconds, 1e-9);
    // cpuSeconds: user + system time of every thread of the process, which other load does not inflate much.
    ctx.printJson({ ...result, input, output, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, embeddingsPerSecond: rate });
    ctx.print(`wrote ${fmtInt(result.count)} ${quantize ? 'quantized ' : ''}entries to ${output} (${fmtSeconds(seconds)}, ${fmtInt(rate)} embeddings/s, ${fmtBytes(result.bytesOut)})`);
    return EXIT.OK;
  },
};
