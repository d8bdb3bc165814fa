/**
 * @module codec/training-data
 * What the learned codec trains on: the seeded split of the sample into training rows and
 * held-out validation queries, the k-NN group of each anchor row (the structure loss compares
 * latent distances within a group with the true ones), and the batch of each step.
 */
import { mulberry32 } from '../random.js';
import type { CodecEvaluator } from './codec-evaluator.js';
import type { LearnedCodecOptions, LearnedCodecWeights, ValidationSet } from './learned-codec.js';
import { exactKnn, type TfRuntime } from './tf-runtime.js';
import type { TrainBatch } from './train.js';

/** Rows `idx` of an `(n, dim)` matrix, gathered. */
function gatherRows(rows: Float32Array, dim: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) out.set(rows.subarray((idx[i] as number) * dim, ((idx[i] as number) + 1) * dim), i * dim);
  return out;
}

/** A seeded permutation of [0, n). */
function permutation(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order;
}

/** Distance under the metric: squared L2, or the negative inner product. */
function distance(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number, l2: boolean): number {
  let s = 0;
  if (l2) for (let j = 0; j < dim; j++) { const d = (a[ao + j] as number) - (b[bo + j] as number); s += d * d; }
  else for (let j = 0; j < dim; j++) s -= (a[ao + j] as number) * (b[bo + j] as number);
  return s;
}

/** Everything a training run needs, prepared once: splits, k-NN groups and the validation set. */
export interface Prepared {
  train: Float32Array;
  nTrain: number;
  /** `(nAnchors, groupSize − 1)` neighbour rows of each anchor (training-row indices), nearest first, and their true distances. */
  neighbours: Int32Array;
  neighbourDist: Float32Array;
  nAnchors: number;
  validation: ValidationSet;
  /** `(nTrain, targetDim)` latent vectors of the training rows under the linear codec (`R x`). */
  z0: Float32Array;
}

/** The seeded split: held-out validation queries, the training sample, and its prefix the queries search. */
export function splitRows(rows: Float32Array, dim: number, o: Pick<LearnedCodecOptions, 'seed' | 'validationQueries' | 'trainSampleSize' | 'validationBase'>) {
  const n = rows.length / dim;
  const order = permutation(n, o.seed ^ 0x5eed);
  const nVal = Math.min(o.validationQueries, Math.floor(n / 10));
  const nTrain = Math.min(o.trainSampleSize, n - nVal);
  const queries = gatherRows(rows, dim, order.subarray(0, nVal));
  const train = gatherRows(rows, dim, order.subarray(nVal, nVal + nTrain));
  const nBase = Math.min(o.validationBase, nTrain);
  return { queries, train, nTrain, base: train.subarray(0, nBase * dim) };
}

/**
 * Splits `rows` (seeded), computes the validation queries' exact top 10, and mines each anchor's
 * `groupSize − 1` nearest training rows: found in the initial latent space (cheaper than `dim`,
 * nearly exact), then re-ranked exactly.
 */
export function prepare(rt: TfRuntime, rows: Float32Array, dim: number, l2: boolean, init: LearnedCodecWeights, o: Omit<LearnedCodecOptions, 'train'>, ev: CodecEvaluator): Prepared {
  const { queries, train, nTrain, base } = splitRows(rows, dim, o);
  const truth = exactKnn(rt, queries, base, dim, 10, l2);

  const L = o.groupSize - 1;
  const nAnchors = Math.min(o.anchors, nTrain);
  const z0 = ev.latent({ kind: 'mlp', weights: init }, train, dim);
  const t = init.targetDim;
  const self = new Int32Array(nAnchors);
  for (let i = 0; i < nAnchors; i++) self[i] = i;
  const want = Math.min(nTrain - 1, 2 * L);
  const cand = exactKnn(rt, z0.subarray(0, nAnchors * t), z0, t, want, l2, self);
  const neighbours = new Int32Array(nAnchors * L).fill(0);
  const neighbourDist = new Float32Array(nAnchors * L);
  const scored: { j: number; d: number }[] = [];
  for (let a = 0; a < nAnchors; a++) {
    scored.length = 0;
    for (let c = 0; c < want; c++) {
      const j = cand[a * want + c] as number;
      if (j >= 0) scored.push({ j, d: distance(train, a * dim, train, j * dim, dim, l2) });
    }
    scored.sort((x, y) => x.d - y.d || x.j - y.j);
    for (let c = 0; c < L; c++) {
      const s = scored[Math.min(c, scored.length - 1)] ?? { j: a, d: 0 };
      neighbours[a * L + c] = s.j;
      neighbourDist[a * L + c] = s.d;
    }
  }
  return { train, nTrain, neighbours, neighbourDist, nAnchors, validation: { dim, queries, base, truth }, z0 };
}

/** The batch of step `step`: anchors in a seeded order that reshuffles every pass. */
export function batchAt(p: Prepared, dim: number, groups: number, groupSize: number, seed: number, step: number): TrainBatch {
  const L = groupSize - 1;
  const perPass = Math.max(1, Math.floor(p.nAnchors / groups));
  const pass = Math.floor(step / perPass);
  const order = permutation(p.nAnchors, (seed + 0x9e3779b9 * (pass + 1)) >>> 0);
  const rows = new Float32Array(groups * groupSize * dim);
  const trueDist = new Float32Array(groups * L);
  for (let g = 0; g < groups; g++) {
    const a = order[((step % perPass) * groups + g) % p.nAnchors] as number;
    rows.set(p.train.subarray(a * dim, (a + 1) * dim), g * groupSize * dim);
    for (let c = 0; c < L; c++) {
      const j = p.neighbours[a * L + c] as number;
      rows.set(p.train.subarray(j * dim, (j + 1) * dim), (g * groupSize + 1 + c) * dim);
      trueDist[g * L + c] = p.neighbourDist[a * L + c] as number;
    }
  }
  return { rows, groups, groupSize, trueDist };
}
