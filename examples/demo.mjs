// The main job on embedded data: index 9,000 real handwritten digits (the `mnist` package ships
// them), search 1,000 held-out digits, and print build time, memory, speed, recall and a few answers.
// Run with `npm run demo` (it builds the package first).
import { createRequire } from 'node:module';
import { QuantumDB } from '../dist/index.js';

const DIM = 784;
const mnist = createRequire(import.meta.url)('mnist');

// Every 10th digit (class 0 first) is a query, the rest are the database.
const rows = [];
for (let label = 0; label < 10; label++) {
  const raw = mnist[label].raw;
  for (let s = 0; s < raw.length / DIM; s++) rows.push({ label, pixels: raw.slice(s * DIM, (s + 1) * DIM) });
}
const base = rows.filter((_, i) => i % 10 !== 0);
const queries = rows.filter((_, i) => i % 10 === 0);
const vectors = new Float32Array(base.length * DIM);
base.forEach((r, i) => vectors.set(r.pixels, i * DIM));
const ids = base.map((r, i) => `digit-${r.label}-${i}`);

const db = new QuantumDB({ dim: DIM, metric: 'l2', seed: 7 });
const t0 = performance.now();
await db.addBatch(ids, vectors).buildIndex({
  onProgress: ({ phase, done, total }) => { if (done === total) process.stdout.write(`  ${phase} done\n`); },
});
const buildSeconds = (performance.now() - t0) / 1000;
const stats = db.stats();
console.log(`\nIndexed ${db.size} MNIST digits (${DIM}-d, L2) in ${buildSeconds.toFixed(1)} s`);
console.log(`  codes ${stats.codeBytes} bytes/vector (raw: ${DIM * 4}); index ${(stats.bytes.index / db.size).toFixed(0)} bytes/vector (codes + graph + ids)`);

// Exact neighbours of the first 200 queries, by brute force, to measure recall.
const exactTop10 = (q) => {
  const scored = [];
  for (let i = 0; i < base.length; i++) {
    let d = 0;
    for (let j = 0; j < DIM; j++) { const t = vectors[i * DIM + j] - q[j]; d += t * t; }
    scored.push([d, i]);
  }
  return new Set(scored.sort((a, b) => a[0] - b[0]).slice(0, 10).map(([, i]) => ids[i]));
};
const checked = queries.slice(0, 200);
let found = 0;
for (const q of checked) {
  const truth = exactTop10(q.pixels);
  found += db.search(q.pixels, { k: 10 }).filter((h) => truth.has(h.id)).length;
}

const t1 = performance.now();
let sameLabel = 0;
for (const q of queries) sameLabel += db.search(q.pixels, { k: 1 })[0].id.startsWith(`digit-${q.label}-`) ? 1 : 0;
const qps = queries.length / ((performance.now() - t1) / 1000);

console.log(`  Recall@10 against brute force: ${(found / (checked.length * 10)).toFixed(3)} (200 queries)`);
console.log(`  ${qps.toFixed(0)} queries/s, one query per call, single thread`);
console.log(`  1-NN classification accuracy: ${(sameLabel / queries.length * 100).toFixed(1)}% of ${queries.length} held-out digits\n`);
for (const q of queries.filter((_, i) => i % 250 === 7)) {
  const hits = db.search(q.pixels, { k: 5 });
  console.log(`  query: a ${q.label} → ${hits.map((h) => `${h.id} (${h.score.toFixed(1)})`).join(', ')}`);
}
