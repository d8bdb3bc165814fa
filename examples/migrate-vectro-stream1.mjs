// Migrating a Vectro+ STREAM1 file (what `vectro compress` writes) to a QuantumDB .qdb index.
//
//   npm run build
//   node examples/migrate-vectro-stream1.mjs embeddings.stream1 embeddings.qdb
//   node examples/migrate-vectro-stream1.mjs        # no arguments: makes a small STREAM1 file first
//
// QuantumDB.fromStream reads STREAM1 (and QSTREAM1, PQSTREAM1, .fvecs, .npy, JSONL: the format is
// detected from the first bytes) in batches, so the file is never held in memory at once, then
// trains the codec and builds the graph. The ids of the file become the ids of the database.
// The command line does the same: npx quantumdb build --input embeddings.stream1 --output embeddings.qdb
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuantumDB } from 'quantumdb';

/**
 * Writes records as STREAM1 (docs/format-stream.md): the 15-byte magic "VECTRO+STREAM1\n", then per
 * record u32 payload length | u64 id length | UTF-8 id | u64 element count | f32 elements, little-endian.
 */
async function writeStream1(path, records) {
  const parts = [new TextEncoder().encode('VECTRO+STREAM1\n')];
  for (const { id, vector } of records) {
    const idBytes = new TextEncoder().encode(id);
    const record = new DataView(new ArrayBuffer(4 + 8 + idBytes.length + 8 + vector.length * 4));
    record.setUint32(0, 16 + idBytes.length + vector.length * 4, true);
    record.setBigUint64(4, BigInt(idBytes.length), true);
    new Uint8Array(record.buffer, 12, idBytes.length).set(idBytes);
    record.setBigUint64(12 + idBytes.length, BigInt(vector.length), true);
    vector.forEach((x, j) => record.setFloat32(20 + idBytes.length + j * 4, x, true));
    parts.push(new Uint8Array(record.buffer));
  }
  await writeFile(path, Buffer.concat(parts));
}

/** 3,000 seeded 64-d vectors in 8 groups: a stand-in for a real Vectro+ export. */
function sampleRecords(n = 3000, dim = 64) {
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const centres = Array.from({ length: 8 }, () => Array.from({ length: dim }, () => random() * 2 - 1));
  return Array.from({ length: n }, (_, i) => ({
    id: `chunk-${String(i).padStart(5, '0')}`,
    vector: centres[i % 8].map((c) => c + (random() - 0.5) * 0.6),
  }));
}

let [input, output] = process.argv.slice(2);
const scratch = await mkdtemp(join(tmpdir(), 'quantumdb-migrate-'));
try {
  let records;
  if (!input) {
    records = sampleRecords();
    input = join(scratch, 'legacy.stream1');
    await writeStream1(input, records);
    console.log(`wrote ${records.length} records to a sample STREAM1 file (${((await stat(input)).size / 1024).toFixed(0)} KiB)`);
  }
  output ??= join(scratch, 'migrated.qdb');

  const t0 = performance.now();
  let read = 0;
  const db = await QuantumDB.fromStream(input, {
    metric: 'cosine',
    onProgress: (p) => { if (p.phase === 'read') read = p.done; },
  });
  console.log(`read ${read} records and built the index in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${db.size} vectors of ${db.dim} dimensions`);

  await db.save(output);
  const fileBytes = (await stat(output)).size;
  console.log(`saved ${output.startsWith(scratch) ? 'migrated.qdb' : output}: ${(fileBytes / 1024).toFixed(0)} KiB (${(fileBytes / db.size).toFixed(0)} bytes per vector with f32 re-rank vectors)`);

  // Check the migration: every record is there under its id, and finds itself first.
  if (records) {
    const opened = await QuantumDB.open(output, { readOnly: true });
    const missing = records.filter((r) => opened.get(r.id) === undefined).length;
    const selfFirst = records.filter((r, i) => i % 100 === 0).every((r) => opened.search(r.vector, { k: 1 })[0].id === r.id);
    console.log(`check: ${records.length - missing}/${records.length} ids present; every sampled record finds itself first: ${selfFirst}`);
    opened.close();
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
