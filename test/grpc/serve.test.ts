/**
 * `quantumdb serve --grpc-port`: HTTP and gRPC side by side over one service layer, in-process
 * (stopped through its abort signal) and as a real process bundled with the proto file beside it
 * as in the package, where SIGTERM lets an HTTP request and a gRPC stream in flight finish.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, symlink } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { QuantumDB } from '../../src/index.js';
import { QuantumDBClient } from '../../src/client/index.js';
import { startGrpcServer } from '../../src/server/grpc.js';
import { createService } from '../../src/server/service.js';
import { MemoryStream, cli, tempDir } from '../cli/cli-helpers.js';
import { ROOT, bundle } from '../packaging/bundle.js';
import { PROTO_PATH, makeDb, rawClients, rows, searchMessage, until } from './grpc-helpers.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let index = '';

beforeAll(async () => {
  tmp = await tempDir('qdb-grpc-serve-');
  index = tmp.path('index.qdb');
  await (await makeDb()).save(index);
});
afterAll(async () => { await tmp?.cleanup(); });

describe('quantumdb serve --grpc-port (in-process)', () => {
  it('serves HTTP and gRPC from one service; the abort signal stops both; --save-on-exit keeps gRPC changes', async () => {
    const controller = new AbortController();
    const stdout = new MemoryStream();
    const stderr = new MemoryStream();
    let checks: Promise<void> | undefined;
    const code = await run(['serve', '--index', index, '--port', '0', '--grpc-port', '0', '--save-on-exit', '--json'], {
      stdout, stderr, signal: controller.signal,
      onListening: (url) => {
        checks = (async () => {
          const listening = JSON.parse(stdout.text);
          expect(listening).toMatchObject({ listening: url, grpc: expect.stringMatching(/^127\.0\.0\.1:\d+$/), vectors: 300 });
          const overGrpc = new QuantumDBClient({ grpc: listening.grpc });
          const overHttp = new QuantumDBClient({ http: url });
          try {
            expect(await overGrpc.add([{ id: 'from-grpc', vector: rows[5]!.map((x) => -x) }])).toEqual({ added: 1, size: 301 });
            expect((await overHttp.health()).size).toBe(301);
            expect(await overHttp.search(rows[5]!.map((x) => -x), { k: 1 })).toEqual(await overGrpc.search(rows[5]!.map((x) => -x), { k: 1 }));
          } finally {
            overGrpc.close();
            overHttp.close();
            controller.abort();
          }
        })();
      },
    });
    await checks;
    expect(code, stderr.text).toBe(0);
    expect(stderr.text).toBe(''); // --json: no log lines
    const reopened = await QuantumDB.open(index);
    expect(reopened.get('from-grpc')).toBeDefined();
    reopened.close();
  });

  it('a bad --grpc-port is a usage error (exit 2)', async () => {
    const bad = await cli(['serve', '--index', index, '--port', '0', '--grpc-port', '70000']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('quantumdb serve: --grpc-port must be an integer from 0 to 65535, got "70000"');
  });

  it('a gRPC port in use fails with IO_ERROR (exit 1) and closes the HTTP server it had opened', async () => {
    const other = await startGrpcServer(createService(await makeDb()), { port: 0 });
    try {
      const r = await cli(['serve', '--index', index, '--port', '0', '--grpc-port', String(other.port)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/could not listen on 127\.0\.0\.1:\d+ for gRPC/);
      expect(r.stderr).toMatch(/\[IO_ERROR\]/);
    } finally {
      await other.shutdown();
    }
  });
});

describe('quantumdb serve --grpc-port (a real process)', () => {
  let script = '';
  beforeAll(async () => {
    // The package layout: dist/cli.js beside proto/quantumdb.proto, the dependencies in node_modules.
    await mkdir(tmp.path('pkg/proto'), { recursive: true });
    await copyFile(PROTO_PATH, tmp.path('pkg/proto/quantumdb.proto'));
    await symlink(join(ROOT, 'node_modules'), tmp.path('pkg/node_modules'), 'dir');
    script = tmp.path('pkg/dist/cli.mjs');
    await bundle({ entry: 'src/cli/main.ts', outFile: script, external: (id) => /^(@tensorflow\/|@riaskov\/|@langchain\/|@grpc\/|grpc-health-check$)/.test(id) });
  });

  it('SIGTERM lets an HTTP request and a gRPC stream in flight finish, then exits 0', async () => {
    const child = spawn(process.execPath, [script, 'serve', '--index', index, '--port', '0', '--grpc-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    const [url, address] = await new Promise<[string, string]>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const m = /on (http:\/\/127\.0\.0\.1:\d+) and gRPC (127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve([m[1]!, m[2]!]);
      });
      child.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    const clients = rawClients(address);
    try {
      // A gRPC stream with one answer received, and an HTTP request whose body is half sent.
      const call = clients.qdb.BatchSearch();
      const answers: any[] = [];
      const streamEnd = new Promise<number>((resolve) => {
        call.on('data', (m: any) => answers.push(m));
        call.on('status', (s: { code: number }) => resolve(s.code));
        call.on('error', () => undefined);
      });
      call.write(searchMessage(4, { top_k: 1 }));
      await until(() => answers.length === 1);
      const body = JSON.stringify({ vector: Array.from(rows[6]!), k: 1 });
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
        }, 100);
      });
      const r = await reply;
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text).hits[0].id).toBe('v6');
      // The stream still answers after SIGTERM, then ends normally.
      call.write(searchMessage(8, { top_k: 1 }));
      await until(() => answers.length === 2);
      call.end();
      expect(await streamEnd).toBe(status.OK);
      expect(answers.map((a) => a.results[0].id)).toEqual(['v4', 'v8']);
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/shutting down: finishing 2 request\(s\) in flight\nstopped\n/);
    } finally {
      clients.close();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
