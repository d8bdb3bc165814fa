/**
 * Runs every example in examples/ as a user would: in a throwaway project whose
 * node_modules/quantumdb is built from src/ (see createUserProject), as separate Node processes
 * (and, for the test-suite examples, separate Vitest/Jest runs). The browser page has its own
 * test in test/browser/.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../src/testing/index.js';
import { createUserProject, ROOT } from './bundle.js';

const run = promisify(execFile);
let project: TempDir;

beforeAll(async () => {
  project = await createTempDir('qdb-examples-');
  await createUserProject(project.path);
  await cp(join(ROOT, 'examples'), join(project.path, 'examples'), { recursive: true });
}, 120_000);

afterAll(async () => {
  await project?.cleanup();
});

async function node(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, [file], { cwd: project.path, timeout: 120_000 });
  return stdout;
}

/** Runs Vitest (the repository's copy) on one example directory; returns its output. */
async function vitest(dir: string): Promise<string> {
  const cli = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const { stdout } = await run(process.execPath, [cli, 'run', '--root', join(project.path, dir)], {
    cwd: project.path, timeout: 120_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' },
  });
  return stdout;
}

describe('examples', () => {
  it('quickstart.mjs: build, search, filter, upsert/delete, save/open, errors', async () => {
    const out = await node('examples/quickstart.mjs');
    expect(out).toMatch(/^built 5000 vectors \(128-d\) in [\d.]+ s$/m);
    expect(out).toMatch(/^ {2}doc-\d+ {2}0\.\d{4}$/m);
    expect(out).toMatch(/^sports since 2020: doc-\d+ \(202\d\), doc-\d+ \(202\d\), doc-\d+ \(202\d\)$/m);
    expect(out).toContain('after upsert and delete: 4998 vectors; nearest is now doc-0');
    expect(out).toContain('reopened 4998 vectors from docs.qdb; same results: true');
    expect(out).toMatch(/^error DIMENSION_MISMATCH: the query has 3 dimensions/m);
  });

  it('rag-langchain.mjs: store, filtered search, MMR retriever, chain, save/load', async () => {
    const out = await node('examples/rag-langchain.mjs');
    expect(out).toContain('indexed 10 passages');
    expect(out).toMatch(/^ {2}\d\.\d{3} {2}\[returns p\.5\] Refunds are paid/m);
    expect(out).toContain('warranty filter: The warranty does not cover limescale damage');
    expect(out).toMatch(/^retrieved for the prompt: p\.5, p\.\d+$/m);
    expect(out).toContain('answer: Refunds reach your original payment method');
    expect(out).toContain('after save/load: 10 passages; top hit p.5');
  });

  it('migrate-vectro-stream1.mjs: a Vectro+ STREAM1 file becomes a .qdb index', async () => {
    const out = await node('examples/migrate-vectro-stream1.mjs');
    expect(out).toMatch(/^wrote 3000 records to a sample STREAM1 file \(\d+ KiB\)$/m);
    expect(out).toMatch(/^read 3000 records and built the index in [\d.]+ s: 3000 vectors of 64 dimensions$/m);
    expect(out).toMatch(/^saved migrated\.qdb: \d+ KiB/m);
    expect(out).toContain('check: 3000/3000 ids present; every sampled record finds itself first: true');
  });

  it('testing/vitest: the Vitest fixture suite passes', async () => {
    const out = await vitest('examples/testing/vitest');
    expect(out).toMatch(/Tests\s+4 passed \(4\)/);
  });

  it('testing/jest: the Jest fixture suite passes (with Jest when installed, else with Vitest standing in for @jest/globals)', async () => {
    const dir = join(project.path, 'examples', 'testing', 'jest');
    let jest: string | undefined;
    try { jest = createRequire(join(ROOT, 'package.json')).resolve('jest/bin/jest.js'); } catch { jest = undefined; }
    if (jest) {
      const { stdout, stderr } = await run(process.execPath, ['--experimental-vm-modules', jest, '--config', join(dir, 'jest.config.mjs'), '--rootDir', dir], {
        cwd: project.path, timeout: 120_000, env: { ...process.env, NO_COLOR: '1', CI: '1' },
      });
      expect(`${stdout}${stderr}`).toMatch(/Tests:\s+4 passed, 4 total/);
      return;
    }
    // Vitest implements Jest's describe/test/expect/beforeAll/afterAll; a stand-in @jest/globals
    // re-exports them, so the example file runs unchanged.
    const shim = join(project.path, 'node_modules', '@jest', 'globals');
    await mkdir(shim, { recursive: true });
    await writeFile(join(shim, 'package.json'), JSON.stringify({ name: '@jest/globals', type: 'module', exports: './index.js' }));
    await writeFile(join(shim, 'index.js'), "export { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test, vi as jest } from 'vitest';\n");
    const out = await vitest('examples/testing/jest');
    expect(out).toMatch(/Tests\s+4 passed \(4\)/);
  });
});
