/**
 * @module cli/compress-worker
 * Runs the chunk tasks of `quantumdb compress` (JSONL block → STREAM1 records in `jsonl-fast.ts`,
 * STREAM1 records → QSTREAM1 records in {@link quantizeRecords}) on worker threads, or inline when
 * threads are unavailable.
 *
 * A worker runs a bundle of this module (`dist/compress-worker.js`, beside `dist/cli.js`), or, when
 * the build made none, the CLI bundle itself; either way this module's last lines see
 * `isMainThread === false` with {@link WORKER_FLAG} in `workerData` and serve tasks instead of
 * running the command line. From the TypeScript sources (tests) there is no bundle to run, so
 * {@link createRunner} falls back to {@link inlineRunner}.
 *
 * ```
 * main thread                         worker i (one per core)
 *   read 1 MiB blocks of whole lines ──► parse → STREAM1 records (+ min/max) ──┐
 *   ◄── results awaited in submission order (a FIFO of promises) ◄─────────────┘
 *   write in input order
 * ```
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
// Straight from the format modules, not through ./lib.js: the worker bundle then holds no database code.
import { qdbError } from '../errors.js';
import { quantizeValue } from '../formats/vectro-quant.js';
import { HOST_IS_LITTLE_ENDIAN, encodeJsonlChunk, NeedsReferencePath, type EncodedChunk } from './jsonl-fast.js';

/** Key in `workerData` that marks a compress worker. */
export const WORKER_FLAG = 'quantumdbCompressWorker';

/** A unit of work. `bytes`/`records` are transferred to the worker, not copied. */
export type ChunkTask =
  | { kind: 'parse'; bytes: Uint8Array; tables: boolean }
  | { kind: 'quantize'; records: Uint8Array; mins: Float32Array; maxs: Float32Array };

/** What each task kind returns. */
export type ChunkResult<T extends ChunkTask> = T extends { kind: 'parse' } ? EncodedChunk : Uint8Array;

/** Runs tasks somewhere; results come back in any order, the caller restores it. */
export interface ChunkRunner {
  /** Worker threads in use; 0 when tasks run on the calling thread. */
  readonly threads: number;
  run<T extends ChunkTask>(task: T): Promise<ChunkResult<T>>;
  close(): Promise<void>;
}

/**
 * Rewrites STREAM1 records as QSTREAM1 records (`u32 len | u64 n | id | u64 d | d × u8`) with the
 * file's tables, by Vectro+'s quantization rule (`quantizeValue`).
 * @param records concatenated STREAM1 records, each of `mins.length` values.
 * @returns the QSTREAM1 records.
 * @example
 * ```ts
 * const q = quantizeRecords(chunk.records, mins, maxs);
 * ```
 */
export function quantizeRecords(records: Uint8Array, mins: Float32Array, maxs: Float32Array): Uint8Array {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const dim = mins.length;
  let count = 0;
  for (let p = 0; p < records.length; p += 4 + view.getUint32(p, true)) count++;
  const out = new Uint8Array(records.length - count * 3 * dim);
  const outView = new DataView(out.buffer);
  // An aligned copy of each vector, so values are read as f32 rather than through the DataView.
  const scratch = new Float32Array(dim);
  const scratchBytes = new Uint8Array(scratch.buffer);
  let q = 0;
  for (let p = 0; p < records.length;) {
    const len = view.getUint32(p, true);
    const idLen = view.getUint32(p + 4, true) + view.getUint32(p + 8, true) * 2 ** 32;
    outView.setUint32(q, 16 + idLen + dim, true);
    out.set(records.subarray(p + 4, p + 20 + idLen), q + 4);
    const src = p + 20 + idLen;
    const dst = q + 20 + idLen;
    if (HOST_IS_LITTLE_ENDIAN) {
      scratchBytes.set(records.subarray(src, src + 4 * dim));
      for (let i = 0; i < dim; i++) out[dst + i] = quantizeValue(mins[i]!, maxs[i]!, scratch[i]!);
    } else {
      for (let i = 0; i < dim; i++) out[dst + i] = quantizeValue(mins[i]!, maxs[i]!, view.getFloat32(src + 4 * i, true));
    }
    p += 4 + len;
    q = dst + dim;
  }
  return out;
}

/** Runs one task on the current thread. */
export async function runChunkTask(task: ChunkTask): Promise<EncodedChunk | Uint8Array> {
  return task.kind === 'parse' ? encodeJsonlChunk(task.bytes, task.tables) : quantizeRecords(task.records, task.mins, task.maxs);
}

/** Runs every task on the calling thread (tests, or no bundle to start workers from). */
export function inlineRunner(): ChunkRunner {
  return {
    threads: 0,
    run: (task) => runChunkTask(task) as Promise<never>,
    close: async () => undefined,
  };
}

interface Pending {
  task: ChunkTask;
  resolve: (value: never) => void;
  reject: (error: unknown) => void;
}

interface WorkerReply {
  id: number;
  result?: EncodedChunk | Uint8Array;
  error?: { message: string; reference: boolean };
}

function transferables(task: ChunkTask): ArrayBuffer[] {
  return [(task.kind === 'parse' ? task.bytes : task.records).buffer as ArrayBuffer];
}

/**
 * A pool of `count` worker threads, each running `script` (the CLI bundle) in worker mode.
 * A task goes to the first idle worker; the others wait in a queue.
 */
export function threadRunner(count: number, script: URL): ChunkRunner {
  const workers = Array.from({ length: count }, () => new Worker(script, { workerData: { [WORKER_FLAG]: true } }));
  const idle = [...workers];
  const queue: Pending[] = [];
  const inFlight = new Map<number, Pending & { worker: Worker }>();
  let nextId = 0;
  let failure: unknown = null;
  const dispatch = () => {
    while (idle.length > 0 && queue.length > 0) {
      const worker = idle.pop()!;
      const job = queue.shift()!;
      const id = nextId++;
      inFlight.set(id, { ...job, worker });
      worker.postMessage({ id, task: job.task }, transferables(job.task));
    }
  };
  const failAll = (error: unknown) => {
    failure = error;
    for (const job of [...inFlight.values(), ...queue]) job.reject(error);
    inFlight.clear();
    queue.length = 0;
  };
  for (const worker of workers) {
    worker.on('message', ({ id, result, error }: WorkerReply) => {
      const job = inFlight.get(id);
      if (job === undefined) return;
      inFlight.delete(id);
      idle.push(worker);
      if (error) job.reject(error.reference ? new NeedsReferencePath(error.message) : qdbError('INTERNAL', [`a compress worker failed: ${error.message}`]));
      else job.resolve(result as never);
      dispatch();
    });
    worker.on('error', (e) => failAll(qdbError('INTERNAL', [`a compress worker stopped: ${e.message}`], undefined, e)));
  }
  return {
    threads: count,
    run(task) {
      return new Promise((resolve, reject) => {
        if (failure !== null) return reject(failure);
        queue.push({ task, resolve, reject });
        dispatch();
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * Threads when a bundle to run them from is known and more than zero are wanted; inline otherwise.
 * @param count worker threads wanted (0 = run on the calling thread).
 * @param script the CLI bundle (`dist/cli.js`), or undefined when running from sources.
 */
export function createRunner(count: number, script: URL | undefined): ChunkRunner {
  return count > 0 && script !== undefined ? threadRunner(count, script) : inlineRunner();
}

/** Worker-thread side: answers tasks posted by {@link threadRunner} until the thread is terminated. */
export function serveCompressWorker(): void {
  const port = parentPort;
  if (port === null) return;
  port.on('message', async ({ id, task }: { id: number; task: ChunkTask }) => {
    try {
      const result = await runChunkTask(task);
      const buffers: ArrayBuffer[] = result instanceof Uint8Array
        ? [result.buffer as ArrayBuffer]
        : [result.records.buffer as ArrayBuffer, ...(result.mins ? [result.mins.buffer as ArrayBuffer, result.maxs!.buffer as ArrayBuffer] : [])];
      port.postMessage({ id, result }, buffers);
    } catch (e) {
      port.postMessage({ id, error: { message: e instanceof Error ? e.message : String(e), reference: e instanceof NeedsReferencePath } });
    }
  });
}

if (!isMainThread && (workerData as Record<string, unknown> | null)?.[WORKER_FLAG] === true) serveCompressWorker();
