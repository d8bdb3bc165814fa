/**
 * The gRPC packages are optional peer dependencies. Bundles of the CLI and of `quantumdb/client`
 * run here from a directory with no `node_modules`: HTTP works, and asking for gRPC fails with
 * INVALID_ARGUMENT naming the packages to install, never with a module-resolution crash.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../cli/cli-helpers.js';
import { bundle } from '../packaging/bundle.js';
import { PROTO_PATH, makeDb } from './grpc-helpers.js';

const EXTERNAL = (id: string) => /^(@tensorflow\/|@riaskov\/|@langchain\/|@grpc\/|grpc-health-check$)/.test(id);
const INSTALL = "install them with 'npm install @grpc/grpc-js @grpc/proto-loader";

let tmp: Awaited<ReturnType<typeof tempDir>>;

/** Runs node on `args` and collects its exit code and output; kills it after `ms`. */
function node(args: string[], ms = 30_000, onStdout?: (text: string, kill: () => void) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmp.dir });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.stdout.on('data', (c) => {
      stdout += c;
      onStdout?.(stdout, () => child.kill('SIGTERM'));
    });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  tmp = await tempDir('qdb-grpc-optional-');
  await mkdir(tmp.path('pkg/proto'), { recursive: true });
  await copyFile(PROTO_PATH, tmp.path('pkg/proto/quantumdb.proto'));
  await writeFile(tmp.path('pkg/package.json'), JSON.stringify({ type: 'module' }));
  await Promise.all([
    bundle({ entry: 'src/cli/main.ts', outFile: tmp.path('pkg/dist/cli.js'), external: EXTERNAL }),
    bundle({ entry: 'src/client/index.ts', outFile: tmp.path('pkg/dist/client.js'), external: EXTERNAL }),
  ]);
  await (await makeDb()).save(tmp.path('index.qdb'));
});
afterAll(async () => { await tmp?.cleanup(); });

describe('without the gRPC packages', () => {
  it('quantumdb serve still serves HTTP', async () => {
    const r = await node([tmp.path('pkg/dist/cli.js'), 'serve', '--index', tmp.path('index.qdb'), '--port', '0'], 30_000, (out, kill) => {
      // serve installs its signal handlers just after printing the address: give it a moment.
      if (/on http:\/\/127\.0\.0\.1:\d+/.test(out)) setTimeout(kill, 300);
    });
    expect(r.stdout, r.stderr).toMatch(/on http:\/\/127\.0\.0\.1:\d+/);
    expect(r.code).toBe(0);
  });

  it('quantumdb serve --grpc-port fails (exit 1) with INVALID_ARGUMENT naming the packages', async () => {
    const r = await node([tmp.path('pkg/dist/cli.js'), 'serve', '--index', tmp.path('index.qdb'), '--port', '0', '--grpc-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(INSTALL);
    expect(r.stderr).toMatch(/\[INVALID_ARGUMENT\]/);
  });

  it('quantumdb/client loads; a gRPC client rejects with INVALID_ARGUMENT naming the packages', async () => {
    await writeFile(tmp.path('pkg/check.mjs'), `
      import { QuantumDBClient, isQuantumDBError } from './dist/client.js';
      const client = new QuantumDBClient({ grpc: '127.0.0.1:1' });
      try { await client.health(); console.log('no error'); }
      catch (e) { console.log(JSON.stringify({ ok: isQuantumDBError(e), code: e.code, message: e.message })); }
    `);
    const r = await node([tmp.path('pkg/check.mjs')]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, code: 'INVALID_ARGUMENT' });
    expect(out.message).toContain(INSTALL);
  });
});
