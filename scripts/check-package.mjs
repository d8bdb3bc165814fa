// Checks the package as users get it: `npm pack`, then `npm install <tarball>` into an empty
// project in a temporary directory, then the package loaded from ESM and from CommonJS (every
// subpath), its types checked by tsc in both module systems, and the install footprint measured.
//
//   npm run check:package            builds first, then runs this
//   node scripts/check-package.mjs   uses the dist/ already built
//   options: --no-compiler   install with no C/C++ toolchain on the PATH (the optional mmap addon
//                            then fails to build and is skipped, as on a machine without one)
//            --omit-optional install with --omit=optional (no mmap addon)
//            --json          print the report as JSON only
//
// Exits 1 when a check fails. Needs the npm registry only for the optional dependency.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// npm's own script, so the install can run with a PATH that holds no toolchain.
const npmCli = [process.env.npm_execpath, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')]
  .find((p) => p && /npm-cli\.js$/.test(p) && existsSync(p));
const report = { checks: [], footprint: {}, tarball: {} };
const log = (line) => { if (!args.has('--json')) console.log(line); };

function check(name, fn) {
  try {
    const detail = fn();
    report.checks.push({ name, ok: true, ...(detail ? { detail } : {}) });
    log(`  ok    ${name}${detail ? `: ${detail}` : ''}`);
  } catch (e) {
    report.checks.push({ name, ok: false, error: String(e.stderr ?? e.message ?? e).slice(0, 2000) });
    log(`  FAIL  ${name}\n${String(e.stderr ?? e.message ?? e).slice(0, 2000).replace(/^/gm, '        ')}`);
  }
}

/** Bytes on disk under `dir` (file sizes, symlinks not followed). */
function du(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    total += entry.isDirectory() ? du(p) : statSync(p).size;
  }
  return total;
}
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;

for (const f of ['index.js', 'index.cjs', 'langchain.js', 'testing.js', 'pool.js', 'pool-worker.js', 'client.js', 'cli.js', 'browser.js']) {
  if (!existsSync(join(root, 'dist', f))) {
    console.error(`dist/${f} is missing: run "npm run build" first (or "npm run check:package", which builds)`);
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), 'quantumdb-pack-'));
try {
  log('npm pack');
  const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))[0];
  const tarball = join(work, packed.filename);
  report.tarball = { file: packed.filename, packedBytes: packed.size, unpackedBytes: packed.unpackedSize, files: packed.files.length };
  log(`  ${packed.filename}: ${kb(packed.size)} packed, ${kb(packed.unpackedSize)} unpacked, ${packed.files.length} files`);
  const paths = packed.files.map((f) => f.path);
  check('tarball holds dist/, proto/, README and package.json only', () => {
    const stray = paths.filter((p) => !p.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE', 'proto/quantumdb.proto'].includes(p));
    if (stray.length) throw new Error(`unexpected files: ${stray.join(', ')}`);
    const want = ['index', 'langchain', 'testing', 'pool', 'client'].flatMap((n) => [`dist/${n}.js`, `dist/${n}.cjs`, `dist/${n}.d.ts`, `dist/${n}.d.cts`])
      .concat(['dist/pool-worker.js', 'dist/browser.js', 'dist/browser.d.ts']);
    const missing = want.filter((p) => !paths.includes(p));
    if (missing.length) throw new Error(`missing: ${missing.join(', ')}`);
    return `${paths.length} files`;
  });

  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'quantumdb-install-check', version: '1.0.0', private: true }, null, 2));
  const env = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  if (args.has('--no-compiler')) {
    // The same PATH without a C/C++ toolchain, make or python, so node-gyp cannot build anything.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    const toolchain = /^(cc|c\+\+|gcc|g\+\+|clang|clang\+\+|cpp|ld|make|gmake|cmake|python[0-9.]*)$|-(gcc|g\+\+|cc|c\+\+)(-[0-9.]+)?$/;
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (!dir || !existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        if (toolchain.test(name) || existsSync(join(bin, name))) continue;
        try { symlinkSync(join(dir, name), join(bin, name)); } catch { /* unreadable entry: skip it */ }
      }
    }
    if (!existsSync(join(bin, 'node'))) symlinkSync(process.execPath, join(bin, 'node'));
    env.PATH = bin;
  }
  let installLog = '';
  check(`npm install <tarball>${args.has('--no-compiler') ? ' (no compiler on the PATH)' : ''}${args.has('--omit-optional') ? ' --omit=optional' : ''}`, () => {
    const t0 = Date.now();
    const installArgs = ['install', tarball, '--foreground-scripts', ...(args.has('--omit-optional') ? ['--omit=optional'] : [])];
    const command = npmCli ? [process.execPath, [npmCli, ...installArgs]] : [npm, installArgs];
    const out = spawnSync(command[0], command[1], { cwd: project, env, encoding: 'utf8' });
    installLog = `${out.stdout}\n${out.stderr}`;
    if (out.status !== 0) throw Object.assign(new Error(`npm install exited ${out.status}`), { stderr: installLog });
    report.installSeconds = (Date.now() - t0) / 1000;
    return `${report.installSeconds.toFixed(1)} s`;
  });
  const addonInstalled = existsSync(join(project, 'node_modules', '@riaskov', 'mmap-io'));
  // With --foreground-scripts npm echoes each lifecycle script as "> name@version install".
  const ran = [...new Set([...installLog.matchAll(/^> (\S+)@\S+ (preinstall|install|postinstall)$/gm)].map((m) => `${m[1]} (${m[2]})`))];
  report.installScripts = ran;
  report.mmapAddon = addonInstalled;
  const scriptsLine = ran.length === 0 ? 'none' : ran.join(', ');
  if (process.env.QDB_SHOW_INSTALL_LOG) log(installLog);

  const nm = join(project, 'node_modules');
  if (existsSync(nm)) {
    const pkgs = {};
    for (const name of readdirSync(nm)) {
      if (name.startsWith('.')) continue;
      const scoped = name.startsWith('@') ? readdirSync(join(nm, name)).map((s) => `${name}/${s}`) : [name];
      for (const s of scoped) pkgs[s] = du(join(nm, s));
    }
    const total = du(nm);
    const own = pkgs.quantumdb ?? 0;
    report.footprint = { totalBytes: total, quantumdbBytes: own, packages: Object.keys(pkgs).length, mmapAddon: existsSync(join(nm, '@riaskov', 'mmap-io')) };
    const largest = Object.entries(pkgs).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, b]) => `${n} ${mb(b)}`).join(', ');
    log(`  footprint: node_modules ${mb(total)} in ${Object.keys(pkgs).length} packages; quantumdb itself ${mb(own)}; largest: ${largest}`);
    log(`  install scripts: ${scriptsLine}; mmap addon ${addonInstalled ? 'installed' : 'not installed'}`);
  }

  // @langchain/core is an optional peer: users who use quantumdb/langchain install it themselves.
  // Link the repository's copy instead of downloading it again.
  const langchain = join(root, 'node_modules', '@langchain');
  if (existsSync(langchain) && existsSync(nm) && !existsSync(join(nm, '@langchain'))) symlinkSync(langchain, join(nm, '@langchain'), 'dir');

  const node = (file, code) => {
    writeFileSync(join(project, file), code);
    return execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim();
  };
  const smoke = (imports) => `${imports}
const dim = 16, n = 300;
const vectors = clusteredVectors({ n, dim, seed: 1 });
const ids = sequentialIds(n);
const db = new QuantumDB({ dim, metric: 'cosine' });
await db.addBatch(ids, vectors).buildIndex();
const q = vectors.subarray(5 * dim, 6 * dim);
const hits = db.search(q, { k: 3 });
if (hits[0].id !== 'v5') throw new Error('wrong nearest neighbour: ' + JSON.stringify(hits));
const again = QuantumDB.fromBytes(db.toBytes());
if (JSON.stringify(again.search(q, { k: 3 })) !== JSON.stringify(hits)) throw new Error('bytes round trip differs');
const file = join(tmpdir(), 'qdb-check-' + process.pid + '.qdb');
await db.save(file);
const pool = await QuantumDBPool.open(file, { workers: 2 });
const pooled = await pool.searchAsync(q, { k: 3 });
await pool.close();
if (JSON.stringify(pooled) !== JSON.stringify(hits)) throw new Error('pool result differs');
const store = await QuantumDBVectorStore.fromTexts(['alpha', 'beta', 'gamma'], {}, new FakeEmbeddings());
const docs = await store.similaritySearch('beta', 3);
if (docs.length !== 3) throw new Error('langchain store returned ' + docs.length);
let coded = false;
try { db.search(new Float32Array(3)); } catch (e) { coded = isQuantumDBError(e) && e.code === 'DIMENSION_MISMATCH'; }
if (!coded) throw new Error('expected DIMENSION_MISMATCH');
console.log('ok ' + hits.map((h) => h.id).join(','));
`;
  check('ESM: import quantumdb, /testing, /pool, /langchain', () => node('check.mjs', smoke(`import { QuantumDB, isQuantumDBError } from 'quantumdb';
import { clusteredVectors, sequentialIds } from 'quantumdb/testing';
import { QuantumDBPool } from 'quantumdb/pool';
import { QuantumDBVectorStore } from 'quantumdb/langchain';
import { FakeEmbeddings } from '@langchain/core/utils/testing';
import { tmpdir } from 'node:os';
import { join } from 'node:path';`)));
  check('CommonJS: require quantumdb, /testing, /pool, /langchain', () => node('check.cjs', `(async () => {
${smoke(`const { QuantumDB, isQuantumDBError } = require('quantumdb');
const { clusteredVectors, sequentialIds } = require('quantumdb/testing');
const { QuantumDBPool } = require('quantumdb/pool');
const { QuantumDBVectorStore } = require('quantumdb/langchain');
const { FakeEmbeddings } = require('@langchain/core/utils/testing');
const { tmpdir } = require('node:os');
const { join } = require('node:path');`)}
})().catch((e) => { console.error(e); process.exit(1); });`));
  check('one QuantumDB class across subpaths (ESM and CJS each)', () => node('identity.mjs', `import { QuantumDB } from 'quantumdb';
import { createFixtureDB } from 'quantumdb/testing';
import { createRequire } from 'node:module';
const fx = await createFixtureDB({ n: 200, dim: 8 });
if (!(fx.db instanceof QuantumDB)) throw new Error('quantumdb/testing made a QuantumDB of another class');
const require = createRequire(import.meta.url);
if (!(require('quantumdb/testing').clusteredVectors && require('quantumdb').QuantumDB)) throw new Error('CJS exports missing');
console.log('ok');`));
  check('browser build has no node: imports', () => {
    const code = execFileSync(process.execPath, ['-e', "process.stdout.write(require('fs').readFileSync(require.resolve('quantumdb/browser'), 'utf8'))"], { cwd: project, encoding: 'utf8' });
    if (/from\s*['"]node:|import\(\s*['"]node:|require\(/.test(code)) throw new Error('dist/browser.js refers to node: modules');
    return kb(code.length);
  });
  check('types resolve under ESM and CommonJS (tsc, moduleResolution NodeNext)', () => {
    const body = (imp) => `${imp}
const db: QuantumDB = new QuantumDB({ dim: 4 });
const hits: SearchHit[] = db.search([1, 2, 3, 4], { k: 1 });
const fx: Promise<Fixture> = createFixtureDB({ n: 10 });
const pool: Promise<QuantumDBPool> = QuantumDBPool.open('x.qdb', { workers: 1 });
const store = new QuantumDBVectorStore(null as unknown as EmbeddingsInterface, { dbOptions: { metric: 'l2' } });
const check: QuantumDB | undefined = store.db;
export { hits, fx, pool, check };
`;
    writeFileSync(join(project, 'types.mts'), body(`import { QuantumDB, type SearchHit } from 'quantumdb';
import { createFixtureDB, type Fixture } from 'quantumdb/testing';
import { QuantumDBPool } from 'quantumdb/pool';
import { QuantumDBVectorStore } from 'quantumdb/langchain';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';`));
    writeFileSync(join(project, 'types.cts'), body(`import { QuantumDB, type SearchHit } from 'quantumdb';
import { createFixtureDB, type Fixture } from 'quantumdb/testing';
import { QuantumDBPool } from 'quantumdb/pool';
import { QuantumDBVectorStore } from 'quantumdb/langchain';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';`));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const out = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--lib', 'esnext,dom', 'types.mts', 'types.cts'], { cwd: project, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`${out.stdout}${out.stderr}`);
    return 'types.mts and types.cts compile';
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}

const failed = report.checks.filter((c) => !c.ok);
if (args.has('--json')) console.log(JSON.stringify(report, null, 2));
else log(failed.length ? `\n${failed.length} check(s) failed` : '\nall package checks passed');
process.exit(failed.length ? 1 : 0);
