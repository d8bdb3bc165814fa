/**
 * @module adc
 * Asymmetric distance computation: per query, an `(m, KSUB)` f32 lookup table of the distance from
 * each query sub-vector to each centroid; the distance to a code is the sum of `m` table entries.
 * WASM has no gather, so four codes are scored at once with `v128.load32_lane` (Faiss
 * `pq_code_distance-inl.h`, `distance_four_codes`): four independent loads stay in flight, which
 * matters when a graph walk visits codes in random order.
 *
 *   lut   (m, KSUB) f32, row s at lut + s·KSUB·4
 */
import { allocZeroed, release } from './arena';
import { KSUB, METRIC_L2 } from './constants';
import { dot } from './distance';
import { dotsInterleaved } from './kmeans';
import { pqDsub, pqInterleaved, pqM, pqMetric, pqNorms } from './pq';

export let adcLut: usize = 0;
/** Added to every ADC sum so that it approximates the true distance (inner products: −q·mean). */
export let adcOffset: f32 = 0;

/** Allocates the table for the configured codec. */
export function adcConfigure(): void {
  release(adcLut);
  adcLut = allocZeroed(<usize>pqM * <usize>KSUB << 2);
}

/**
 * Fills the lookup table for a projected query from the interleaved centroids: the dot products
 * of four centroids per v128 step, then ‖q‖² − 2 q·c + ‖c‖² (L2) or −q·c (inner product).
 */
export function adcBuildLut(qProj: usize, offset: f32): void {
  const subBytes = <usize>pqDsub << 2;
  const bookBytes = <usize>KSUB * subBytes;
  for (let s = 0; s < pqM; s++) {
    const q = qProj + <usize>s * subBytes;
    const row = adcLut + (<usize>s * <usize>KSUB << 2);
    dotsInterleaved(q, pqInterleaved + <usize>s * bookBytes, KSUB, pqDsub, row);
    if (pqMetric == METRIC_L2) {
      const qq = f32x4.splat(dot(q, q, pqDsub));
      const minusTwo = f32x4.splat(-2);
      const norms = pqNorms + (<usize>s * <usize>KSUB << 2);
      for (let c = 0; c < KSUB; c += 4) {
        const at = <usize>c << 2;
        v128.store(row + at, f32x4.add(f32x4.add(qq, v128.load(norms + at)), f32x4.mul(minusTwo, v128.load(row + at))));
      }
    } else {
      for (let c = 0; c < KSUB; c += 4) v128.store(row + (<usize>c << 2), f32x4.neg(v128.load(row + (<usize>c << 2))));
    }
  }
  adcOffset = offset;
}

/** ADC distance of one code (without the offset). */
export function adcDistance(code: usize): f32 {
  let sum: f32 = 0;
  for (let s = 0; s < pqM; s++) sum += load<f32>(adcLut + ((<usize>s * <usize>KSUB + <usize>load<u8>(code + s)) << 2));
  return sum;
}

/** ADC distances of four codes at once, written to `out[0..4)` (without the offset). */
export function adcDistance4(c0: usize, c1: usize, c2: usize, c3: usize, out: usize): void {
  let acc = f32x4.splat(0);
  let s = 0;
  for (; s + 4 <= pqM; s += 4) {
    const w0 = load<u32>(c0 + s), w1 = load<u32>(c1 + s), w2 = load<u32>(c2 + s), w3 = load<u32>(c3 + s);
    for (let b = 0; b < 4; b++) {
      const row = adcLut + ((<usize>(s + b) * <usize>KSUB) << 2);
      const shift = <u32>b << 3;
      let v = f32x4.splat(0);
      v = v128.load32_lane(row + (<usize>((w0 >>> shift) & 255) << 2), v, 0);
      v = v128.load32_lane(row + (<usize>((w1 >>> shift) & 255) << 2), v, 1);
      v = v128.load32_lane(row + (<usize>((w2 >>> shift) & 255) << 2), v, 2);
      v = v128.load32_lane(row + (<usize>((w3 >>> shift) & 255) << 2), v, 3);
      acc = f32x4.add(acc, v);
    }
  }
  for (; s < pqM; s++) {
    const row = adcLut + ((<usize>s * <usize>KSUB) << 2);
    let v = f32x4.splat(0);
    v = v128.load32_lane(row + (<usize>load<u8>(c0 + s) << 2), v, 0);
    v = v128.load32_lane(row + (<usize>load<u8>(c1 + s) << 2), v, 1);
    v = v128.load32_lane(row + (<usize>load<u8>(c2 + s) << 2), v, 2);
    v = v128.load32_lane(row + (<usize>load<u8>(c3 + s) << 2), v, 3);
    acc = f32x4.add(acc, v);
  }
  v128.store(out, acc);
}
