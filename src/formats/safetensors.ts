/**
 * @module formats/safetensors
 * Reader and writer for the safetensors format (huggingface/safetensors, `safetensors/src/tensor.rs`),
 * the container of QuantumDB's codec weights (the CODEC section of a `.qdb` file).
 *
 * ```text
 * offset   size  content
 * 0        8     N: u64 LE, byte length of the JSON header
 * 8        N     UTF-8 JSON object, padded with spaces (0x20) to a multiple of 8 bytes:
 *                {"__metadata__":{"k":"v",…},                        (optional, string → string)
 *                 "<name>":{"dtype":"F32","shape":[2,3],"data_offsets":[begin,end]},…}
 * 8+N      …     byte buffer: every tensor's little-endian, row-major bytes; data_offsets are
 *                relative to 8+N, contiguous from 0, and the last `end` is the end of the file
 * ```
 *
 * The writer reproduces the reference `serialize` byte for byte: tensors sorted by descending dtype
 * rank (the reference `Dtype` enum is in increasing alignment order), then by name in code-point
 * order; `__metadata__` written first; compact JSON with keys `dtype`, `shape`, `data_offsets`.
 * Because the header is padded to 8 bytes and larger dtypes come first, every tensor starts
 * aligned to its element size, so the reader can return zero-copy typed views. It copies when the
 * input itself is misaligned. Both sides assume a little-endian host, as every Node and browser
 * platform in use is.
 *
 * The reader treats the file as hostile and checks everything the reference `read_metadata` and
 * `validate` check. JSON.parse keeps the last of duplicate keys (the spec forbids duplicates); a
 * dropped duplicate leaves a hole in the offsets, so the coverage check still rejects the file.
 */
import { qdbError } from '../errors.js';

/** Dtypes in the reference enum order (increasing alignment); the writer sorts by this rank. */
const DTYPE_ORDER = [
  'BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'I16', 'U16', 'F16', 'BF16',
  'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
] as const;

/**
 * A safetensors element type. `F16`/`BF16` values are raw bit patterns in a `Uint16Array`;
 * `BOOL` and the FP8 types are raw bytes; `C64` is interleaved (re, im) `Float32Array` pairs.
 */
export type SafetensorsDtype = (typeof DTYPE_ORDER)[number];

/** The typed arrays a tensor's values can live in. */
export type SafetensorsData =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** One tensor: dtype, row-major shape and its values. */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsData;
}

/** A decoded file: tensors in file (offset) order, and the `__metadata__` map (empty if absent). */
export interface SafetensorsFile {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

type ViewCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): SafetensorsData;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
};

/** Bytes per element and the typed array that holds the values, per dtype. */
const DTYPES: Record<SafetensorsDtype, { bytes: number; view: ViewCtor }> = {
  BOOL: { bytes: 1, view: Uint8Array }, U8: { bytes: 1, view: Uint8Array }, I8: { bytes: 1, view: Int8Array },
  F8_E5M2: { bytes: 1, view: Uint8Array }, F8_E4M3: { bytes: 1, view: Uint8Array }, F8_E8M0: { bytes: 1, view: Uint8Array },
  I16: { bytes: 2, view: Int16Array }, U16: { bytes: 2, view: Uint16Array }, F16: { bytes: 2, view: Uint16Array },
  BF16: { bytes: 2, view: Uint16Array }, I32: { bytes: 4, view: Int32Array }, U32: { bytes: 4, view: Uint32Array },
  F32: { bytes: 4, view: Float32Array }, C64: { bytes: 8, view: Float32Array }, F64: { bytes: 8, view: Float64Array },
  I64: { bytes: 8, view: BigInt64Array }, U64: { bytes: 8, view: BigUint64Array },
};

/** Largest header the reference accepts (`MAX_HEADER_SIZE`, 100 MB), against JSON bombs. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const LENGTH_BYTES = 8;

const isDtype = (d: unknown): d is SafetensorsDtype => typeof d === 'string' && Object.hasOwn(DTYPES, d);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Compares strings in Unicode code-point order, which is Rust's (UTF-8 byte) `String` order.
 * Plain `<` compares UTF-16 units and misorders surrogate pairs against U+E000..U+FFFF.
 */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Element count of `shape`, or -1 when it is not exact in a double. */
function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return -1;
  }
  return n;
}

/**
 * Serializes tensors (and optional string metadata) to safetensors bytes, byte-identical to the
 * reference implementation's `serialize` for the same input.
 *
 * @param tensors - Name → tensor. `data` is the dtype's typed array (see {@link SafetensorsDtype})
 *   or a `Uint8Array` of raw little-endian bytes; its byte length must equal product(shape) × dtype size.
 * @param metadata - Optional `__metadata__` map; values must be strings (QuantumDB stores its codec
 *   configuration as a JSON string here).
 * @returns The complete file as one `Uint8Array`.
 * @throws QuantumDBError `INVALID_ARGUMENT` for an unknown dtype, a bad shape, data of the wrong type
 *   or length, a tensor named `__metadata__`, or a non-string metadata value.
 * @example
 * ```ts
 * const bytes = encodeSafetensors(
 *   { 'encoder.w': { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } },
 *   { config: JSON.stringify({ dim: 2 }) },
 * );
 * ```
 */
export function encodeSafetensors(tensors: Record<string, SafetensorsTensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = Object.entries(tensors).map(([name, t]) => {
    checkTensorArgument(name, t);
    return { name, t, rank: DTYPE_ORDER.indexOf(t.dtype) };
  });
  entries.sort((l, r) => r.rank - l.rank || compareCodePoints(l.name, r.name));

  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw qdbError('INVALID_ARGUMENT', [`safetensors metadata value for key ${JSON.stringify(k)} must be a string, got ${typeof v}.`]);
    }
    parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }
  let dataBytes = 0;
  for (const { name, t } of entries) {
    const end = dataBytes + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${dataBytes},${end}]}`);
    dataBytes = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerBytes = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(LENGTH_BYTES + headerBytes + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, LENGTH_BYTES);
  out.fill(0x20, LENGTH_BYTES + json.length, LENGTH_BYTES + headerBytes);
  let at = LENGTH_BYTES + headerBytes;
  for (const { t } of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

function checkTensorArgument(name: string, t: SafetensorsTensor): void {
  const bad = (why: string) => qdbError('INVALID_ARGUMENT', [`safetensors tensor ${JSON.stringify(name)}: ${why}`], { tensor: name });
  if (name === METADATA_KEY) throw bad(`the name ${METADATA_KEY} is reserved for the metadata map; rename the tensor.`);
  if (!isDtype(t.dtype)) throw bad(`unknown dtype ${JSON.stringify(t.dtype)}; use one of ${DTYPE_ORDER.join(', ')}.`);
  if (!Array.isArray(t.shape) || !t.shape.every(isCount)) throw bad('shape must be an array of non-negative integers.');
  const { bytes, view } = DTYPES[t.dtype];
  if (!(t.data instanceof view) && !(t.data instanceof Uint8Array)) {
    throw bad(`data for dtype ${t.dtype} must be a ${view.name} or a Uint8Array of raw bytes.`);
  }
  const count = elementCount(t.shape);
  if (count < 0 || count * bytes !== t.data.byteLength) {
    const need = count < 0 ? 'more than 2^53' : String(count * bytes);
    throw bad(`shape [${t.shape.join(', ')}] needs ${need} bytes of ${t.dtype} but data has ${t.data.byteLength}.`);
  }
}

/**
 * Parses and validates safetensors bytes. Tensor data are zero-copy views into `bytes` when
 * aligned to the element size, copies otherwise; do not mutate `bytes` while using them.
 *
 * Validated: the header length (≤ 100 MB and within the file), UTF-8, that the header is a JSON
 * object, every entry's dtype, shape and `data_offsets`, that shape × dtype size equals each
 * offset span, that the spans tile the byte buffer from 0 to the end of the file with no gap,
 * overlap or trailing byte, and that every `__metadata__` value is a string.
 *
 * @param bytes - The whole file.
 * @returns Tensors in file order and the metadata map.
 * @throws QuantumDBError `CORRUPT_FILE` (with `details.offset`, the absolute byte offset of the
 *   problem or of the header start for JSON-level problems) for any violation above.
 * @example
 * ```ts
 * const { tensors, metadata } = decodeSafetensors(await readFile('codec.safetensors'));
 * const w = tensors['encoder.w']!.data as Float32Array;
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  const header = parseHeader(bytes);
  const dataStart = LENGTH_BYTES + header.length;
  const corrupt = (offset: number, why: string, name?: string) =>
    qdbError('CORRUPT_FILE', [`safetensors file is corrupt: ${why}`], name === undefined ? { offset } : { offset, tensor: name });

  let metadata: Record<string, string> = {};
  const infos: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header.json)) {
    if (name === METADATA_KEY) {
      if (entry === null) continue;
      if (!isPlainObject(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        throw corrupt(LENGTH_BYTES, `${METADATA_KEY} must be an object whose values are all strings.`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    if (!isPlainObject(entry)) throw corrupt(LENGTH_BYTES, `the entry for tensor ${JSON.stringify(name)} is not an object.`, name);
    const { dtype, shape, data_offsets: off } = entry;
    if (!isDtype(dtype)) {
      throw corrupt(LENGTH_BYTES, `tensor ${JSON.stringify(name)} has unknown dtype ${JSON.stringify(dtype)} (this reader knows ${DTYPE_ORDER.join(', ')}).`, name);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw corrupt(LENGTH_BYTES, `tensor ${JSON.stringify(name)} has a shape that is not an array of non-negative integers.`, name);
    }
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount)) {
      throw corrupt(LENGTH_BYTES, `tensor ${JSON.stringify(name)} has data_offsets that are not two non-negative integers.`, name);
    }
    infos.push({ name, dtype, shape, begin: off[0] as number, end: off[1] as number });
  }

  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const tensors: [string, SafetensorsTensor][] = [];
  const bufferBytes = bytes.length - dataStart;
  let cursor = 0;
  for (const { name, dtype, shape, begin, end } of infos) {
    const at = dataStart + begin;
    if (begin !== cursor) {
      throw corrupt(at, `tensor ${JSON.stringify(name)} starts at buffer offset ${begin} but the previous tensor ends at ${cursor} (${begin > cursor ? 'gap' : 'overlap'}).`, name);
    }
    if (end < begin || end > bufferBytes) {
      throw corrupt(at, `tensor ${JSON.stringify(name)} has data_offsets [${begin}, ${end}] outside the ${bufferBytes}-byte buffer.`, name);
    }
    const { bytes: size, view } = DTYPES[dtype];
    const count = elementCount(shape);
    if (count < 0 || count * size !== end - begin) {
      throw corrupt(at, `tensor ${JSON.stringify(name)} has shape [${shape.join(', ')}] of ${dtype} (${count < 0 ? 'overflowing' : count * size} bytes) but data_offsets span ${end - begin} bytes.`, name);
    }
    tensors.push([name, { dtype, shape, data: typedView(bytes, at, end - begin, view) }]);
    cursor = end;
  }
  if (cursor !== bufferBytes) {
    throw corrupt(dataStart + cursor, `the tensors cover ${cursor} bytes of the buffer but the file has ${bufferBytes - cursor} trailing bytes after them.`);
  }
  // fromEntries defines own properties, so a tensor named "__proto__" stays a tensor.
  return { tensors: Object.fromEntries(tensors), metadata };
}

/** Reads and parses the length prefix and JSON header; CORRUPT_FILE on any problem. */
function parseHeader(bytes: Uint8Array): { length: number; json: Record<string, unknown> } {
  const corrupt = (offset: number, why: string, cause?: unknown) =>
    qdbError('CORRUPT_FILE', [`safetensors file is corrupt: ${why}`], { offset }, cause);
  if (bytes.length < LENGTH_BYTES) throw corrupt(0, `it has ${bytes.length} bytes, fewer than the 8-byte header length.`);
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, LENGTH_BYTES).getBigUint64(0, true));
  if (length > SAFETENSORS_MAX_HEADER_BYTES) throw corrupt(0, `the header length ${length} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit.`);
  if (length > bytes.length - LENGTH_BYTES) {
    throw corrupt(0, `the header length ${length} runs past the end of the file (${bytes.length - LENGTH_BYTES} bytes follow it).`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(LENGTH_BYTES, LENGTH_BYTES + length));
  } catch (e) {
    throw corrupt(LENGTH_BYTES, 'the header is not valid UTF-8.', e);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw corrupt(LENGTH_BYTES, `the header is not valid JSON (${(e as Error).message}).`, e);
  }
  if (!isPlainObject(json)) throw corrupt(LENGTH_BYTES, 'the header is JSON but not an object.');
  return { length, json };
}

/** A typed view of `byteLength` bytes at `offset`: zero-copy when aligned, else a copy. */
function typedView(bytes: Uint8Array, offset: number, byteLength: number, view: ViewCtor): SafetensorsData {
  const start = bytes.byteOffset + offset;
  const count = byteLength / view.BYTES_PER_ELEMENT;
  if (start % view.BYTES_PER_ELEMENT === 0) return new view(bytes.buffer, start, count);
  return new view(bytes.slice(offset, offset + byteLength).buffer, 0, count);
}
