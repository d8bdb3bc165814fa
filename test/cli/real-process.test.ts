/**
 * The command line as a real process. Test bundles of `src/cli/main.ts` and of the compress worker
 * (made with the repository's test bundler, no dist/ needed) cover exit codes, compress on worker
 * threads against the single-threaded path and the golden files, and `serve` stopped by SIGTERM
 * while a request is in flight. The built `dist/cli.js` gets a smoke test when it exists (skipped, with the
 * reason printed, otherwise).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressFile } from '../../src/cli/compress.js';
import { mainHelp } from '../../src/cli/main.js';
import { QuantumDB } from '../../src/index.js';
import { readJsonl } from '../../src/formats/vector-files.js';
import { writeQStream1 } from '../../src/formats/vectro-write.js';
import { ROOT, bundle } from '../packaging/bundle.js';
import { DIST_CLI, GOLDEN_DIR, jsonlOf, randomRows, tempDir } from './cli-helpers.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let script = '';
const run = (args: string[], file = script) => spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', timeout: 60_000 });

beforeAll(async () => {
  tmp = await tempDir('qdb-process-');
  // The bundle keeps the packages it imports (gRPC …) as imports; let them resolve from here.
  await symlink(join(ROOT, 'node_modules'), tmp.path('node_modules'), 'dir');
  script = tmp.path('cli.mjs');
  const external = (id: string) => /^(@tensorflow\/|@riaskov\/|@langchain\/|@grpc\/|grpc-health-check$)/.test(id);
  // As in dist/: the command line, and beside it the script its compress workers run.
  await bundle({ entry: 'src/cli/main.ts', outFile: script, external });
  await bundle({ entry: 'src/cli/compress-worker.ts', outFile: tmp.path('compress-worker.mjs'), external });
  await writeFile(tmp.path('in.jsonl'), jsonlOf(randomRows(3000, 32, 8)));
});
afterAll(async () => { await tmp?.cleanup(); });

describe('the CLI as a process', () => {
  it('exits 0 with the help, 2 on a usage error, 1 on an error', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toBe(mainHelp());
    const usage = run(['compress']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^quantumdb compress: missing <in.jsonl> <out.bin>\n\nUsage: quantumdb compress/);
    const missing = run(['info', tmp.path('missing.bin')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/\[IO_ERROR\]\n$/);
  });

  it('compress on 1 and 2 worker threads writes the same bytes as the main thread and the reference writer', async () => {
    const outputs: Buffer[] = [];
    for (const workers of ['0', '1', '2']) {
      const r = run(['compress', tmp.path('in.jsonl'), tmp.path(`out-${workers}.bin`), '--workers', workers, '--json']);
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ count: 3000, dim: 32, path: 'parallel', threads: Number(workers) });
      outputs.push(await readFile(tmp.path(`out-${workers}.bin`)));
    }
    expect(outputs[1]!.equals(outputs[0]!)).toBe(true);
    expect(outputs[2]!.equals(outputs[0]!)).toBe(true);
    const q = run(['compress', tmp.path('in.jsonl'), tmp.path('q.bin'), '--quantize', '--workers', '2']);
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/^wrote 3,000 quantized entries to .*q\.bin \(\d+\.\d+s, [\d,]+ embeddings\/s, [\d.]+ KiB\)\n$/);
    await writeQStream1(tmp.path('q-ref.bin'), () => readJsonl(tmp.path('in.jsonl')));
    expect((await readFile(tmp.path('q.bin'))).equals(await readFile(tmp.path('q-ref.bin')))).toBe(true);
  });

  it.skipIf(!existsSync(join(GOLDEN_DIR, 'manifest.json')))('compress on worker threads matches the Vectro+ golden files', async () => {
    const manifest = JSON.parse(readFileSync(join(GOLDEN_DIR, 'manifest.json'), 'utf8')) as { cases: { name: string; input: string; outputs: { file: string; format: string }[] }[] };
    // The cases that stress the parser; compress.test.ts checks every case on the main thread.
    for (const c of manifest.cases.filter((x) => ['typical_768d', 'number_forms', 'unicode_ids', 'whitespace_lines', 'extreme_values'].includes(x.name))) {
      for (const o of c.outputs.filter((x) => x.format === 'STREAM1' || x.format === 'QSTREAM1')) {
        const out = tmp.path(o.file);
        const result = await compressFile(join(GOLDEN_DIR, c.input), out, { quantize: o.format === 'QSTREAM1', workers: 2, workerScript: pathToFileURL(tmp.path('compress-worker.mjs')) });
        expect(result.threads).toBe(2);
        expect((await readFile(out)).equals(await readFile(join(GOLDEN_DIR, o.file))), o.file).toBe(true);
      }
    }
  });

  it('compress on worker threads still reports a bad line exactly', async () => {
    await writeFile(tmp.path('bad.jsonl'), `${jsonlOf(randomRows(3000, 32, 9))}{"id": 1}\n`);
    const r = run(['compress', tmp.path('bad.jsonl'), tmp.path('bad.bin'), '--workers', '2']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^quantumdb compress: line 3001 is not an object with a string "id" and an array "vector" \(at byte \d+\).*\[CORRUPT_FILE\]\n$/);
    expect(existsSync(tmp.path('bad.bin'))).toBe(false);
  });

  it('serve: SIGTERM lets the request in flight finish, then exits 0', async () => {
    const rows = randomRows(200, 16, 3);
    const db = new QuantumDB({ dim: 16 });
    db.addBatch(rows.map((_, i) => `r${i}`), rows);
    await db.buildIndex();
    await db.save(tmp.path('index.qdb'));
    const child = spawn(process.execPath, [script, 'serve', '--index', tmp.path('index.qdb'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    const body = JSON.stringify({ vector: Array.from(rows[4]!), k: 1 });
    const reply = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${url}/search`, { method: 'POST', headers: { 'content-length': String(body.length) } }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    const r = await reply;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).hits[0].id).toBe('r4');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/shutting down: finishing 1 request\(s\) in flight\nstopped\n/);
  });
});

describe.skipIf(!existsSync(DIST_CLI))('dist/cli.js (the built package)', () => {
  it('prints the help and compresses on worker threads', () => {
    const help = run(['--help'], DIST_CLI);
    expect(help.status).toBe(0);
    expect(help.stdout).toBe(mainHelp());
    const r = run(['compress', tmp.path('in.jsonl'), tmp.path('dist.bin'), '--workers', '2', '--json'], DIST_CLI);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ count: 3000, threads: 2 });
  });
});
if (!existsSync(DIST_CLI)) console.warn(`${DIST_CLI} not found; skipping the dist/cli.js smoke test (run \`npm run build\` with the CLI entry first).`);
