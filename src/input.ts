/**
 * @module input
 * Checks what callers pass: the database options (resolved against their defaults), and the shape
 * of vectors, which are copied row by row straight into kernel memory (the only copy `addBatch`
 * makes). Values are checked for NaN/Infinity by the kernels afterwards.
 */
import type { PqCodecConfig } from './codec/pq-codec.js';
import { qdbError } from './errors.js';
import type { Metadata, Metric, QuantumDBOptions, QuantumDBStats, VectorInput, VectorsInput } from './types.js';

const METRICS: readonly Metric[] = ['cosine', 'l2', 'ip'];
const BUILD_DISTANCES = ['exact', 'projected', 'decoded'];
const DEFAULTS = { seed: 42, M: 16, efConstruction: 200, ef: 160, rerank: 160, flatThreshold: 2_000, trainSampleSize: 20_000, kmeansIterations: 20 };

/** The options of `new QuantumDB`, checked, with every default filled in. */
export interface ResolvedOptions {
  dim: number;
  metric: Metric;
  params: QuantumDBStats['params'];
  codec: PqCodecConfig;
}

/** Checks `options` and fills in the defaults; throws `INVALID_ARGUMENT` naming the first bad one. */
export function resolveOptions(options: QuantumDBOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw qdbError('INVALID_ARGUMENT', ['pass an options object such as { dim: 768 }']);
  const dim = positiveInt(options.dim, NaN, 'dim');
  const metric = options.metric ?? 'cosine';
  if (!METRICS.includes(metric)) throw qdbError('INVALID_ARGUMENT', [`metric must be one of ${METRICS.join(', ')}, got ${String(options.metric)}`]);
  const rotation = options.rotation ?? 'pca';
  if (rotation !== 'pca' && rotation !== 'none') throw qdbError('INVALID_ARGUMENT', [`rotation must be 'pca' or 'none', got ${String(rotation)}`]);
  const m = positiveInt(options.m, Math.min(16, dim), 'm');
  if (m > dim) throw qdbError('INVALID_ARGUMENT', [`m (${m}) cannot exceed dim (${dim})`]);
  const largestTarget = rotation === 'none' ? dim : Math.floor(Math.min(dim, 256) / m) * m;
  const targetOption = options.targetDim === undefined || options.targetDim === 'auto' ? (rotation === 'none' ? dim : 'auto') : options.targetDim;
  const targetDim = targetOption === 'auto' ? largestTarget : positiveInt(targetOption, largestTarget, 'targetDim');
  if (targetDim % m !== 0 || targetDim > dim || (rotation === 'none' && targetDim !== dim)) {
    throw qdbError('INVALID_ARGUMENT', [rotation === 'none'
      ? `with rotation 'none', dim (${dim}) must be a multiple of m (${m}); use rotation 'pca' or another m`
      : `targetDim (${targetDim}) must be a multiple of m (${m}) and at most dim (${dim})`]);
  }
  const buildDistance = options.buildDistance ?? 'projected';
  if (!BUILD_DISTANCES.includes(buildDistance)) throw qdbError('INVALID_ARGUMENT', [`buildDistance must be 'exact', 'projected' or 'decoded', got ${String(buildDistance)}`]);
  const seed = options.seed ?? DEFAULTS.seed;
  if (!Number.isInteger(seed)) throw qdbError('INVALID_ARGUMENT', [`seed must be an integer, got ${String(seed)}`]);
  return {
    dim, metric,
    params: {
      m, targetDim, rotation, seed, buildDistance,
      M: positiveInt(options.M, DEFAULTS.M, 'M', 2),
      efConstruction: positiveInt(options.efConstruction, DEFAULTS.efConstruction, 'efConstruction'),
      ef: positiveInt(options.ef, DEFAULTS.ef, 'ef'),
      rerank: positiveInt(options.rerank, DEFAULTS.rerank, 'rerank', 0),
      flatThreshold: positiveInt(options.flatThreshold, DEFAULTS.flatThreshold, 'flatThreshold', 0),
    },
    codec: {
      m, targetDim: targetOption === 'auto' ? 'auto' : targetDim, rotation, seed,
      trainSampleSize: positiveInt(options.trainSampleSize, DEFAULTS.trainSampleSize, 'trainSampleSize'),
      kmeansIterations: positiveInt(options.kmeansIterations, DEFAULTS.kmeansIterations, 'kmeansIterations'),
    },
  };
}

/** Number of rows in `vectors`, after checking that every row has `dim` values. */
export function countRows(vectors: VectorsInput, dim: number, expectedRows: number): number {
  if (vectors instanceof Float32Array) {
    if (vectors.length !== expectedRows * dim) {
      if (expectedRows > 0 && vectors.length % expectedRows === 0) {
        throw qdbError('DIMENSION_MISMATCH', [dim, vectors.length / expectedRows, 'each row of the Float32Array'], { expected: dim });
      }
      throw qdbError('INVALID_ARGUMENT', [`a Float32Array of ${vectors.length} values cannot hold ${expectedRows} rows of ${dim}; pass ids.length × dim values, row-major`]);
    }
    return expectedRows;
  }
  if (!Array.isArray(vectors)) throw qdbError('INVALID_ARGUMENT', ['vectors must be a Float32Array (row-major), an array of Float32Array, or an array of number arrays']);
  if (vectors.length !== expectedRows) {
    throw qdbError('INVALID_ARGUMENT', [`got ${expectedRows} ids but ${vectors.length} vectors; pass one vector per id`]);
  }
  for (let i = 0; i < vectors.length; i++) {
    const row = vectors[i] as unknown;
    if (!(row instanceof Float32Array) && !Array.isArray(row)) {
      throw qdbError('INVALID_ARGUMENT', [`vector ${i} is not a Float32Array or an array of numbers`], { index: i });
    }
    if ((row as ArrayLike<number>).length !== dim) throw qdbError('DIMENSION_MISMATCH', [dim, (row as ArrayLike<number>).length, `vector ${i}`], { index: i });
  }
  return expectedRows;
}

/**
 * Copies rows [first, first + count) of validated input into `target` (count × dim floats).
 * Non-numbers become NaN and are caught by the kernels' check.
 */
export function copyRows(vectors: VectorsInput, dim: number, first: number, count: number, target: Float32Array): void {
  if (vectors instanceof Float32Array) {
    target.set(vectors.subarray(first * dim, (first + count) * dim));
    return;
  }
  for (let i = 0; i < count; i++) target.set(vectors[first + i] as ArrayLike<number>, i * dim);
}

/** One metadata entry per row (undefined when none given), each a JSON-serialisable plain object. */
export function checkMetadata(metadata: readonly (Metadata | undefined)[] | undefined, rows: number): (Metadata | undefined)[] {
  if (metadata === undefined) return new Array<Metadata | undefined>(rows).fill(undefined);
  if (!Array.isArray(metadata) || metadata.length !== rows) {
    throw qdbError('INVALID_ARGUMENT', [`metadata must be an array with one entry per id (${rows}), or omitted`]);
  }
  return metadata.map((entry, i) => {
    if (entry === undefined || entry === null) return undefined;
    if (typeof entry !== 'object' || Array.isArray(entry)) throw qdbError('INVALID_ARGUMENT', [`metadata ${i} must be a plain object`], { index: i });
    try {
      JSON.stringify(entry);
    } catch (e) {
      throw qdbError('INVALID_ARGUMENT', [`metadata ${i} cannot be stored as JSON (${(e as Error).message}); pass plain data`], { index: i }, e);
    }
    return entry as Metadata;
  });
}

/** Checks one query's type and length. */
export function checkQuery(query: VectorInput, dim: number): void {
  if (!(query instanceof Float32Array) && !Array.isArray(query)) {
    throw qdbError('INVALID_ARGUMENT', ['the query must be a Float32Array or an array of numbers']);
  }
  if (query.length !== dim) throw qdbError('DIMENSION_MISMATCH', [dim, query.length, 'the query']);
}

/** A positive integer option, or its default. */
export function positiveInt(value: unknown, fallback: number, name: string, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw qdbError('INVALID_ARGUMENT', [`${name} must be an integer ≥ ${min}, got ${String(value)}`]);
  }
  return value;
}
