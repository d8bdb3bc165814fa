import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeSafetensors, encodeSafetensors, SAFETENSORS_MAX_HEADER_BYTES,
  type SafetensorsDtype, type SafetensorsTensor,
} from '../../src/formats/safetensors.js';
import { expectQdbError } from '../helpers.js';
import { isQuantumDBError } from '../../src/errors.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const f32Bytes = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

/** Builds a file by hand: u64 LE length, the header text (space-padded to 8 unless `pad` is false), the buffer. */
function handMade(header: string, buffer: Uint8Array = new Uint8Array(0), pad = true): Uint8Array {
  const json = utf8(header);
  const n = pad ? Math.ceil(json.length / 8) * 8 : json.length;
  const out = new Uint8Array(8 + n + buffer.length).fill(0x20, 8, 8 + n);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.set(buffer, 8 + n);
  return out;
}

function expectCorrupt(bytes: Uint8Array, offset?: number): void {
  expectQdbError(() => decodeSafetensors(bytes), 'CORRUPT_FILE');
  if (offset === undefined) return;
  try { decodeSafetensors(bytes); } catch (e) {
    expect(isQuantumDBError(e) && e.details?.['offset']).toBe(offset);
  }
}

describe('encodeSafetensors matches the reference implementation byte for byte', () => {
  // Expected bytes are the reference crate's own tests (safetensors/src/tensor.rs: test_serialization,
  // test_empty, test_serialization_forced_alignement), which the Python `save` wraps.
  it('one F32 tensor whose header is already a multiple of 8', () => {
    const out = encodeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) } });
    expect([...out]).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
      116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
      58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
      101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
      0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
  });

  it('empty files, with and without metadata', () => {
    expect([...encodeSafetensors({})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect([...encodeSafetensors({}, { framework: 'pt' })]).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
      95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
      116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
  });

  it('pads the header with spaces so the data stays aligned', () => {
    const out = encodeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) } });
    expect(out).toEqual(handMade('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}', f32Bytes(0, 1, 2, 3, 4, 5)));
    expect(out[8 + 65]).toBe(0x20); // 65-byte JSON padded to 72
    expect(out.length).toBe(8 + 72 + 24);
  });

  it('sorts by descending dtype alignment, then by name, and writes __metadata__ first', () => {
    const out = encodeSafetensors(
      {
        b: { dtype: 'U8', shape: [2], data: new Uint8Array([7, 8]) },
        z: { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
        a: { dtype: 'F32', shape: [], data: new Float32Array([2]) },
        c: { dtype: 'I64', shape: [1], data: new BigInt64Array([-1n]) },
      },
      { cfg: '{"dim":2}' },
    );
    const header =
      '{"__metadata__":{"cfg":"{\\"dim\\":2}"},' +
      '"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
      '"a":{"dtype":"F32","shape":[],"data_offsets":[8,12]},' +
      '"z":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},' +
      '"b":{"dtype":"U8","shape":[2],"data_offsets":[16,18]}}';
    const buffer = new Uint8Array([255, 255, 255, 255, 255, 255, 255, 255, ...f32Bytes(2), ...f32Bytes(1), 7, 8]);
    expect(out).toEqual(handMade(header, buffer));
  });

  it('orders names by code point (Rust String order), not by UTF-16 unit', () => {
    const t = (): SafetensorsTensor => ({ dtype: 'U8', shape: [0], data: new Uint8Array(0) });
    // U+FB01 sorts before U+1F600 by code point, after it by UTF-16 unit.
    const { tensors } = decodeSafetensors(encodeSafetensors({ '\u{1F600}': t(), '\uFB01': t(), b: t() }));
    expect(Object.keys(tensors)).toEqual(['b', '\uFB01', '\u{1F600}']);
  });
});

describe('decodeSafetensors', () => {
  it('returns zero-copy typed views for every numeric dtype', () => {
    const input: Record<string, SafetensorsTensor> = {
      f32: { dtype: 'F32', shape: [2], data: new Float32Array([1.5, -2]) },
      f64: { dtype: 'F64', shape: [1], data: new Float64Array([Math.PI]) },
      i32: { dtype: 'I32', shape: [2], data: new Int32Array([-7, 2 ** 31 - 1]) },
      i16: { dtype: 'I16', shape: [1], data: new Int16Array([-300]) },
      i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
      u8: { dtype: 'U8', shape: [1], data: new Uint8Array([200]) },
      i64: { dtype: 'I64', shape: [1], data: new BigInt64Array([-(2n ** 62n)]) },
      f16: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
      bf16: { dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) },
      flag: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
    };
    const bytes = encodeSafetensors(input);
    const { tensors } = decodeSafetensors(bytes);
    for (const [name, t] of Object.entries(input)) {
      const got = tensors[name]!;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(got.data.constructor).toBe(t.data.constructor);
      expect(Array.from(got.data as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
      expect(got.data.buffer).toBe(bytes.buffer);
    }
  });

  it('copies when the input is misaligned', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'F64', shape: [2], data: new Float64Array([1, 2]) } });
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    const w = decodeSafetensors(shifted).tensors['w']!.data;
    expect(Array.from(w as Float64Array)).toEqual([1, 2]);
    expect(w.buffer).not.toBe(shifted.buffer);
  });

  it('round-trips arbitrary tensors and metadata (property)', () => {
    const dtypes: SafetensorsDtype[] = ['BOOL', 'U8', 'I8', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64'];
    const size: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, C64: 8, F64: 8, I64: 8, U64: 8 };
    const tensor = fc
      .record({ dtype: fc.constantFrom(...dtypes), shape: fc.array(fc.nat(4), { maxLength: 3 }) })
      .chain(({ dtype, shape }) => {
        const n = shape.reduce((a, b) => a * b, 1) * size[dtype]!;
        return fc.uint8Array({ minLength: n, maxLength: n }).map((data) => ({ dtype, shape, data }));
      });
    const name = fc.string({ unit: 'grapheme', maxLength: 6 }).filter((s) => s !== '__metadata__');
    fc.assert(
      fc.property(
        fc.dictionary(name, tensor, { maxKeys: 6 }),
        fc.option(fc.dictionary(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), { maxKeys: 3 }), { nil: undefined }),
        (tensors, metadata) => {
          const bytes = encodeSafetensors(tensors, metadata);
          expect(new DataView(bytes.buffer).getUint32(0, true) % 8).toBe(0);
          const out = decodeSafetensors(bytes);
          expect(out.metadata).toEqual(metadata ?? {});
          expect(Object.keys(out.tensors).sort()).toEqual(Object.keys(tensors).sort());
          for (const [k, t] of Object.entries(tensors)) {
            const got = out.tensors[k]!;
            expect([got.dtype, got.shape]).toEqual([t.dtype, t.shape]);
            expect(new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength)).toEqual(t.data);
            expect(got.data.buffer).toBe(bytes.buffer); // aligned, so zero-copy
          }
          expect(encodeSafetensors(out.tensors, metadata)).toEqual(bytes);
        },
      ),
      { seed: 42, numRuns: 150 },
    );
  });

  it('accepts an absent or null __metadata__ and zero-size tensors', () => {
    expect(decodeSafetensors(handMade('{"__metadata__":null,"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}')).metadata).toEqual({});
  });
});

describe('decodeSafetensors rejects malformed files with CORRUPT_FILE', () => {
  const one = (entry: string, buffer = new Uint8Array(4)) => handMade(`{"t":${entry}}`, buffer);

  it('files shorter than the length prefix', () => expectCorrupt(new Uint8Array(7), 0));

  it('header length over 100 MB or past the end of the file', () => {
    const big = new Uint8Array(16);
    new DataView(big.buffer).setBigUint64(0, BigInt(SAFETENSORS_MAX_HEADER_BYTES + 1), true);
    expectCorrupt(big, 0);
    new DataView(big.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expectCorrupt(big, 0);
    new DataView(big.buffer).setBigUint64(0, 9n, true);
    expectCorrupt(big, 0);
  });

  it('header that is not UTF-8, not JSON, or not an object', () => {
    const bad = handMade('{"t":1}');
    bad[10] = 0xff;
    expectCorrupt(bad, 8);
    expectCorrupt(handMade('{"t":'), 8);
    expectCorrupt(handMade('[1,2]'), 8);
    expectCorrupt(handMade('null'), 8);
    expectCorrupt(handMade('\uFEFF{}'), 8); // a BOM is not JSON
  });

  it('unknown dtype', () => expectCorrupt(one('{"dtype":"F128","shape":[1],"data_offsets":[0,4]}'), 8));

  it('malformed entries: not an object, bad shape, bad offsets', () => {
    expectCorrupt(handMade('{"t":[1]}'), 8);
    expectCorrupt(one('{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}'), 8);
    expectCorrupt(one('{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}'), 8);
    expectCorrupt(one('{"dtype":"F32","shape":"1","data_offsets":[0,4]}'), 8);
    expectCorrupt(one('{"dtype":"F32","shape":[1],"data_offsets":[0]}'), 8);
    expectCorrupt(one('{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}'), 8);
    expectCorrupt(one('{"dtype":"F32","shape":[1]}'), 8);
  });

  it('shape × dtype size different from the offset span, or overflowing', () => {
    const bytes = one('{"dtype":"F32","shape":[2],"data_offsets":[0,4]}');
    expectCorrupt(bytes, bytes.length - 4);
    expectCorrupt(one('{"dtype":"F32","shape":[1073741824,1073741824,1073741824],"data_offsets":[0,4]}'));
  });

  it('gaps, overlaps, offsets past the end and trailing bytes', () => {
    const two = (a: string, b: string, n: number) =>
      handMade(`{"a":{"dtype":"U8","shape":[4],"data_offsets":${a}},"b":{"dtype":"U8","shape":[4],"data_offsets":${b}}}`, new Uint8Array(n));
    expectCorrupt(two('[0,4]', '[8,12]', 12)); // gap
    expectCorrupt(two('[0,4]', '[2,6]', 6)); // overlap
    expectCorrupt(two('[4,8]', '[8,12]', 12)); // does not start at 0
    expectCorrupt(two('[0,4]', '[4,8]', 7)); // past the end
    const trailing = two('[0,4]', '[4,8]', 9);
    expectCorrupt(trailing, trailing.length - 1);
    expect(Object.keys(decodeSafetensors(two('[4,8]', '[0,4]', 8)).tensors)).toEqual(['b', 'a']);
  });

  it('a duplicated key that hides a tensor leaves a hole and is rejected', () => {
    expectCorrupt(handMade('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}', new Uint8Array(8)));
  });

  it('non-string metadata values', () => {
    expectCorrupt(handMade('{"__metadata__":{"a":1}}'), 8);
    expectCorrupt(handMade('{"__metadata__":{"a":null}}'), 8);
    expectCorrupt(handMade('{"__metadata__":["a"]}'), 8);
  });

  it('never throws anything but CORRUPT_FILE on random corruption (property)', () => {
    const base = encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) }, b: { dtype: 'I8', shape: [3], data: new Int8Array(3) } }, { k: 'v' });
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.integer({ min: 1, max: 255 }), fc.nat(base.length), (at, flip, cut) => {
        const bytes = base.slice(0, Math.max(cut, at + 1));
        bytes[at]! ^= flip;
        try { decodeSafetensors(bytes); } catch (e) {
          expect(isQuantumDBError(e) && e.code).toBe('CORRUPT_FILE');
        }
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});

describe('encodeSafetensors rejects bad input with INVALID_ARGUMENT', () => {
  it.each([
    ['a reserved name', { __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } }],
    ['an unknown dtype', { t: { dtype: 'F128', shape: [1], data: new Uint8Array(16) } }],
    ['a negative dimension', { t: { dtype: 'U8', shape: [-1], data: new Uint8Array(0) } }],
    ['a length mismatch', { t: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }],
    ['the wrong typed array', { t: { dtype: 'F32', shape: [1], data: new Float64Array(1) } }],
  ])('%s', (_, tensors) => {
    expectQdbError(() => encodeSafetensors(tensors as unknown as Record<string, SafetensorsTensor>), 'INVALID_ARGUMENT');
  });

  it('non-string metadata', () => {
    expectQdbError(() => encodeSafetensors({}, { a: 1 } as unknown as Record<string, string>), 'INVALID_ARGUMENT');
  });

  it('accepts raw bytes for any dtype', () => {
    const raw = f32Bytes(3);
    const out = decodeSafetensors(encodeSafetensors({ t: { dtype: 'F32', shape: [1], data: raw } }));
    expect(Array.from(out.tensors['t']!.data as Float32Array)).toEqual([3]);
  });
});
