/**
 * @module distance
 * f32 squared-L2 and inner-product kernels over raw pointers. Each SIMD kernel handles its scalar
 * tail and has a `…Scalar` twin that tests compare it with (hnswlib `space_l2.h`).
 * Two accumulators keep two multiply-add chains in flight.
 */
import { METRIC_L2 } from './constants';

/** Squared L2 distance of two `dim`-float vectors. */
export function l2Sq(a: usize, b: usize, dim: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= dim; i += 8) {
    const off = <usize>i << 2;
    const d0 = f32x4.sub(v128.load(a + off), v128.load(b + off));
    const d1 = f32x4.sub(v128.load(a + off + 16), v128.load(b + off + 16));
    acc0 = f32x4.add(acc0, f32x4.mul(d0, d0));
    acc1 = f32x4.add(acc1, f32x4.mul(d1, d1));
  }
  for (; i + 4 <= dim; i += 4) {
    const off = <usize>i << 2;
    const d0 = f32x4.sub(v128.load(a + off), v128.load(b + off));
    acc0 = f32x4.add(acc0, f32x4.mul(d0, d0));
  }
  const acc = f32x4.add(acc0, acc1);
  let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; i < dim; i++) {
    const d = load<f32>(a + (<usize>i << 2)) - load<f32>(b + (<usize>i << 2));
    sum += d * d;
  }
  return sum;
}

/** Inner product of two `dim`-float vectors. */
export function dot(a: usize, b: usize, dim: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= dim; i += 8) {
    const off = <usize>i << 2;
    acc0 = f32x4.add(acc0, f32x4.mul(v128.load(a + off), v128.load(b + off)));
    acc1 = f32x4.add(acc1, f32x4.mul(v128.load(a + off + 16), v128.load(b + off + 16)));
  }
  for (; i + 4 <= dim; i += 4) {
    const off = <usize>i << 2;
    acc0 = f32x4.add(acc0, f32x4.mul(v128.load(a + off), v128.load(b + off)));
  }
  const acc = f32x4.add(acc0, acc1);
  let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; i < dim; i++) sum += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return sum;
}

/** Lower-is-better distance for `metric`: squared L2, or the negative inner product. */
// @ts-ignore: decorator
@inline
export function distance(metric: i32, a: usize, b: usize, dim: i32): f32 {
  return metric == METRIC_L2 ? l2Sq(a, b, dim) : -dot(a, b, dim);
}

/** Reference twin of {@link l2Sq}: one scalar accumulator. */
export function l2SqScalar(a: usize, b: usize, dim: i32): f32 {
  let sum: f32 = 0;
  for (let i = 0; i < dim; i++) {
    const d = load<f32>(a + (<usize>i << 2)) - load<f32>(b + (<usize>i << 2));
    sum += d * d;
  }
  return sum;
}

/** Reference twin of {@link dot}: one scalar accumulator. */
export function dotScalar(a: usize, b: usize, dim: i32): f32 {
  let sum: f32 = 0;
  for (let i = 0; i < dim; i++) sum += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return sum;
}

/** `out[i] = x[i] * s` for `dim` floats (in place when `out == x`). */
export function scale(x: usize, s: f32, out: usize, dim: i32): void {
  const vs = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= dim; i += 4) {
    const off = <usize>i << 2;
    v128.store(out + off, f32x4.mul(v128.load(x + off), vs));
  }
  for (; i < dim; i++) store<f32>(out + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) * s);
}
