/**
 * The published package, installed from its tarball into an empty project (scripts/check-package.mjs).
 * It builds, packs and runs npm install, which takes a minute or more, so it runs only when asked:
 *
 *   QDB_PACKAGE_TEST=1 npx vitest run test/packaging/package.test.ts
 *   npm run check:package            (the same check without vitest)
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './bundle.js';

const run = promisify(execFile);

if (process.env.QDB_PACKAGE_TEST !== '1') {
  console.log('skipped: the npm pack → install check builds, packs and installs (minutes); run it with QDB_PACKAGE_TEST=1 or `npm run check:package`');
}

describe.runIf(process.env.QDB_PACKAGE_TEST === '1')('npm pack → npm install → import/require', () => {
  it('builds, packs, installs and loads every entry point from ESM and CommonJS, with types', async () => {
    await run('npm', ['run', 'build'], { cwd: ROOT, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
    const { stdout } = await run(process.execPath, [join(ROOT, 'scripts', 'check-package.mjs'), '--json'], { cwd: ROOT, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
    const report = JSON.parse(stdout) as { checks: { name: string; ok: boolean; error?: string }[]; footprint: { totalBytes: number } };
    console.log(JSON.stringify(report, null, 2));
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.checks.length).toBeGreaterThanOrEqual(7);
  }, 900_000);
});
