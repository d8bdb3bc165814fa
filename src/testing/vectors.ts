/**
 * @module testing/vectors
 * Seeded vector generators for tests. The same options always give the same bytes on every
 * platform: the stream is mulberry32 and the Gaussian comes from Box–Muller over V8's
 * correctly-rounded-enough `Math.log`/`Math.cos` (fdlibm ports, identical across platforms).
 *
 * The data imitates what an embedding model produces, so that an index behaves on it as it would
 * in production: points gather around cluster centres of uneven popularity (Zipf weights), the
 * variance falls off across dimensions (a power-law spectrum, which is what PCA exploits), and
 * rows may be scaled to unit length.
 */
import { QuantumDBError } from '../index.js';
import { mulberry32 } from '../random.js';

/**
 * A seeded uniform random stream on [0, 1) (mulberry32).
 * @param seed any integer; equal seeds give equal streams
 * @returns a function that returns the next number of the stream
 * @throws Never.
 * @example
 * ```ts
 * const random = seededRandom(7);
 * random(); // 0.0117…, the same on every run
 * ```
 */
export function seededRandom(seed: number): () => number {
  return mulberry32(seed);
}

/** A standard normal sample from a uniform stream (Box–Muller, cosine branch). */
function gaussianFrom(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Options of {@link clusteredVectors}. */
export interface ClusteredVectorsOptions {
  /** Number of rows. */
  n: number;
  /** Values per row. */
  dim: number;
  /** Seed of the rows (which cluster, which noise). Default 1. */
  seed?: number;
  /**
   * Seed of the cluster centres, separate from `seed` so that a base set and a query set drawn
   * with different `seed`s share one distribution. Default 0x5eed.
   */
  centreSeed?: number;
  /** Number of cluster centres. Default 20. */
  clusters?: number;
  /** Standard deviation of a point around its centre, relative to the spread of the centres. Default 0.35. */
  spread?: number;
  /** Zipf exponent of the cluster popularity: 0 = equal sizes, 1 = the k-th cluster gets 1/k of the weight. Default 1. */
  skew?: number;
  /** Power-law decay of the per-dimension scale, `(j + 1) ^ -decay`: 0 = isotropic. Default 0.5. */
  decay?: number;
  /** Scale every row to unit length, like most text-embedding models. Default false. */
  normalize?: boolean;
}

/**
 * `n × dim` row-major vectors around seeded cluster centres, with uneven cluster sizes and a
 * decaying spectrum (see the module notes). Deterministic: equal options give equal bytes.
 * @param options sizes, seeds and shape; only `n` and `dim` are required
 * @returns a row-major `Float32Array` of `n × dim` values
 * @throws QuantumDBError `INVALID_ARGUMENT` when a size is not a positive integer (`n` may be 0) or a shape option is negative.
 * @example
 * ```ts
 * const base = clusteredVectors({ n: 2000, dim: 64, seed: 1 });
 * const queries = clusteredVectors({ n: 100, dim: 64, seed: 2 }); // same centres, new points
 * ```
 */
export function clusteredVectors(options: ClusteredVectorsOptions): Float32Array {
  const { n, dim } = options;
  const clusters = options.clusters ?? 20;
  const spread = options.spread ?? 0.35;
  const skew = options.skew ?? 1;
  const decay = options.decay ?? 0.5;
  checkCount(n, 'n', 0);
  checkCount(dim, 'dim', 1);
  checkCount(clusters, 'clusters', 1);
  for (const [name, value] of [['spread', spread], ['skew', skew], ['decay', decay]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new QuantumDBError('INVALID_ARGUMENT', `${name} must be a finite number ≥ 0, got ${String(value)}`);
  }
  const scale = Float64Array.from({ length: dim }, (_, j) => (j + 1) ** -decay);
  const centreRandom = seededRandom(options.centreSeed ?? 0x5eed);
  const centres = Array.from({ length: clusters }, () => Float64Array.from(scale, (s) => s * gaussianFrom(centreRandom)));
  // Cumulative Zipf weights, searched per row: cluster c is drawn with weight (c + 1) ^ -skew.
  const cumulative = new Float64Array(clusters);
  let total = 0;
  for (let c = 0; c < clusters; c++) cumulative[c] = total += (c + 1) ** -skew;
  const random = seededRandom(options.seed ?? 1);
  const out = new Float32Array(n * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const u = random() * total;
    let c = 0;
    while (c < clusters - 1 && (cumulative[c] as number) <= u) c++;
    const centre = centres[c] as Float64Array;
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const v = (centre[j] as number) + spread * (scale[j] as number) * gaussianFrom(random);
      row[j] = v;
      norm += v * v;
    }
    const k = options.normalize && norm > 0 ? 1 / Math.sqrt(norm) : 1;
    for (let j = 0; j < dim; j++) out[i * dim + j] = (row[j] as number) * k;
  }
  return out;
}

/**
 * `count` ids: `"v0"`, `"v1"`, … (or with another prefix).
 * @param count number of ids
 * @param prefix text before the number; default `"v"`
 * @returns the ids, in order
 * @throws QuantumDBError `INVALID_ARGUMENT` when `count` is not an integer ≥ 0.
 * @example
 * ```ts
 * sequentialIds(3, 'doc-'); // ['doc-0', 'doc-1', 'doc-2']
 * ```
 */
export function sequentialIds(count: number, prefix = 'v'): string[] {
  checkCount(count, 'count', 0);
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/**
 * Row `i` of a row-major matrix, as a view (no copy).
 * @param matrix row-major values
 * @param dim values per row
 * @param i row index
 * @returns a `Float32Array` view of `dim` values
 * @throws QuantumDBError `INVALID_ARGUMENT` when row `i` is outside the matrix.
 * @example
 * ```ts
 * const q = rowOf(queries, 64, 0);
 * ```
 */
export function rowOf(matrix: Float32Array, dim: number, i: number): Float32Array {
  if (!Number.isInteger(i) || i < 0 || (i + 1) * dim > matrix.length) {
    throw new QuantumDBError('INVALID_ARGUMENT', `row ${String(i)} is outside a matrix of ${Math.floor(matrix.length / dim)} rows`);
  }
  return matrix.subarray(i * dim, (i + 1) * dim);
}

function checkCount(value: number, name: string, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new QuantumDBError('INVALID_ARGUMENT', `${name} must be an integer ≥ ${min}, got ${String(value)}`);
}
