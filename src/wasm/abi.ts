/**
 * @module wasm/abi
 * Typed wrapper over the kernel exports: the only code that touches pointers. Views of
 * `memory.buffer` are made per call, because any allocation may grow the memory and detach every
 * earlier view. Statuses become `QuantumDBError`s here.
 */
import { qdbError } from '../errors.js';
import { instantiateKernels } from './loader.js';

/** The raw exports of `assembly/index.ts`. Pointers are byte addresses in `memory`. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  ABI_VERSION: WebAssembly.Global;
  configure(metric: number, normalize: number, dim: number, targetDim: number, m: number, hnswM: number, efConstruction: number, buildMode: number, seed: number): number;
  reserve(n: number): void;
  reserveForRead(n: number): void;
  rowPtr(slot: number): number; storeRows(rowsPtr: number, first: number, n: number): void; vectorBytes(): number;
  codesPtr(): number; queryPtr(): number; outSlotsPtr(): number; outDistsPtr(): number;
  rotationPtr(): number; meanPtr(): number; codebooksPtr(): number; lutPtr(): number;
  level0Ptr(): number; levelsPtr(): number; upperOffsetsPtr(): number; upperPtr(): number; upperUsed(): number;
  entryPoint(): number; maxLevel(): number; graphNodeCount(): number; graphBytes(): number; scratchBytes(): number; subDim(): number;
  rowsFirstNonFinite(rowsPtr: number, n: number): number;
  rowsFirstZero(rowsPtr: number, n: number): number;
  rowsNormalize(rowsPtr: number, n: number): void;
  queryDim(): number;
  trainPca(slotsPtr: number, n: number, keep: number): number;
  useTargetDim(targetDim: number, usePca: number, seed: number): number;
  trainFinish(): void;
  encodeSlots(slotsPtr: number, n: number): void;
  trainSampleProject(slotsPtr: number, n: number): void;
  trainSubspace(s: number, maxIter: number, seed: number, warm: number): number;
  trainOpqStep(): number;
  trainSampleRelease(): void;
  encodeRows(rowsPtr: number, first: number, n: number): void;
  encodeStored(first: number, n: number): void;
  graphInsertRows(first: number, n: number): void;
  bulkBuildBegin(n: number, mode: number): void;
  bulkBuildEnd(mode: number): void;
  graphNeighbors(slot: number, level: number, outPtr: number): number;
  queryFirstNonFinite(): number;
  queryPrepare(): number;
  searchGraph(k: number, ef: number, rerank: number): number;
  /** Distances the graph asked for since the last call (u32, read as a signed i32: apply `>>> 0`). */
  graphDistanceCount(): number;
  searchFlat(listPtr: number, n: number, k: number, rerank: number): number;
  rerankRows(rowsPtr: number, slotsPtr: number, n: number, k: number): number;
  scratch(bytes: number): number;
  deletedPtr(): number; allowedPtr(): number; deletedCount(): number;
  markDeleted(slot: number): number;
  clearDeleted(): void;
  setFilterMode(mode: number): void;
  levelState(): number;
  graphReserveUpperForRead(words: number): void;
  graphRestore(entry: number, top: number, nodes: number, upperWords: number, state: number): void;
  graphValidateLevel0(first: number, end: number, slots: number): number;
  graphValidateUpper(slots: number): number;
  setBuildMode(mode: number): void;
  dropVectors(): void;
  codecLoaded(): void;
  queryExactDistance(slot: number): number;
  queryAdcDistance(slot: number): number;
  decodeRow(slot: number, outPtr: number): void;
  arenaAlloc(bytes: number): number;
  arenaAllocUnfilled(bytes: number): number;
  arenaFree(ptr: number): void;
  kernelL2(a: number, b: number, n: number): number;
  kernelL2Scalar(a: number, b: number, n: number): number;
  kernelDot(a: number, b: number, n: number): number;
  kernelDotScalar(a: number, b: number, n: number): number;
  kernelAdcSlots(slotsPtr: number, n: number, outPtr: number): void;
  kernelAdcSlotsScalar(slotsPtr: number, n: number, outPtr: number): void;
  // Learned codec (issue 3): MLP encoder and explicit-codebook PQ helpers (assembly/encoder.ts).
  encoderConfigure(dim: number, hidden: number, targetDim: number): number;
  encoderW1Ptr(): number; encoderB1Ptr(): number; encoderW2Ptr(): number; encoderB2Ptr(): number;
  encoderUse(on: number): number;
  encoderRows(xPtr: number, n: number, outPtr: number, scalar: number): void;
  kernelDense(xPtr: number, n: number, inDim: number, wPtr: number, bPtr: number, outDim: number, relu: number, outPtr: number, scalar: number): void;
  codecAssign(zPtr: number, n: number, targetDim: number, m: number, codebooksPtr: number, codesPtr: number): void;
  codecLut(qPtr: number, targetDim: number, m: number, codebooksPtr: number, l2: number, lutPtr: number): void;
  codecAdcScan(lutPtr: number, m: number, codesPtr: number, n: number, outPtr: number): void;
  // `.qdb` format 2 (assembly/checksum.ts, assembly/ids.ts).
  kernelSymmetricEigen(aPtr: number, n: number, valuesPtr: number, vectorsPtr: number): number;
  xxh64Reset(): void;
  xxh64Update(ptr: number, len: number): number;
  xxh64Digest(ptr: number, len: number): bigint;
  idTableCheck(tablePtr: number, tableBytes: number, count: number, deletedBitmapPtr: number, workPtr: number): number;
  idCheckWorkBytes(count: number): number;
  // Exhaustive search over a vector file (assembly/scan.ts) and the Vectro+ PQSTREAM1 quantizer (assembly/vectro.ts).
  scanCosine(queryPtr: number, basePtr: number, offsetsPtr: number, n: number, dim: number, outPtr: number): void;
  scanCosineScalar(queryPtr: number, basePtr: number, offsetsPtr: number, n: number, dim: number, outPtr: number): void;
  scanDecodeCodes(basePtr: number, offsetsPtr: number, n: number, m: number, sub: number, tablePtr: number, outPtr: number): void;
  vectroKmeans(xPtr: number, n: number, stride: number, offset: number, sub: number, k: number, maxIter: number, centroidsPtr: number): number;
  vectroPqEncode(rowsPtr: number, n: number, dim: number, m: number, codebooksPtr: number, countsPtr: number, codesPtr: number, scalar: number): void;
}

const ABI_VERSION = 3;
const STATUS_OK = 0;
const STATUS_BAD_ARGUMENT = -3;
const STATUS_NO_CONVERGENCE = -4;

/** Codewords per PQ codebook: the kernels' KSUB (assembly/constants.ts). */
export const KSUB = 256;

/** Results of `idTableCheck` other than a slot (assembly/ids.ts). */
export const ID_TABLE = { ascii: -1, utf8: -2, malformed: -3 } as const;

/** Distance kinds of the kernels (lower is better). */
export const KERNEL_METRIC = { l2: 0, ip: 1 } as const;
/** Filter kinds of a search (assembly/filter.ts). */
export const KERNEL_FILTER = { none: 0, bitmap: 1, host: 2 } as const;
/** Graph build distances. */
export const KERNEL_BUILD = { exact: 0, decoded: 1, projected: 2 } as const;

/** One kernel instance (one database) with typed access to its memory. */
export class Kernels {
  readonly raw: KernelExports;
  /** The predicate a host-filtered search calls for each node that would enter the results. */
  filterPredicate: (slot: number) => boolean = () => true;

  constructor() {
    this.raw = instantiateKernels({ filterAllows: (slot) => this.filterPredicate(slot) });
    const version = this.raw.ABI_VERSION.value as number;
    if (version !== ABI_VERSION) throw qdbError('INTERNAL', [`kernel ABI ${version}, expected ${ABI_VERSION}`]);
  }

  /** A fresh f32 view of `length` floats at `ptr`. */
  f32(ptr: number, length: number): Float32Array<ArrayBuffer> { return new Float32Array(this.raw.memory.buffer, ptr >>> 0, length); }
  /** A fresh f64 view of `length` doubles at `ptr` (8-byte aligned). */
  f64(ptr: number, length: number): Float64Array<ArrayBuffer> { return new Float64Array(this.raw.memory.buffer, ptr >>> 0, length); }
  /** A fresh u32 view of `length` words at `ptr`. */
  u32(ptr: number, length: number): Uint32Array<ArrayBuffer> { return new Uint32Array(this.raw.memory.buffer, ptr >>> 0, length); }
  /** A fresh byte view of `length` bytes at `ptr`. */
  u8(ptr: number, length: number): Uint8Array<ArrayBuffer> { return new Uint8Array(this.raw.memory.buffer, ptr >>> 0, length); }

  /** Bytes of linear memory currently committed. */
  get memoryBytes(): number { return this.raw.memory.buffer.byteLength; }

  /** Maps a kernel status to an error; `what` names the operation for the message. */
  check(status: number, what: string): void {
    if (status === STATUS_OK) return;
    if (status === STATUS_BAD_ARGUMENT) throw qdbError('INVALID_ARGUMENT', [`${what}: the kernels rejected the parameters; check dim, m and targetDim`]);
    if (status === STATUS_NO_CONVERGENCE) throw qdbError('INTERNAL', [`${what}: the eigensolver did not converge`]);
    throw qdbError('INTERNAL', [`${what}: kernel status ${status}`]);
  }

  /** Copies `slots` into a temporary kernel buffer, runs `fn` with its address, then frees it. */
  withSlots<T>(slots: Uint32Array, fn: (ptr: number) => T): T {
    const ptr = this.raw.arenaAlloc(Math.max(4, slots.byteLength));
    try {
      this.u32(ptr, slots.length).set(slots);
      return fn(ptr);
    } finally {
      this.raw.arenaFree(ptr);
    }
  }
}
