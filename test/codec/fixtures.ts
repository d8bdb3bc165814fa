/** Seeded codec fixtures shared by the codec tests. */
import type { LearnedCodecWeights, LinearCodec } from '../../src/codec/learned-codec.js';
import { uniform } from '../data.js';

/** Random weights for `dim → hidden → targetDim`, values in [−scale, scale). */
export function randomWeights(dim: number, hidden: number, targetDim: number, m: number, seed: number, scale = 0.5): LearnedCodecWeights {
  const random = uniform(seed);
  const r = (n: number) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
  return {
    dim, hidden, targetDim, m, w1: r(hidden * dim), b1: r(hidden), w2: r(targetDim * hidden), b2: r(targetDim),
    codebooks: r(m * 256 * (targetDim / m)), logScale: new Float32Array(m), decoderW: r(dim * targetDim), decoderB: r(dim),
  };
}

/** A linear codec: a near-identity rotation, a mean and random codebooks. */
export function randomLinearCodec(dim: number, targetDim: number, m: number, seed: number): LinearCodec {
  const random = uniform(seed);
  const rotation = new Float32Array(targetDim * dim);
  // Any matrix serves the exactness checks; a perturbed identity keeps the values tame.
  for (let t = 0; t < targetDim; t++) for (let j = 0; j < dim; j++) rotation[t * dim + j] = (t === j ? 1 : 0) + (random() - 0.5) * 0.2;
  const mean = Float32Array.from({ length: dim }, () => random() - 0.5);
  const codebooks = Float32Array.from({ length: m * 256 * (targetDim / m) }, () => (random() - 0.5) * 2);
  return { kind: 'pq', dim, targetDim, m, rotation, mean, codebooks };
}

