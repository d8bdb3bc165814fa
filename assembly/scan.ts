/**
 * @module scan
 * Exact scans over rows the host copies into linear memory, for the command line's exhaustive
 * `search` over a vector file: the cosine similarity of a block of rows to one query, and the
 * expansion of u8 codes into rows through a per-position table (QSTREAM1 dequantization,
 * PQSTREAM1 centroids). The host copies whole chunks of file bytes and lists where each record's
 * values start, so rows are read in place at any byte alignment (a wasm load may be unaligned).
 * Nothing here allocates.
 *
 *   query           (dim) f64                finite and not all zero (the host checks)
 *   offsets         (n) u32                  row r starts at base + offsets[r]
 *   row r           (dim) f32 at base + offsets[r]
 *   out             (n) f64                  similarity of each row; 0 for an all-zero row
 *   codes of row r  (m) u8 at base + offsets[r]
 *   table           (m, KSUB, sub) f32       entry (s, c) holds the `sub` values code c stands for at position s
 *   decoded         (n, m · sub) f32         row-major
 */
import { KSUB } from './constants';

// @ts-ignore: decorator
@inline function rowAt(base: usize, offsets: usize, r: i32): usize {
  return base + <usize>load<u32>(offsets + (<usize>r << 2));
}

/** `q·x / (‖q‖ ‖x‖)` from its parts; 0 when `xx` is not positive (an all-zero row, or NaN). */
// @ts-ignore: decorator
@inline function cosine(qx: f64, xx: f64, queryNorm: f64): f64 {
  return xx > 0 ? qx / (queryNorm * Math.sqrt(xx)) : 0;
}

/** ‖q‖ of the binary64 query. */
function norm64(query: usize, dim: i32): f64 {
  let qq: f64 = 0;
  for (let i = 0; i < dim; i++) {
    const q = load<f64>(query + (<usize>i << 3));
    qq += q * q;
  }
  return Math.sqrt(qq);
}

/**
 * Cosine similarity of each of `n` binary32 rows to the query, in binary64 like the record-at-a-time
 * search it replaces: every product of two binary32 values is exact in binary64 and no sum
 * overflows, so rows of extreme magnitude score as well as any. Each load of four floats of `x`
 * feeds both sums (`q·x` and `x·x`), two lanes per v128, four add chains in flight.
 */
export function scanCosine(query: usize, base: usize, offsets: usize, n: i32, dim: i32, out: usize): void {
  const queryNorm = norm64(query, dim);
  for (let r = 0; r < n; r++) {
    const row = rowAt(base, offsets, r);
    let qx0 = f64x2.splat(0), qx1 = f64x2.splat(0), xx0 = f64x2.splat(0), xx1 = f64x2.splat(0);
    let i = 0;
    for (; i + 4 <= dim; i += 4) {
      const x = v128.load(row + (<usize>i << 2));
      const lo = f64x2.promote_low_f32x4(x);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 0, 1));
      const q = query + (<usize>i << 3);
      qx0 = f64x2.add(qx0, f64x2.mul(lo, v128.load(q)));
      qx1 = f64x2.add(qx1, f64x2.mul(hi, v128.load(q + 16)));
      xx0 = f64x2.add(xx0, f64x2.mul(lo, lo));
      xx1 = f64x2.add(xx1, f64x2.mul(hi, hi));
    }
    const qxv = f64x2.add(qx0, qx1), xxv = f64x2.add(xx0, xx1);
    let qx = f64x2.extract_lane(qxv, 0) + f64x2.extract_lane(qxv, 1);
    let xx = f64x2.extract_lane(xxv, 0) + f64x2.extract_lane(xxv, 1);
    for (; i < dim; i++) {
      const v = <f64>load<f32>(row + (<usize>i << 2));
      qx += v * load<f64>(query + (<usize>i << 3));
      xx += v * v;
    }
    store<f64>(out + (<usize>r << 3), cosine(qx, xx, queryNorm));
  }
}

/** Reference twin of {@link scanCosine}: one scalar binary64 sum each. */
export function scanCosineScalar(query: usize, base: usize, offsets: usize, n: i32, dim: i32, out: usize): void {
  const queryNorm = norm64(query, dim);
  for (let r = 0; r < n; r++) {
    const row = rowAt(base, offsets, r);
    let qx: f64 = 0, xx: f64 = 0;
    for (let i = 0; i < dim; i++) {
      const v = <f64>load<f32>(row + (<usize>i << 2));
      qx += v * load<f64>(query + (<usize>i << 3));
      xx += v * v;
    }
    store<f64>(out + (<usize>r << 3), cosine(qx, xx, queryNorm));
  }
}

/**
 * Expands the `m` codes of each of `n` rows into `m · sub` floats of `out`: position `s` becomes
 * table entry `(s, code)`. QSTREAM1 is `sub = 1` (one dequantized value per dimension);
 * PQSTREAM1 is `m` subspaces of `sub = dim / m` centroid values. The host checks every code.
 */
export function scanDecodeCodes(base: usize, offsets: usize, n: i32, m: i32, sub: i32, table: usize, out: usize): void {
  const subBytes = <usize>sub << 2;
  const entryStride = <usize>KSUB * subBytes;
  for (let r = 0; r < n; r++) {
    const code = rowAt(base, offsets, r);
    const row = out + <usize>r * <usize>m * subBytes;
    if (sub == 1) {
      for (let s = 0; s < m; s++) store<f32>(row + (<usize>s << 2), load<f32>(table + <usize>s * entryStride + (<usize>load<u8>(code + s) << 2)));
    } else {
      for (let s = 0; s < m; s++) memory.copy(row + <usize>s * subBytes, table + <usize>s * entryStride + <usize>load<u8>(code + s) * subBytes, subBytes);
    }
  }
}
