/**
 * QuantumDBVectorStore against the contract of LangChain's Python `VectorStoreIntegrationTests`
 * (langchain_tests/integration_tests/vectorstores.py), ported to vitest, plus what the JS store adds:
 * scores, filters inside the search, MMR, retrievers, persistence and a retrieval chain.
 *
 * Python runs each contract test twice, sync and async. Every JS call is async, so the second run
 * here is "pipelined": each test issues all its calls without awaiting any, then awaits them
 * together, which checks that calls take effect in call order.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { Embeddings } from '@langchain/core/embeddings';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables';
import { FakeChatModel, FakeEmbeddings, FakeListChatModel, SyntheticEmbeddings } from '@langchain/core/utils/testing';
import { SaveableVectorStore } from '@langchain/core/vectorstores';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { QuantumDBVectorStore, QUANTUMDB_STORE_FILES, type QuantumDBFilter } from '../../src/integrations/langchain.js';
import { withTempDir } from '../../src/testing/index.js';
import { expectQdbErrorAsync } from '../helpers.js';

/** The contract's embeddings: deterministic, 6 values, equal texts give equal vectors. */
const EMBEDDING_SIZE = 6;
const embeddings = () => new SyntheticEmbeddings({ vectorSize: EMBEDDING_SIZE });
const doc = (pageContent: string, metadata: Record<string, unknown>, id?: string) => new Document({ pageContent, metadata, ...(id === undefined ? {} : { id }) });

/** Embeddings from a fixed table, for tests that need chosen geometry. */
class TableEmbeddings extends Embeddings {
  constructor(private readonly table: Record<string, number[]>) { super({}); }
  async embedDocuments(texts: string[]): Promise<number[][]> { return texts.map((t) => this.vector(t)); }
  async embedQuery(text: string): Promise<number[]> { return this.vector(text); }
  private vector(text: string): number[] {
    const v = this.table[text];
    if (!v) throw new Error(`no vector for ${text}`);
    return v;
  }
}

type Mode = 'awaited' | 'pipelined';
/** Runs the calls one after another (awaited) or all at once (pipelined) and returns their results. */
async function calls<T extends readonly unknown[]>(mode: Mode, fns: { [K in keyof T]: () => Promise<T[K]> }): Promise<T> {
  if (mode === 'pipelined') return (await Promise.all(fns.map((f) => f()))) as unknown as T;
  const out: unknown[] = [];
  for (const f of fns) out.push(await f());
  return out as unknown as T;
}

describe.each<Mode>(['awaited', 'pipelined'])('VectorStoreIntegrationTests contract (%s)', (mode) => {
  const make = () => new QuantumDBVectorStore(embeddings());

  it('vectorstore is empty', async () => {
    expect(await make().similaritySearch('foo', 1)).toEqual([]);
  });

  it('add documents: similarity order, generated ids, originals not mutated', async () => {
    const store = make();
    const original = [doc('foo', { id: 1 }), doc('bar', { id: 2 })];
    const [ids, found] = await calls<[string[], DocumentInterface[]]>(mode, [
      () => store.addDocuments(original),
      () => store.similaritySearch('bar', 2),
    ]);
    expect(found).toEqual([doc('bar', { id: 2 }, ids[1]), doc('foo', { id: 1 }, ids[0])]);
    expect(original).toEqual([doc('foo', { id: 1 }), doc('bar', { id: 2 })]);
    expect(original[0]?.id).toBeUndefined();
  });

  it('vectorstore still empty (a fresh store shares nothing)', async () => {
    expect(await make().similaritySearch('foo', 1)).toEqual([]);
  });

  it('deleting documents', async () => {
    const store = make();
    const [ids, , found] = await calls<[string[], void, DocumentInterface[]]>(mode, [
      () => store.addDocuments([doc('foo', { id: 1 }), doc('bar', { id: 2 })], { ids: ['1', '2'] }),
      () => store.delete({ ids: ['1'] }),
      () => store.similaritySearch('foo', 1),
    ]);
    expect(ids).toEqual(['1', '2']);
    expect(found).toEqual([doc('bar', { id: 2 }, '2')]);
  });

  it('deleting bulk documents', async () => {
    const store = make();
    const [, , found] = await calls<[string[], void, DocumentInterface[]]>(mode, [
      () => store.addDocuments([doc('foo', { id: 1 }), doc('bar', { id: 2 }), doc('baz', { id: 3 })], { ids: ['1', '2', '3'] }),
      () => store.delete({ ids: ['1', '2'] }),
      () => store.similaritySearch('foo', 1),
    ]);
    expect(found).toEqual([doc('baz', { id: 3 }, '3')]);
  });

  it('delete missing content does not throw', async () => {
    const store = make();
    await calls<[void, void]>(mode, [() => store.delete({ ids: ['1'] }), () => store.delete({ ids: ['1', '2', '3'] })]);
    await store.addDocuments([doc('foo', {})], { ids: ['1'] });
    await store.delete({ ids: ['1', '2', '3'] });
    expect(store.size).toBe(0);
    expect(await store.similaritySearch('foo', 1)).toEqual([]);
  });

  it('add documents with ids is idempotent', async () => {
    const store = make();
    const documents = [doc('foo', { id: 1 }), doc('bar', { id: 2 })];
    const [, , found] = await calls<[string[], string[], DocumentInterface[]]>(mode, [
      () => store.addDocuments(documents, { ids: ['1', '2'] }),
      () => store.addDocuments(documents, { ids: ['1', '2'] }),
      () => store.similaritySearch('bar', 2),
    ]);
    expect(found).toEqual([doc('bar', { id: 2 }, '2'), doc('foo', { id: 1 }, '1')]);
    expect(store.size).toBe(2);
  });

  it('add documents by id with mutation', async () => {
    const store = make();
    const [, , found] = await calls<[string[], string[], DocumentInterface[]]>(mode, [
      () => store.addDocuments([doc('foo', { id: 1 }), doc('bar', { id: 2 })], { ids: ['1', '2'] }),
      () => store.addDocuments([doc('new foo', { id: 1, some_other_field: 'foo' })], { ids: ['1'] }),
      () => store.similaritySearch('new foo', 2),
    ]);
    expect(found).toEqual([doc('new foo', { id: 1, some_other_field: 'foo' }, '1'), doc('bar', { id: 2 }, '2')]);
  });

  it('get by ids, in the order asked', async () => {
    const store = make();
    const [ids, got, reversed] = await calls<[string[], DocumentInterface[], DocumentInterface[]]>(mode, [
      () => store.addDocuments([doc('foo', { id: 1 }), doc('bar', { id: 2 })], { ids: ['1', '2'] }),
      () => store.getByIds(['1', '2']),
      () => store.getByIds(['2', 'missing', '1']),
    ]);
    expect(got).toEqual([doc('foo', { id: 1 }, ids[0]), doc('bar', { id: 2 }, ids[1])]);
    expect(reversed.map((d) => d.id)).toEqual(['2', '1']);
  });

  it('get by ids missing', async () => {
    expect(await make().getByIds(['1', '2', '3'])).toEqual([]);
  });

  it('add documents documents: generated string ids', async () => {
    const store = make();
    const ids = await store.addDocuments([doc('foo', { id: 1 }), doc('bar', { id: 2 })]);
    expect(ids).toHaveLength(2);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(2);
    expect(await store.getByIds(ids)).toEqual([doc('foo', { id: 1 }, ids[0]), doc('bar', { id: 2 }, ids[1])]);
  });

  it('add documents with existing ids: Document.id is used, others generated', async () => {
    const store = make();
    const ids = await store.addDocuments([doc('foo', { id: 1 }, 'foo'), doc('bar', { id: 2 })]);
    expect(ids).toContain('foo');
    expect(ids[0]).toBe('foo');
    expect(await store.getByIds(ids)).toEqual([doc('foo', { id: 1 }, 'foo'), doc('bar', { id: 2 }, ids[1])]);
  });
});

describe('QuantumDBVectorStore', () => {
  it('is a SaveableVectorStore of type "quantumdb" with typed filters', () => {
    const store = new QuantumDBVectorStore(new FakeEmbeddings());
    expect(store).toBeInstanceOf(SaveableVectorStore);
    expect(store._vectorstoreType()).toBe('quantumdb');
    expect(store.db).toBeUndefined();
    expectTypeOf<QuantumDBVectorStore['FilterType']>().toEqualTypeOf<QuantumDBFilter>();
  });

  it('adds with and without ids under FakeEmbeddings (all vectors equal)', async () => {
    const store = new QuantumDBVectorStore(new FakeEmbeddings());
    const generated = await store.addDocuments([doc('a', {}), doc('b', {})]);
    const given = await store.addDocuments([doc('c', {}), doc('d', {})], { ids: ['c', 'd'] });
    expect(given).toEqual(['c', 'd']);
    expect(store.size).toBe(4);
    const hits = await store.similaritySearchWithScore('anything', 10);
    expect(hits.map(([d]) => d.id).sort()).toEqual([...generated, 'c', 'd'].sort());
    for (const [, score] of hits) expect(score).toBeCloseTo(1, 6);
  });

  it('reports similarities, higher is better, for each metric', async () => {
    const table = { q: [1, 0, 0, 0], a: [1, 0.1, 0, 0], b: [0.5, 1, 0, 0], c: [0, 0, 2, 0] };
    const exact = {
      cosine: (v: number[]) => v[0]! / Math.hypot(...v),
      ip: (v: number[]) => v[0]!,
      l2: (v: number[]) => 1 / (1 + ((v[0]! - 1) ** 2 + v[1]! ** 2 + v[2]! ** 2 + v[3]! ** 2)),
    };
    for (const metric of ['cosine', 'ip', 'l2'] as const) {
      const store = await QuantumDBVectorStore.fromTexts(['a', 'b', 'c'], {}, new TableEmbeddings(table), { dbOptions: { metric, m: 2 } });
      const hits = await store.similaritySearchWithScore('q', 3);
      expect(hits.map(([d]) => d.pageContent)).toEqual(['a', 'b', 'c']);
      for (const [d, score] of hits) expect(score).toBeCloseTo(exact[metric](table[d.pageContent as 'a']), 5);
      const scores = hits.map(([, s]) => s);
      expect(scores).toEqual([...scores].sort((x, y) => y - x));
    }
  });

  it('applies the filter inside the search: k matches come back even when they are rare', async () => {
    const n = 400;
    const vectors = Array.from({ length: n }, (_, i) => [Math.cos(i), Math.sin(i), Math.cos(2 * i), (i % 7) / 7, 1]);
    const docs = vectors.map((_, i) => doc(`doc ${i}`, { rare: i % 80 === 0, group: i % 3, tags: ['x', i % 2] }));
    const store = new QuantumDBVectorStore(new FakeEmbeddings(), { dbOptions: { m: 5 } });
    await store.addVectors(vectors, docs, { ids: docs.map((_, i) => `d${i}`) });
    const rare = await store.similaritySearchVectorWithScore(vectors[7]!, 5, { rare: true });
    expect(rare.map(([d]) => d.id).sort()).toEqual(['d0', 'd160', 'd240', 'd320', 'd80']);
    const byPredicate = await store.similaritySearchVectorWithScore(vectors[7]!, 10, (d) => d.metadata.group === 1 && d.id !== 'd7');
    expect(byPredicate).toHaveLength(10);
    expect(byPredicate.every(([d]) => d.metadata.group === 1 && d.id !== 'd7')).toBe(true);
    const structural = await store.similaritySearchVectorWithScore(vectors[3]!, 3, { tags: ['x', 1], group: 0 });
    expect(structural[0]?.[0].id).toBe('d3');
    expect(structural.every(([d]) => (d.metadata.tags as unknown[])[1] === 1 && d.metadata.group === 0)).toBe(true);
    expect(await store.similaritySearchVectorWithScore(vectors[3]!, 3, { group: 99 })).toEqual([]);
    await expectQdbErrorAsync(() => store.similaritySearchVectorWithScore(vectors[3]!, 3, 'nope' as unknown as QuantumDBFilter), 'INVALID_ARGUMENT');
  });

  it('maximal marginal relevance trades similarity for diversity', async () => {
    const table = {
      q: [1, 0.2, 0], a1: [1, 0.21, 0], a2: [1, 0.22, 0.001], a3: [1, 0.23, 0], b: [0.8, -0.3, 0.5], far: [-1, 0, 0],
    };
    const store = await QuantumDBVectorStore.fromTexts(['a1', 'a2', 'a3', 'b', 'far'], [{ g: 'a' }, { g: 'a' }, { g: 'a' }, { g: 'b' }, { g: 'c' }], new TableEmbeddings(table), { dbOptions: { m: 3 } });
    expect((await store.similaritySearch('q', 2)).map((d) => d.pageContent)).toEqual(['a1', 'a2']);
    const mmr = await store.maxMarginalRelevanceSearch('q', { k: 2, fetchK: 5, lambda: 0.5 });
    expect(mmr.map((d) => d.pageContent)).toEqual(['a1', 'b']);
    const pure = await store.maxMarginalRelevanceSearch('q', { k: 2, fetchK: 5, lambda: 1 });
    expect(pure.map((d) => d.pageContent)).toEqual(['a1', 'a2']);
    const filtered = await store.maxMarginalRelevanceSearch('q', { k: 2, fetchK: 5, filter: { g: 'a' } });
    expect(filtered.every((d) => d.metadata.g === 'a')).toBe(true);
    expect(await new QuantumDBVectorStore(new TableEmbeddings(table)).maxMarginalRelevanceSearch('q', { k: 2 })).toEqual([]);
  });

  it('asRetriever works with similarity and MMR search', async () => {
    const table = { q: [1, 0.2, 0], a1: [1, 0.21, 0], a2: [1, 0.22, 0.001], b: [0.8, -0.3, 0.5] };
    const store = await QuantumDBVectorStore.fromDocuments([doc('a1', {}, 'x1'), doc('a2', {}, 'x2'), doc('b', {}, 'y')], new TableEmbeddings(table), { dbOptions: { m: 3 } });
    expect((await store.asRetriever(2).invoke('q')).map((d) => d.id)).toEqual(['x1', 'x2']);
    const mmr = store.asRetriever({ k: 2, searchType: 'mmr', searchKwargs: { fetchK: 3, lambda: 0.5 } });
    expect((await mmr.invoke('q')).map((d) => d.id)).toEqual(['x1', 'y']);
    const filtered = store.asRetriever({ k: 2, filter: (d) => d.id !== 'x1' });
    expect((await filtered.invoke('q')).map((d) => d.id)).toEqual(['x2', 'y']);
  });

  it('fromTexts takes one metadata object per text or one for all', async () => {
    const perText = await QuantumDBVectorStore.fromTexts(['foo', 'bar'], [{ n: 1 }, { n: 2 }], embeddings());
    expect((await perText.similaritySearch('bar', 1))[0]?.metadata).toEqual({ n: 2 });
    const shared = await QuantumDBVectorStore.fromTexts(['foo', 'bar'], { source: 'x' }, embeddings());
    expect((await shared.similaritySearch('foo', 2)).map((d) => d.metadata)).toEqual([{ source: 'x' }, { source: 'x' }]);
  });

  it('returns copies: changing a returned document does not change the store', async () => {
    const store = await QuantumDBVectorStore.fromTexts(['foo'], [{ n: 1 }], embeddings());
    const [first] = await store.similaritySearch('foo', 1);
    first!.metadata.n = 99;
    expect((await store.similaritySearch('foo', 1))[0]?.metadata).toEqual({ n: 1 });
  });

  it('keeps finding new documents as the store grows past its first training', async () => {
    const store = new QuantumDBVectorStore(embeddings());
    const texts = Array.from({ length: 300 }, (_, i) => `document number ${i} about ${['cats', 'dogs', 'birds', 'fish'][i % 4]} ${'abcdefghij'[i % 10]}${'klmnopqrst'[(i * 7) % 10]}`);
    await store.addDocuments(texts.slice(0, 10).map((t) => doc(t, {})), { ids: texts.slice(0, 10) });
    expect((await store.similaritySearch(texts[3]!, 1))[0]?.pageContent).toBe(texts[3]);
    await store.addDocuments(texts.slice(10).map((t) => doc(t, {})), { ids: texts.slice(10) });
    for (const i of [10, 150, 299]) {
      const [[best, similarity]] = (await store.similaritySearchWithScore(texts[i]!, 1)) as [[DocumentInterface, number]];
      expect(similarity).toBeCloseTo(1, 5);
      expect((await embeddings().embedQuery(best.pageContent))).toEqual(await embeddings().embedQuery(texts[i]!));
    }
    expect(store.db?.size).toBe(300);
  });

  it('reports mistakes with coded errors', async () => {
    const store = new QuantumDBVectorStore(embeddings());
    await expectQdbErrorAsync(() => store.addVectors([[1, 2, 3, 4, 5, 6]], []), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => store.addDocuments([doc('a', {})], { ids: ['1', '2'] }), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => store.addDocuments([doc('a', {}), doc('b', {})], { ids: ['1', '1'] }), 'DUPLICATE_ID');
    await expectQdbErrorAsync(() => store.delete(undefined as unknown as { ids: string[] }), 'INVALID_ARGUMENT');
    await store.addDocuments([doc('foo', {})]);
    await expectQdbErrorAsync(() => store.similaritySearchVectorWithScore([1, 2, 3], 1), 'DIMENSION_MISMATCH');
    await expectQdbErrorAsync(() => store.addVectors([[1, 2]], [doc('x', {})]), 'DIMENSION_MISMATCH');
    await expectQdbErrorAsync(() => store.similaritySearch('foo', 0), 'INVALID_ARGUMENT');
    expect(store.size).toBe(1);
    expect((await store.similaritySearch('foo', 1))[0]?.pageContent).toBe('foo');
  });
});

describe('QuantumDBVectorStore persistence', () => {
  it('save(dir) / load(dir, embeddings) round-trips documents, ids and results', async () => {
    await withTempDir(async (tmp) => {
      const texts = ['the cat sat', 'a dog barked', 'birds sing at dawn', 'fish swim deep', 'the cat slept'];
      const store = await QuantumDBVectorStore.fromTexts(texts, texts.map((_, i) => ({ i, even: i % 2 === 0 })), embeddings());
      await store.delete({ ids: [(await store.similaritySearch('fish swim deep', 1))[0]!.id!] });
      const before = await store.similaritySearchWithScore('the cat', 4, { even: true });
      await store.save(tmp.path);
      expect((await import('node:fs')).readdirSync(tmp.path).sort()).toEqual([QUANTUMDB_STORE_FILES.documents, QUANTUMDB_STORE_FILES.index].sort());
      const loaded = await QuantumDBVectorStore.load(tmp.path, embeddings());
      expect(loaded.size).toBe(4);
      const after = await loaded.similaritySearchWithScore('the cat', 4, { even: true });
      expect(after.map(([d]) => d)).toEqual(before.map(([d]) => d));
      after.forEach(([, s], i) => expect(s).toBeCloseTo(before[i]![1], 6));
      await loaded.addDocuments([doc('a new cat', { i: 9 })], { ids: ['new'] });
      await loaded.delete({ ids: [before[0]![0].id!] });
      expect((await loaded.similaritySearch('a new cat', 1))[0]?.id).toBe('new');
      expect(await loaded.maxMarginalRelevanceSearch('the cat', { k: 2 })).toHaveLength(2);
    });
  });

  it('loads read-only: searches work, changes throw', async () => {
    await withTempDir(async (tmp) => {
      const store = await QuantumDBVectorStore.fromTexts(['foo', 'bar'], {}, embeddings());
      await store.save(tmp.path);
      const ro = await QuantumDBVectorStore.load(tmp.path, embeddings(), { readOnly: true });
      expect((await ro.similaritySearch('bar', 1))[0]?.pageContent).toBe('bar');
      expect((await ro.maxMarginalRelevanceSearch('bar', { k: 2 })).map((d) => d.pageContent).sort()).toEqual(['bar', 'foo']);
      await expectQdbErrorAsync(() => ro.addDocuments([doc('baz', {})]), 'INVALID_ARGUMENT');
      expect(ro.size).toBe(2);
    });
  });

  it('saves and loads an empty store', async () => {
    await withTempDir(async (tmp) => {
      await new QuantumDBVectorStore(embeddings()).save(tmp.path);
      const loaded = await QuantumDBVectorStore.load(tmp.path, embeddings());
      expect(await loaded.similaritySearch('foo', 1)).toEqual([]);
      await loaded.addDocuments([doc('foo', {})]);
      expect((await loaded.similaritySearch('foo', 1))[0]?.pageContent).toBe('foo');
    });
  });

  it('rejects missing, foreign and inconsistent directories', async () => {
    await withTempDir(async (tmp) => {
      await expectQdbErrorAsync(() => QuantumDBVectorStore.load(tmp.file('nothing-here'), embeddings()), 'IO_ERROR');
      const store = await QuantumDBVectorStore.fromTexts(['foo', 'bar'], {}, embeddings());
      await store.save(tmp.path);
      const docPath = tmp.file(QUANTUMDB_STORE_FILES.documents);
      const good = await readFile(docPath, 'utf8');
      await writeFile(docPath, '{not json');
      await expectQdbErrorAsync(() => QuantumDBVectorStore.load(tmp.path, embeddings()), 'CORRUPT_FILE');
      await writeFile(docPath, JSON.stringify({ hello: 'world' }));
      await expectQdbErrorAsync(() => QuantumDBVectorStore.load(tmp.path, embeddings()), 'CORRUPT_FILE');
      const parsed = JSON.parse(good);
      await writeFile(docPath, JSON.stringify({ ...parsed, version: 2 }));
      await expectQdbErrorAsync(() => QuantumDBVectorStore.load(tmp.path, embeddings()), 'UNSUPPORTED_VERSION');
      await writeFile(docPath, JSON.stringify({ ...parsed, documents: parsed.documents.slice(0, 1) }));
      await expectQdbErrorAsync(() => QuantumDBVectorStore.load(tmp.path, embeddings()), 'CORRUPT_FILE');
      await writeFile(docPath, good);
      const bytes = await readFile(tmp.file(QUANTUMDB_STORE_FILES.index));
      await writeFile(tmp.file(QUANTUMDB_STORE_FILES.index), bytes.subarray(0, bytes.length - 10));
      await expectQdbErrorAsync(() => QuantumDBVectorStore.load(tmp.path, embeddings()), 'CORRUPT_FILE');
    });
  });
});

describe('a retrieval chain, end to end', () => {
  const facts = [
    'QuantumDB stores each vector as a 16-byte product-quantization code.',
    'The HNSW graph links every node to at most 2M neighbours on layer 0.',
    'Bananas are rich in potassium.',
    'Search results are re-ranked with the full-precision vectors.',
  ];
  const formatDocs = (docs: DocumentInterface[]) => docs.map((d) => `- ${d.pageContent}`).join('\n');
  const prompt = ChatPromptTemplate.fromMessages([
    ['system', 'Answer from the context only.\nContext:\n{context}'],
    ['human', '{question}'],
  ]);

  it('retrieves the right context into the prompt and returns the model answer', async () => {
    const store = await QuantumDBVectorStore.fromTexts(facts, facts.map((_, i) => ({ source: `fact-${i}` })), embeddings());
    const retriever = store.asRetriever(1);
    const echo = RunnableSequence.from([
      { context: retriever.pipe(formatDocs), question: new RunnablePassthrough() },
      prompt,
      new FakeChatModel({}),
      new StringOutputParser(),
    ]);
    const seen = await echo.invoke(facts[2]!);
    expect(seen).toContain(`Context:\n- ${facts[2]}`);
    expect(seen).toContain('Answer from the context only.');
    expect(seen.match(/^- /gm)).toHaveLength(1);

    const chain = RunnableSequence.from([
      { context: store.asRetriever({ k: 2, searchType: 'mmr', searchKwargs: { fetchK: 4 } }).pipe(formatDocs), question: new RunnablePassthrough() },
      prompt,
      new FakeListChatModel({ responses: ['Each vector becomes a 16-byte code.'] }),
      new StringOutputParser(),
    ]);
    expect(await chain.invoke('How big is a code?')).toBe('Each vector becomes a 16-byte code.');
    const batch = await echo.batch([facts[0]!, facts[3]!]);
    expect(batch[0]).toContain(facts[0]);
    expect(batch[1]).toContain(facts[3]);
  });
});
