/**
 * @module codec/pq-codec
 * Trains codec v1 inside the kernels: a seeded sample of the stored rows, the rotation (PCA with
 * eigenvalue allocation, or the identity), then one k-means per subspace; and encodes rows.
 * Every heavy loop runs in WASM; this module only sequences the steps and reports progress.
 */
import type { Kernels } from '../wasm/abi.js';

/** The codec parameters `QuantumDB` resolved from its options. */
export interface PqCodecConfig {
  m: number;
  targetDim: number;
  rotation: 'pca' | 'none';
  seed: number;
  trainSampleSize: number;
  kmeansIterations: number;
}

/** Rows used for the covariance: enough for a stable 768-d PCA at a fraction of the cost of the full sample. */
const PCA_SAMPLE_ROWS = 10_000;

/** Rows encoded between progress reports. */
const ENCODE_CHUNK = 4_096;

type Report = (phase: 'rotation' | 'codebooks' | 'encode', done: number, total: number) => Promise<void>;

/** mulberry32: the seeded stream for sampling; the kernels use the same generator. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct slots of [0, size), chosen by a seeded partial Fisher–Yates shuffle, ascending. */
export function sampleSlots(size: number, count: number, seed: number): Uint32Array {
  const order = new Uint32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  if (count < size) {
    const random = mulberry32(seed);
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(random() * (size - i));
      const t = order[i] as number;
      order[i] = order[j] as number;
      order[j] = t;
    }
  }
  return order.subarray(0, count).sort();
}

/** Trains the rotation and the codebooks on a sample of the first `size` stored rows. */
export async function trainPqCodec(kernels: Kernels, size: number, config: PqCodecConfig, report: Report): Promise<void> {
  const sample = sampleSlots(size, Math.min(size, config.trainSampleSize), config.seed);
  await report('rotation', 0, 1);
  kernels.withSlots(sample, (ptr) => {
    kernels.check(kernels.raw.trainRotation(ptr, Math.min(sample.length, PCA_SAMPLE_ROWS), config.rotation === 'pca' ? 1 : 0, config.seed >>> 0), 'training the rotation');
    kernels.raw.trainSampleProject(ptr, sample.length);
  });
  await report('rotation', 1, 1);
  try {
    for (let s = 0; s < config.m; s++) {
      await report('codebooks', s, config.m);
      kernels.raw.trainSubspace(s, config.kmeansIterations, (config.seed + 1 + s) >>> 0);
    }
    await report('codebooks', config.m, config.m);
  } finally {
    kernels.raw.trainSampleRelease();
  }
}

/** Encodes the resident rows [first, first + n) of `dim` floats, reporting progress between chunks. */
export async function encodeRows(kernels: Kernels, dim: number, first: number, n: number, report: Report): Promise<void> {
  for (let done = 0; done < n; done += ENCODE_CHUNK) {
    await report('encode', done, n);
    kernels.raw.encodeRows(kernels.raw.vectorsPtr() + (first + done) * dim * 4, first + done, Math.min(ENCODE_CHUNK, n - done));
  }
  await report('encode', n, n);
}
