/**
 * The verbs around files and indexes, run in-process: search (exact over every vector format,
 * checked against a brute-force oracle, and over a .qdb), build → info → query → benchmark,
 * and train (which needs the learned codec).
 */
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactSearch } from '../../src/cli/search.js';
import { QuantumDB } from '../../src/index.js';
import { writeFvecs, writeIvecs } from '../../src/formats/vector-files.js';
import { readPQStream1, readQStream1 } from '../../src/formats/vectro-stream.js';
import { writePQStream1, writeQStream1, writeStream1 } from '../../src/formats/vectro-write.js';
import { cli, jsonlOf, randomRows, tempDir } from './cli-helpers.js';

const DIM = 24;
const N = 500;
const base = randomRows(N, DIM, 21);
const queries = randomRows(30, DIM, 22);
let tmp: Awaited<ReturnType<typeof tempDir>>;

const cosine = (a: Float32Array, b: Float32Array) => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i]! * b[i]!; na += a[i]! * a[i]!; nb += b[i]! * b[i]!; }
  return dot / Math.sqrt(na * nb);
};
/** Brute-force oracle: row numbers of the k most similar rows. */
const oracle = (rows: readonly Float32Array[], q: Float32Array, k: number) =>
  rows.map((v, i) => ({ i, s: cosine(v, q) })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, k).map((x) => x.i);

const vectorArg = (v: Float32Array) => Array.from(v).join(',');

beforeAll(async () => {
  tmp = await tempDir('qdb-index-cli-');
  const records = base.map((vector, i) => ({ id: String(i), vector }));
  await writeStream1(tmp.path('base.bin'), records);
  await writeQStream1(tmp.path('base.q'), records);
  await writeFvecs(tmp.path('base.fvecs'), base);
  await writeFvecs(tmp.path('queries.fvecs'), queries);
  await writeFile(tmp.path('base.jsonl'), jsonlOf(base));
  await writeIvecs(tmp.path('truth.ivecs'), queries.map((q) => oracle(base, q, 10)));
});
afterAll(async () => { await tmp.cleanup(); });

describe('search (exact)', () => {
  it('equals the brute-force oracle over STREAM1, .fvecs and JSONL', async () => {
    for (const q of queries.slice(0, 5)) {
      const want = oracle(base, q, 10).map(String);
      for (const file of ['base.bin', 'base.fvecs']) {
        const { hits, scanned } = await exactSearch(tmp.path(file), q, 10);
        expect(scanned).toBe(N);
        expect(hits.map((h) => h.id)).toEqual(want);
        expect(hits[0]!.score).toBeCloseTo(cosine(base[Number(want[0])]!, q), 5);
      }
      const { hits } = await exactSearch(tmp.path('base.jsonl'), q, 10);
      expect(hits.map((h) => h.id)).toEqual(want.map((i) => `v${i}`));
    }
  });

  it('searches QSTREAM1 by its dequantized vectors', async () => {
    const deq: Float32Array[] = [];
    for await (const r of readQStream1(tmp.path('base.q'))) deq.push(r.vector);
    const { hits } = await exactSearch(tmp.path('base.q'), queries[0]!, 5);
    expect(hits.map((h) => h.id)).toEqual(oracle(deq, queries[0]!, 5).map(String));
  });

  it('searches PQSTREAM1 by its decoded vectors', async () => {
    const pq = { m: 4, k: 8, dim: DIM, codebooks: Array.from({ length: 4 }, (_, s) => randomRows(8, DIM / 4, 30 + s)) };
    await writePQStream1(tmp.path('base.pq'), pq, base.map((vector, i) => ({ id: String(i), vector })));
    const decoded: Float32Array[] = [];
    for await (const r of readPQStream1(tmp.path('base.pq'))) decoded.push(r.vector);
    const { hits, scanned } = await exactSearch(tmp.path('base.pq'), queries[1]!, 5);
    expect(scanned).toBe(N);
    expect(hits.map((h) => h.id)).toEqual(oracle(decoded, queries[1]!, 5).map(String));
  });

  it('names the first record of another length, with its index and id', async () => {
    await writeStream1(tmp.path('ragged.bin'), [...base.slice(0, 3).map((vector, i) => ({ id: `r${i}`, vector })), { id: 'odd', vector: [1, 2] }]);
    const r = await cli(['search', vectorArg(base[0]!), '--dataset', tmp.path('ragged.bin')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[DIMENSION_MISMATCH\]/);
    await expect(exactSearch(tmp.path('ragged.bin'), base[0]!, 2)).rejects.toMatchObject({ code: 'DIMENSION_MISMATCH', details: { index: 3, id: 'odd', expected: 2 } });
  });

  it('prints Vectro+-style lines, or JSON', async () => {
    const r = await cli(['search', vectorArg(base[42]!), '--dataset', tmp.path('base.bin'), '--top-k', '3']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('1. 42 -> 1.000000');
    expect(r.stdout).toMatch(/^1\. 42 -> 1\.000000\n2\. \d+ -> 0\.\d{6}\n3\. \d+ -> 0\.\d{6}\n$/);
    const j = await cli(['search', vectorArg(base[42]!), '--dataset', tmp.path('base.bin'), '-k', '2', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ mode: 'exact', scanned: N, hits: [{ id: '42' }, {}] });
  });

  it('a query of the wrong length or zero length is an error (exit 1)', async () => {
    const wrong = await cli(['search', '1,2,3', '--dataset', tmp.path('base.bin')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatchInlineSnapshot(`
      "quantumdb search: the query has 3 dimensions but this database holds 24-dimensional vectors; pass vectors of length 24. [DIMENSION_MISMATCH]
      "
    `);
    const zero = await cli(['search', Array(DIM).fill(0).join(','), '--dataset', tmp.path('base.bin')]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/\[ZERO_VECTOR\]/);
    const nan = await cli(['search', Array(DIM).fill('NaN').join(','), '--dataset', tmp.path('base.bin')]);
    expect(nan.stderr).toMatch(/\[NON_FINITE_VALUE\]/);
  });
});

describe('build → info → query → benchmark', () => {
  const index = () => tmp.path('base.qdb');

  it('build writes a .qdb from .fvecs', async () => {
    const r = await cli(['build', '--input', tmp.path('base.fvecs'), '--output', index(), '--hnsw-m', '12', '--seed', '7']);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(tmp.dir, '<tmp>').replace(/ \d[\d.,]* KiB \(.*\)$/m, ' … (…)')).toMatchInlineSnapshot(`
      "built <tmp>/base.qdb: 500 vectors × 24 (cosine), M=12, 16-byte codes, … (…)
      "
    `);
    const db = await QuantumDB.open(index(), { readOnly: true });
    expect(db.size).toBe(N);
    expect(db.stats().params).toMatchObject({ M: 12, seed: 7 });
    db.close();
  });

  it('info describes the index and vector files', async () => {
    const qdb = JSON.parse((await cli(['info', index(), '--json'])).stdout);
    expect(qdb).toMatchObject({ format: 'qdb', vectors: N, dim: DIM, metric: 'cosine', built: true, codeBytes: 16 });
    const bin = JSON.parse((await cli(['info', tmp.path('base.bin'), '--json'])).stdout);
    expect(bin).toMatchObject({ format: 'STREAM1', records: N, dim: DIM, firstIds: ['0', '1', '2'] });
    const q = JSON.parse((await cli(['info', tmp.path('base.q'), '--json'])).stdout);
    expect(q).toMatchObject({ format: 'QSTREAM1', records: N, dim: DIM, tables: DIM });
    const fvecs = JSON.parse((await cli(['info', tmp.path('base.fvecs'), '--json'])).stdout);
    expect(fvecs).toMatchObject({ format: 'fvecs', records: N, dim: DIM });
    const text = await cli(['info', tmp.path('base.bin')]);
    expect(text.stdout.replace(tmp.dir, '<tmp>')).toMatchInlineSnapshot(`
      "file           <tmp>/base.bin
      bytes          59,405 (58.0 KiB)
      format         STREAM1
      records        500
      dim            24
      firstIds       ["0","1","2"]
      "
    `);
  });

  it('search over a .qdb uses the index', async () => {
    const r = await cli(['search', vectorArg(base[9]!), '--dataset', index(), '-k', '3', '--ef', '32', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'index', hits: [{ id: '9' }, {}, {}] });
  });

  it('query with one vector and with a query file', async () => {
    const one = await cli(['query', '--index', index(), '--vector', vectorArg(base[5]!), '--top-k', '2']);
    expect(one.code).toBe(0);
    expect(one.stdout.split('\n')[0]).toBe('1. 5 -> 1.000000');
    const many = await cli(['query', '--index', index(), '--query-file', tmp.path('queries.fvecs'), '-k', '10', '--json']);
    const { results } = JSON.parse(many.stdout) as { results: { query: string; hits: { id: string }[] }[] };
    expect(results).toHaveLength(30);
    let found = 0;
    results.forEach((r, i) => {
      const want = new Set(oracle(base, queries[i]!, 10).map(String));
      found += r.hits.filter((h) => want.has(h.id)).length;
    });
    expect(found / 300).toBeGreaterThan(0.8);
    const text = await cli(['query', '--index', index(), '--query-file', tmp.path('queries.fvecs'), '-k', '1']);
    expect(text.stdout.split('\n').slice(0, 2)[0]).toBe('# query 0');
  });

  it('benchmark: Recall@k, QPS and latency percentiles for each ef', async () => {
    const r = await cli(['benchmark', '--index', index(), '--queries', tmp.path('queries.fvecs'), '--ground-truth', tmp.path('truth.ivecs'), '--ef', '16,64', '--warmup', '5', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ vectors: N, queries: 30, k: 10 });
    expect(out.rows.map((x: { ef: number }) => x.ef)).toEqual([16, 64]);
    for (const row of out.rows) {
      expect(row.recall).toBeGreaterThan(0.8);
      expect(row.qps).toBeGreaterThan(0);
      expect(row.p50us).toBeLessThanOrEqual(row.p95us);
      expect(row.p95us).toBeLessThanOrEqual(row.p99us);
    }
    const text = await cli(['benchmark', '--index', index(), '--queries', tmp.path('queries.fvecs'), '--ground-truth', tmp.path('truth.ivecs')]);
    expect(text.stdout.split('\n')[1]).toMatchInlineSnapshot(`"ef       Recall@10       QPS    p50 µs    p95 µs    p99 µs"`);
  });

  it('benchmark refuses ids that are not row numbers and short ground truth', async () => {
    await cli(['build', '--input', tmp.path('base.jsonl'), '--output', tmp.path('named.qdb')]);
    const named = await cli(['benchmark', '--index', tmp.path('named.qdb'), '--queries', tmp.path('queries.fvecs'), '--ground-truth', tmp.path('truth.ivecs')]);
    expect(named.code).toBe(1);
    expect(named.stderr).toMatch(/ground truth holds row numbers.*\[INVALID_ARGUMENT\]/);
    await writeIvecs(tmp.path('short.ivecs'), [[1, 2, 3]]);
    const short = await cli(['benchmark', '--index', index(), '--queries', tmp.path('queries.fvecs'), '--ground-truth', tmp.path('short.ivecs')]);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/has 1 rows but there are 30 queries/);
  });
});

describe('train', () => {
  it('trains the learned codec, writes it as safetensors, and build --codec reuses it without training', async () => {
    const r = await cli(['train', '--data', tmp.path('base.fvecs'), '--output', tmp.path('codec.safetensors'), '--epochs', '1', '--metric', 'l2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ output: tmp.path('codec.safetensors'), vectors: base.length });
    const b = await cli(['build', '--input', tmp.path('base.fvecs'), '--output', tmp.path('coded.qdb'), '--codec', tmp.path('codec.safetensors'), '--metric', 'l2']);
    expect(b.code, b.stderr).toBe(0);
    const db = await QuantumDB.open(tmp.path('coded.qdb'), { readOnly: true });
    expect(db.stats().codec.kind).toBe('learned');
    expect(db.search(base[3]!, { k: 1 })[0]?.id).toBe('3');
    db.close();
  }, 60_000);

  it('fails with CORRUPT_FILE for a codec file that is not one', async () => {
    await writeFile(tmp.path('junk.safetensors'), 'junk');
    const b = await cli(['build', '--input', tmp.path('base.fvecs'), '--output', tmp.path('x.qdb'), '--codec', tmp.path('junk.safetensors')]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/CORRUPT_FILE/);
  });
});

