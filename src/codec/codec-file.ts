/**
 * @module codec/codec-file
 * A codec as a safetensors file (`formats/safetensors.ts`): what `exportCodec` writes and
 * `importCodec` reads, and the CODEC section of a `.qdb` file can hold. Byte-level checks are the
 * safetensors reader's; this module checks that the file is a QuantumDB codec with consistent
 * sizes and finite values, and rejects anything else with `CORRUPT_FILE`.
 *
 * ```text
 * __metadata__   format  = "quantumdb-codec"
 *                version = "1"
 *                config  = JSON {"kind":"pq"|"opq"|"learned","metric":"cosine"|"l2"|"ip",
 *                                "dim":D,"targetDim":T,"m":M,"ksub":256[,"hidden":H]}
 * kind pq, opq   rotation    F32 [T, D]           row t = direction t
 *                mean        F32 [D]              training mean (codes are of rotation·(x − mean))
 *                codebooks   F32 [M, 256, T/M]    centred frame
 * kind learned   encoder.w1  F32 [H, D]           z = w2·relu(w1·x + b1) + b2
 *                encoder.b1  F32 [H]
 *                encoder.w2  F32 [T, H]
 *                encoder.b2  F32 [T]
 *                codebooks   F32 [M, 256, T/M]    latent frame (codes of z)
 *                decoder.w   F32 [D, T]           x̂ = decoder.w·ẑ + decoder.b
 *                decoder.b   F32 [D]
 *                log_scale   F32 [M]              training only
 * ```
 * Weights use PyTorch's `Linear` layout `(out, in)`, so the file loads into a PyTorch MLP as is.
 */
import { qdbError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../formats/safetensors.js';
import type { Metric } from '../types.js';
import { KSUB } from '../wasm/abi.js';
import type { LearnedCodecWeights, LinearCodec } from './learned-codec.js';

/** Value of `__metadata__.format`. */
export const CODEC_FORMAT = 'quantumdb-codec';
/** Value of `__metadata__.version` this module writes and reads. */
export const CODEC_FILE_VERSION = 1;
const METRICS: readonly Metric[] = ['cosine', 'l2', 'ip'];

/** A codec as stored: linear (PQ or OPQ) or learned. */
export type CodecFile =
  | { kind: 'pq' | 'opq'; metric: Metric; codec: LinearCodec }
  | { kind: 'learned'; metric: Metric; weights: LearnedCodecWeights };

interface Config {
  kind: CodecFile['kind'];
  metric: Metric;
  dim: number;
  targetDim: number;
  m: number;
  ksub: number;
  hidden?: number;
}

const f32 = (shape: number[], data: Float32Array): SafetensorsTensor => ({ dtype: 'F32', shape, data });

/**
 * Serializes a codec to safetensors bytes.
 * @param file the codec and the metric it was trained for
 * @returns the file bytes
 * @throws QuantumDBError `INVALID_ARGUMENT` when an array's length disagrees with the sizes.
 * @example
 * ```ts
 * await writeFile('codec.safetensors', encodeCodecFile({ kind: 'learned', metric: 'cosine', weights }));
 * ```
 */
export function encodeCodecFile(file: CodecFile): Uint8Array {
  const c = file.kind === 'learned' ? file.weights : file.codec;
  const { dim, targetDim: t, m } = c;
  const config: Config = { kind: file.kind, metric: file.metric, dim, targetDim: t, m, ksub: KSUB };
  let tensors: Record<string, SafetensorsTensor>;
  if (file.kind === 'learned') {
    const w = file.weights;
    config.hidden = w.hidden;
    tensors = {
      'encoder.w1': f32([w.hidden, dim], w.w1), 'encoder.b1': f32([w.hidden], w.b1),
      'encoder.w2': f32([t, w.hidden], w.w2), 'encoder.b2': f32([t], w.b2),
      codebooks: f32([m, KSUB, t / m], w.codebooks),
      'decoder.w': f32([dim, t], w.decoderW), 'decoder.b': f32([dim], w.decoderB),
      log_scale: f32([m], w.logScale),
    };
  } else {
    tensors = { rotation: f32([t, dim], file.codec.rotation), mean: f32([dim], file.codec.mean), codebooks: f32([m, KSUB, t / m], file.codec.codebooks) };
  }
  checkConfig(config, (why) => qdbError('INVALID_ARGUMENT', [`cannot write the codec: ${why}`]));
  for (const [name, tensor] of Object.entries(tensors)) {
    const want = tensor.shape.reduce((a, b) => a * b, 1);
    if (tensor.data.length !== want) throw qdbError('INVALID_ARGUMENT', [`cannot write the codec: ${name} has ${tensor.data.length} values, expected ${want} for shape [${tensor.shape.join(', ')}]`]);
  }
  return encodeSafetensors(tensors, { format: CODEC_FORMAT, version: String(CODEC_FILE_VERSION), config: JSON.stringify(config) });
}

/** Throws `fail(why)` when the sizes are out of range or inconsistent. */
function checkConfig(c: Config, fail: (why: string) => Error): void {
  const positive = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
  if (!['pq', 'opq', 'learned'].includes(c.kind)) throw fail(`unknown codec kind ${JSON.stringify(c.kind)}`);
  if (!METRICS.includes(c.metric)) throw fail(`unknown metric ${JSON.stringify(c.metric)}`);
  if (!positive(c.dim) || !positive(c.targetDim) || !positive(c.m)) throw fail('dim, targetDim and m must be positive integers');
  if (c.ksub !== KSUB) throw fail(`ksub must be ${KSUB}, got ${JSON.stringify(c.ksub)}`);
  if (c.targetDim % c.m !== 0 || c.targetDim > c.dim) throw fail(`targetDim (${c.targetDim}) must be a multiple of m (${c.m}) and at most dim (${c.dim})`);
  if (c.kind === 'learned' && !positive(c.hidden)) throw fail('a learned codec needs a positive integer hidden size');
  // Bounds against absurd allocations from a hostile header (the tensor sizes are checked too).
  if (c.dim > 65_536 || (c.hidden ?? 0) > 65_536) throw fail('dim and hidden must be at most 65,536');
}

/**
 * Reads a codec file written by {@link encodeCodecFile}. The arrays are copies, independent of `bytes`.
 * @param bytes the file
 * @returns the codec
 * @throws QuantumDBError `CORRUPT_FILE` when the bytes are not a safetensors file, not a QuantumDB
 *   codec, or hold tensors of the wrong dtype, shape or non-finite values;
 *   `UNSUPPORTED_VERSION` for a codec file from a newer QuantumDB.
 * @example
 * ```ts
 * const codec = decodeCodecFile(await readFile('codec.safetensors'));
 * ```
 */
export function decodeCodecFile(bytes: Uint8Array): CodecFile {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const corrupt = (why: string) => qdbError('CORRUPT_FILE', [`codec file is corrupt: ${why}`], { offset: 8 });
  if (metadata['format'] !== CODEC_FORMAT) throw corrupt(`__metadata__.format is ${JSON.stringify(metadata['format'])}, expected ${JSON.stringify(CODEC_FORMAT)}`);
  const version = Number(metadata['version']);
  if (!Number.isSafeInteger(version) || version < 1) throw corrupt(`__metadata__.version ${JSON.stringify(metadata['version'])} is not a positive integer`);
  if (version > CODEC_FILE_VERSION) {
    throw qdbError('UNSUPPORTED_VERSION', [`codec file version ${version} is newer than this QuantumDB reads (${CODEC_FILE_VERSION}); upgrade quantumdb`], { version });
  }
  let config: Config;
  try {
    config = JSON.parse(metadata['config'] ?? '') as Config;
  } catch (cause) {
    throw qdbError('CORRUPT_FILE', ['codec file is corrupt: __metadata__.config is not JSON'], { offset: 8 }, cause);
  }
  if (typeof config !== 'object' || config === null) throw corrupt('__metadata__.config is not an object');
  checkConfig(config, corrupt);
  const { dim, targetDim: t, m } = config;
  const expected: Record<string, number[]> = config.kind === 'learned'
    ? {
      'encoder.w1': [config.hidden as number, dim], 'encoder.b1': [config.hidden as number],
      'encoder.w2': [t, config.hidden as number], 'encoder.b2': [t], codebooks: [m, KSUB, t / m],
      'decoder.w': [dim, t], 'decoder.b': [dim], log_scale: [m],
    }
    : { rotation: [t, dim], mean: [dim], codebooks: [m, KSUB, t / m] };
  for (const name of Object.keys(tensors)) if (!(name in expected)) throw corrupt(`unexpected tensor ${JSON.stringify(name)} in a ${config.kind} codec`);
  const read = (name: string): Float32Array => {
    const tensor = tensors[name];
    const shape = expected[name] as number[];
    if (tensor === undefined) throw corrupt(`tensor ${JSON.stringify(name)} is missing`);
    if (tensor.dtype !== 'F32') throw corrupt(`tensor ${JSON.stringify(name)} is ${tensor.dtype}, expected F32`);
    if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
      throw corrupt(`tensor ${JSON.stringify(name)} has shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    const data = (tensor.data as Float32Array).slice();
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw corrupt(`tensor ${JSON.stringify(name)} holds a non-finite value at index ${i}`);
    return data;
  };
  if (config.kind === 'learned') {
    const weights: LearnedCodecWeights = {
      dim, hidden: config.hidden as number, targetDim: t, m,
      w1: read('encoder.w1'), b1: read('encoder.b1'), w2: read('encoder.w2'), b2: read('encoder.b2'),
      codebooks: read('codebooks'), logScale: read('log_scale'), decoderW: read('decoder.w'), decoderB: read('decoder.b'),
    };
    return { kind: 'learned', metric: config.metric, weights };
  }
  const codec: LinearCodec = { kind: config.kind, dim, targetDim: t, m, rotation: read('rotation'), mean: read('mean'), codebooks: read('codebooks') };
  return { kind: config.kind, metric: config.metric, codec };
}
