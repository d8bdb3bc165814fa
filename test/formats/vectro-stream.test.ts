/**
 * Vectro+ STREAM1 / QSTREAM1 / PQSTREAM1: byte-exact writers and bit-exact readers against the golden
 * files in ../shared/golden (skipped with a warning when that folder is absent), rejection of every
 * malformed file with its byte offset, strict vs lenient reading, and seeded round-trip properties.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isQuantumDBError, type QuantumDBError } from '../../src/errors.js';
import { readJsonl } from '../../src/formats/vector-files.js';
import { dequantizeValue, pqEncode, quantizeValue, toProductQuantizer, widenQuantTables } from '../../src/formats/vectro-quant.js';
import {
  readPQStream1, readQStream1, readStream1, readVectroStream,
  type PQStream1Record, type QStream1Record, type StreamReadOptions, type VectorRecord, type VectroFormat,
} from '../../src/formats/vectro-stream.js';
import { writePQStream1, writeQStream1, writeStream1 } from '../../src/formats/vectro-write.js';
import { writeFileAtomic } from '../../src/formats/atomic-file.js';
import { expectQdbErrorAsync } from '../helpers.js';

// test/formats/ -> repository root -> its parent, where the shared golden folder lives.
const GOLDEN_DIR = fileURLToPath(new URL('../../../shared/golden/', import.meta.url));
const HAS_GOLDEN = existsSync(join(GOLDEN_DIR, 'manifest.json'));
if (!HAS_GOLDEN) console.warn(`Vectro+ golden files not found in ${GOLDEN_DIR}; skipping the golden-file tests (they need ../shared/golden beside the repository).`);

interface Output { file: string; format: VectroFormat; records: number }
interface Case { name: string; input: string; outputs: Output[] }
interface Lenient { file: string; ids: string[]; vectors_bits: string[][] }
const manifest: { cases: Case[]; malformed: { file: string }[]; lenient: Lenient[] } = HAS_GOLDEN
  ? JSON.parse(readFileSync(join(GOLDEN_DIR, 'manifest.json'), 'utf8'))
  : { cases: [], malformed: [], lenient: [] };

/** Where each malformed file goes wrong: the first byte of the field that cannot be right. */
const ERROR_OFFSETS: Record<string, number> = {
  'empty_file.bin': 0,
  'truncated_header.bin': 0,
  'wrong_header.bin': 0,
  'wrong_header_lowercase.bin': 0,
  'stream1_truncated_record.bin': 48, // length prefix of record 2
  'stream1_length_past_eof.bin': 48,
  'stream1_length_ffffffff.bin': 48,
  'stream1_bad_utf8_id.bin': 27, // first id byte
  'stream1_surrogate_utf8_id.bin': 27,
  'stream1_id_length_huge.bin': 19, // the u64 id length
  'stream1_vector_count_too_big.bin': 28, // the u64 vector count
  'qstream1_truncated_header.bin': 16,
  'qstream1_tables_past_eof.bin': 24, // blob_len
  'qstream1_tables_count_too_big.bin': 28, // u64 table count inside the blob
  'qstream1_qvec_longer_than_tables.bin': 111, // code count of record 3
  'pqstream1_blob_past_eof.bin': 17,
  'pqstream1_code_length.bin': 201,
  'pqstream1_code_out_of_range.bin': 210, // the code byte of subspace 1
  // lenient files, read strictly
  'stream1_trailing_partial_length.bin': 81,
  'stream1_record_trailing_bytes.bin': 40,
  'qstream1_header_counts_mismatch.bin': 16,
  'qstream1_qvec_shorter_than_tables.bin': 111,
};

const READERS: Record<VectroFormat, (input: string | Uint8Array, o?: StreamReadOptions) => AsyncGenerator<VectorRecord>> = {
  STREAM1: readStream1,
  QSTREAM1: readQStream1,
  PQSTREAM1: readPQStream1,
};

const golden = (file: string) => join(GOLDEN_DIR, file);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const hexBits = (v: Float32Array | number[]) => Array.from(new Uint32Array(Float32Array.from(v).buffer), (b) => b.toString(16).padStart(8, '0'));
const isNaNBits = (hex: string) => (parseInt(hex, 16) & 0x7fffffff) > 0x7f800000;

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

/** The error `run` rejects with; fails the test when it resolves or throws something uncoded. */
async function rejection(run: () => Promise<unknown>): Promise<QuantumDBError> {
  const e = await run().then(() => undefined, (err: unknown) => err);
  expect(isQuantumDBError(e), `expected a QuantumDBError, got ${String(e)}`).toBe(true);
  return e as QuantumDBError;
}

/** Compares decoded vectors with golden hex bits; NaN matches any NaN (JS engines may canonicalize it). */
function expectBits(vectors: Float32Array[], expected: string[][]): void {
  expect(vectors.length).toBe(expected.length);
  vectors.forEach((v, i) => {
    const actual = hexBits(v);
    expect(actual.map((h, j) => (isNaNBits(h) && isNaNBits(expected[i]![j]!) ? 'nan' : h)))
      .toEqual(expected[i]!.map((h) => (isNaNBits(h) ? 'nan' : h)));
  });
}

let tmp = '';
beforeAll(async () => { tmp = await mkdtemp(join(tmpdir(), 'qdb-vectro-')); });
afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

describe.skipIf(!HAS_GOLDEN)('Vectro+ golden files', () => {
  for (const c of manifest.cases) {
    const expected = HAS_GOLDEN ? JSON.parse(readFileSync(golden(`${c.name}.expected.json`), 'utf8')) : {};
    for (const o of c.outputs) {
      const key = o.file.slice(c.name.length + 1, -'.bin'.length);
      const exp = expected[key];
      // Trained PQ files need Vectro+'s k-means; only the reader is checked against them.
      if (!/^pq-(default|m\d+k\d+)$/.test(key)) {
        it(`writes ${o.file} byte for byte`, async () => {
          const out = join(tmp, o.file);
          const input = golden(c.input);
          const written = o.format === 'STREAM1' ? await writeStream1(out, readJsonl(input))
            : o.format === 'QSTREAM1' ? await writeQStream1(out, () => readJsonl(input))
            : await writePQStream1(out, JSON.parse(readFileSync(golden(`${c.name}.codebook.json`), 'utf8')), readJsonl(input));
          expect(written).toBe(o.records);
          const bytes = await readFile(out);
          expect(sha256(bytes)).toBe(exp.sha256);
          expect(bytes.equals(await readFile(golden(o.file)))).toBe(true);
        });
      }
      it(`reads ${o.file} bit for bit`, async () => {
        const records = await collect(READERS[o.format](golden(o.file), { chunkBytes: 1000 }));
        expect(records.map((r) => r.id)).toEqual(exp.ids);
        const vectors = records.map((r) => r.vector);
        if (exp.vectors_bits) expectBits(vectors, exp.vectors_bits);
        else expect(sha256(Buffer.concat(vectors.map((v) => new Uint8Array(v.buffer))))).toBe(exp.vectors_sha256);
        if (o.format === 'QSTREAM1') {
          const q = records as QStream1Record[];
          expect(sha256(Buffer.concat(q.map((r) => r.codes)))).toBe(exp.codes_sha256);
          if (q.length > 0) expect(q[0]!.tables.map((t) => hexBits([t.min, t.max]))).toEqual(exp.tables.map((t: { min: string; max: string }) => [t.min, t.max]));
        }
        if (o.format === 'PQSTREAM1') {
          const p = records as PQStream1Record[];
          expect(sha256(Buffer.concat(p.map((r) => r.code)))).toBe(exp.codes_sha256);
          const { m, k, dim, codebooks } = p[0]!.pq;
          expect({ m, k, dim, centroids_per_subspace: codebooks.map((cs) => cs.length) }).toEqual(exp.pq);
        }
      });
    }
  }

  it('reads from memory exactly as from a file, whatever the chunk size', async () => {
    const path = golden('typical_8d.qstream1.bin');
    const fromFile = await collect(readQStream1(path));
    const bytes = new Uint8Array(await readFile(path));
    const buffer = await readFile(path); // a Node Buffer, whose slice() does not copy
    for (const read of [() => readQStream1(bytes), () => readQStream1(buffer), () => readQStream1(path, { chunkBytes: 1 }), () => readQStream1(path, { chunkBytes: 37 })]) {
      expect(await collect(read())).toEqual(fromFile);
    }
  });

  describe('malformed files are rejected with CORRUPT_FILE at the bad byte', () => {
    for (const { file } of manifest.malformed) {
      it(file.replace('malformed/', ''), async () => {
        for (const options of [{}, { strict: false }, { strict: false, chunkBytes: 3 }]) {
          const e = await rejection(() => collect(readVectroStream(golden(file), options)));
          expect(e.code).toBe('CORRUPT_FILE');
          expect(e.details?.offset).toBe(ERROR_OFFSETS[file.replace('malformed/', '')]);
          expect(e.message).toMatch(/re-create it/);
        }
      });
    }
  });

  describe('lenient files: strict mode rejects them, { strict: false } returns what Vectro+ returns', () => {
    for (const l of manifest.lenient) {
      it(l.file.replace('malformed/', ''), async () => {
        const e = await rejection(() => collect(readVectroStream(golden(l.file))));
        expect(e.code).toBe('CORRUPT_FILE');
        expect(e.details?.offset).toBe(ERROR_OFFSETS[l.file.replace('malformed/', '')]);
        expect(e.message).toMatch(/strict: false/);
        const records = await collect(readVectroStream(golden(l.file), { strict: false }));
        expect(records.map((r) => r.id)).toEqual(l.ids);
        expectBits(records.map((r) => r.vector), l.vectors_bits);
      });
    }
  });

  it('meets truncated and bit-flipped files with CORRUPT_FILE or valid records, never a crash', async () => {
    const files = await Promise.all(['unicode_ids.stream1.bin', 'constant_dims.qstream1.bin', 'pq_ties.pq-given.bin'].map((f) => readFile(golden(f))));
    const damage = fc.record({
      file: fc.integer({ min: 0, max: files.length - 1 }),
      cut: fc.nat(),
      flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
    });
    await fc.assert(fc.asyncProperty(damage, async ({ file, cut, flips }) => {
      const original = files[file]!;
      const bytes = new Uint8Array(original.subarray(0, original.length - (cut % 24)));
      for (const { at, value } of flips) bytes[at % bytes.length] = value;
      const outcome = await collect(readVectroStream(bytes, { chunkBytes: 16 })).then(() => null, (e: unknown) => e);
      if (outcome !== null) {
        expect(isQuantumDBError(outcome), String(outcome)).toBe(true);
        expect((outcome as QuantumDBError).code).toBe('CORRUPT_FILE');
        expect(typeof (outcome as QuantumDBError).details?.offset).toBe('number');
      }
    }), { seed: 7, numRuns: 300 });
  });

  it('covers every file in malformed/', async () => {
    const files = (await readdir(golden('malformed'))).sort();
    expect(Object.keys(ERROR_OFFSETS).sort()).toEqual(files);
  });

  it('reads the quirks STREAM1 files as Vectro+ parsed them, and refuses ragged QSTREAM1 input', async () => {
    const quirks = JSON.parse(readFileSync(golden('manifest.json'), 'utf8')).quirks as { stream1: string; parsed: { id: string; vector: number[] }[] }[];
    for (const q of quirks) {
      const records = await collect(readStream1(golden(q.stream1)));
      expect(records.map((r) => ({ id: r.id, vector: Array.from(r.vector) }))).toEqual(q.parsed);
    }
    const ragged = [{ id: 'a', vector: [1, 2] }, { id: 'b', vector: [1] }];
    await expectQdbErrorAsync(() => writeQStream1(join(tmp, 'ragged.bin'), ragged), 'INVALID_ARGUMENT');
  });

  it('names the right reader when the format does not match', async () => {
    const e = await rejection(() => collect(readStream1(golden('typical_8d.pq-given.bin'))));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/readPQStream1/);
  });
});

describe('scalar quantization arithmetic', () => {
  it('rounds halves away from zero, maps NaN and empty ranges to 0, and dequantizes min == max to min', () => {
    expect(quantizeValue(0, 1, 0.5)).toBe(128);
    expect(quantizeValue(0, 255, 2.5)).toBe(3);
    expect(quantizeValue(0, 1, NaN)).toBe(0);
    expect(quantizeValue(2, 2, 5)).toBe(0);
    expect(quantizeValue(0, 1, 7)).toBe(255);
    expect(dequantizeValue(-0, -0, 200)).toBe(-0);
    expect(dequantizeValue(0, 1, 255)).toBe(1);
    expect(dequantizeValue(-3e38, 3e38, 0)).toBeNaN();
  });

  it('PQ encode keeps the lowest index on ties and never lets a NaN distance replace the best', () => {
    const code = (codebook: number[][]) => pqEncode(toProductQuantizer({ m: 1, k: 4, dim: 1, codebooks: [codebook] }), new Float32Array([1]))[0];
    expect(code([[2], [0]])).toBe(0); // both at distance 1 from the unit vector
    expect(code([[5], [NaN], [1]])).toBe(2);
    expect(code([[5], [NaN]])).toBe(0);
    expect(code([[NaN], [1]])).toBe(0); // the first centroid wins even when its distance is NaN, as in Rust's min_by
  });

  it('keeps the first of equal values, so 0 then -0 gives +0 and the reverse gives -0', () => {
    for (const [first, second] of [[0, -0], [-0, 0]] as const) {
      const mins = new Float32Array([Infinity]);
      const maxs = new Float32Array([-Infinity]);
      widenQuantTables(mins, maxs, new Float32Array([first]));
      widenQuantTables(mins, maxs, new Float32Array([second]));
      expect(Object.is(mins[0], first) && Object.is(maxs[0], first)).toBe(true);
    }
  });
});

describe('writers', () => {
  it('reject bad input with INVALID_ARGUMENT before touching the target', async () => {
    const out = join(tmp, 'bad.bin');
    await expectQdbErrorAsync(() => writeStream1(out, [{ id: 'lone \ud800', vector: [1] }]), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => writeStream1(out, [{ id: 'x', vector: [1, '2'] as unknown as number[] }]), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => writeStream1(out, [{ id: 7, vector: [1] } as unknown as VectorRecord]), 'INVALID_ARGUMENT');
    const pq = { m: 1, k: 2, dim: 2, codebooks: [[[1, 0], [0, 1]]] };
    await expectQdbErrorAsync(() => writePQStream1(out, pq, [{ id: 'x', vector: [1, 2, 3] }]), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => writePQStream1(out, { ...pq, dim: 3 }, []), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => writePQStream1(out, { ...pq, codebooks: [[[1]]] }, []), 'INVALID_ARGUMENT');
    let calls = 0;
    const shrinking = () => (calls++ === 0 ? [{ id: 'a', vector: [1] }, { id: 'b', vector: [2] }] : [{ id: 'a', vector: [1] }]);
    await expectQdbErrorAsync(() => writeQStream1(out, shrinking), 'INVALID_ARGUMENT');
    expect(existsSync(out)).toBe(false);
    expect((await readdir(tmp)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('replace a file atomically and keep the old one when the write fails', async () => {
    const out = join(tmp, 'atomic.bin');
    await writeFile(out, 'old');
    await expectQdbErrorAsync(() => writeStream1(out, [{ id: 'a', vector: [1] }, { id: 'b', vector: null as unknown as number[] }]), 'INVALID_ARGUMENT');
    expect(await readFile(out, 'utf8')).toBe('old');
    await writeFileAtomic(out, async (sink) => { await sink.write(new TextEncoder().encode('new')); });
    expect(await readFile(out, 'utf8')).toBe('new');
  });

  it('report IO_ERROR with the path when the file system refuses', async () => {
    const missing = join(tmp, 'no-such-dir', 'x.bin');
    const e = await rejection(() => writeStream1(missing, []));
    expect(e.code).toBe('IO_ERROR');
    expect(String(e.details?.path)).toContain('no-such-dir');
    const r = await rejection(() => collect(readStream1(missing)));
    expect(r.code).toBe('IO_ERROR');
    expect(r.details?.path).toBe(missing);
  });

  it('write header-only files for empty input', async () => {
    const out = join(tmp, 'empty-pq.bin');
    expect(await writePQStream1(out, { m: 1, k: 1, dim: 1, codebooks: [[[1]]] }, [])).toBe(0);
    expect(await collect(readPQStream1(out))).toEqual([]);
  });
});

describe('round trips (fast-check, seeded)', () => {
  const id = fc.string({ unit: 'binary', maxLength: 12 });
  const params = { seed: 20240601, numRuns: 40 };

  it('STREAM1 keeps ids, order and every float bit, from a file or from memory', async () => {
    const records = fc.array(fc.record({ id, vector: fc.float32Array({ maxLength: 9 }) }), { maxLength: 12 });
    await fc.assert(fc.asyncProperty(records, fc.integer({ min: 1, max: 64 }), async (input, chunkBytes) => {
      const out = join(tmp, 'prop-stream1.bin');
      await writeStream1(out, input);
      for (const source of [out, new Uint8Array(await readFile(out)), await readFile(out)]) {
        const back = await collect(readStream1(source, { chunkBytes }));
        expect(back.map((r) => r.id)).toEqual(input.map((r) => r.id));
        expect(back.map((r) => hexBits(r.vector))).toEqual(input.map((r) => hexBits(r.vector)));
      }
    }), params);
  });

  it('QSTREAM1 stores the codes of the min/max rule and dequantizes within one step', async () => {
    const data = fc.integer({ min: 0, max: 6 }).chain((dim) => fc.array(
      fc.record({ id, vector: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: dim, maxLength: dim }) }),
      { minLength: 1, maxLength: 10 },
    ));
    await fc.assert(fc.asyncProperty(data, async (input) => {
      const out = join(tmp, 'prop-qstream1.bin');
      await writeQStream1(out, input);
      const back = await collect(readQStream1(out, { chunkBytes: 7 }));
      expect(back.map((r) => r.id)).toEqual(input.map((r) => r.id));
      back.forEach((r, i) => r.tables.forEach(({ min, max }, d) => {
        const x = Math.fround(input[i]!.vector[d]!);
        expect(r.codes[d]).toBe(quantizeValue(min, max, x));
        expect(Math.abs(r.vector[d]! - x)).toBeLessThanOrEqual((max - min) / 255);
      }));
    }), params);
  });

  it('PQSTREAM1 picks a nearest centroid and decodes to the concatenated centroids', async () => {
    const data = fc.record({ m: fc.integer({ min: 1, max: 3 }), sub: fc.integer({ min: 1, max: 3 }), n: fc.integer({ min: 1, max: 5 }) }).chain(({ m, sub, n }) => fc.record({
      codebooks: fc.array(fc.array(fc.array(fc.float({ noNaN: true, min: -1, max: 1 }), { minLength: sub, maxLength: sub }), { minLength: n, maxLength: n }), { minLength: m, maxLength: m }),
      records: fc.array(fc.record({ id, vector: fc.array(fc.float({ noNaN: true, min: -10, max: 10 }), { minLength: m * sub, maxLength: m * sub }) }), { maxLength: 8 }),
    }).map((x) => ({ ...x, pq: { m, k: n, dim: m * sub, codebooks: x.codebooks } })));
    await fc.assert(fc.asyncProperty(data, async ({ pq, records }) => {
      const out = join(tmp, 'prop-pq.bin');
      await writePQStream1(out, pq, records);
      const quantizer = toProductQuantizer(pq);
      const back = await collect(readPQStream1(out));
      expect(back.map((r) => r.id)).toEqual(records.map((r) => r.id));
      back.forEach((r, i) => {
        expect(Array.from(r.code)).toEqual(Array.from(pqEncode(quantizer, Float32Array.from(records[i]!.vector))));
        expect(Array.from(r.vector)).toEqual(Array.from(r.code).flatMap((c, s) => Array.from(quantizer.codebooks[s]![c]!)));
      });
    }), params);
  });
});
