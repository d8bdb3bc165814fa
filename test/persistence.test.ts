import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QuantumDB, type Metadata } from '../src/index.js';
import { crc32c } from '../src/storage/checksum.js';
import { decodeQdb, encodeQdb, SectionKind } from '../src/storage/qdb-layout.js';
import { encodeStringTable } from '../src/storage/section-codecs.js';
import { bruteForce, clustered, idsFor, recall } from './data.js';
import { expectQdbError, expectQdbErrorAsync } from './helpers.js';

const DIM = 32;
const N = 1500;
const base = clustered(N, DIM, 31);
const queries = clustered(30, DIM, 32);
const row = (data: Float32Array, i: number) => data.subarray(i * DIM, (i + 1) * DIM);
const dir = mkdtempSync(join(tmpdir(), 'qdb-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const colour = (i: number): Metadata => ({ colour: ['red', 'green', 'blue'][i % 3], rank: i });

async function makeDb(extra: Partial<ConstructorParameters<typeof QuantumDB>[0]> = {}) {
  const db = new QuantumDB({ dim: DIM, metric: 'cosine', seed: 9, flatThreshold: 0, efConstruction: 80, ...extra });
  await db.addBatch(idsFor(N), base, Array.from({ length: N }, (_, i) => colour(i))).buildIndex();
  return db;
}
const answers = (db: QuantumDB, options = {}) => Array.from({ length: 30 }, (_, q) => db.search(row(queries, q), { k: 10, ...options }));

describe('save and open', () => {
  it('round-trips: an opened database answers exactly as the saved one, mapped, in memory or from bytes', async () => {
    const db = await makeDb();
    const path = join(dir, 'round.qdb');
    await db.save(path);
    const mapped = await QuantumDB.open(path, { mmap: true });
    const positional = await QuantumDB.open(path);
    const memory = await QuantumDB.open(path, { vectors: 'memory' });
    const bytes = QuantumDB.fromBytes(new Uint8Array(readFileSync(path)));
    for (const other of [mapped, positional, memory, bytes]) {
      expect(answers(other)).toEqual(answers(db));
      expect(answers(other, { rerank: 0 })).toEqual(answers(db, { rerank: 0 }));
      expect(other.size).toBe(N);
      expect(other.get('v7')).toEqual(db.get('v7'));
    }
    expect(mapped.stats().vectors).toBe('mapped');
    expect(memory.stats().vectors).toBe('memory');
    expect(mapped.stats().bytes.vectors).toBe(0);
    expect(positional.stats().bytes.vectors).toBe(0);
    mapped.close();
    positional.close();
  });

  it('stores vectors as f16 or int8 with nearly the same results, or none (ADC scores only)', async () => {
    const db = await makeDb();
    const meanRecall = (target: QuantumDB) => {
      let total = 0;
      for (let q = 0; q < 30; q++) total += recall(target.search(row(queries, q)).map((h) => h.id), bruteForce('cosine', base, DIM, row(queries, q), 10));
      return total / 30;
    };
    const full = meanRecall(db);
    // This data is tight (similarities ≈ 0.99 inside a cluster), so 16- and 8-bit rows swap some near-ties.
    for (const [vectors, tolerance] of [['f16', 1e-3], ['int8', 1e-2]] as const) {
      const copy = QuantumDB.fromBytes(db.toBytes({ vectors }));
      expect(meanRecall(copy)).toBeGreaterThan(full - 0.1);
      const exact = new Map(db.search(row(queries, 0), { k: 50 }).map((h) => [h.id, h.score]));
      for (const h of copy.search(row(queries, 0), { k: 10 })) expect(Math.abs(h.score - (exact.get(h.id) as number))).toBeLessThan(tolerance);
    }
    const none = QuantumDB.fromBytes(db.toBytes({ vectors: 'none' }));
    expect(none.stats().vectors).toBe('none');
    expect(none.get('v1')?.vector).toBeUndefined();
    expect(answers(none)).toEqual(answers(db, { rerank: 0 }));
    expect(db.toBytes().length - db.toBytes({ vectors: 'none' }).length).toBeGreaterThanOrEqual(N * DIM * 4);
  });

  it('keeps metadata and an unbuilt database', async () => {
    const db = new QuantumDB({ dim: 4 }).addBatch(['a', 'b'], [[1, 2, 3, 4], [4, 3, 2, 1]], [{ x: [1, { y: 'z' }] }, undefined]);
    const copy = QuantumDB.fromBytes(db.toBytes());
    expect(copy.isBuilt).toBe(false);
    expect(copy.get('a')?.metadata).toEqual({ x: [1, { y: 'z' }] });
    expect(copy.get('b')?.metadata).toBeUndefined();
    await copy.buildIndex();
    expect(copy.search([1, 2, 3, 4], { k: 1 })[0]?.id).toBe('a');
    expectQdbError(() => db.toBytes({ vectors: 'none' }), 'INVALID_ARGUMENT');
  });

  it('accepts additions after open, and saves them again', async () => {
    const db = await makeDb();
    const path = join(dir, 'grow.qdb');
    await db.save(path);
    const opened = await QuantumDB.open(path);
    const extra = clustered(200, DIM, 77);
    opened.addBatch(idsFor(200, 'x'), extra);
    for (const i of [0, 99, 199]) expect(opened.search(row(extra, i), { k: 1 })[0]?.id).toBe(`x${i}`);
    await opened.save(path);
    opened.close();
    const again = await QuantumDB.open(path);
    expect(again.size).toBe(N + 200);
    expect(again.search(row(extra, 5), { k: 1 })[0]).toMatchObject({ id: 'x5' });
    expect(again.get('x5')?.vector?.[0]).toBeCloseTo(row(extra, 5)[0] as number / Math.hypot(...row(extra, 5)), 5);
    again.close();
  });

  it('refuses changes when read-only', async () => {
    const path = join(dir, 'ro.qdb');
    await (await makeDb()).save(path);
    const db = await QuantumDB.open(path, { readOnly: true });
    expectQdbError(() => db.addBatch(['n'], [row(base, 0)]), 'INVALID_ARGUMENT');
    expectQdbError(() => db.delete(['v1']), 'INVALID_ARGUMENT');
    await expectQdbErrorAsync(() => db.compact(), 'INVALID_ARGUMENT');
    expect(db.search(row(base, 3), { k: 1 })[0]?.id).toBe('v3');
    db.close();
  });
});

describe('delete, upsert and compact', () => {
  it('never returns deleted ids, keeps recall on the rest, and compacts to the same answers', async () => {
    const db = await makeDb();
    const gone = idsFor(N).filter((_, i) => i % 10 === 3);
    expect(db.delete([...gone, 'nope'])).toBe(gone.length);
    expect(db.size).toBe(N - gone.length);
    expect(db.get('v3')).toBeUndefined();
    const goneSet = new Set(gone);
    const live = new Float32Array(base.filter((_, j) => Math.floor(j / DIM) % 10 !== 3));
    const liveIds = idsFor(N).filter((_, i) => i % 10 !== 3);
    const measure = () => {
      let total = 0;
      for (let q = 0; q < 30; q++) {
        const hits = db.search(row(queries, q), { k: 10 });
        expect(hits.some((h) => goneSet.has(h.id))).toBe(false);
        const truth = new Set(bruteForce('cosine', live, DIM, row(queries, q), 10).map((i) => liveIds[i]));
        total += hits.filter((h) => truth.has(h.id)).length / 10;
      }
      return total / 30;
    };
    expect(measure()).toBeGreaterThanOrEqual(0.95);
    expect(db.stats().deleted).toBe(gone.length);
    await db.compact();
    expect(db.stats().deleted).toBe(0);
    expect(measure()).toBeGreaterThanOrEqual(0.95);
    expect(db.get('v4')?.metadata).toEqual(colour(4));
  });

  it('upsert replaces vectors and metadata in place of the old ones', async () => {
    const db = await makeDb();
    db.upsert(['v0', 'new'], [row(base, 500), row(base, 501)], [{ replaced: true }, undefined]);
    expect(db.size).toBe(N + 1);
    expect(db.get('v0')?.metadata).toEqual({ replaced: true });
    const hits = db.search(row(base, 500), { k: 2 }).map((h) => h.id).sort();
    expect(hits).toEqual(['v0', 'v500']);
    expectQdbError(() => db.upsert(['v1'], [[1, 2]]), 'DIMENSION_MISMATCH');
    expect(db.get('v1')).toBeDefined();
  });

  it('save compacts by itself past the documented threshold', async () => {
    const db = await makeDb();
    db.delete(idsFor(600));
    const path = join(dir, 'auto.qdb');
    await db.save(path);
    expect(db.stats().deleted).toBe(0);
    const opened = await QuantumDB.open(path);
    expect(opened.size).toBe(N - 600);
    expect(opened.stats().deleted).toBe(0);
    opened.close();
  });
});

describe('filtered search', () => {
  it.each([0.01, 0.1, 0.5])('returns the exact filtered top-k at %s selectivity, by predicate and by allow-list', async (selectivity) => {
    const db = await makeDb();
    const every = Math.round(1 / selectivity);
    const allowedIds = idsFor(N).filter((_, i) => i % every === 1);
    const allowedSet = new Set(allowedIds);
    const sub = new Float32Array(allowedIds.length * DIM);
    allowedIds.forEach((id, j) => sub.set(row(base, Number(id.slice(1))), j * DIM));
    for (const filter of [(id: string, meta?: Metadata) => (meta?.rank as number) % every === 1 && id.startsWith('v'), allowedIds]) {
      let total = 0;
      for (let q = 0; q < 30; q++) {
        const hits = db.search(row(queries, q), { k: 10, filter, rerank: 64 });
        expect(hits).toHaveLength(Math.min(10, allowedIds.length));
        expect(hits.every((h) => allowedSet.has(h.id))).toBe(true);
        const truth = new Set(bruteForce('cosine', sub, DIM, row(queries, q), 10).map((j) => allowedIds[j]));
        total += hits.filter((h) => truth.has(h.id)).length / Math.min(10, allowedIds.length);
      }
      expect(total / 30).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('returns [] when nothing matches and rejects malformed filters', async () => {
    const db = await makeDb();
    expect(db.search(row(queries, 0), { filter: () => false })).toEqual([]);
    expect(db.search(row(queries, 0), { filter: ['unknown'] })).toEqual([]);
    expectQdbError(() => db.search(row(queries, 0), { filter: 42 as never }), 'INVALID_ARGUMENT');
    expectQdbError(() => db.search(row(queries, 0), { filter: [7] as never }), 'INVALID_ARGUMENT');
  });
});

describe('hostile files', () => {
  it('rejects truncation and a flipped byte in every section with CORRUPT_FILE', async () => {
    const db = await makeDb();
    const bytes = db.toBytes();
    const layout = decodeQdb(bytes);
    expectQdbError(() => QuantumDB.fromBytes(bytes.subarray(0, 10)), 'CORRUPT_FILE');
    for (const section of layout.sections) {
      for (const cut of [section.offset, section.offset + Math.floor(section.length / 2)]) {
        expectQdbError(() => QuantumDB.fromBytes(bytes.slice(0, cut)), 'CORRUPT_FILE');
      }
      const flipped = bytes.slice();
      flipped[section.offset + Math.floor(section.length / 3)] ^= 0x40;
      // The vectors are verified chunk by chunk when a query first reads them.
      expectQdbError(() => QuantumDB.fromBytes(flipped).search(row(queries, 0), { k: 10 }), 'CORRUPT_FILE');
    }
  });

  it('rejects a file with valid checksums whose graph points outside the database', async () => {
    const file = decodeQdb((await makeDb()).toBytes());
    const sections = file.sections.map((info) => ({ kind: info.kind, flags: info.flags, bytes: file.section(info.kind).slice() }));
    const level0 = sections.find((sec) => sec.kind === SectionKind.GRAPH_LEVEL0) as { bytes: Uint8Array };
    new DataView(level0.bytes.buffer).setUint32(4, 999_999, true);
    expectQdbError(() => QuantumDB.fromBytes(encodeQdb(sections)), 'CORRUPT_FILE');
  });

  it('rejects a file with valid checksums whose ids repeat', async () => {
    const file = decodeQdb((await makeDb()).toBytes());
    const sections = file.sections.map((info) => ({ kind: info.kind, flags: info.flags, bytes: file.section(info.kind).slice() }));
    const ids = sections.find((sec) => sec.kind === SectionKind.IDS) as { bytes: Uint8Array };
    ids.bytes = encodeStringTable(idsFor(N).map((id, i) => (i === 9 ? 'v3' : id)));
    expectQdbError(() => QuantumDB.fromBytes(encodeQdb(sections)), 'CORRUPT_FILE');
  });

  it('rejects a file with valid checksums where a live id is empty; deleted slots may have none', async () => {
    const db = await makeDb();
    db.delete(['v4']);
    const file = decodeQdb(db.toBytes());
    const sections = file.sections.map((info) => ({ kind: info.kind, flags: info.flags, bytes: file.section(info.kind).slice() }));
    const ids = sections.find((sec) => sec.kind === SectionKind.IDS) as { bytes: Uint8Array };
    expect(QuantumDB.fromBytes(encodeQdb(sections)).get('v5')).toBeDefined();
    ids.bytes = encodeStringTable(idsFor(N).map((id, i) => (i === 4 || i === 11 ? '' : id)));
    const e = expectQdbError(() => QuantumDB.fromBytes(encodeQdb(sections)), 'CORRUPT_FILE');
    expect(e.message).toMatch(/slot 11 has an empty id/);
  });

  it('parses metadata when it is read: a damaged entry is CORRUPT_FILE naming its slot, the others still read', async () => {
    const file = decodeQdb((await makeDb()).toBytes());
    const sections = file.sections.map((info) => ({ kind: info.kind, flags: info.flags, bytes: file.section(info.kind).slice() }));
    const metadata = sections.find((sec) => sec.kind === SectionKind.METADATA) as { bytes: Uint8Array };
    metadata.bytes = encodeStringTable(idsFor(N).map((_, i) => (i === 6 ? '{"colour":' : JSON.stringify(colour(i)))));
    const db = QuantumDB.fromBytes(encodeQdb(sections));
    expect(db.get('v5')?.metadata).toEqual(colour(5));
    const e = expectQdbError(() => db.get('v6'), 'CORRUPT_FILE');
    expect(e.details).toMatchObject({ slot: 6 });
    expectQdbError(() => db.get('v6'), 'CORRUPT_FILE'); // still damaged on a second read
  });

  it('keeps ids and metadata of an opened database through deletes, upserts, compaction and a second save', async () => {
    const db = await makeDb();
    const opened = QuantumDB.fromBytes(db.toBytes());
    expect([...opened.ids()]).toEqual([...db.ids()]);
    expect(answers(opened)).toEqual(answers(db));
    for (const target of [db, opened]) {
      target.delete(['v1', 'v2']);
      target.upsert(['v3'], row(base, 5), [{ colour: 'black' }]);
      await target.compact();
    }
    const again = QuantumDB.fromBytes(opened.toBytes());
    expect([...again.ids()]).toEqual([...db.ids()]);
    expect(again.get('v3')?.metadata).toEqual({ colour: 'black' });
    expect(again.get('v9')?.metadata).toEqual(colour(9));
    expect(again.get('v1')).toBeUndefined();
    expect(again.size).toBe(N - 2);
  });

  it('open() reads codes and graph on the thread pool and still rejects a damaged graph or repeated ids', async () => {
    const file = decodeQdb((await makeDb()).toBytes());
    const sections = file.sections.map((info) => ({ kind: info.kind, flags: info.flags, bytes: file.section(info.kind).slice() }));
    const good = join(dir, 'async-good.qdb');
    writeFileSync(good, encodeQdb(sections));
    for (const vectors of ['mapped', 'memory'] as const) {
      const opened = await QuantumDB.open(good, { vectors });
      expect(answers(opened)).toEqual(answers(QuantumDB.fromBytes(encodeQdb(sections))));
      opened.close();
    }
    const level0 = decodeQdb(encodeQdb(sections)).info(SectionKind.GRAPH_LEVEL0) as { offset: number; length: number };
    const flipped = encodeQdb(sections);
    flipped[level0.offset + level0.length - 5]! ^= 0x08;
    writeFileSync(join(dir, 'async-flipped.qdb'), flipped);
    await expectQdbErrorAsync(() => QuantumDB.open(join(dir, 'async-flipped.qdb')), 'CORRUPT_FILE');
    (sections.find((sec) => sec.kind === SectionKind.IDS) as { bytes: Uint8Array }).bytes = encodeStringTable(idsFor(N).map((id, i) => (i === 9 ? 'v3' : id)));
    writeFileSync(join(dir, 'async-ids.qdb'), encodeQdb(sections));
    await expectQdbErrorAsync(() => QuantumDB.open(join(dir, 'async-ids.qdb')), 'CORRUPT_FILE');
  });

  it('open() checks every section it reads on the thread pool: a flipped byte anywhere, links out of range with valid checksums', async () => {
    const bytes = (await makeDb()).toBytes();
    const layout = decodeQdb(bytes);
    for (const section of layout.sections) {
      const flipped = bytes.slice();
      flipped[section.offset + Math.floor(section.length / 3)]! ^= 0x40;
      const path = join(dir, `async-flip-${section.kind}.qdb`);
      writeFileSync(path, flipped);
      await expectQdbErrorAsync(async () => (await QuantumDB.open(path)).search(row(queries, 0), { k: 10 }), 'CORRUPT_FILE');
    }
    const sections = layout.sections.map((info) => ({ kind: info.kind, flags: info.flags, bytes: layout.section(info.kind).slice() }));
    const words = (kind: number) => {
      const b = (sections.find((sec) => sec.kind === kind) as { bytes: Uint8Array }).bytes;
      return new Uint32Array(b.buffer, b.byteOffset, b.length >> 2);
    };
    const writeAndOpen = async (name: string) => {
      writeFileSync(join(dir, name), encodeQdb(sections));
      return expectQdbErrorAsync(() => QuantumDB.open(join(dir, name)), 'CORRUPT_FILE');
    };
    // The last slot's first level-0 link (in the last piece read), then an upper-layer count past M.
    const level0 = words(SectionKind.GRAPH_LEVEL0);
    const record = level0.length / N;
    const saved = level0[(N - 1) * record + 1]!;
    level0[(N - 1) * record + 1] = N + 5;
    await writeAndOpen('async-level0-link.qdb');
    level0[(N - 1) * record + 1] = saved;
    const upper = (sections.find((sec) => sec.kind === SectionKind.GRAPH_UPPER) as { bytes: Uint8Array }).bytes;
    const slot = upper.findIndex((level, s) => s < N && level > 0);
    const offsets = new Uint32Array(upper.buffer, upper.byteOffset + ((N + 3) & ~3), N);
    new DataView(upper.buffer, upper.byteOffset).setUint32(((N + 3) & ~3) + 4 * N + 4 * offsets[slot]!, 999, true);
    await writeAndOpen('async-upper-count.qdb');
  });

  it('finds a damaged vector chunk with positional reads and through a mapping', async () => {
    const db = await makeDb();
    const bytes = db.toBytes();
    const vectors = decodeQdb(bytes).info(SectionKind.VECTORS) as { offset: number; length: number };
    bytes[vectors.offset + 100] ^= 0x10;
    const path = join(dir, 'damaged.qdb');
    writeFileSync(path, bytes);
    for (const mmap of [false, true]) {
      const opened = await QuantumDB.open(path, { mmap });
      expectQdbError(() => opened.search(row(queries, 0), { k: 10 }), 'CORRUPT_FILE');
      opened.close();
    }
  });

  it('rejects foreign, empty and missing files', async () => {
    expectQdbError(() => QuantumDB.fromBytes(new TextEncoder().encode('definitely not a database, just some text here ...'.repeat(3))), 'CORRUPT_FILE');
    const path = join(dir, 'foreign.qdb');
    writeFileSync(path, 'hello');
    await expectQdbErrorAsync(() => QuantumDB.open(path), 'CORRUPT_FILE');
    await expectQdbErrorAsync(() => QuantumDB.open(join(dir, 'missing.qdb')), 'IO_ERROR');
    await expectQdbErrorAsync(() => QuantumDB.open(path, { mmap: true }), 'CORRUPT_FILE');
    await expectQdbErrorAsync(() => QuantumDB.open(join(dir, 'missing.qdb'), { mmap: true }), 'IO_ERROR');
  });
});

describe('crash safety', () => {
  const dist = new URL('../dist/index.js', import.meta.url);
  it.skipIf(!existsSync(dist))('a save killed at any moment leaves the old file or the new one', async () => {
    const path = join(dir, 'crash.qdb');
    const script = `
      import { QuantumDB } from ${JSON.stringify(dist.href)};
      const dim = 16, make = (tag, n) => { const db = new QuantumDB({ dim, metric: 'l2', seed: 1 });
        const v = new Float32Array(n * dim).map((_, i) => Math.sin(i * 0.37 + n));
        return db.addBatch(Array.from({ length: n }, (_, i) => tag + i), v); };
      const a = make('a', 1000), b = make('b', 1500);
      await a.buildIndex(); await b.buildIndex();
      process.stdout.write('ready\\n');
      for (let i = 0; ; i++) await (i % 2 ? b : a).save(${JSON.stringify(path)});`;
    await (async () => {
      const db = new QuantumDB({ dim: 16, metric: 'l2' }).addBatch(['a0'], [new Array(16).fill(1)]);
      await db.buildIndex();
      await db.save(path);
    })();
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the saving child exited early with ${code}`)));
      });
      await new Promise((resolve) => setTimeout(resolve, 5 + round * 23));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const opened = await QuantumDB.open(path);
      expect([1, 1000, 1500]).toContain(opened.size);
      expect(opened.search(new Array(16).fill(0.5), { k: 1 })).toHaveLength(1);
      opened.close();
    }
  }, 120_000);
});

describe('format versions', () => {
  const fixtures = new URL('./fixtures/', import.meta.url);
  it.each(['1.0', '2.0'])('opens the shipped format %s fixture and answers from it', (version) => {
    const db = QuantumDB.fromBytes(new Uint8Array(readFileSync(new URL(`format-${version}.qdb`, fixtures))));
    expect(db.size).toBe(299);
    expect(db.get('doc-7')).toBeUndefined();
    expect(db.get('doc-8')?.metadata).toEqual({ group: 2 });
    const query = db.get('doc-42')?.vector as Float32Array;
    expect(db.search(query, { k: 1 })[0]).toMatchObject({ id: 'doc-42' });
    expect(db.search(query, { k: 5, filter: (_, meta) => meta?.group === 1 }).every((h) => Number(h.id.slice(4)) % 3 === 1)).toBe(true);
  });

  it('refuses a newer major version with UNSUPPORTED_VERSION', () => {
    const bytes = new Uint8Array(readFileSync(new URL('format-1.0.qdb', fixtures)));
    const file = decodeQdb(bytes);
    const sections = file.sections.map((info) => ({ kind: info.kind, flags: info.flags, bytes: file.section(info.kind).slice() }));
    const newer = encodeQdb(sections);
    new DataView(newer.buffer).setUint16(8, 3, true);
    // Re-seal the header checksum (bytes 60–63 cover 0–59) so only the version is "wrong".
    new DataView(newer.buffer).setUint32(60, crc32c(newer.subarray(0, 60)), true);
    expectQdbError(() => QuantumDB.fromBytes(newer), 'UNSUPPORTED_VERSION');
  });
});
