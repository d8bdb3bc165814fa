/**
 * @module input
 * Checks the shape of caller vectors and copies them, row by row, straight into kernel memory:
 * the only copy `addBatch` makes. Values are checked for NaN/Infinity by the kernels afterwards.
 */
import { qdbError } from './errors.js';
import type { Metadata, VectorInput, VectorsInput } from './types.js';

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
