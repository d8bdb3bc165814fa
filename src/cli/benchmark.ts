/**
 * @module cli/benchmark
 * `quantumdb benchmark --index index.qdb --queries <file> --ground-truth <ivecs>`: Recall@k, QPS
 * and latency percentiles of an index against exact neighbours, for one or several `ef` values.
 * One query per `search` call on one thread; QPS = queries / summed wall time of the calls.
 * The ground truth holds base-row numbers (TEXMEX `.ivecs`), so the index ids must be those row
 * numbers, as they are when the index was built from `.fvecs` or `.npy`.
 */
import { EXIT, UsageError, fmtInt, intOption, optionalInt, requiredOption, type Command } from './command.js';
import { openIndex, readQueries } from './db-files.js';
import { qdbError, readIvecs, type QuantumDB } from './lib.js';

/** One measured setting. */
export interface BenchmarkRow {
  ef: number | null;
  recall: number;
  qps: number;
  p50us: number;
  p95us: number;
  p99us: number;
  queries: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/**
 * Measures recall@k, QPS and latency of `db` for each `ef` (null = the index's default).
 *
 * @param db - The index.
 * @param queries - Query vectors.
 * @param truth - Exact neighbour row numbers per query (at least `k` used when present).
 * @param options - `k`, `efs`, `rerank`, `warmup` (untimed queries before each setting), `onProgress`.
 * @returns One row per `ef`.
 * @throws QuantumDBError `INVALID_ARGUMENT` when a hit id is not a row number.
 * @example
 * ```ts
 * const rows = measureIndex(db, queries, truth, { k: 10, efs: [32, 64] });
 * ```
 */
export function measureIndex(
  db: QuantumDB, queries: readonly Float32Array[], truth: readonly Int32Array[],
  options: { k: number; efs: readonly (number | null)[]; rerank?: number; warmup?: number; onProgress?: (done: number, total: number) => void },
): BenchmarkRow[] {
  const { k, efs, rerank, warmup = 20 } = options;
  const total = efs.length * queries.length;
  return efs.map((ef, s) => {
    const search = { k, ef: ef ?? undefined, rerank };
    for (let q = 0; q < Math.min(warmup, queries.length); q++) db.search(queries[q]!, search);
    const micros = new Float64Array(queries.length);
    let hits = 0;
    let wanted = 0;
    let seconds = 0;
    for (let q = 0; q < queries.length; q++) {
      const t0 = performance.now();
      const found = db.search(queries[q]!, search);
      const t1 = performance.now();
      micros[q] = (t1 - t0) * 1000;
      seconds += (t1 - t0) / 1000;
      const exact = new Set(truth[q]!.subarray(0, k));
      wanted += exact.size;
      for (const h of found) {
        if (!/^\d+$/.test(h.id)) {
          throw qdbError('INVALID_ARGUMENT', [`the index holds id ${JSON.stringify(h.id)}, but the ground truth holds row numbers; build the index from the same .fvecs/.npy base file, whose ids are the row numbers`]);
        }
        if (exact.has(Number(h.id))) hits++;
      }
      if (q % 64 === 0) options.onProgress?.(s * queries.length + q, total);
    }
    micros.sort();
    return {
      ef, recall: wanted === 0 ? NaN : hits / wanted, qps: queries.length / seconds,
      p50us: percentile(micros, 0.5), p95us: percentile(micros, 0.95), p99us: percentile(micros, 0.99), queries: queries.length,
    };
  });
}

function parseEfList(text: string | undefined): (number | null)[] {
  if (text === undefined) return [null];
  const values = text.split(',').map((t) => t.trim());
  if (values.some((v) => !/^\d+$/.test(v) || Number(v) < 1)) throw new UsageError(`--ef must be a positive integer or a comma-separated list of them, got ${JSON.stringify(text)}`);
  return values.map(Number);
}

export const benchmarkCommand: Command = {
  name: 'benchmark',
  summary: 'Recall@k, QPS and latency percentiles of a .qdb index against ground truth',
  positionals: [],
  options: {
    index: { type: 'string' },
    queries: { type: 'string' },
    'ground-truth': { type: 'string' },
    'top-k': { type: 'string', short: 'k' },
    ef: { type: 'string' },
    rerank: { type: 'string' },
    warmup: { type: 'string' },
  },
  help: `Usage: quantumdb benchmark --index index.qdb --queries <file> --ground-truth <ivecs> [--top-k 10] [--ef 16,32,64]

Measures an index: Recall@k against exact neighbours, queries per second and the
p50/p95/p99 latency of one search call, on one thread. The ground truth (.ivecs) holds
base-row numbers, so build the index from the base .fvecs/.npy file (ids = row numbers).

Options:
  --index <file>          the .qdb index (required)
  --queries <file>        query vectors (.fvecs, .npy, JSONL, Vectro+) (required)
  --ground-truth <file>   exact neighbours, one .ivecs row per query (required)
  -k, --top-k <n>         k of Recall@k (default 10)
  --ef <n[,n...]>         beam widths to measure (default: the index's)
  --rerank <n>            candidates re-scored exactly (default: the index's)
  --warmup <n>            untimed queries before each setting (default 20)
`,
  async run(ctx) {
    const index = requiredOption(ctx.values, 'index');
    const queriesPath = requiredOption(ctx.values, 'queries');
    const truthPath = requiredOption(ctx.values, 'ground-truth');
    const k = intOption(ctx.values, 'top-k', 10);
    const efs = parseEfList(ctx.values.ef as string | undefined);
    const rerank = optionalInt(ctx.values, 'rerank', 0);
    const warmup = intOption(ctx.values, 'warmup', 20, 0);
    const db = await openIndex(index, true);
    const queries = (await readQueries(queriesPath)).map((q) => q.vector);
    const truth: Int32Array[] = [];
    for await (const row of readIvecs(truthPath)) truth.push(row);
    if (truth.length < queries.length) {
      throw qdbError('INVALID_ARGUMENT', [`${truthPath} has ${truth.length} rows but there are ${queries.length} queries; pass the ground truth of these queries`]);
    }
    const bar = ctx.progress('benchmarking', 'queries');
    let rows: BenchmarkRow[];
    try {
      rows = measureIndex(db, queries, truth, { k, efs, rerank, warmup, onProgress: (d, t) => bar.update(d, t) });
    } finally {
      bar.finish();
    }
    ctx.printJson({ index, vectors: db.size, queries: queries.length, k, rows });
    ctx.print(`${fmtInt(queries.length)} queries, k = ${k}, index ${index} (${fmtInt(db.size)} vectors)`);
    ctx.print(['ef', `Recall@${k}`, 'QPS', 'p50 µs', 'p95 µs', 'p99 µs'].map((h, i) => (i === 0 ? h.padEnd(8) : h.padStart(10))).join(''));
    for (const r of rows) {
      const cells = [String(r.ef ?? db.stats().params.ef), r.recall.toFixed(4), fmtInt(r.qps), fmtInt(r.p50us), fmtInt(r.p95us), fmtInt(r.p99us)];
      ctx.print(cells.map((c, i) => (i === 0 ? c.padEnd(8) : c.padStart(10))).join(''));
    }
    return EXIT.OK;
  },
};
