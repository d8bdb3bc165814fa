/**
 * @module rng
 * Seeded PRNG (mulberry32) for k-means initialisation and HNSW level assignment, so the same seed
 * gives the same codes and graph on every platform. Each user keeps its own counter, so training
 * the codec never shifts the levels the graph draws.
 */

/** mulberry32's output function for counter value `a`. */
export function mulberry32(a: u32): u32 {
  let t = a;
  t = (t ^ (t >>> 15)) * (t | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return t ^ (t >>> 14);
}

/** The counter step of mulberry32. */
export const MULBERRY_STEP: u32 = 0x6d2b79f5;

let state: u32 = 0;

/** Restarts the k-means stream from `seed`. */
export function rngSeed(seed: u32): void { state = seed; }

/** Next 32 random bits of the k-means stream. */
export function rngNextU32(): u32 {
  state += MULBERRY_STEP;
  return mulberry32(state);
}
