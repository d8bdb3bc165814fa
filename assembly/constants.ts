/**
 * @module constants
 * Compile-time constants shared by every kernel. The literature's symbols are kept
 * (faiss `ProductQuantizer.h`): `KSUB` centroids per sub-quantizer, `MAX_LEVEL` HNSW layers.
 */

/** Centroids per sub-quantizer; codes are one u8 per sub-quantizer. */
export const KSUB: i32 = 256;
/** Highest HNSW layer a node may be assigned. With M = 16, reaching layer 16 needs ~16^16 nodes. */
export const MAX_LEVEL: i32 = 15;

/** Distance kinds. Every kernel distance is lower-is-better. */
export const METRIC_L2: i32 = 0;
/** Negative inner product (cosine is inner product on unit vectors). */
export const METRIC_IP: i32 = 1;

/** Distances the graph build can use (measured in docs/design.md). */
export const BUILD_EXACT: i32 = 0;
/** Distances between PQ reconstructions. */
export const BUILD_DECODED: i32 = 1;
/** Exact distances between the rotated `targetDim` projections, held only while building. */
export const BUILD_PROJECTED: i32 = 2;

/** Status codes returned across the boundary; `src/wasm/abi.ts` maps them to errors. */
export const STATUS_OK: i32 = 0;
export const STATUS_NOT_CONFIGURED: i32 = -1;
export const STATUS_NOT_TRAINED: i32 = -2;
export const STATUS_BAD_ARGUMENT: i32 = -3;
export const STATUS_NO_CONVERGENCE: i32 = -4;
