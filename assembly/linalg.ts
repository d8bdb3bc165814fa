/**
 * @module linalg
 * PCA for the codec's rotation: covariance of a sample, symmetric eigendecomposition, and a
 * random orthogonal mix of the kept directions.
 *
 * The eigensolver is Householder tridiagonalisation followed by the implicit QL algorithm
 * (Wilkinson & Reinsch, "Handbook for Automatic Computation II", procedures tred2 and tql2, as in
 * the public-domain JAMA library), in f64. tql2 works on the transposed eigenvector matrix so its
 * plane rotations touch two contiguous rows instead of two strided columns.
 */
import { allocZeroed, release } from './arena';
import { dot } from './distance';
import { STATUS_NO_CONVERGENCE, STATUS_OK } from './constants';
import { rngNextU32, rngSeed } from './rng';
import { vectorOf } from './space';

/**
 * Mean and covariance of `n` stored rows of `dim` f32 gathered by slot.
 * @param slots  `n` u32 slots
 * @param meanOut `dim` f32
 * @param covOut `(dim, dim)` f64, full symmetric
 */
export function covariance(dim: i32, slots: usize, n: i32, meanOut: usize, covOut: usize): void {
  const rowBytes = <usize>dim << 2;
  const acc = allocZeroed(<usize>dim << 3);
  for (let r = 0; r < n; r++) {
    const row = vectorOf(load<u32>(slots + (<usize>r << 2)));
    for (let j = 0; j < dim; j++) store<f64>(acc + (<usize>j << 3), load<f64>(acc + (<usize>j << 3)) + <f64>load<f32>(row + (<usize>j << 2)));
  }
  for (let j = 0; j < dim; j++) store<f32>(meanOut + (<usize>j << 2), <f32>(load<f64>(acc + (<usize>j << 3)) / <f64>n));
  release(acc);

  // Upper triangle accumulated in f32 from blocks of 4 centred rows: each sweep over the
  // (dim, dim) accumulator serves four rows, which keeps the pass memory-bound only 1/4 as often.
  const block = allocZeroed(rowBytes * 4);
  const cov32 = allocZeroed(rowBytes * <usize>dim);
  const vmeanPtr = meanOut;
  for (let r0 = 0; r0 < n; r0 += 4) {
    const rows = min(4, n - r0);
    memory.fill(block, 0, rowBytes * 4);
    for (let b = 0; b < rows; b++) {
      const row = vectorOf(load<u32>(slots + (<usize>(r0 + b) << 2)));
      const dst = block + <usize>b * rowBytes;
      let j = 0;
      for (; j + 4 <= dim; j += 4) {
        const off = <usize>j << 2;
        v128.store(dst + off, f32x4.sub(v128.load(row + off), v128.load(vmeanPtr + off)));
      }
      for (; j < dim; j++) store<f32>(dst + (<usize>j << 2), load<f32>(row + (<usize>j << 2)) - load<f32>(vmeanPtr + (<usize>j << 2)));
    }
    const x0 = block, x1 = block + rowBytes, x2 = block + 2 * rowBytes, x3 = block + 3 * rowBytes;
    for (let j = 0; j < dim; j++) {
      const jOff = <usize>j << 2;
      const a0 = f32x4.splat(load<f32>(x0 + jOff)), a1 = f32x4.splat(load<f32>(x1 + jOff));
      const a2 = f32x4.splat(load<f32>(x2 + jOff)), a3 = f32x4.splat(load<f32>(x3 + jOff));
      const crow = cov32 + <usize>j * rowBytes;
      let k = j & ~3;
      for (; k + 4 <= dim; k += 4) {
        const off = <usize>k << 2;
        let v = v128.load(crow + off);
        v = f32x4.add(v, f32x4.mul(a0, v128.load(x0 + off)));
        v = f32x4.add(v, f32x4.mul(a1, v128.load(x1 + off)));
        v = f32x4.add(v, f32x4.mul(a2, v128.load(x2 + off)));
        v = f32x4.add(v, f32x4.mul(a3, v128.load(x3 + off)));
        v128.store(crow + off, v);
      }
      for (; k < dim; k++) {
        const off = <usize>k << 2;
        store<f32>(crow + off, load<f32>(crow + off) + f32x4.extract_lane(a0, 0) * load<f32>(x0 + off) + f32x4.extract_lane(a1, 0) * load<f32>(x1 + off)
          + f32x4.extract_lane(a2, 0) * load<f32>(x2 + off) + f32x4.extract_lane(a3, 0) * load<f32>(x3 + off));
      }
    }
  }
  const inv = 1.0 / <f64>max(1, n);
  for (let j = 0; j < dim; j++) {
    for (let k = j; k < dim; k++) {
      const v = <f64>load<f32>(cov32 + ((<usize>j * <usize>dim + <usize>k) << 2)) * inv;
      store<f64>(covOut + ((<usize>j * <usize>dim + <usize>k) << 3), v);
      store<f64>(covOut + ((<usize>k * <usize>dim + <usize>j) << 3), v);
    }
  }
  release(cov32);
  release(block);
}

// @ts-ignore: decorator
@inline function at(m: usize, n: i32, r: i32, c: i32): usize { return m + ((<usize>r * <usize>n + <usize>c) << 3); }

/** Householder reduction of the symmetric matrix in `v` to tridiagonal form (d, e); `v` becomes Q. */
function tred2(v: usize, d: usize, e: usize, n: i32): void {
  for (let j = 0; j < n; j++) store<f64>(d + (<usize>j << 3), load<f64>(at(v, n, n - 1, j)));
  for (let i = n - 1; i > 0; i--) {
    let scale = 0.0, h = 0.0;
    for (let k = 0; k < i; k++) scale += Math.abs(load<f64>(d + (<usize>k << 3)));
    if (scale == 0.0) {
      store<f64>(e + (<usize>i << 3), load<f64>(d + (<usize>(i - 1) << 3)));
      for (let j = 0; j < i; j++) {
        store<f64>(d + (<usize>j << 3), load<f64>(at(v, n, i - 1, j)));
        store<f64>(at(v, n, i, j), 0.0);
        store<f64>(at(v, n, j, i), 0.0);
      }
    } else {
      for (let k = 0; k < i; k++) {
        const dk = load<f64>(d + (<usize>k << 3)) / scale;
        store<f64>(d + (<usize>k << 3), dk);
        h += dk * dk;
      }
      let f = load<f64>(d + (<usize>(i - 1) << 3));
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      store<f64>(e + (<usize>i << 3), scale * g);
      h -= f * g;
      store<f64>(d + (<usize>(i - 1) << 3), f - g);
      for (let j = 0; j < i; j++) store<f64>(e + (<usize>j << 3), 0.0);
      for (let j = 0; j < i; j++) {
        f = load<f64>(d + (<usize>j << 3));
        store<f64>(at(v, n, j, i), f);
        g = load<f64>(e + (<usize>j << 3)) + load<f64>(at(v, n, j, j)) * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const vkj = load<f64>(at(v, n, k, j));
          g += vkj * load<f64>(d + (<usize>k << 3));
          store<f64>(e + (<usize>k << 3), load<f64>(e + (<usize>k << 3)) + vkj * f);
        }
        store<f64>(e + (<usize>j << 3), g);
      }
      f = 0.0;
      for (let j = 0; j < i; j++) {
        const ej = load<f64>(e + (<usize>j << 3)) / h;
        store<f64>(e + (<usize>j << 3), ej);
        f += ej * load<f64>(d + (<usize>j << 3));
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) store<f64>(e + (<usize>j << 3), load<f64>(e + (<usize>j << 3)) - hh * load<f64>(d + (<usize>j << 3)));
      for (let j = 0; j < i; j++) {
        f = load<f64>(d + (<usize>j << 3));
        g = load<f64>(e + (<usize>j << 3));
        for (let k = j; k <= i - 1; k++) {
          const p = at(v, n, k, j);
          store<f64>(p, load<f64>(p) - (f * load<f64>(e + (<usize>k << 3)) + g * load<f64>(d + (<usize>k << 3))));
        }
        store<f64>(d + (<usize>j << 3), load<f64>(at(v, n, i - 1, j)));
        store<f64>(at(v, n, i, j), 0.0);
      }
    }
    store<f64>(d + (<usize>i << 3), h);
  }
  for (let i = 0; i < n - 1; i++) {
    store<f64>(at(v, n, n - 1, i), load<f64>(at(v, n, i, i)));
    store<f64>(at(v, n, i, i), 1.0);
    const h = load<f64>(d + (<usize>(i + 1) << 3));
    if (h != 0.0) {
      for (let k = 0; k <= i; k++) store<f64>(d + (<usize>k << 3), load<f64>(at(v, n, k, i + 1)) / h);
      for (let j = 0; j <= i; j++) {
        let g = 0.0;
        for (let k = 0; k <= i; k++) g += load<f64>(at(v, n, k, i + 1)) * load<f64>(at(v, n, k, j));
        for (let k = 0; k <= i; k++) {
          const p = at(v, n, k, j);
          store<f64>(p, load<f64>(p) - g * load<f64>(d + (<usize>k << 3)));
        }
      }
    }
    for (let k = 0; k <= i; k++) store<f64>(at(v, n, k, i + 1), 0.0);
  }
  for (let j = 0; j < n; j++) {
    store<f64>(d + (<usize>j << 3), load<f64>(at(v, n, n - 1, j)));
    store<f64>(at(v, n, n - 1, j), 0.0);
  }
  store<f64>(at(v, n, n - 1, n - 1), 1.0);
  store<f64>(e, 0.0);
}

/** Implicit QL on the tridiagonal (d, e); `w` holds Qᵀ on entry and the eigenvectors as rows on exit. */
function tql2(w: usize, d: usize, e: usize, n: i32): i32 {
  for (let i = 1; i < n; i++) store<f64>(e + (<usize>(i - 1) << 3), load<f64>(e + (<usize>i << 3)));
  store<f64>(e + (<usize>(n - 1) << 3), 0.0);
  let f = 0.0, tst1 = 0.0;
  const eps = Math.pow(2.0, -52.0);
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(load<f64>(d + (<usize>l << 3))) + Math.abs(load<f64>(e + (<usize>l << 3))));
    let m = l;
    while (m < n) {
      if (Math.abs(load<f64>(e + (<usize>m << 3))) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 64) return STATUS_NO_CONVERGENCE;
        let g = load<f64>(d + (<usize>l << 3));
        const el = load<f64>(e + (<usize>l << 3));
        let p = (load<f64>(d + (<usize>(l + 1) << 3)) - g) / (2.0 * el);
        let r = Math.hypot(p, 1.0);
        if (p < 0) r = -r;
        store<f64>(d + (<usize>l << 3), el / (p + r));
        store<f64>(d + (<usize>(l + 1) << 3), el * (p + r));
        const dl1 = load<f64>(d + (<usize>(l + 1) << 3));
        let h = g - load<f64>(d + (<usize>l << 3));
        for (let i = l + 2; i < n; i++) store<f64>(d + (<usize>i << 3), load<f64>(d + (<usize>i << 3)) - h);
        f += h;
        p = load<f64>(d + (<usize>m << 3));
        let c = 1.0, c2 = 1.0, c3 = 1.0, s = 0.0, s2 = 0.0;
        const el1 = load<f64>(e + (<usize>(l + 1) << 3));
        for (let i = m - 1; i >= l; i--) {
          c3 = c2; c2 = c; s2 = s;
          const ei = load<f64>(e + (<usize>i << 3));
          const di = load<f64>(d + (<usize>i << 3));
          g = c * ei;
          h = c * p;
          r = Math.hypot(p, ei);
          store<f64>(e + (<usize>(i + 1) << 3), s * r);
          s = ei / r;
          c = p / r;
          p = c * di - s * g;
          store<f64>(d + (<usize>(i + 1) << 3), h + s * (c * g + s * di));
          const rowA = at(w, n, i + 1, 0), rowB = at(w, n, i, 0);
          for (let k = 0; k < n; k++) {
            const off = <usize>k << 3;
            const hk = load<f64>(rowA + off), vk = load<f64>(rowB + off);
            store<f64>(rowA + off, s * vk + c * hk);
            store<f64>(rowB + off, c * vk - s * hk);
          }
        }
        p = -s * s2 * c3 * el1 * load<f64>(e + (<usize>l << 3)) / dl1;
        store<f64>(e + (<usize>l << 3), s * p);
        store<f64>(d + (<usize>l << 3), c * p);
      } while (Math.abs(load<f64>(e + (<usize>l << 3))) > eps * tst1);
    }
    store<f64>(d + (<usize>l << 3), load<f64>(d + (<usize>l << 3)) + f);
    store<f64>(e + (<usize>l << 3), 0.0);
  }
  return STATUS_OK;
}

/**
 * Eigen-decomposes the symmetric `(n, n)` f64 matrix `a` (destroyed).
 * @param valuesOut  `n` f64 eigenvalues, unsorted
 * @param vectorsOut `(n, n)` f64, row i is the unit eigenvector of `valuesOut[i]`
 * @returns STATUS_OK, or STATUS_NO_CONVERGENCE
 */
export function symmetricEigen(a: usize, n: i32, valuesOut: usize, vectorsOut: usize): i32 {
  const e = allocZeroed(<usize>n << 3);
  tred2(a, valuesOut, e, n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) store<f64>(at(vectorsOut, n, c, r), load<f64>(at(a, n, r, c)));
  const status = tql2(vectorsOut, valuesOut, e, n);
  release(e);
  return status;
}

/** Principal directions of the last {@link pcaFit}, largest variance first: `(pcaKept, dim)` f64. */
let pcaDirections: usize = 0;
let pcaKept: i32 = 0;

/**
 * Eigen-decomposes the `(dim, dim)` covariance (destroyed) and keeps its `keep` principal
 * directions, largest variance first; ties go to the lowest index so the order is deterministic.
 * @returns STATUS_OK, or STATUS_NO_CONVERGENCE
 */
export function pcaFit(cov: usize, dim: i32, keep: i32): i32 {
  const values = allocZeroed(<usize>dim << 3);
  const vectors = allocZeroed(<usize>dim * <usize>dim << 3);
  const status = symmetricEigen(cov, dim, values, vectors);
  if (status == STATUS_OK) {
    release(pcaDirections);
    pcaDirections = allocZeroed(<usize>keep * <usize>dim << 3);
    pcaKept = keep;
    const taken = allocZeroed(<usize>dim);
    for (let t = 0; t < keep; t++) {
      let best = -1;
      let bestValue = -Infinity;
      for (let i = 0; i < dim; i++) {
        const v = load<f64>(values + (<usize>i << 3));
        if (load<u8>(taken + i) == 0 && v > bestValue) { best = i; bestValue = v; }
      }
      store<u8>(taken + best, 1);
      memory.copy(pcaDirections + ((<usize>t * <usize>dim) << 3), vectors + ((<usize>best * <usize>dim) << 3), <usize>dim << 3);
    }
    release(taken);
  }
  release(vectors);
  release(values);
  return status;
}

/**
 * Fills the `(targetDim, dim)` f32 rotation with the top `targetDim` principal directions of the
 * last {@link pcaFit}, mixed by a seeded random orthogonal matrix (Faiss `PCAMatrix` with
 * `random_rotation`): the mix spreads variance evenly over the PQ subspaces. On clustered data it
 * measured better than dealing principal directions to subspaces by eigenvalue (docs/design.md).
 */
export function pcaRotation(dim: i32, targetDim: i32, seed: u32, rotationOut: usize): void {
  const mix = allocZeroed(<usize>targetDim * <usize>targetDim << 3);
  randomOrthogonal(mix, targetDim, seed);
  for (let r = 0; r < targetDim; r++) {
    for (let c = 0; c < dim; c++) {
      let acc = 0.0;
      for (let t = 0; t < targetDim; t++) acc += load<f64>(at(mix, targetDim, r, t)) * load<f64>(at(pcaDirections, dim, t, c));
      store<f32>(rotationOut + ((<usize>r * <usize>dim + <usize>c) << 2), <f32>acc);
    }
  }
  release(mix);
}

/** Frees the kept directions once the codec is final. */
export function pcaRelease(): void {
  release(pcaDirections);
  pcaDirections = 0;
  pcaKept = 0;
}

/** A seeded random `(n, n)` f64 orthogonal matrix: modified Gram–Schmidt on Gaussian rows. */
function randomOrthogonal(out: usize, n: i32, seed: u32): void {
  rngSeed(seed);
  for (let i = 0; i < n * n; i++) {
    const u1 = (<f64>rngNextU32() + 1.0) / 4294967297.0;
    const u2 = <f64>rngNextU32() / 4294967296.0;
    store<f64>(out + (<usize>i << 3), Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2));
  }
  for (let i = 0; i < n; i++) {
    const ri = at(out, n, i, 0);
    for (let j = 0; j < i; j++) {
      const rj = at(out, n, j, 0);
      let proj = 0.0;
      for (let c = 0; c < n; c++) proj += load<f64>(ri + (<usize>c << 3)) * load<f64>(rj + (<usize>c << 3));
      for (let c = 0; c < n; c++) store<f64>(ri + (<usize>c << 3), load<f64>(ri + (<usize>c << 3)) - proj * load<f64>(rj + (<usize>c << 3)));
    }
    let norm = 0.0;
    for (let c = 0; c < n; c++) norm += load<f64>(ri + (<usize>c << 3)) * load<f64>(ri + (<usize>c << 3));
    const inv = 1.0 / Math.sqrt(norm);
    for (let c = 0; c < n; c++) store<f64>(ri + (<usize>c << 3), load<f64>(ri + (<usize>c << 3)) * inv);
  }
}

/**
 * `out = R · (x − mean)` (or `R · x` when `center` is 0) for one row.
 * @param rotation `(targetDim, dim)` f32
 * @param scratch  `dim` f32, used only when centring
 */
export function projectRow(x: usize, dim: i32, rotation: usize, targetDim: i32, mean: usize, center: bool, scratch: usize, out: usize): void {
  let src = x;
  if (center) {
    let j = 0;
    for (; j + 4 <= dim; j += 4) {
      const off = <usize>j << 2;
      v128.store(scratch + off, f32x4.sub(v128.load(x + off), v128.load(mean + off)));
    }
    for (; j < dim; j++) store<f32>(scratch + (<usize>j << 2), load<f32>(x + (<usize>j << 2)) - load<f32>(mean + (<usize>j << 2)));
    src = scratch;
  }
  const rowBytes = <usize>dim << 2;
  for (let t = 0; t < targetDim; t++) store<f32>(out + (<usize>t << 2), dot(rotation + <usize>t * rowBytes, src, dim));
}
