import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { QuantumDB } from '../../src/index.js';
import { decodeQdb, SectionKind } from '../../src/storage/qdb-layout.js';
import { clustered, idsFor } from '../data.js';
import { expectQdbErrorAsync } from '../helpers.js';

/** Reads at this file offset get `damage` applied to what they return, in the order they were issued. */
const hook: { offset: number; damage: Array<(bytes: Uint8Array) => void> } = { offset: -1, damage: [] };

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  type Done = (e: NodeJS.ErrnoException | null, n: number) => void;
  const read = (fd: number, buffer: Uint8Array, at: number, length: number, position: number, done: Done) => {
    const damage = position === hook.offset ? hook.damage.shift() : undefined;
    fs.read(fd, buffer, at, length, position, (e, n) => {
      damage?.(buffer.subarray(at, at + n));
      done(e, n);
    });
  };
  return { ...fs, default: { ...fs, read }, read };
});

const dir = mkdtempSync(join(tmpdir(), 'qdb-changed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('open() reports a file that changes between its two reads of the ids, instead of trusting the second', async () => {
  const db = new QuantumDB({ dim: 16, metric: 'cosine', seed: 3, flatThreshold: 0 });
  await db.addBatch(idsFor(400), clustered(400, 16, 5)).buildIndex();
  const path = join(dir, 'changing.qdb');
  await db.save(path);
  hook.offset = decodeQdb(db.toBytes()).info(SectionKind.IDS)!.offset;
  // The first read (checked in the kernels) is left alone; the copy for the database's table changes.
  hook.damage = [() => {}, (bytes) => { bytes[bytes.length - 1] ^= 0x01; }];
  await expectQdbErrorAsync(() => QuantumDB.open(path), 'IO_ERROR');
  expect(hook.damage).toEqual([]);
  // Unchanged, the same file opens.
  expect((await QuantumDB.open(path)).get('v3')?.id).toBe('v3');
});
