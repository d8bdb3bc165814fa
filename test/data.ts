/** Seeded test data: clustered vectors and an exact brute-force oracle. */
import { mulberry32 } from '../src/random.js';
import type { Metric } from '../src/types.js';

/** mulberry32 uniform stream. */
export const uniform = mulberry32;

/**
 * n × dim row-major vectors around `clusters` random centres (so neighbours are meaningful).
 * The centres depend only on `centreSeed`, so base and queries can share a distribution.
 */
export function clustered(n: number, dim: number, seed: number, clusters = 20, spread = 0.3, centreSeed = 1): Float32Array {
  const centreRandom = uniform(centreSeed);
  const centreGauss = () => Math.sqrt(-2 * Math.log(1 - centreRandom())) * Math.cos(2 * Math.PI * centreRandom());
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dim }, centreGauss));
  const random = uniform(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(random() * clusters)] as number[];
    for (let j = 0; j < dim; j++) out[i * dim + j] = (c[j] as number) + spread * gauss();
  }
  return out;
}

/** `count` ids "v0", "v1", … */
export const idsFor = (count: number, prefix = 'v'): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/** Exact score under `metric` (the scale QuantumDB reports). */
export function exactScore(metric: Metric, a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, l2 = 0, na = 0, nb = 0;
  for (let j = 0; j < a.length; j++) {
    const x = a[j] as number, y = b[j] as number;
    dot += x * y; l2 += (x - y) ** 2; na += x * x; nb += y * y;
  }
  if (metric === 'l2') return l2;
  if (metric === 'ip') return dot;
  return dot / Math.sqrt(na * nb);
}

/** Exact top-k row indices of `query` among the rows of `base`. */
export function bruteForce(metric: Metric, base: Float32Array, dim: number, query: ArrayLike<number>, k: number): number[] {
  const n = base.length / dim;
  const scored = Array.from({ length: n }, (_, i) => ({ i, s: exactScore(metric, base.subarray(i * dim, (i + 1) * dim), query) }));
  scored.sort((x, y) => (metric === 'l2' ? x.s - y.s : y.s - x.s) || x.i - y.i);
  return scored.slice(0, k).map((e) => e.i);
}

/** Fraction of the true top-k found in `found` (10-recall@10 style). */
export function recall(found: readonly string[], truth: readonly number[], prefix = 'v'): number {
  const want = new Set(truth.map((i) => `${prefix}${i}`));
  return found.filter((id) => want.has(id)).length / truth.length;
}
