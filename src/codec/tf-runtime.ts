/**
 * @module codec/tf-runtime
 * Loads TensorFlow.js for the learned codec, lazily with `await import()` so that importing
 * QuantumDB never loads it, and picks the fastest backend installed. Also the TF.js computations
 * the learned codec needs besides training (`codec/train.ts`): exact k-NN on the training sample,
 * the Gram matrix of the rotation, PQ k-means for the codebooks' start, and the encoder as the
 * reference the WASM encoder is tested against. TF.js never runs on the query path.
 */
import type * as TF from '@tensorflow/tfjs';
import { qdbError } from '../errors.js';
import { mulberry32 } from '../random.js';
import { KSUB } from '../wasm/abi.js';
import type { LearnedCodecWeights } from './learned-codec.js';

type Tf = typeof TF;

/** Where TF.js runs: the native bindings (GPU or CPU), its WASM SIMD backend, or plain JS. */
export type TfBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** A loaded TF.js and the backend it runs on. */
export interface TfRuntime {
  tf: Tf;
  backend: TfBackendName;
}

/** Optional native bindings, tried in this order; each registers the backend `tensorflow`. */
const NATIVE = [
  { pkg: '@tensorflow/tfjs-node-gpu', name: 'tensorflow-gpu' },
  { pkg: '@tensorflow/tfjs-node', name: 'tensorflow' },
] as const;

// A variable specifier keeps bundlers and tsc from resolving optional packages that may be absent.
const importOptional = async (pkg: string): Promise<unknown> => import(/* @vite-ignore */ pkg);

let loading: Promise<TfRuntime> | undefined;


/**
 * Loads TF.js once per process and picks the fastest backend installed: `@tensorflow/tfjs-node-gpu`,
 * then `@tensorflow/tfjs-node`, then `@tensorflow/tfjs-backend-wasm`, then the plain-JS `cpu`.
 * The backend is global TF.js state: a host application using TF.js itself shares it.
 *
 * To train on a GPU, install `@tensorflow/tfjs-node-gpu` next to `@tensorflow/tfjs` (Linux x64 with
 * the CUDA and cuDNN versions TensorFlow 2.x requires); for native CPU speed, `@tensorflow/tfjs-node`.
 * Both are optional peer dependencies found at run time; nothing else changes.
 * @param prefer a backend to use instead of the first available one (falls back down the list)
 * @returns TF.js and the backend chosen
 * @throws QuantumDBError `INVALID_ARGUMENT` when `@tensorflow/tfjs` is not installed.
 * @example
 * ```ts
 * const { tf, backend } = await loadTensorflow(); // backend: 'wasm' on a machine without tfjs-node
 * ```
 */
export function loadTensorflow(prefer: TfBackendName | 'auto' = 'auto'): Promise<TfRuntime> {
  loading ??= selectBackend(prefer).catch((e: unknown) => { loading = undefined; throw e; });
  return loading.then(async (rt) => {
    if (prefer === 'auto' || prefer === rt.backend) return rt;
    return selectBackend(prefer);
  });
}

async function selectBackend(prefer: TfBackendName | 'auto'): Promise<TfRuntime> {
  let tf: Tf;
  try {
    tf = (await importOptional('@tensorflow/tfjs')) as Tf;
  } catch (cause) {
    throw qdbError('INVALID_ARGUMENT', ["the learned codec trains with TensorFlow.js: install the optional peer dependencies with 'npm install @tensorflow/tfjs @tensorflow/tfjs-backend-wasm' (or @tensorflow/tfjs-node / @tensorflow/tfjs-node-gpu for native speed), or build with codec 'pq'"], undefined, cause);
  }
  const order: TfBackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  const start = prefer === 'auto' ? 0 : order.indexOf(prefer);
  for (const name of order.slice(start)) {
    if (await tryBackend(tf, name)) return { tf, backend: name };
  }
  throw qdbError('INTERNAL', ['TensorFlow.js has no usable backend, not even cpu']);
}

async function tryBackend(tf: Tf, name: TfBackendName): Promise<boolean> {
  try {
    if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      const native = NATIVE.find((n) => n.name === name);
      if (native === undefined) return false;
      await importOptional(native.pkg);
      return (await tf.setBackend('tensorflow')) && tf.getBackend() === 'tensorflow';
    }
    if (name === 'wasm') await importOptional('@tensorflow/tfjs-backend-wasm');
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    // An optional backend that is absent or fails to start: the next one is tried.
    return false;
  }
}

/**
 * Exact k nearest rows of `base` for each row of `queries` (squared L2 for `l2`, largest inner
 * product otherwise), computed with TF.js in blocks of queries.
 * @param queries `(nq, dim)` f32 row-major
 * @param base `(nb, dim)` f32 row-major
 * @param skipSelf when query i is base row `skipSelf[i]`, that row is left out (−1: none)
 * @returns `(nq, k)` i32 base row indices, nearest first
 */
export function exactKnn(rt: TfRuntime, queries: Float32Array, base: Float32Array, dim: number, k: number, l2: boolean, skipSelf?: Int32Array): Int32Array {
  const { tf } = rt;
  const nq = queries.length / dim;
  const nb = base.length / dim;
  const want = Math.min(nb, k + (skipSelf ? 1 : 0));
  const out = new Int32Array(nq * k).fill(-1);
  const block = Math.max(1, Math.floor(4_000_000 / Math.max(1, nb)));
  const baseT = tf.tidy(() => tf.transpose(tf.tensor2d(base, [nb, dim])));
  const baseNorm = tf.tidy(() => tf.sum(tf.square(baseT), 0).reshape([1, nb]));
  try {
    for (let q0 = 0; q0 < nq; q0 += block) {
      const q1 = Math.min(nq, q0 + block);
      const idx = tf.tidy(() => {
        const dots = tf.matMul(tf.tensor2d(queries.subarray(q0 * dim, q1 * dim), [q1 - q0, dim]), baseT);
        const score = l2 ? tf.sub(tf.mul(dots, 2), baseNorm) : dots;
        return tf.topk(score, want, true).indices;
      });
      const found = idx.dataSync() as Int32Array;
      idx.dispose();
      for (let i = 0; i < q1 - q0; i++) {
        const self = skipSelf ? (skipSelf[q0 + i] as number) : -1;
        let w = 0;
        for (let j = 0; j < want && w < k; j++) {
          const b = found[i * want + j] as number;
          if (b !== self) out[(q0 + i) * k + w++] = b;
        }
      }
    }
  } finally {
    baseT.dispose();
    baseNorm.dispose();
  }
  return out;
}

/**
 * `yᵀ·y / n` of `n` rows of `d` floats, in float64 (the covariance of centred rows).
 * @param y `(n, d)` f32 row-major
 * @returns `(d, d)` f64 row-major
 */
export function gramMatrix(rt: TfRuntime, y: Float32Array, d: number): Float64Array {
  const { tf } = rt;
  const n = y.length / d;
  const g = tf.tidy(() => {
    const t = tf.tensor2d(y, [n, d]);
    return tf.div(tf.matMul(tf.transpose(t), t), n);
  });
  const out = Float64Array.from(g.dataSync() as Float32Array);
  g.dispose();
  return out;
}

/**
 * Lloyd's k-means with `KSUB` centroids on each of `m` column blocks of `e` floats (PQ codebook
 * training): assignments by TF.js, centroid means on the host. Initial centroids are distinct
 * seeded rows; an empty cluster restarts at a seeded random row.
 * @param y `(n, m·e)` f32 row-major
 * @returns `(m, KSUB, e)` f32 codebooks
 */
export function pqKmeans(rt: TfRuntime, y: Float32Array, m: number, e: number, iterations: number, seed: number): Float32Array {
  const { tf } = rt;
  const d = m * e;
  const n = y.length / d;
  const books = new Float32Array(m * KSUB * e);
  const pick = (r: number) => Math.min(n - 1, Math.floor(mulberry32(seed + r * 7919)() * n));
  const yt = tf.tensor2d(y, [n, d]);
  try {
    for (let s = 0; s < m; s++) {
      const cols = tf.tidy(() => tf.slice(yt, [0, s * e], [n, e]));
      const sub = cols.dataSync() as Float32Array;
      const c = books.subarray(s * KSUB * e, (s + 1) * KSUB * e);
      for (let k = 0; k < KSUB; k++) c.set(sub.subarray(pick(s * KSUB + k) * e, pick(s * KSUB + k) * e + e), k * e);
      const sums = new Float64Array(KSUB * e);
      const counts = new Int32Array(KSUB);
      for (let it = 0; it < iterations; it++) {
        const assign = tf.tidy(() => {
          const ct = tf.tensor2d(c, [KSUB, e]);
          const score = tf.sub(tf.mul(tf.matMul(cols, tf.transpose(ct)), 2), tf.reshape(tf.sum(tf.square(ct), 1), [1, KSUB]));
          return tf.argMax(score, 1);
        });
        const a = assign.dataSync() as Int32Array;
        assign.dispose();
        sums.fill(0);
        counts.fill(0);
        for (let r = 0; r < n; r++) {
          const k = a[r] as number;
          counts[k]++;
          for (let j = 0; j < e; j++) sums[k * e + j] += sub[r * e + j] as number;
        }
        for (let k = 0; k < KSUB; k++) {
          const cnt = counts[k] as number;
          if (cnt > 0) for (let j = 0; j < e; j++) c[k * e + j] = (sums[k * e + j] as number) / cnt;
          else c.set(sub.subarray(pick(it * KSUB + k + 1) * e, pick(it * KSUB + k + 1) * e + e), k * e);
        }
      }
      cols.dispose();
    }
  } finally {
    yt.dispose();
  }
  return books;
}

/** Latent vectors of `rows` through the encoder, computed with TF.js (the reference the WASM encoder is tested against). */
export function encodeWithTf(rt: TfRuntime, w: LearnedCodecWeights, rows: Float32Array): Float32Array {
  const { tf } = rt;
  const n = rows.length / w.dim;
  return tf.tidy(() => {
    const w1t = tf.transpose(tf.tensor2d(w.w1, [w.hidden, w.dim]));
    const w2t = tf.transpose(tf.tensor2d(w.w2, [w.targetDim, w.hidden]));
    const h = tf.relu(tf.add(tf.matMul(tf.tensor2d(rows, [n, w.dim]), w1t), tf.tensor1d(w.b1)));
    return tf.add(tf.matMul(h, w2t), tf.tensor1d(w.b2)).dataSync() as Float32Array;
  }).slice();
}
