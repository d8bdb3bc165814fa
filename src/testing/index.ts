/**
 * @module quantumdb/testing
 * Test fixtures for suites that use QuantumDB, in Jest, Vitest or any other runner: seeded vector
 * generators, a ready small database, exact ground truth with recall@k, and temp files that clean
 * up after themselves. Everything is deterministic: the same options give the same bytes and the
 * same search results on every run.
 *
 * @example
 * ```ts
 * import { createFixtureDB, recallAt, withTempFile } from 'quantumdb/testing';
 *
 * const fx = await createFixtureDB();                 // 2,000 × 32, built in well under a second
 * const results = fx.searchAll(10);
 * expect(recallAt(10, results, fx.truth(10))).toBeGreaterThan(0.9);
 * ```
 */
export { createFixtureDB, FIXTURE_DB_OPTIONS, type Fixture, type FixtureOptions } from './fixture.js';
export { createTempDir, withTempDir, withTempFile, type TempDir } from './temp.js';
export { groundTruth, recallAt, type GroundTruth, type GroundTruthOptions } from './truth.js';
export { clusteredVectors, rowOf, seededRandom, sequentialIds, type ClusteredVectorsOptions } from './vectors.js';
