/**
 * @module formats/vectro-pq
 * The Vectro+ product quantizer of PQSTREAM1 files on the WebAssembly kernels (assembly/vectro.ts):
 * {@link PqEncoder} encodes rows for `writePQStream1`, and {@link trainPqCodebooks} runs the
 * per-subspace Lloyd's k-means of `exportStream(…, { format: 'pqstream1' })`. Both pick centroids
 * by Vectro+'s exact binary32 rule, so codes equal those of `pqEncode` (vectro-quant.ts, the
 * readable statement of the rule) bit for bit. The formats layer drives kernels here, as `codec/`
 * does, because the hot loops belong in `assembly/`.
 *
 * Kernel regions:
 * ```
 *   codebooks  (m, KSUB, sub) f32    KSUB = 256; entries past a subspace's centroid count are zero
 *   counts     (m) i32               centroids of each subspace
 *   rows       (batchRows, dim) f32  staged rows to encode, or the training sample (n, dim)
 *   codes      (batchRows, m) u8
 * ```
 */
import { Kernels, KSUB } from '../wasm/abi.js';
import type { ProductQuantizer } from './vectro-quant.js';

/**
 * Lays a PQSTREAM1 quantizer's codebooks out as `(m, KSUB, sub)` f32 in `out` (already zero):
 * entries past a subspace's centroids stay 0, as no code points at them.
 */
export function packCodebooks(pq: ProductQuantizer, out: Float32Array): Float32Array {
  const sub = pq.dim / pq.m;
  pq.codebooks.forEach((centroids, s) => centroids.forEach((c, i) => out.set(c, (s * KSUB + i) * sub)));
  return out;
}

/** Bytes of staged rows per encode call: the codebook is re-interleaved once per call. */
const BATCH_BYTES = 4 << 20;

/**
 * Encodes rows with one product quantizer, a batch at a time: stage rows with {@link row}, then
 * call {@link encode}.
 * @internal
 */
export class PqEncoder {
  /** Rows one {@link encode} call takes. */
  readonly batchRows: number;
  private readonly kernels = new Kernels();
  private readonly rowsPtr: number;
  private readonly codesPtr: number;
  private readonly booksPtr: number;
  private readonly countsPtr: number;

  /** @param pq - A quantizer that passed `toProductQuantizer` (1 to 256 centroids per subspace). */
  constructor(private readonly pq: ProductQuantizer) {
    const raw = this.kernels.raw;
    const sub = pq.dim / pq.m;
    this.batchRows = Math.max(1, Math.floor(BATCH_BYTES / Math.max(4, 4 * pq.dim)));
    this.rowsPtr = raw.arenaAlloc(Math.max(16, 4 * pq.dim * this.batchRows));
    this.codesPtr = raw.arenaAlloc(pq.m * this.batchRows);
    this.booksPtr = raw.arenaAlloc(Math.max(16, 4 * pq.m * KSUB * sub));
    this.countsPtr = raw.arenaAlloc(4 * pq.m);
    packCodebooks(pq, this.kernels.f32(this.booksPtr, pq.m * KSUB * sub));
    this.kernels.u32(this.countsPtr, pq.m).set(pq.codebooks.map((centroids) => centroids.length));
  }

  /** The staging slot of row `r` (< {@link batchRows}): `dim` floats to fill. */
  row(r: number): Float32Array {
    return this.kernels.f32(this.rowsPtr + 4 * this.pq.dim * r, this.pq.dim);
  }

  /**
   * Codes of the first `n` staged rows.
   * @param scalar - Use the kernel's one-centroid-at-a-time twin (tests).
   * @returns `n · m` bytes, row-major (a copy).
   */
  encode(n: number, scalar = false): Uint8Array {
    const { dim, m } = this.pq;
    this.kernels.raw.vectroPqEncode(this.rowsPtr, n, dim, m, this.booksPtr, this.countsPtr, this.codesPtr, scalar ? 1 : 0);
    return this.kernels.u8(this.codesPtr, n * m).slice();
  }
}

/**
 * Trains `m` codebooks of `k` centroids on `n` rows (row-major, `dim` floats each): Lloyd's k-means
 * per subspace, from the evenly spaced rows `⌊c·n/k⌋` (shuffle the sample first), for at most
 * `iterations` rounds (see `vectroKmeans` in assembly/vectro.ts).
 * @param k - Centroids per subspace, 1 ≤ k ≤ min(n, 256).
 * @returns `codebooks[s][c]`, each `dim / m` floats.
 * @internal
 */
export function trainPqCodebooks(rows: Float32Array, n: number, dim: number, m: number, k: number, iterations: number): Float32Array[][] {
  const kernels = new Kernels();
  const raw = kernels.raw;
  const sub = dim / m;
  const rowsPtr = raw.arenaAlloc(Math.max(16, 4 * n * dim));
  kernels.f32(rowsPtr, n * dim).set(rows.subarray(0, n * dim));
  const bookBytes = 4 * KSUB * sub;
  const booksPtr = raw.arenaAlloc(Math.max(16, m * bookBytes));
  for (let s = 0; s < m; s++) raw.vectroKmeans(rowsPtr, n, dim, s * sub, sub, k, iterations, booksPtr + s * bookBytes);
  const books = kernels.f32(booksPtr, m * KSUB * sub);
  return Array.from({ length: m }, (_, s) => Array.from({ length: k }, (_, c) => books.slice((s * KSUB + c) * sub, (s * KSUB + c + 1) * sub)));
}
