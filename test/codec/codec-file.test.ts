import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CODEC_FILE_VERSION, decodeCodecFile, encodeCodecFile, type CodecFile } from '../../src/codec/codec-file.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../../src/formats/safetensors.js';
import { expectQdbError } from '../helpers.js';
import { randomLinearCodec, randomWeights } from './fixtures.js';

const learned: CodecFile = { kind: 'learned', metric: 'cosine', weights: randomWeights(12, 10, 8, 4, 1) };
const linear: CodecFile = { kind: 'opq', metric: 'l2', codec: { ...randomLinearCodec(12, 8, 2, 2), kind: 'opq' } };

/** Re-encodes a valid codec file after `edit` changed its tensors or metadata. */
function tamper(file: CodecFile, edit: (t: Record<string, SafetensorsTensor>, meta: Record<string, string>) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(encodeCodecFile(file));
  const copy = Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, { ...v, data: (v.data as Float32Array).slice() }]));
  const meta = { ...metadata };
  edit(copy, meta);
  return encodeSafetensors(copy, meta);
}

describe('codec files (safetensors)', () => {
  it.each([['learned', learned], ['opq', linear]] as const)('round-trips a %s codec exactly', (_, file) => {
    const back = decodeCodecFile(encodeCodecFile(file));
    expect(back).toEqual(file);
  });

  it('round-trips random learned codecs (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1000 }),
      fc.constantFrom('cosine', 'l2', 'ip'),
      (dim, hidden, m, seed, metric) => {
        const targetDim = m * Math.max(1, Math.floor(dim / m));
        if (targetDim > dim) return;
        const file: CodecFile = { kind: 'learned', metric: metric as 'l2', weights: randomWeights(dim, hidden, targetDim, m, seed) };
        expect(decodeCodecFile(encodeCodecFile(file))).toEqual(file);
      },
    ), { seed: 7, numRuns: 40 });
  });

  it('writes the layout documented in the module header', () => {
    const { tensors, metadata } = decodeSafetensors(encodeCodecFile(learned));
    expect(metadata['format']).toBe('quantumdb-codec');
    expect(metadata['version']).toBe('1');
    expect(JSON.parse(metadata['config'] as string)).toEqual({ kind: 'learned', metric: 'cosine', dim: 12, targetDim: 8, m: 4, ksub: 256, hidden: 10 });
    expect(tensors['encoder.w1']?.shape).toEqual([10, 12]);
    expect(tensors['codebooks']?.shape).toEqual([4, 256, 2]);
    expect(tensors['decoder.w']?.shape).toEqual([12, 8]);
  });

  it('rejects inconsistent arrays when writing', () => {
    const bad: CodecFile = { kind: 'learned', metric: 'l2', weights: { ...randomWeights(6, 4, 4, 2, 3), b1: new Float32Array(3) } };
    expectQdbError(() => encodeCodecFile(bad), 'INVALID_ARGUMENT');
  });
});

describe('malformed codec files are rejected', () => {
  const cases: [string, () => Uint8Array, 'CORRUPT_FILE' | 'UNSUPPORTED_VERSION'][] = [
    ['empty bytes', () => new Uint8Array(0), 'CORRUPT_FILE'],
    ['truncated', () => encodeCodecFile(learned).subarray(0, 200), 'CORRUPT_FILE'],
    ['missing a byte at the end', () => { const b = encodeCodecFile(linear); return b.subarray(0, b.length - 1); }, 'CORRUPT_FILE'],
    ['not a codec (no metadata)', () => encodeSafetensors({ x: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }), 'CORRUPT_FILE'],
    ['wrong format name', () => tamper(learned, (_, m) => { m['format'] = 'other'; }), 'CORRUPT_FILE'],
    ['newer version', () => tamper(learned, (_, m) => { m['version'] = String(CODEC_FILE_VERSION + 1); }), 'UNSUPPORTED_VERSION'],
    ['version not a number', () => tamper(learned, (_, m) => { m['version'] = 'one'; }), 'CORRUPT_FILE'],
    ['config not JSON', () => tamper(learned, (_, m) => { m['config'] = '{'; }), 'CORRUPT_FILE'],
    ['config null', () => tamper(learned, (_, m) => { m['config'] = 'null'; }), 'CORRUPT_FILE'],
    ['unknown kind', () => tamper(learned, (_, m) => { m['config'] = (m['config'] as string).replace('"learned"', '"magic"'); }), 'CORRUPT_FILE'],
    ['unknown metric', () => tamper(learned, (_, m) => { m['config'] = (m['config'] as string).replace('"cosine"', '"hamming"'); }), 'CORRUPT_FILE'],
    ['targetDim not a multiple of m', () => tamper(learned, (_, m) => { m['config'] = (m['config'] as string).replace('"m":4', '"m":3'); }), 'CORRUPT_FILE'],
    ['huge dim', () => tamper(learned, (_, m) => { m['config'] = (m['config'] as string).replace('"dim":12', '"dim":1e9'); }), 'CORRUPT_FILE'],
    ['missing tensor', () => tamper(learned, (t) => { delete t['encoder.b2']; }), 'CORRUPT_FILE'],
    ['extra tensor', () => tamper(linear, (t) => { t['extra'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) }; }), 'CORRUPT_FILE'],
    ['wrong shape', () => tamper(learned, (t) => { t['encoder.w1'] = { dtype: 'F32', shape: [12, 10], data: new Float32Array(120) }; }), 'CORRUPT_FILE'],
    ['wrong dtype', () => tamper(linear, (t) => { t['mean'] = { dtype: 'F64', shape: [12], data: new Float64Array(12) }; }), 'CORRUPT_FILE'],
    ['NaN weight', () => tamper(learned, (t) => { (t['encoder.w2']?.data as Float32Array)[3] = NaN; }), 'CORRUPT_FILE'],
    ['infinite codeword', () => tamper(linear, (t) => { (t['codebooks']?.data as Float32Array)[0] = Infinity; }), 'CORRUPT_FILE'],
  ];
  it.each(cases)('%s', (_, make, code) => {
    expectQdbError(() => decodeCodecFile(make()), code);
  });

  it('never throws anything but a coded error on flipped bytes', () => {
    const good = encodeCodecFile(linear);
    fc.assert(fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
      const bytes = good.slice();
      bytes[at] = (bytes[at] as number) ^ flip;
      try {
        decodeCodecFile(bytes);
      } catch (e) {
        expect((e as { code?: string }).code).toMatch(/^(CORRUPT_FILE|UNSUPPORTED_VERSION)$/);
      }
    }), { seed: 3, numRuns: 300 });
  });
});
