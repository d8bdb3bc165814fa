// Retrieval-augmented generation with LangChain.js and QuantumDB, fully offline.
//
//   npm run build && node examples/rag-langchain.mjs
//
// Two stand-ins keep it offline and deterministic; swap them for real ones in an application:
// - HashingEmbeddings (below) hashes words into 256 dimensions. Use OpenAIEmbeddings,
//   HuggingFaceTransformersEmbeddings, OllamaEmbeddings … instead.
// - The "model" is LangChain's FakeListChatModel. Use ChatOpenAI, ChatAnthropic, ChatOllama …
// Everything between them is what an application would run: documents with metadata in a
// QuantumDBVectorStore, a filtered MMR retriever, a prompt, a chain, and save/load of the store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Document } from '@langchain/core/documents';
import { Embeddings } from '@langchain/core/embeddings';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { QuantumDBVectorStore } from 'quantumdb/langchain';

/** Offline embeddings: each word adds ±1 to one of 256 dimensions chosen by its hash. */
class HashingEmbeddings extends Embeddings {
  constructor() { super({}); }
  async embedDocuments(texts) { return texts.map((t) => this.embed(t)); }
  async embedQuery(text) { return this.embed(text); }
  embed(text) {
    const v = new Array(256).fill(0);
    v[0] = 0.01; // never the zero vector, which has no cosine
    for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
      if (STOPWORDS.has(word)) continue;
      let h = 0x811c9dc5;
      for (const c of word) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
      v[1 + (h % 255)] += h & 0x100 ? 1 : -1;
    }
    return v;
  }
}
const STOPWORDS = new Set('a an and are as at be by for from how in is it of on or that the to what when which with does do'.split(' '));

// A small knowledge base, one document per passage, with metadata to filter on.
const handbook = [
  ['shipping', 'Orders ship within two business days from the Rotterdam warehouse.'],
  ['shipping', 'Express shipping delivers within 24 hours to addresses in the Netherlands and Belgium.'],
  ['shipping', 'International orders outside the EU may be charged import duties on delivery.'],
  ['returns', 'You can return any unused item within 30 days for a full refund.'],
  ['returns', 'Refunds are paid to the original payment method within five business days of receiving the return.'],
  ['returns', 'Sale items can be exchanged but not refunded.'],
  ['warranty', 'Every kettle carries a two-year warranty against manufacturing defects.'],
  ['warranty', 'The warranty does not cover limescale damage; descale the kettle monthly.'],
  ['account', 'Reset your password from the sign-in page with the link sent by email.'],
  ['account', 'Two-factor authentication can be enabled under Account settings, Security.'],
];
const docs = handbook.map(([section, text], i) => new Document({ pageContent: text, metadata: { section, page: i + 1 } }));

const store = await QuantumDBVectorStore.fromDocuments(docs, new HashingEmbeddings());
console.log(`indexed ${store.size} passages`);

// Similarity search with scores (cosine similarity: higher is better) and a metadata filter.
const question = 'How long do refunds take?';
for (const [doc, score] of await store.similaritySearchWithScore(question, 2)) {
  console.log(`  ${score.toFixed(3)}  [${doc.metadata.section} p.${doc.metadata.page}] ${doc.pageContent}`);
}
const warrantyOnly = await store.similaritySearch('kettle damage', 1, { section: 'warranty' });
console.log(`warranty filter: ${warrantyOnly[0].pageContent}`);

// The chain: retrieve (MMR keeps near-duplicates out) → prompt → model → text.
const retriever = store.asRetriever({ k: 2, searchType: 'mmr', searchKwargs: { fetchK: 6, lambda: 0.7 } });
const prompt = ChatPromptTemplate.fromMessages([
  ['system', 'Answer the customer from these handbook passages only:\n{context}'],
  ['human', '{question}'],
]);
const model = new FakeListChatModel({ responses: ['Refunds reach your original payment method within five business days after we receive the item.'] });
const chain = RunnableSequence.from([
  { context: retriever.pipe((found) => found.map((d) => `- ${d.pageContent}`).join('\n')), question: new RunnablePassthrough() },
  prompt,
  model,
  new StringOutputParser(),
]);
const context = await retriever.invoke(question);
console.log(`retrieved for the prompt: ${context.map((d) => `p.${d.metadata.page}`).join(', ')}`);
console.log(`answer: ${await chain.invoke(question)}`);

// Persist the store (index.qdb + docstore.json) and load it back.
const dir = await mkdtemp(join(tmpdir(), 'quantumdb-rag-'));
try {
  await store.save(dir);
  const loaded = await QuantumDBVectorStore.load(dir, new HashingEmbeddings());
  const [top] = await loaded.similaritySearch(question, 1);
  console.log(`after save/load: ${loaded.size} passages; top hit p.${top.metadata.page}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
