import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMmapAvailable, mapFile, type MapFileOptions } from '../../src/storage/mmap.js';
import { isQuantumDBError } from '../../src/errors.js';
import { expectQdbErrorAsync } from '../helpers.js';

/** Whether the optional addon is installed and loads here; decides what `mapFile` must report. */
function addonLoads(): boolean {
  try {
    return typeof (createRequire(import.meta.url)('@riaskov/mmap-io') as { map?: unknown }).map === 'function';
  } catch {
    return false;
  }
}

let dir = '';
const content = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qdb-mmap-'));
  await writeFile(join(dir, 'data.bin'), content);
  await writeFile(join(dir, 'empty.bin'), new Uint8Array(0));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('isMmapAvailable', () => {
  it('reports whether the addon loads', async () => {
    expect(await isMmapAvailable()).toBe(addonLoads());
  });
});

describe.each<[string, MapFileOptions, () => boolean]>([
  ['addon path (when installed)', {}, addonLoads],
  ['addon path with MADV_RANDOM', { randomAccessBytes: 0 }, addonLoads],
  ['fs fallback', { fallback: true }, () => false],
])('mapFile: %s', (_, options, expectMapped) => {
  it('returns the whole file, read-only mapped or read into memory', async () => {
    const file = await mapFile(join(dir, 'data.bin'), options);
    expect(file.mapped).toBe(expectMapped());
    expect(file.bytes).toEqual(content);
    expect(file.bytes.constructor).toBe(Uint8Array);
    const view = file.bytes.subarray(9_000);
    file.close();
    file.close();
    expect(file.bytes.length).toBe(0);
    expect(view[0]).toBe(content[9_000]); // views taken before close stay valid
  });

  it('handles an empty file (mmap(2) cannot map zero bytes)', async () => {
    const file = await mapFile(join(dir, 'empty.bin'), options);
    expect([file.bytes.length, file.mapped]).toEqual([0, false]);
  });

  it('turns a missing file into IO_ERROR with the errno', async () => {
    const missing = join(dir, 'missing.qdb');
    await expectQdbErrorAsync(() => mapFile(missing, options), 'IO_ERROR');
    await mapFile(missing, options).catch((e: unknown) => {
      expect(isQuantumDBError(e) && e.details).toMatchObject({ path: missing, errno: 'ENOENT' });
    });
  });

  it('turns a directory into IO_ERROR', async () => {
    await expectQdbErrorAsync(() => mapFile(dir, options), 'IO_ERROR');
  });
});
