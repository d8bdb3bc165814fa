// The work of the browser example, kept free of DOM and Node APIs so the same code runs in the
// page (index.html) and in Node (the test suite compares the two). It takes the QuantumDB class as
// an argument: the page passes the browser build, Node passes its own.

/** mulberry32: a seeded uniform stream on [0, 1). */
function uniform(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n × dim vectors around 12 seeded centres (queries use another seed, same centres). */
export function clustered(n, dim, seed) {
  const centres = uniform(99);
  const gauss = (r) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const c = Array.from({ length: 12 }, () => Array.from({ length: dim }, () => gauss(centres)));
  const r = uniform(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const centre = c[Math.floor(r() * 12)];
    for (let j = 0; j < dim; j++) out[i * dim + j] = centre[j] + 0.4 * gauss(r);
  }
  return out;
}

const rows = (data, dim) => Array.from({ length: data.length / dim }, (_, i) => data.subarray(i * dim, (i + 1) * dim));

/**
 * Builds an index in memory, searches it (plain and filtered), exports it as `.qdb` bytes, opens
 * the bytes again and checks that the copy answers the same.
 */
export async function runDemo(QuantumDB, { n = 2000, dim = 32, queries = 25, k = 10 } = {}) {
  const vectors = clustered(n, dim, 1);
  const qs = rows(clustered(queries, dim, 2), dim);
  const ids = Array.from({ length: n }, (_, i) => `doc-${i}`);
  const metadata = ids.map((_, i) => ({ shelf: i % 4 }));

  const t0 = performance.now();
  // Build settings for a quick demo; flatThreshold 500 makes search walk the HNSW graph.
  const db = new QuantumDB({ dim, metric: 'cosine', seed: 7, kmeansIterations: 6, efConstruction: 64, flatThreshold: 500 });
  await db.addBatch(ids, vectors, metadata).buildIndex();
  const buildMs = performance.now() - t0;

  const t1 = performance.now();
  const results = qs.map((q) => db.search(q, { k }));
  const searchMs = (performance.now() - t1) / qs.length;
  const filtered = qs.map((q) => db.search(q, { k, filter: (_id, meta) => meta?.shelf === 2 }));

  const bytes = db.toBytes();
  const copy = QuantumDB.fromBytes(bytes);
  const reopened = qs.map((q) => copy.search(q, { k }));
  const same = JSON.stringify(reopened) === JSON.stringify(results);

  return { size: db.size, dim, buildMs, searchMs, results, filtered, bytes, roundTripSame: same };
}

/** Opens `.qdb` bytes (made anywhere: Node, another page) and answers the demo's queries. */
export function searchBytes(QuantumDB, bytes, { dim = 32, queries = 25, k = 10 } = {}) {
  const db = QuantumDB.fromBytes(bytes);
  return rows(clustered(queries, dim, 2), dim).map((q) => db.search(q, { k }));
}
