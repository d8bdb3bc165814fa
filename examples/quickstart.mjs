// Quickstart: create a database, add vectors with metadata, build the index, search (plain and
// filtered), update and delete, save to a .qdb file and open it again, and handle errors.
//
//   npm run build && node examples/quickstart.mjs
//
// The vectors come from quantumdb/testing's seeded generator, a stand-in for real embeddings
// (any model's output works the same: one Float32Array row per id).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuantumDB, isQuantumDBError } from 'quantumdb';
import { clusteredVectors } from 'quantumdb/testing';

const dim = 128;
const n = 5_000;
const topics = ['news', 'sports', 'science', 'travel'];

// 1. Data: n × dim values, row-major, plus one id and one metadata object per row.
const vectors = clusteredVectors({ n, dim, seed: 1 });
const ids = Array.from({ length: n }, (_, i) => `doc-${i}`);
const metadata = ids.map((_, i) => ({ topic: topics[i % topics.length], year: 2015 + (i % 10) }));

// 2. Create, add, build. addBatch is synchronous and chainable; buildIndex trains the 16-byte
//    codes and the HNSW graph.
const db = new QuantumDB({ dim, metric: 'cosine' });
const t0 = performance.now();
await db.addBatch(ids, vectors, metadata).buildIndex();
console.log(`built ${db.size} vectors (${dim}-d) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);

// 3. Search: the k best, best first. For cosine, score is the cosine similarity.
const query = clusteredVectors({ n: 1, dim, seed: 2 });
for (const hit of db.search(query, { k: 3 })) console.log(`  ${hit.id}  ${hit.score.toFixed(4)}`);

// A filter runs inside the search: k results come back whenever k items match.
const recentSports = db.search(query, { k: 3, filter: (_id, meta) => meta?.topic === 'sports' && meta.year >= 2020 });
console.log(`sports since 2020: ${recentSports.map((h) => `${h.id} (${db.get(h.id).metadata.year})`).join(', ')}`);

// 4. Change the data: upsert replaces, delete removes. Both take effect at once.
db.upsert(['doc-0'], [query], [{ topic: 'news', year: 2025 }]);
db.delete(['doc-1', 'doc-2']);
console.log(`after upsert and delete: ${db.size} vectors; nearest is now ${db.search(query, { k: 1 })[0].id}`);

// 5. Save and open. open() maps the file; readOnly refuses changes.
const dir = await mkdtemp(join(tmpdir(), 'quantumdb-quickstart-'));
try {
  const file = join(dir, 'docs.qdb');
  await db.save(file);
  const opened = await QuantumDB.open(file, { readOnly: true });
  const same = JSON.stringify(opened.search(query, { k: 10 })) === JSON.stringify(db.search(query, { k: 10 }));
  console.log(`reopened ${opened.size} vectors from ${file.split(/[\\/]/).pop()}; same results: ${same}`);
  opened.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}

// 6. Errors carry a stable code to branch on.
try {
  db.search(new Float32Array(3));
} catch (e) {
  if (isQuantumDBError(e)) console.log(`error ${e.code}: ${e.message}`);
  else throw e;
}
