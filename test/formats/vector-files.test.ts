/**
 * .fvecs / .ivecs / .npy / JSONL readers, readVectors' format detection and the .fvecs/.ivecs writers:
 * seeded round trips over many chunk sizes, and malformed inputs rejected with a coded error and offset.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isQuantumDBError, type QuantumDBError } from '../../src/errors.js';
import { readFvecs, readIvecs, readJsonl, readNpy, readVectors, writeFvecs, writeIvecs } from '../../src/formats/vector-files.js';
import { writeStream1 } from '../../src/formats/vectro-write.js';
import { expectQdbErrorAsync } from '../helpers.js';

const params = { seed: 424242, numRuns: 40 };
const encoder = new TextEncoder();

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

async function rejection(run: () => Promise<unknown>): Promise<QuantumDBError> {
  const e = await run().then(() => undefined, (err: unknown) => err);
  expect(isQuantumDBError(e), `expected a QuantumDBError, got ${String(e)}`).toBe(true);
  return e as QuantumDBError;
}

/** Builds a .npy file as numpy.save does: preamble + dict padded with spaces to a multiple of 64, ending in "\n". */
function npy(dict: string, data: Uint8Array, major = 1): Uint8Array {
  const lenBytes = major === 1 ? 2 : 4;
  const unpadded = 8 + lenBytes + dict.length + 1;
  const header = encoder.encode(dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n');
  const out = new Uint8Array(8 + lenBytes + header.length + data.length);
  out.set([0x93, ...encoder.encode('NUMPY'), major, 0]);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 8 + lenBytes);
  out.set(data, 8 + lenBytes + header.length);
  return out;
}
const f32Bytes = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const dict = (descr: string, shape: string, fortran = 'False') => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

let tmp = '';
beforeAll(async () => { tmp = await mkdtemp(join(tmpdir(), 'qdb-vecfiles-')); });
afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

describe('.fvecs and .ivecs', () => {
  it('round-trip rows bit for bit at any chunk size', async () => {
    const rows = fc.integer({ min: 1, max: 6 }).chain((d) => fc.array(fc.float32Array({ minLength: d, maxLength: d }), { maxLength: 10 }));
    await fc.assert(fc.asyncProperty(rows, fc.integer({ min: 1, max: 50 }), async (input, chunkBytes) => {
      const out = join(tmp, 'prop.fvecs');
      expect(await writeFvecs(out, input)).toBe(input.length);
      const back = await collect(readFvecs(out, { chunkBytes }));
      expect(back.map((r) => Array.from(new Uint32Array(r.buffer)))).toEqual(input.map((r) => Array.from(new Uint32Array(r.buffer))));
    }), params);
    const ints = fc.integer({ min: 1, max: 6 }).chain((d) => fc.array(fc.array(fc.integer(), { minLength: d, maxLength: d }), { maxLength: 10 }));
    await fc.assert(fc.asyncProperty(ints, async (input) => {
      const out = join(tmp, 'prop.ivecs');
      await writeIvecs(out, input);
      expect((await collect(readIvecs(out, { chunkBytes: 9 }))).map((r) => Array.from(r))).toEqual(input);
    }), params);
  });

  it('reject a truncated row, a bad dimension and a dimension that changes, at the row start', async () => {
    const good = new Uint8Array(await (async () => { await writeFvecs(join(tmp, 'g.fvecs'), [[1, 2, 3], [4, 5, 6]]); return readFile(join(tmp, 'g.fvecs')); })());
    const cases: [Uint8Array, number][] = [
      [good.subarray(0, good.length - 2), 16], // second row cut short
      [Uint8Array.from([...good.subarray(0, 16), 0xff, 0xff, 0xff, 0xff]), 16], // dimension -1
      [Uint8Array.from([...good.subarray(0, 16), 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 16], // 2 after 3
      [new Uint8Array(4), 0], // dimension 0
      [good.subarray(0, 3), 0], // not even a dimension
    ];
    for (const [bytes, offset] of cases) {
      const e = await rejection(() => collect(readFvecs(bytes)));
      expect([e.code, e.details?.offset]).toEqual(['CORRUPT_FILE', offset]);
    }
  });

  it('refuse to write ragged, empty or non-integer rows', async () => {
    const out = join(tmp, 'bad.ivecs');
    await expectQdbErrorAsync(() => writeFvecs(out, [[1, 2], [3]]), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => writeFvecs(out, [[]]), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => writeIvecs(out, [[1.5]]), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => writeIvecs(out, [[2 ** 31]]), 'INVALID_ARGUMENT');
  });
});

describe('.npy', () => {
  it('reads 2-D little-endian float32 C-order arrays, versions 1 and 2', async () => {
    const data = [1, 2, 3, -4.5, 0.1, Infinity];
    for (const major of [1, 2]) {
      const bytes = npy(dict('<f4', '(2, 3)'), f32Bytes(data), major);
      expect((bytes.length - data.length * 4) % 64).toBe(0); // header padded to 64 bytes, as numpy does
      const rows = await collect(readNpy(bytes, { chunkBytes: 5 }));
      expect(rows.map((r) => Array.from(r))).toEqual([data.slice(0, 3), data.slice(3)].map((r) => Array.from(Float32Array.from(r))));
    }
    expect(await collect(readNpy(npy(dict('<f4', '(0, 3)'), new Uint8Array(0))))).toEqual([]);
  });

  it('rejects other dtypes, Fortran order and other ranks with UNSUPPORTED_VERSION', async () => {
    for (const header of [dict('<f8', '(1, 2)'), dict('>f4', '(1, 2)'), dict('<f4', '(1, 2)', 'True'), dict('<f4', '(2,)'), "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1, 2), }"]) {
      const e = await rejection(() => collect(readNpy(npy(header, new Uint8Array(8)))));
      expect(e.code).toBe('UNSUPPORTED_VERSION');
      expect(e.details?.offset).toBe(10);
      expect(e.message).toMatch(/float32|astype/);
    }
  });

  it('rejects a bad magic, a bad header and data that does not fit the shape with CORRUPT_FILE', async () => {
    const good = npy(dict('<f4', '(2, 2)'), f32Bytes([1, 2, 3, 4]));
    const dataAt = good.length - 16;
    const cases: [Uint8Array, number][] = [
      [encoder.encode('NUMPY but not really'), 0],
      [good.subarray(0, good.length - 1), dataAt], // truncated data
      [npy(dict('<f4', '(2, 2)'), f32Bytes([1, 2, 3, 4, 5])), dataAt], // trailing data
      [npy("{'descr': '<f4', 'shape': (2, 2)}", f32Bytes([1, 2, 3, 4])), 10], // no fortran_order
      [good.subarray(0, 30), 8], // header cut short: reported at the header length field
    ];
    for (const [bytes, offset] of cases) {
      const e = await rejection(() => collect(readNpy(bytes)));
      expect([e.code, e.details?.offset]).toEqual(['CORRUPT_FILE', offset]);
    }
  });
});

describe('JSONL', () => {
  it('applies the Vectro+ rules: f64 then f32, non-numbers dropped, CRLF, blank lines and whitespace ignored', async () => {
    const text = '\r\n  {"id": "a", "vector": [1, null, 0.1, "3", true, -0, 1e39]}\t\r\n\n{"vector":[2],"id":"b","x":1}';
    const records = await collect(readJsonl(encoder.encode(text), { chunkBytes: 4 }));
    expect(records.map((r) => r.id)).toEqual(['a', 'b']);
    expect(Array.from(records[0]!.vector)).toEqual([1, Math.fround(0.1), -0, Infinity]);
    expect(Object.is(records[0]!.vector[2], -0)).toBe(true);
  });

  it('round-trips random records across chunk boundaries', async () => {
    const records = fc.array(fc.record({ id: fc.string({ unit: 'binary', maxLength: 10 }), vector: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { maxLength: 6 }) }), { maxLength: 8 });
    await fc.assert(fc.asyncProperty(records, fc.integer({ min: 1, max: 40 }), fc.constantFrom('\n', '\r\n'), async (input, chunkBytes, eol) => {
      const bytes = encoder.encode(input.map((r) => JSON.stringify(r)).join(eol));
      const back = await collect(readJsonl(bytes, { chunkBytes }));
      expect(back.map((r) => ({ id: r.id, vector: Array.from(r.vector) }))).toEqual(input.map((r) => ({ id: r.id, vector: r.vector.map(Math.fround) })));
    }), params);
  });

  it('rejects invalid JSON, a wrong shape or invalid UTF-8 at the start of the line', async () => {
    const lines = '{"id": "ok", "vector": [1]}\n';
    for (const bad of ['{"id": "x", "vector": [1, 2\n', '{"id": 42, "vector": [1]}\n', 'csv-row,1,2\n', '[1, 2]\n']) {
      const e = await rejection(() => collect(readJsonl(encoder.encode(lines + bad))));
      expect([e.code, e.details?.offset]).toEqual(['CORRUPT_FILE', lines.length]);
    }
    const e = await rejection(() => collect(readJsonl(Uint8Array.from([...encoder.encode(lines), 0x7b, 0xff, 0x7d]))));
    expect([e.code, e.details?.offset]).toEqual(['CORRUPT_FILE', lines.length]);
  });
});

describe('readVectors', () => {
  it('detects the format by magic, extension or a leading "{" and numbers fvecs/npy rows', async () => {
    const fvecs = join(tmp, 'v.fvecs');
    await writeFvecs(fvecs, [[1, 2], [3, 4]]);
    const vectro = join(tmp, 'v.data');
    await writeStream1(vectro, [{ id: 'x', vector: [5] }]);
    const npyPath = join(tmp, 'array.bin');
    await writeFile(npyPath, npy(dict('<f4', '(1, 2)'), f32Bytes([6, 7])));
    const jsonl = join(tmp, 'records.txt');
    await writeFile(jsonl, '\n {"id": "j", "vector": [8]}\n');
    const read = async (input: string | Uint8Array, options = {}) => (await collect(readVectors(input, options))).map((r) => [r.id, Array.from(r.vector)]);
    expect(await read(fvecs)).toEqual([['0', [1, 2]], ['1', [3, 4]]]);
    expect(await read(vectro)).toEqual([['x', [5]]]);
    expect(await read(npyPath)).toEqual([['0', [6, 7]]]);
    expect(await read(jsonl)).toEqual([['j', [8]]]);
    expect(await read(new Uint8Array(await readFile(npyPath)))).toEqual([['0', [6, 7]]]);
    expect(await read(new Uint8Array(await readFile(fvecs)), { format: 'fvecs' })).toEqual([['0', [1, 2]], ['1', [3, 4]]]);
  });

  it('asks for a format when it cannot tell, and points .ivecs to readIvecs', async () => {
    await expectQdbErrorAsync(() => collect(readVectors(new Uint8Array([1, 0, 0, 0, 0, 0, 128, 63]))), 'INVALID_ARGUMENT');
    const ivecs = join(tmp, 'gt.ivecs');
    await writeIvecs(ivecs, [[1, 2]]);
    const e = await rejection(() => collect(readVectors(ivecs)));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/readIvecs/);
    await expectQdbErrorAsync(() => collect(readVectors(join(tmp, 'missing.fvecs'))), 'IO_ERROR');
  });
});
