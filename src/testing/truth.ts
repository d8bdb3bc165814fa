/**
 * @module testing/truth
 * The exact answer to compare an approximate index with: brute-force k nearest neighbours in
 * double precision, and recall@k of a set of results against it.
 */
import { QuantumDBError, type Metric, type SearchHit } from '../index.js';

/** Options of {@link groundTruth}. */
export interface GroundTruthOptions {
  /** The database rows, row-major, `n × dim`. */
  base: Float32Array;
  /** The query rows, row-major, `nq × dim`. */
  queries: Float32Array;
  /** Values per row. */
  dim: number;
  /** Neighbours per query (clamped to the number of rows). */
  k: number;
  /** How rows are compared, as in `QuantumDB`. Default `'cosine'`. */
  metric?: Metric;
  /** Id of each base row; default `"v0"`, `"v1"`, … as made by {@link sequentialIds}. */
  ids?: readonly string[];
}

/**
 * Exact neighbours of each query. `ids[q]` and `scores[q]` are best first; scores are on the
 * scale `QuantumDB.search` reports (cosine similarity, squared L2 distance, inner product). Ties
 * go to the lower row index, so the result is fully deterministic.
 */
export interface GroundTruth {
  /** Neighbours per query: the `k` asked for, or the number of rows when there are fewer. */
  k: number;
  /** Number of base rows searched. */
  rows: number;
  /** Ids of the exact neighbours, one array per query, best first. */
  ids: string[][];
  /** Their exact scores, one array per query, in the same order. */
  scores: number[][];
}

/**
 * Brute-force k nearest neighbours in double precision, the oracle for recall checks.
 * Costs `n × nq × dim` multiply-adds: about 10 ms for 2,000 rows × 50 queries × 32 dimensions.
 * @param options base rows, query rows, `dim`, `k`, metric and ids
 * @returns the exact neighbours and scores of every query
 * @throws QuantumDBError `INVALID_ARGUMENT` when `dim` or `k` is not a positive integer, a matrix length is not a multiple of `dim`, or `ids` does not have one id per row.
 * @example
 * ```ts
 * const truth = groundTruth({ base, queries, dim: 64, k: 10, metric: 'cosine' });
 * truth.ids[0]; // the 10 exact nearest ids of query 0
 * ```
 */
export function groundTruth(options: GroundTruthOptions): GroundTruth {
  const { base, queries, dim, k } = options;
  const metric = options.metric ?? 'cosine';
  if (!Number.isInteger(dim) || dim < 1) throw new QuantumDBError('INVALID_ARGUMENT', `dim must be a positive integer, got ${String(dim)}`);
  if (!Number.isInteger(k) || k < 1) throw new QuantumDBError('INVALID_ARGUMENT', `k must be a positive integer, got ${String(k)}`);
  if (base.length % dim !== 0 || queries.length % dim !== 0) {
    throw new QuantumDBError('INVALID_ARGUMENT', `base (${base.length} values) and queries (${queries.length} values) must both hold whole rows of ${dim}`);
  }
  const n = base.length / dim;
  const ids = options.ids ?? Array.from({ length: n }, (_, i) => `v${i}`);
  if (ids.length !== n) throw new QuantumDBError('INVALID_ARGUMENT', `got ${ids.length} ids for ${n} base rows; pass one id per row`);
  const kk = Math.min(k, n);
  const baseNorms = new Float64Array(n);
  for (let i = 0; i < n; i++) baseNorms[i] = Math.sqrt(dot(base, i * dim, base, i * dim, dim));
  const out: GroundTruth = { k: kk, rows: n, ids: [], scores: [] };
  const scores = new Float64Array(n);
  const order = Array.from({ length: n }, (_, i) => i);
  const lowerIsBetter = metric === 'l2';
  for (let q = 0; q < queries.length / dim; q++) {
    const qo = q * dim;
    const qNorm = Math.sqrt(dot(queries, qo, queries, qo, dim));
    for (let i = 0; i < n; i++) {
      const io = i * dim;
      if (metric === 'l2') {
        let s = 0;
        for (let j = 0; j < dim; j++) { const t = (base[io + j] as number) - (queries[qo + j] as number); s += t * t; }
        scores[i] = s;
      } else {
        const d = dot(base, io, queries, qo, dim);
        scores[i] = metric === 'ip' ? d : d / ((baseNorms[i] as number) * qNorm || 1);
      }
    }
    order.sort((a, b) => {
      const sa = scores[a] as number, sb = scores[b] as number;
      return (lowerIsBetter ? sa - sb : sb - sa) || a - b;
    });
    const top = order.slice(0, kk);
    out.ids.push(top.map((i) => ids[i] as string));
    out.scores.push(top.map((i) => scores[i] as number));
  }
  return out;
}

/**
 * Mean recall@k: for each query, the share of its exact top-k that the results' first `k`
 * entries contain, averaged over queries. When a database holds fewer than `k` rows, a query's
 * share is taken over the neighbours that exist.
 * @param k how many results of each query count
 * @param results per query, the hits of `search` (or their ids), best first
 * @param truth the exact answer: a {@link GroundTruth} or one id array per query
 * @returns a number in [0, 1]; 1 when every true neighbour was found
 * @throws QuantumDBError `INVALID_ARGUMENT` when `k` is not a positive integer, the query counts differ, or `truth` holds fewer than `k` neighbours for a query while the database has more.
 * @example
 * ```ts
 * const results = queryRows.map((q) => db.search(q, { k: 10 }));
 * expect(recallAt(10, results, truth)).toBeGreaterThanOrEqual(0.95);
 * ```
 */
export function recallAt(k: number, results: readonly (readonly (SearchHit | string)[])[], truth: GroundTruth | readonly (readonly string[])[]): number {
  if (!Number.isInteger(k) || k < 1) throw new QuantumDBError('INVALID_ARGUMENT', `k must be a positive integer, got ${String(k)}`);
  const truthIds = isGroundTruth(truth) ? truth.ids : truth;
  if (isGroundTruth(truth) && truth.k < k && truth.k < truth.rows) {
    throw new QuantumDBError('INVALID_ARGUMENT', `the ground truth holds ${truth.k} neighbours per query; compute it with k ≥ ${k}`);
  }
  if (results.length !== truthIds.length) {
    throw new QuantumDBError('INVALID_ARGUMENT', `got results for ${results.length} queries but ground truth for ${truthIds.length}; pass one entry per query`);
  }
  if (results.length === 0) return 1;
  let total = 0;
  for (let q = 0; q < results.length; q++) {
    const want = new Set((truthIds[q] as readonly string[]).slice(0, k));
    if (want.size === 0) { total += 1; continue; }
    let found = 0;
    for (const hit of (results[q] as readonly (SearchHit | string)[]).slice(0, k)) {
      if (want.has(typeof hit === 'string' ? hit : hit.id)) found++;
    }
    total += found / want.size;
  }
  return total / results.length;
}

function isGroundTruth(truth: GroundTruth | readonly (readonly string[])[]): truth is GroundTruth {
  return !Array.isArray(truth);
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += (a[ao + j] as number) * (b[bo + j] as number);
  return s;
}
