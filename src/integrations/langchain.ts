/**
 * @module quantumdb/langchain
 * `QuantumDBVectorStore`: QuantumDB as a LangChain.js vector store, published as the
 * `quantumdb/langchain` subpath with `@langchain/core` as an optional peer dependency.
 *
 * The store keeps the documents (text, metadata) in a `Map` beside one `QuantumDB`, which it creates
 * on the first add with the dimension of the first embedding. The index is trained lazily: the
 * first search after an add trains the codec and builds the graph; later adds are inserted into
 * the graph at once, and the codec is retrained whenever the store has doubled since the last
 * training, until that training saw 20,000 rows. Every call runs in the order it was made, so a
 * search issued right after an add (without awaiting it) sees the added documents.
 *
 * Scores are similarities, higher is better: cosine similarity for `'cosine'` (the default), the
 * inner product for `'ip'`, and `1 / (1 + d)` of the squared Euclidean distance `d` for `'l2'`.
 * This is the only place QuantumDB turns a distance into a similarity.
 *
 * @example
 * ```ts
 * import { QuantumDBVectorStore } from 'quantumdb/langchain';
 *
 * const store = await QuantumDBVectorStore.fromTexts(['a cat', 'a dog'], [{ n: 1 }, { n: 2 }], embeddings);
 * const [[doc, score]] = await store.similaritySearchWithScore('kitten', 1);
 * const retriever = store.asRetriever({ k: 4, searchType: 'mmr' });
 * ```
 */
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { maximalMarginalRelevance } from '@langchain/core/utils/math';
import { SaveableVectorStore, type MaxMarginalRelevanceSearchOptions } from '@langchain/core/vectorstores';
import { QuantumDB, QuantumDBError, type Metric, type QuantumDBOptions, type SearchOptions } from '../index.js';

/**
 * What a search may be restricted to: a predicate on the document, or an object whose every key
 * must equal the document's metadata value under that key (primitives by `===`, arrays and plain
 * objects by structure). Applied inside the index search, so `k` results come back whenever `k`
 * documents match.
 */
export type QuantumDBFilter = ((document: DocumentInterface) => boolean) | Record<string, unknown>;

/** Options of the {@link QuantumDBVectorStore} constructor and its `from…` factories. */
export interface QuantumDBVectorStoreArgs {
  /**
   * Options of the database the store creates on its first add; `dim` comes from the first
   * embedding. Default: `{ metric: 'cosine' }` and QuantumDB's defaults.
   */
  dbOptions?: Omit<QuantumDBOptions, 'dim'>;
  /** Search parameters used by every search of the store (`ef`, `rerank`, `flat`). */
  searchOptions?: Pick<SearchOptions, 'ef' | 'rerank' | 'flat'>;
}

/** Options of `addVectors` and `addDocuments`. */
export interface QuantumDBAddOptions {
  /** One id per document. Default: each document's `id`, or a random UUID when it has none. */
  ids?: string[];
}

/** Options of {@link QuantumDBVectorStore.load}. */
export interface QuantumDBLoadOptions {
  /** Open the database read-only: searches work, adds and deletes throw. Default false. */
  readOnly?: boolean;
}

interface StoredDocument {
  pageContent: string;
  metadata: Record<string, unknown>;
}

/** The JSON file written beside the `.qdb` by `save`. */
interface DocstoreFile {
  format: typeof DOCSTORE_FORMAT;
  version: 1;
  trainedRows: number;
  args: QuantumDBVectorStoreArgs;
  documents: [string, StoredDocument][];
}

const DOCSTORE_FORMAT = 'quantumdb-langchain-docstore';
/**
 * File names inside a directory written by {@link QuantumDBVectorStore.save}.
 * @example
 * ```ts
 * const qdbPath = path.join(dir, QUANTUMDB_STORE_FILES.index); // open the index alone with QuantumDB.open
 * ```
 */
export const QUANTUMDB_STORE_FILES: Readonly<{
  /** The index, a `.qdb` file that `QuantumDB.open` reads. */
  index: 'index.qdb';
  /** The documents (text, metadata, ids) as JSON. */
  documents: 'docstore.json';
}> = Object.freeze({ index: 'index.qdb', documents: 'docstore.json' });
/** Retrain when the store has grown by this factor since the last training… */
const RETRAIN_GROWTH = 2;
/** …as long as that training saw fewer rows than this (QuantumDB's default training sample). */
const RETRAIN_UNTIL = 20_000;

/**
 * A LangChain vector store backed by an in-process QuantumDB index.
 *
 * @example
 * ```ts
 * const store = new QuantumDBVectorStore(embeddings, { dbOptions: { metric: 'cosine' } });
 * await store.addDocuments([new Document({ pageContent: 'hello', metadata: { lang: 'en' } })], { ids: ['d1'] });
 * const docs = await store.similaritySearch('hi', 4, { lang: 'en' });
 * await store.save('./my-store');
 * const again = await QuantumDBVectorStore.load('./my-store', embeddings);
 * ```
 */
export class QuantumDBVectorStore extends SaveableVectorStore {
  /** A predicate on a document, or a metadata-equality object: see {@link QuantumDBFilter}. */
  declare FilterType: QuantumDBFilter;

  private database: QuantumDB | undefined;
  private readonly docs = new Map<string, StoredDocument>();
  private readonly args: QuantumDBVectorStoreArgs;
  private trainedRows = 0;
  private readOnly = false;
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * An empty store. The database is created on the first add.
   * @param embeddings the model that embeds documents and queries
   * @param args database and search options
   * @throws Never: options are checked when the database is created, on the first add.
   * @example
   * ```ts
   * const store = new QuantumDBVectorStore(new OpenAIEmbeddings(), { dbOptions: { metric: 'ip' } });
   * ```
   */
  constructor(embeddings: EmbeddingsInterface, args: QuantumDBVectorStoreArgs = {}) {
    super(embeddings, args);
    this.args = { ...args };
  }

  /**
   * The name LangChain uses for this kind of store (in tags and traces).
   * @returns `"quantumdb"`
   * @throws Never.
   * @example
   * ```ts
   * store._vectorstoreType(); // 'quantumdb'
   * ```
   */
  _vectorstoreType(): string {
    return 'quantumdb';
  }

  /** The underlying database, or `undefined` before the first add. */
  get db(): QuantumDB | undefined {
    return this.database;
  }

  /** Number of documents held. */
  get size(): number {
    return this.docs.size;
  }

  /**
   * Adds documents with their precomputed embeddings. An id already in the store is replaced
   * (its text, metadata and vector), so adding the same documents twice with the same ids keeps
   * one copy. Nothing changes when a check fails.
   * @param vectors one embedding per document, all of one length
   * @param documents the documents; they are copied, never modified
   * @param options `ids`, one per document
   * @returns the ids, in document order
   * @throws QuantumDBError `INVALID_ARGUMENT` when the counts differ; `EMPTY_ID`, `DUPLICATE_ID` (twice in one call),
   *   `DIMENSION_MISMATCH`, `NON_FINITE_VALUE`, `ZERO_VECTOR` (cosine), `CAPACITY_EXCEEDED` from the database.
   * @example
   * ```ts
   * const ids = await store.addVectors([[0.1, 0.2, 0.3]], [new Document({ pageContent: 'x' })], { ids: ['x'] });
   * ```
   */
  async addVectors(vectors: number[][], documents: DocumentInterface[], options: QuantumDBAddOptions = {}): Promise<string[]> {
    if (!Array.isArray(vectors) || !Array.isArray(documents) || vectors.length !== documents.length) {
      throw new QuantumDBError('INVALID_ARGUMENT', `got ${String(vectors?.length)} vectors for ${String(documents?.length)} documents; pass one vector per document`);
    }
    return this.addPrepared(() => vectors, documents, options);
  }

  /**
   * Embeds documents with the store's embeddings and adds them (see {@link addVectors}). The
   * embedding runs at once, concurrently with earlier calls; the add takes effect in call order.
   * @param documents the documents; they are copied, never modified
   * @param options `ids`, one per document
   * @returns the ids, in document order
   * @throws QuantumDBError as {@link addVectors}; whatever the embeddings model throws is passed through.
   * @example
   * ```ts
   * const ids = await store.addDocuments(docs, { ids: docs.map((_, i) => `doc-${i}`) });
   * ```
   */
  async addDocuments(documents: DocumentInterface[], options: QuantumDBAddOptions = {}): Promise<string[]> {
    if (!Array.isArray(documents)) throw new QuantumDBError('INVALID_ARGUMENT', 'addDocuments takes an array of documents');
    return this.addPrepared(() => this.embeddings.embedDocuments(documents.map((d) => String(d.pageContent))), documents, options);
  }

  /**
   * The `k` documents most similar to an embedding, with their similarity (higher is better; see
   * the module notes for each metric). The filter is applied inside the index search.
   * @param query an embedding of the store's dimension
   * @param k results wanted; fewer come back when fewer documents match
   * @param filter a predicate on the document, or a metadata-equality object
   * @returns `[document, similarity]` pairs, most similar first; `[]` for an empty store
   * @throws QuantumDBError `DIMENSION_MISMATCH`, `NON_FINITE_VALUE`, `ZERO_VECTOR` (cosine), `INVALID_ARGUMENT` (bad `k` or filter).
   * @example
   * ```ts
   * const hits = await store.similaritySearchVectorWithScore(await embeddings.embedQuery('cats'), 4, { topic: 'pets' });
   * ```
   */
  async similaritySearchVectorWithScore(query: number[], k: number, filter?: QuantumDBFilter): Promise<[DocumentInterface, number][]> {
    return this.searchPrepared(query, k, filter);
  }

  /**
   * The `k` documents most similar to a text, with their similarity (higher is better). The text
   * is embedded at once; the search runs after every earlier call of this store has taken effect.
   * @param query the text to embed and search for
   * @param k results wanted; default 4
   * @param filter a predicate on the document, or a metadata-equality object
   * @returns `[document, similarity]` pairs, most similar first
   * @throws QuantumDBError as {@link similaritySearchVectorWithScore}; whatever the embeddings model throws is passed through.
   * @example
   * ```ts
   * const [[doc, similarity]] = await store.similaritySearchWithScore('cats', 1);
   * ```
   */
  override async similaritySearchWithScore(query: string, k = 4, filter?: QuantumDBFilter): Promise<[DocumentInterface, number][]> {
    return this.searchPrepared(this.embeddings.embedQuery(query), k, filter);
  }

  /**
   * The `k` documents most similar to a text (see {@link similaritySearchWithScore}).
   * @param query the text to embed and search for
   * @param k results wanted; default 4
   * @param filter a predicate on the document, or a metadata-equality object
   * @returns the documents, most similar first
   * @throws QuantumDBError as {@link similaritySearchVectorWithScore}.
   * @example
   * ```ts
   * const docs = await store.similaritySearch('cats', 4, (doc) => doc.metadata.year > 2020);
   * ```
   */
  override async similaritySearch(query: string, k = 4, filter?: QuantumDBFilter): Promise<DocumentInterface[]> {
    return (await this.similaritySearchWithScore(query, k, filter)).map(([doc]) => doc);
  }

  /**
   * Maximal marginal relevance: fetches the `fetchK` most similar documents (after the filter),
   * then picks `k` of them, trading similarity to the query against similarity to the documents
   * already picked (`lambda` 1 = pure similarity, 0 = pure diversity).
   * @param query the text to embed and search for
   * @param options `k`, `fetchK` (default 20), `lambda` (default 0.5), `filter`
   * @returns up to `k` documents, in the order MMR picked them
   * @throws QuantumDBError as {@link similaritySearchVectorWithScore}.
   * @example
   * ```ts
   * const docs = await store.maxMarginalRelevanceSearch('cats', { k: 4, fetchK: 20, lambda: 0.5 });
   * ```
   */
  override async maxMarginalRelevanceSearch(query: string, options: MaxMarginalRelevanceSearchOptions<QuantumDBFilter>): Promise<DocumentInterface[]> {
    const k = options.k ?? 4;
    const fetchK = Math.max(options.fetchK ?? 20, k);
    const filter = options.filter;
    return this.enqueue(this.embeddings.embedQuery(query), async (embedding) => {
      const db = await this.searchableDb();
      if (!db) return [];
      const hits = db.search(embedding, { ...this.args.searchOptions, k: fetchK, ...this.filterOption(filter) });
      if (hits.length === 0) return [];
      const candidates = hits.map((h) => {
        const vector = db.get(h.id)?.vector;
        if (!vector) throw new QuantumDBError('INVALID_ARGUMENT', 'maximal marginal relevance needs the stored vectors, but this index was saved without them; save it with vectors');
        return Array.from(vector);
      });
      const picked = maximalMarginalRelevance(embedding, candidates, options.lambda ?? 0.5, k);
      return picked.map((i) => this.documentOf((hits[i] as { id: string }).id));
    });
  }

  /**
   * Removes documents by id. Ids not in the store are ignored.
   * @param params `{ ids }`
   * @throws QuantumDBError `INVALID_ARGUMENT` when `ids` is missing or not an array of strings; `INVALID_ARGUMENT` on a store loaded read-only.
   * @example
   * ```ts
   * await store.delete({ ids: ['doc-1', 'doc-2'] });
   * ```
   */
  override async delete(params: { ids: string[] }): Promise<void> {
    const ids = params?.ids;
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
      throw new QuantumDBError('INVALID_ARGUMENT', 'delete needs { ids: string[] }; this store deletes by id only');
    }
    await this.enqueue(undefined, () => {
      const present = [...new Set(ids)].filter((id) => this.docs.has(id));
      if (present.length === 0 || !this.database) return;
      this.database.delete(present);
      for (const id of present) this.docs.delete(id);
    });
  }

  /**
   * The documents with the given ids, in the order asked; ids not in the store are skipped.
   * @param ids document ids
   * @returns the documents found, each with its `id`
   * @throws Never: missing ids are skipped.
   * @example
   * ```ts
   * const [doc] = await store.getByIds(['doc-1']);
   * ```
   */
  async getByIds(ids: string[]): Promise<DocumentInterface[]> {
    return this.enqueue(undefined, () => ids.filter((id) => this.docs.has(id)).map((id) => this.documentOf(id)));
  }

  /**
   * Writes the store to a directory: the index as `index.qdb` and the documents as
   * `docstore.json`. The directory is created when missing; existing files are replaced atomically.
   * @param directory where to write
   * @throws QuantumDBError `IO_ERROR` when the files cannot be written.
   * @example
   * ```ts
   * await store.save('./stores/faq');
   * ```
   */
  async save(directory: string): Promise<void> {
    const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    await this.enqueue(undefined, async () => {
      try {
        await fs.mkdir(directory, { recursive: true });
      } catch (cause) {
        throw new QuantumDBError('IO_ERROR', `could not create ${directory}: ${String(cause)}`, { path: directory }, cause);
      }
      const db = await this.searchableDb();
      const indexPath = path.join(directory, QUANTUMDB_STORE_FILES.index);
      if (db) await db.save(indexPath);
      else await fs.rm(indexPath, { force: true });
      const file: DocstoreFile = { format: DOCSTORE_FORMAT, version: 1, trainedRows: this.trainedRows, args: this.args, documents: [...this.docs] };
      const target = path.join(directory, QUANTUMDB_STORE_FILES.documents);
      const temp = `${target}.${process.pid}.tmp`;
      try {
        await fs.writeFile(temp, JSON.stringify(file));
        await fs.rename(temp, target);
      } catch (cause) {
        await fs.rm(temp, { force: true });
        throw new QuantumDBError('IO_ERROR', `could not write ${target}: ${String(cause)}`, { path: target }, cause);
      }
    });
  }

  /**
   * Reads a store written by {@link save}.
   * @param directory the directory `save` wrote
   * @param embeddings the same embeddings model the store was built with
   * @param options `readOnly`
   * @returns the store, ready to search
   * @throws QuantumDBError `IO_ERROR` when a file cannot be read; `CORRUPT_FILE` when `docstore.json` is not a
   *   saved store or does not match the index; the errors of `QuantumDB.open` for the `.qdb`.
   * @example
   * ```ts
   * const store = await QuantumDBVectorStore.load('./stores/faq', embeddings);
   * ```
   */
  static override async load(directory: string, embeddings: EmbeddingsInterface, options: QuantumDBLoadOptions = {}): Promise<QuantumDBVectorStore> {
    const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    const docPath = path.join(directory, QUANTUMDB_STORE_FILES.documents);
    let text: string;
    try {
      text = await fs.readFile(docPath, 'utf8');
    } catch (cause) {
      throw new QuantumDBError('IO_ERROR', `could not read ${docPath}: ${String(cause)}; is this a directory written by QuantumDBVectorStore.save()?`, { path: docPath }, cause);
    }
    const file = parseDocstore(text, docPath);
    const store = new QuantumDBVectorStore(embeddings, file.args);
    for (const [id, doc] of file.documents) store.docs.set(id, doc);
    store.trainedRows = file.trainedRows;
    if (store.docs.size > 0) {
      // A writable store keeps its vectors in memory, so it can retrain as it grows; a read-only
      // one leaves them in the file mapping.
      const readOnly = options.readOnly === true;
      const db = await QuantumDB.open(path.join(directory, QUANTUMDB_STORE_FILES.index), { readOnly, vectors: readOnly ? 'mapped' : 'memory' });
      const held = new Set(db.ids());
      const missing = [...store.docs.keys()].find((id) => !held.has(id));
      if (db.size !== store.docs.size || missing !== undefined) {
        throw new QuantumDBError('CORRUPT_FILE', `${docPath} lists ${store.docs.size} documents but the index holds ${db.size}${missing === undefined ? '' : ` and lacks ${JSON.stringify(missing)}`}; save the store again`, { path: docPath });
      }
      store.database = db;
    }
    store.readOnly = options.readOnly === true;
    return store;
  }

  /**
   * Embeds texts and returns a new store holding them.
   * @param texts the texts
   * @param metadatas one metadata object per text, or one object for all
   * @param embeddings the embeddings model
   * @param args database and search options
   * @returns the new store
   * @throws QuantumDBError as {@link addVectors}.
   * @example
   * ```ts
   * const store = await QuantumDBVectorStore.fromTexts(['a', 'b'], [{ n: 1 }, { n: 2 }], embeddings);
   * ```
   */
  static override async fromTexts(texts: string[], metadatas: object[] | object, embeddings: EmbeddingsInterface, args: QuantumDBVectorStoreArgs = {}): Promise<QuantumDBVectorStore> {
    const docs = texts.map((pageContent, i) => new Document({
      pageContent,
      metadata: { ...(Array.isArray(metadatas) ? (metadatas[i] as object | undefined) : metadatas) },
    }));
    return QuantumDBVectorStore.fromDocuments(docs, embeddings, args);
  }

  /**
   * Embeds documents and returns a new store holding them.
   * @param docs the documents (their `id`s are kept)
   * @param embeddings the embeddings model
   * @param args database and search options
   * @returns the new store
   * @throws QuantumDBError as {@link addVectors}.
   * @example
   * ```ts
   * const store = await QuantumDBVectorStore.fromDocuments(docs, embeddings, { searchOptions: { rerank: 100 } });
   * ```
   */
  static override async fromDocuments(docs: DocumentInterface[], embeddings: EmbeddingsInterface, args: QuantumDBVectorStoreArgs = {}): Promise<QuantumDBVectorStore> {
    const store = new QuantumDBVectorStore(embeddings, args);
    await store.addDocuments(docs);
    return store;
  }

  /**
   * Runs `apply` once `prepared` has resolved and every earlier call has settled, so calls take
   * effect in the order they were made while their embeddings are computed concurrently.
   */
  private enqueue<P, T>(prepared: P | Promise<P>, apply: (value: P) => T | Promise<T>): Promise<T> {
    // The caller sees a failed preparation through `result`; this branch only keeps an early
    // failure from being reported as unhandled while earlier calls are still running.
    Promise.resolve(prepared).catch(() => undefined);
    const result = this.queue.then(() => prepared).then(apply);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private addPrepared(embed: () => number[][] | Promise<number[][]>, documents: DocumentInterface[], options: QuantumDBAddOptions): Promise<string[]> {
    const ids = options.ids ?? documents.map((d) => (typeof d.id === 'string' && d.id !== '' ? d.id : crypto.randomUUID()));
    if (!Array.isArray(ids) || ids.length !== documents.length) {
      throw new QuantumDBError('INVALID_ARGUMENT', `got ${String(ids?.length)} ids for ${documents.length} documents; pass one id per document`);
    }
    const stored = documents.map((d) => ({ pageContent: String(d.pageContent), metadata: { ...d.metadata } }));
    return this.enqueue(embed(), (vectors) => {
      if (vectors.length !== ids.length) {
        throw new QuantumDBError('INVALID_ARGUMENT', `the embeddings returned ${vectors.length} vectors for ${ids.length} documents`);
      }
      if (ids.length === 0) return [];
      const dim = this.database?.dim ?? (vectors[0] as number[]).length;
      const db = this.database ?? new QuantumDB({ metric: 'cosine', ...this.args.dbOptions, dim });
      db.upsert(ids, vectors);
      this.database = db;
      ids.forEach((id, i) => this.docs.set(id, stored[i] as StoredDocument));
      return [...ids];
    });
  }

  private searchPrepared(queryPromise: number[] | Promise<number[]>, k: number, filter: QuantumDBFilter | undefined): Promise<[DocumentInterface, number][]> {
    return this.enqueue(queryPromise, async (query) => {
      const db = await this.searchableDb();
      if (!db) return [];
      const hits = db.search(query, { ...this.args.searchOptions, k, ...this.filterOption(filter) });
      const toSimilarity = similarityOf(db.metric);
      return hits.map((h) => [this.documentOf(h.id), toSimilarity(h.score)] as [DocumentInterface, number]);
    });
  }

  /** The database, trained and indexed; undefined when the store is empty. */
  private async searchableDb(): Promise<QuantumDB | undefined> {
    const db = this.database;
    if (!db || db.size === 0) return undefined;
    const grown = this.trainedRows < RETRAIN_UNTIL && db.size >= RETRAIN_GROWTH * this.trainedRows;
    if (!db.isBuilt || (grown && !this.readOnly)) {
      await db.buildIndex();
      this.trainedRows = db.size;
    }
    return db;
  }

  private filterOption(filter: QuantumDBFilter | undefined): Pick<SearchOptions, 'filter'> {
    if (filter === undefined || filter === null) return {};
    if (typeof filter === 'function') return { filter: (id: string) => filter(this.documentOf(id)) };
    if (typeof filter !== 'object') throw new QuantumDBError('INVALID_ARGUMENT', 'filter must be a function (document) => boolean or an object of metadata values');
    const entries = Object.entries(filter);
    return { filter: (id: string) => { const m = (this.docs.get(id) as StoredDocument).metadata; return entries.every(([key, value]) => sameValue(m[key], value)); } };
  }

  private documentOf(id: string): DocumentInterface {
    const doc = this.docs.get(id) as StoredDocument;
    return new Document({ pageContent: doc.pageContent, metadata: { ...doc.metadata }, id });
  }
}

/** Maps a QuantumDB score (see `Metric`) to a similarity, higher is better. */
function similarityOf(metric: Metric): (score: number) => number {
  return metric === 'l2' ? (d) => 1 / (1 + d) : (s) => s;
}

/** Equality for metadata filters: `===` for primitives, structural for arrays and plain objects. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function parseDocstore(text: string, where: string): DocstoreFile {
  let file: Partial<DocstoreFile>;
  try {
    file = JSON.parse(text) as Partial<DocstoreFile>;
  } catch (cause) {
    throw new QuantumDBError('CORRUPT_FILE', `${where} is not valid JSON: ${String(cause)}`, { path: where }, cause);
  }
  const ok = file !== null && typeof file === 'object' && file.format === DOCSTORE_FORMAT && Array.isArray(file.documents)
    && typeof file.trainedRows === 'number' && typeof file.args === 'object' && file.args !== null
    && file.documents.every((e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1]?.pageContent === 'string' && typeof e[1]?.metadata === 'object');
  if (!ok) throw new QuantumDBError('CORRUPT_FILE', `${where} is not a QuantumDBVectorStore docstore; pass the directory written by save()`, { path: where });
  if (file.version !== 1) throw new QuantumDBError('UNSUPPORTED_VERSION', `${where} has docstore version ${String(file.version)}; this QuantumDB reads version 1`, { path: where });
  return file as DocstoreFile;
}
