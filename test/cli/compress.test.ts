/**
 * `quantumdb compress`: byte-exact against the Vectro+ golden files and against the reference
 * writers, the fast JSONL number parser bit-exact against JSON.parse + fround (including the
 * double-rounding cases), block boundaries, the reference fallback's exact errors, and the verb's output.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressFile } from '../../src/cli/compress.js';
import { quantizeRecords } from '../../src/cli/compress-worker.js';
import { encodeJsonlChunk } from '../../src/cli/jsonl-fast.js';
import { isQuantumDBError, type QuantumDBError } from '../../src/errors.js';
import { writeFvecs, readJsonl } from '../../src/formats/vector-files.js';
import { writeQStream1, writeStream1 } from '../../src/formats/vectro-write.js';
import { GOLDEN_DIR, cli, jsonlOf, randomRows, rng, tempDir } from './cli-helpers.js';

const HAS_GOLDEN = existsSync(join(GOLDEN_DIR, 'manifest.json'));
if (!HAS_GOLDEN) console.warn(`Vectro+ golden files not found in ${GOLDEN_DIR}; skipping the golden-file compress tests.`);

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => { tmp = await tempDir(); });
afterAll(async () => { await tmp.cleanup(); });

async function rejection(run: () => Promise<unknown>): Promise<QuantumDBError> {
  const e = await run().then(() => undefined, (err: unknown) => err);
  expect(isQuantumDBError(e), `expected a QuantumDBError, got ${String(e)}`).toBe(true);
  return e as QuantumDBError;
}

/** What the library's reference functions write for the same input. */
async function reference(input: string, quantize: boolean): Promise<Buffer> {
  const out = tmp.path(`ref-${Math.random().toString(36).slice(2)}.bin`);
  if (quantize) await writeQStream1(out, () => readJsonl(input));
  else await writeStream1(out, readJsonl(input));
  return readFile(out);
}

describe.skipIf(!HAS_GOLDEN)('Vectro+ golden files', () => {
  const manifest = HAS_GOLDEN ? JSON.parse(readFileSync(join(GOLDEN_DIR, 'manifest.json'), 'utf8')) : { cases: [] };
  for (const c of manifest.cases as { name: string; input: string; outputs: { file: string; format: string; records: number }[] }[]) {
    for (const o of c.outputs.filter((x) => x.format === 'STREAM1' || x.format === 'QSTREAM1')) {
      it(`compress${o.format === 'QSTREAM1' ? ' --quantize' : ''} ${c.input} → ${o.file}`, async () => {
        const out = tmp.path(o.file);
        const result = await compressFile(join(GOLDEN_DIR, c.input), out, { quantize: o.format === 'QSTREAM1', workers: 0 });
        expect(result.count).toBe(o.records);
        expect(result.path).toBe('parallel');
        expect((await readFile(out)).equals(await readFile(join(GOLDEN_DIR, o.file)))).toBe(true);
      });
    }
  }
});

describe('the fast JSONL parser', () => {
  /** Parses one line with the fast path and returns its vector. */
  async function fastVector(text: string): Promise<Float32Array> {
    const { records, count } = await encodeJsonlChunk(new TextEncoder().encode(`{"id":"x","vector":[${text}]}\n`), false);
    expect(count).toBe(1);
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    const dim = Number(view.getBigUint64(13, true));
    return Float32Array.from({ length: dim }, (_, i) => view.getFloat32(21 + 4 * i, true));
  }

  const expectSameBits = (got: Float32Array, texts: string[]) => {
    const want = Float32Array.from(texts.map((t) => JSON.parse(t) as number));
    expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
  };

  it('rounds every number as JSON.parse + Math.fround does (seeded property test)', async () => {
    const numberText = fc.oneof(
      fc.float({ noNaN: true, noDefaultInfinity: true }).map((x) => String(x)),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => String(x)),
      fc.tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.integer({ min: 1, max: 20 })).map(([x, d]) => x.toFixed(d)),
      fc.tuple(fc.double({ min: -10, max: 10, noNaN: true }), fc.integer({ min: 1, max: 21 })).map(([x, p]) => x.toPrecision(p)),
      fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 25n }), fc.integer({ min: -60, max: 45 })).map(([m, e]) => `${m}e${e}`),
      fc.tuple(fc.stringMatching(/^[1-9][0-9]{0,30}$/), fc.stringMatching(/^[0-9]{1,30}$/), fc.integer({ min: -50, max: 40 })).map(([a, b, e]) => `-${a}.${b}E${e >= 0 ? '+' : ''}${e}`),
    );
    await fc.assert(fc.asyncProperty(fc.array(numberText, { minLength: 1, maxLength: 40 }), async (texts) => {
      expectSameBits(await fastVector(texts.join(',')), texts);
    }), { seed: 20240501, numRuns: 300 });
  });

  it('gets the double-rounding cases right: decimals just beside binary32 midpoints', async () => {
    const random = rng(7);
    const texts: string[] = [];
    const f32 = new Float32Array(2);
    const bits = new Uint32Array(f32.buffer);
    for (let i = 0; i < 400; i++) {
      f32[0] = (random() - 0.5) * 10 ** Math.floor(random() * 10 - 5);
      bits[1] = bits[0]! + 1;
      const mid = (f32[0]! + f32[1]!) / 2; // exact in binary64
      // The midpoint itself (ties to even), and decimals a hair above and below it.
      texts.push(mid.toPrecision(25), mid.toPrecision(17), (mid * (1 + 2 ** -52)).toPrecision(17), (mid * (1 - 2 ** -52)).toPrecision(17));
      texts.push(`${mid.toPrecision(25)}1`.replace(/e.*1$/, (m) => m.slice(0, -1)));
    }
    const valid = texts.filter((t) => Number.isFinite(JSON.parse(t)));
    expectSameBits(await fastVector(valid.join(',')), valid);
  });

  it('handles -0, 0, subnormals, huge and tiny exponents, and integers beyond 2^53', async () => {
    const texts = ['-0', '0', '0.0', '-0.0e5', '1e-45', '1.4e-45', '7e-46', '1e-40', '1.17549435e-38', '3.4028235e38', '3.4028236e38', '1e39', '-1e39',
      '123456789012345678901234567890', '9007199254740993', '16777217', '0.000000000000000000000000000001', '1e-400', '1e400', '2.5e-1', '5E+0'];
    expectSameBits(await fastVector(texts.join(' , ')), texts);
  });

  it('leaves unusual lines to the reference reader and matches it', async () => {
    const lines = [
      '\uFEFF{"id":"bom","vector":[1,2]}',
      '{"vector":[1,2],"id":"reordered"}',
      '{"id":"esc\\u00e9\\n","vector":[1,2]}',
      '{"id":"extra","vector":[1,2],"meta":{"a":[1,2]}}',
      '{"id":"nonnum","vector":[1,"x",null,2]}',
      '  \t{ "id" : "spaced" , "vector" : [ 1 , 2 ] }  \r',
      '',
      '   ',
      '{"id":"ünïcödé","vector":[3,4]}',
    ];
    const input = tmp.path('unusual.jsonl');
    await writeFile(input, lines.join('\n'));
    for (const quantize of [false, true]) {
      const out = tmp.path(`unusual-${quantize}.bin`);
      const result = await compressFile(input, out, { quantize, workers: 0 });
      expect(result.count).toBe(7);
      expect(result.path).toBe('parallel');
      expect((await readFile(out)).equals(await reference(input, quantize))).toBe(true);
    }
  });

  it('quantizes STREAM1 records into QSTREAM1 records', async () => {
    const { records, mins, maxs } = await encodeJsonlChunk(new TextEncoder().encode('{"id":"a","vector":[0,1]}\n{"id":"b","vector":[1,0.5]}\n'), true);
    const q = quantizeRecords(records, mins!, maxs!);
    // mins [0, 0.5], maxs [1, 1]: a = (0, 1) → codes (0, 255); b = (1, 0.5) → (255, 0).
    const record = (id: number, codes: number[]) => [19, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, id, 2, 0, 0, 0, 0, 0, 0, 0, ...codes];
    expect(Array.from(q)).toEqual([...record(97, [0, 255]), ...record(98, [255, 0])]);
  });
});

describe('compressFile', () => {
  it('matches the reference writers across 1 MiB block boundaries', async () => {
    const input = tmp.path('blocks.jsonl');
    await writeFile(input, jsonlOf(randomRows(1500, 64, 3)));
    expect((await readFile(input)).length).toBeGreaterThan(1.5 * 2 ** 20);
    for (const quantize of [false, true]) {
      const out = tmp.path(`blocks-${quantize}.bin`);
      const result = await compressFile(input, out, { quantize, workers: 0 });
      expect(result).toMatchObject({ count: 1500, dim: 64, path: 'parallel', format: quantize ? 'QSTREAM1' : 'STREAM1' });
      expect((await readFile(out)).equals(await reference(input, quantize))).toBe(true);
    }
    expect((await readdir(tmp.dir)).filter((f) => f.endsWith('.spill'))).toEqual([]);
  });

  it('reports a bad line exactly as readJsonl does, and leaves no output', async () => {
    const input = tmp.path('bad.jsonl');
    await writeFile(input, `${jsonlOf(randomRows(3, 4, 1))}{"id":"x","vector":[1,2}\n`);
    const want = await rejection(() => reference(input, false));
    for (const quantize of [false, true]) {
      const out = tmp.path(`bad-${quantize}.bin`);
      const e = await rejection(() => compressFile(input, out, { quantize, workers: 0 }));
      expect({ code: e.code, message: e.message, offset: e.details?.offset }).toEqual({ code: want.code, message: want.message, offset: want.details?.offset });
      expect(e.message).toMatch(/^line 4 is not valid UTF-8 JSON \(at byte \d+\)/);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('refuses ragged vectors with --quantize (INVALID_ARGUMENT) but writes them to STREAM1', async () => {
    const input = tmp.path('ragged.jsonl');
    await writeFile(input, '{"id":"a","vector":[1,2]}\n{"id":"b","vector":[1,2,3]}\n');
    const e = await rejection(() => compressFile(input, tmp.path('ragged.q'), { quantize: true, workers: 0 }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatchInlineSnapshot(`"record 1 has 3 values but the first has 2; QSTREAM1 needs equal lengths (STREAM1 accepts ragged vectors)"`);
    const result = await compressFile(input, tmp.path('ragged.s'), { quantize: false, workers: 0 });
    expect(result.count).toBe(2);
  });

  it('refuses an id with a lone surrogate', async () => {
    const input = tmp.path('surrogate.jsonl');
    await writeFile(input, '{"id":"ok","vector":[1]}\n{"id":"\\ud800","vector":[1]}\n');
    const e = await rejection(() => compressFile(input, tmp.path('surrogate.bin'), { quantize: false, workers: 0 }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/record 1: id must be a string of valid Unicode/);
  });

  it('converts .fvecs input through the reference path', async () => {
    const input = tmp.path('rows.fvecs');
    await writeFvecs(input, randomRows(5, 3, 9));
    const result = await compressFile(input, tmp.path('rows.bin'), { quantize: false, workers: 0 });
    expect(result).toMatchObject({ count: 5, dim: 3, path: 'reference' });
  });

  it('fails with IO_ERROR for a missing input', async () => {
    const e = await rejection(() => compressFile(tmp.path('missing.jsonl'), tmp.path('x.bin'), { quantize: false, workers: 0 }));
    expect(e.code).toBe('IO_ERROR');
  });
});

describe('quantumdb compress', () => {
  it('prints the count and the time like Vectro+, or JSON', async () => {
    const input = tmp.path('cli.jsonl');
    await writeFile(input, jsonlOf(randomRows(20, 8, 4), 5));
    const out = tmp.path('cli.bin');
    const text = await cli(['compress', input, out, '--workers', '0']);
    expect(text.code).toBe(0);
    expect(text.stdout.replace(tmp.dir, '<tmp>').replace(/\(.*\)/, '(…)')).toMatchInlineSnapshot(`
      "wrote 20 entries to <tmp>/cli.bin (…)
      "
    `);
    const q = await cli(['compress', input, out, '--quantize', '--json', '--workers', '0']);
    expect(q.code).toBe(0);
    expect(JSON.parse(q.stdout)).toMatchObject({ count: 20, dim: 8, format: 'QSTREAM1', path: 'parallel', threads: 0, output: out });
    expect(q.stderr).toBe('');
  });

  it('exits 1 with the error on stderr for a bad file, 2 for a bad --workers', async () => {
    const input = tmp.path('cli-bad.jsonl');
    await writeFile(input, 'not json\n');
    const bad = await cli(['compress', input, tmp.path('cli-bad.bin')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.replace(tmp.dir, '<tmp>')).toMatchInlineSnapshot(`
      "quantumdb compress: line 1 is not valid UTF-8 JSON (at byte 0); the file is damaged or truncated, so re-create it from the source data [CORRUPT_FILE]
      "
    `);
    const usage = await cli(['compress', input, 'out.bin', '--workers', 'many']);
    expect(usage.code).toBe(2);
    expect(usage.stderr.split('\n')[0]).toMatchInlineSnapshot(`"quantumdb compress: --workers must be an integer from 0 to 64, got "many""`);
  });
});
