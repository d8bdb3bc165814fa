/**
 * @module random
 * The one seeded generator of the TypeScript side (mulberry32, public domain, Tommy Ettinger): the
 * kernels use the same one, so sampling, fixtures and tests are reproducible everywhere.
 */

/**
 * A seeded uniform stream on [0, 1).
 * @param seed any integer; equal seeds give equal streams
 * @returns the next number of the stream, per call
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
