/**
 * @module pool/worker
 * One search worker of a {@link QuantumDBPool}: opens the pool's `.qdb` file read-only (with the
 * native addon, a memory mapping that every worker shares through the page cache) and answers
 * search requests until the pool terminates it. Built as `dist/pool-worker.js`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { QuantumDB } from '../index.js';
import { toWireError, type SearchRequest, type WorkerConfig, type WorkerMessage } from './protocol.js';

const port = parentPort;
const config = workerData as WorkerConfig;

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

function answer(db: QuantumDB, request: SearchRequest): void {
  const { queries, options } = request;
  const n = queries.length / db.dim;
  const ids: string[] = [];
  const counts = new Uint32Array(n);
  const scoreList: number[] = [];
  for (let q = 0; q < n; q++) {
    const hits = db.search(queries.subarray(q * db.dim, (q + 1) * db.dim), options);
    counts[q] = hits.length;
    for (const h of hits) { ids.push(h.id); scoreList.push(h.score); }
  }
  const scores = Float64Array.from(scoreList);
  post({ type: 'result', id: request.id, ids, scores, counts }, [scores.buffer, counts.buffer]);
}

async function serve(port: NonNullable<typeof parentPort>): Promise<void> {
  try {
    const db = await QuantumDB.open(config.path, { readOnly: true, vectors: config.vectors });
    port.on('message', (request: SearchRequest) => {
      try {
        answer(db, request);
      } catch (e) {
        post({ type: 'error', id: request.id, error: toWireError(e) });
      }
    });
    post({ type: 'ready', size: db.size, dim: db.dim, metric: db.metric });
  } catch (e) {
    post({ type: 'failed', error: toWireError(e) });
  }
}

// No top-level await, so the CommonJS build of this file is valid too.
if (port) void serve(port);
