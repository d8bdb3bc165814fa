/**
 * scanVectorFile, the engine of `quantumdb search` over vector files, against the algorithm it
 * replaced: the record-at-a-time readers (`readVectors`) plus a binary64 cosine and an insertion
 * top-k. On every format, chunk size and block boundary it must return the same ids in the same
 * order (scores equal up to the order of binary64 sums), and on every malformed or damaged file the
 * same error: code, message and byte offset.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isQuantumDBError, qdbError } from '../../src/errors.js';
import { scanVectorFile } from '../../src/formats/vector-scan.js';
import { readVectors, writeFvecs } from '../../src/formats/vector-files.js';
import { writePQStream1, writeQStream1, writeStream1 } from '../../src/formats/vectro-write.js';
import type { SearchHit } from '../../src/types.js';
import { GOLDEN_DIR, jsonlOf, randomRows, rng, tempDir } from '../cli/cli-helpers.js';

type Outcome = { hits: SearchHit[]; scanned: number } | { error: { code: string; message: string; details: unknown } };

/** The search before the block scan: one record at a time, binary64 arithmetic. */
async function reference(input: string | Uint8Array, query: Float32Array, k: number): Promise<{ hits: SearchHit[]; scanned: number }> {
  const qn = Math.sqrt(query.reduce((s, x) => s + x * x, 0));
  const best: SearchHit[] = [];
  let scanned = 0;
  for await (const { id, vector } of readVectors(input)) {
    if (vector.length !== query.length) {
      throw qdbError('DIMENSION_MISMATCH', [vector.length, query.length, 'the query'], { index: scanned, id, expected: vector.length });
    }
    let dot = 0;
    let vv = 0;
    for (let i = 0; i < vector.length; i++) { dot += vector[i]! * query[i]!; vv += vector[i]! * vector[i]!; }
    const score = vv > 0 ? dot / (qn * Math.sqrt(vv)) : 0;
    scanned++;
    if (best.length === k && !(score > best[k - 1]!.score)) continue;
    let at = best.length;
    while (at > 0 && score > best[at - 1]!.score) at--;
    best.splice(at, 0, { id, score });
    if (best.length > k) best.pop();
  }
  return { hits: best, scanned };
}

async function outcome(run: () => Promise<{ hits: SearchHit[]; scanned: number }>): Promise<Outcome> {
  try {
    return await run();
  } catch (e) {
    if (!isQuantumDBError(e)) throw e;
    return { error: { code: e.code, message: e.message, details: e.details } };
  }
}

/** Same ids in the same order and the same scores up to the order of binary64 sums, or the same error. */
function expectSame(got: Outcome, want: Outcome): void {
  if ('error' in want) {
    expect(got).toEqual(want);
    return;
  }
  expect('error' in got ? got.error : undefined).toBeUndefined();
  const hits = (got as { hits: SearchHit[]; scanned: number });
  expect(hits.scanned).toBe(want.scanned);
  expect(hits.hits.map((h) => h.id)).toEqual(want.hits.map((h) => h.id));
  // NaN where a record holds ±Infinity, in both.
  hits.hits.forEach((h, i) => expect(Number.isNaN(want.hits[i]!.score) ? Number.isNaN(h.score) : Math.abs(h.score - want.hits[i]!.score) < 1e-12).toBe(true));
}

async function compare(input: string | Uint8Array, query: Float32Array, k: number, chunkBytes?: number): Promise<void> {
  expectSame(await outcome(() => scanVectorFile(input, query, k, { chunkBytes })), await outcome(() => reference(input, query, k)));
}

const DIM = 20;
const base = randomRows(700, DIM, 61);
const queries = randomRows(3, DIM, 62);
/** Ids of every UTF-8 length, so vectors start at every byte alignment; a few are not ASCII. */
const ids = base.map((_, i) => (i % 97 === 5 ? `é-${i}` : i % 89 === 7 ? `文字${i}` : 'r'.repeat(i % 5) + String(i)));
const records = base.map((vector, i) => ({ id: ids[i]!, vector }));
let tmp: Awaited<ReturnType<typeof tempDir>>;

/** A 2-D float32 `.npy` file (version 1, header padded to 64 bytes as numpy writes it). */
function npyBytes(rows: readonly Float32Array[]): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${rows[0]!.length}), }`;
  const header = new TextEncoder().encode(dict + ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n');
  const out = new Uint8Array(10 + header.length + rows.length * rows[0]!.length * 4);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(header, 10);
  rows.forEach((row, r) => out.set(new Uint8Array(row.buffer, row.byteOffset, row.byteLength), 10 + header.length + r * row.byteLength));
  return out;
}

const pq = {
  m: 4, k: 10, dim: DIM,
  codebooks: Array.from({ length: 4 }, (_, s) => randomRows(s === 2 ? 3 : 10, DIM / 4, 70 + s)),
};

beforeAll(async () => {
  tmp = await tempDir('qdb-scan-');
  await writeStream1(tmp.path('base.bin'), records);
  await writeQStream1(tmp.path('base.q'), records);
  await writePQStream1(tmp.path('base.pq'), pq, records);
  await writeFvecs(tmp.path('base.fvecs'), base);
  await writeFile(tmp.path('base.npy'), npyBytes(base));
  await writeFile(tmp.path('base.jsonl'), jsonlOf(base));
});
afterAll(async () => { await tmp.cleanup(); });

describe('scanVectorFile equals the record-at-a-time search', () => {
  const files = ['base.bin', 'base.q', 'base.pq', 'base.fvecs', 'base.npy', 'base.jsonl'];
  it.each(files)('%s, at chunk sizes from 7 bytes to 4 MiB', async (file) => {
    for (const chunkBytes of [undefined, 100_000, 4096, 331, 7]) {
      for (const q of queries) await compare(tmp.path(file), q, 10, chunkBytes);
    }
    await compare(tmp.path(file), queries[0]!, 1000);
  });

  it('reads bytes as it reads the file', async () => {
    for (const file of files.slice(0, 5)) {
      const bytes = new Uint8Array(await readFile(tmp.path(file)));
      expectSame(await outcome(() => scanVectorFile(bytes, queries[1]!, 7, { format: file.endsWith('.fvecs') ? 'fvecs' : undefined })), await outcome(() => reference(tmp.path(file), queries[1]!, 7)));
    }
  });

  it('records larger than the read-ahead room (80 KB each), across chunk boundaries', async () => {
    const wide = randomRows(6, 20_000, 63);
    const path = tmp.path('wide.bin');
    await writeStream1(path, wide.map((vector, i) => ({ id: `w${i}`, vector })));
    for (const chunkBytes of [undefined, 50_000, 4096]) await compare(path, wide[4]!, 3, chunkBytes);
  });

  it('keeps file order on ties, scores an all-zero record 0, and reports progress per block', async () => {
    const v = Float32Array.from([1, 2, 3]);
    const path = tmp.path('ties.bin');
    const tied = [
      { id: 'zero', vector: [0, 0, 0] }, { id: 'a', vector: v }, { id: 'other', vector: [3, 2, 1] },
      { id: 'b', vector: v }, { id: 'twice', vector: v.map((x) => 2 * x) }, { id: 'c', vector: v },
    ];
    await writeStream1(path, tied);
    const seen: number[] = [];
    const { hits, scanned } = await scanVectorFile(path, v, 6, { onProgress: (n) => seen.push(n) });
    expect(scanned).toBe(6);
    expect(hits.map((h) => h.id)).toEqual(['a', 'b', 'twice', 'c', 'other', 'zero']);
    expect(hits.slice(0, 4).map((h) => h.score)).toEqual(Array(4).fill(hits[0]!.score));
    expect(hits[5]!.score).toBe(0);
    expect(seen.at(-1)).toBe(6);
    expect((await scanVectorFile(path, v, 2)).hits.map((h) => h.id)).toEqual(['a', 'b']);
  });

  it('names the first record of another length (DIMENSION_MISMATCH), after every earlier record checked', async () => {
    const ragged = tmp.path('ragged.bin');
    await writeStream1(ragged, [...records.slice(0, 300), { id: 'short', vector: [1, 2] }, ...records.slice(300)]);
    const e = await outcome(() => scanVectorFile(ragged, queries[0]!, 5, { chunkBytes: 1000 }));
    expect(e).toMatchObject({ error: { code: 'DIMENSION_MISMATCH', details: { index: 300, id: 'short', expected: 2 } } });
    await compare(ragged, queries[0]!, 5, 1000);
    for (const file of ['base.q', 'base.pq', 'base.fvecs', 'base.npy', 'base.jsonl']) {
      const got = await outcome(() => scanVectorFile(tmp.path(file), Float32Array.from([1, 2, 3]), 5));
      expect(got).toMatchObject({ error: { code: 'DIMENSION_MISMATCH', details: { index: 0, expected: DIM } } });
      await compare(tmp.path(file), Float32Array.from([1, 2, 3]), 5);
    }
  });

  it('returns nothing for a file without records', async () => {
    const path = tmp.path('empty.bin');
    await writeStream1(path, []);
    expect(await scanVectorFile(path, queries[0]!, 3)).toEqual({ hits: [], scanned: 0 });
  });
});

describe('scanVectorFile raises the readers\' errors on bad files', () => {
  const goldenBins = existsSync(GOLDEN_DIR)
    ? ['', 'malformed/'].flatMap((dir) => readdirSync(join(GOLDEN_DIR, dir)).filter((f) => f.endsWith('.bin')).map((f) => dir + f))
    : [];

  it.skipIf(goldenBins.length === 0)('every golden and malformed Vectro+ file, with the query length of its first record', async () => {
    for (const file of goldenBins) {
      const path = join(GOLDEN_DIR, file);
      let first: Float32Array | undefined;
      try {
        for await (const r of readVectors(path)) { first = r.vector; break; }
      } catch { /* a file that fails before its first record still has to fail the same way */ }
      const query = first !== undefined && first.some((x) => x !== 0 && Number.isFinite(x)) ? first.map((x) => (Number.isFinite(x) ? x : 0)) : Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0]);
      for (const chunkBytes of [undefined, 13]) await compare(path, query, 5, chunkBytes);
    }
  });

  it('truncated and bit-flipped STREAM1 / QSTREAM1 / PQSTREAM1 / .fvecs files (fast-check)', async () => {
    const sources = await Promise.all(['base.bin', 'base.q', 'base.pq', 'base.fvecs'].map(async (f) => new Uint8Array(await readFile(tmp.path(f))).subarray(0, 4000)));
    const damage = fc.record({
      file: fc.integer({ min: 0, max: sources.length - 1 }),
      cut: fc.nat({ max: 200 }),
      flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
      chunk: fc.constantFrom(5, 64, 1000),
    });
    let path = 0;
    await fc.assert(fc.asyncProperty(damage, async ({ file, cut, flips, chunk }) => {
      const bytes = sources[file]!.slice(0, sources[file]!.length - cut);
      for (const { at, value } of flips) bytes[at % bytes.length] = value;
      const target = tmp.path(`damaged-${path++}.${['bin', 'q', 'pq', 'fvecs'][file]}`);
      await writeFile(target, bytes);
      const query = Float32Array.from({ length: DIM }, rng(cut + 1));
      await compare(target, query, 4, chunk);
    }), { seed: 11, numRuns: 250 });
  });
});
