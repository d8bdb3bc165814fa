/**
 * @module bench/server
 * Search throughput and latency of `quantumdb serve` over HTTP and over gRPC, side by side: the
 * server runs `dist/cli.js serve --port 0 --grpc-port 0` in its own process; this process is the
 * load generator, with 1, 8 and 64 concurrent clients per transport on loopback. Each level is
 * bounded by a request count and a time limit, whichever comes first. Written into the `server`
 * section of `docs/benchmarks.md` (and `bench/results/server.json`).
 *
 * What a request is, on both transports: one k = 10 search of a 768-d synth-768 query, encoded per
 * request and its answer decoded (HTTP: `JSON.stringify` / `JSON.parse` over a keep-alive
 * `http.Agent`, one socket per client; gRPC: `@grpc/grpc-js` with the proto-loader codec of
 * `proto/quantumdb.proto`, every client sharing one channel, i.e. one HTTP/2 connection, as gRPC
 * clients usually do). A last row streams the same queries through one `BatchSearch` call.
 *
 * Usage: `node bench/server.mjs [--quick] [--n 20000] [--requests 3000] [--seconds 15] [--levels 1,8,64] [--repeats 3] [--cli dist/cli.js]`
 *   --quick   5k rows, 500 requests per level, 5 s, one run; prints the section instead of writing files.
 *   --repeats runs per (transport, clients) cell, the transports interleaved; the table shows the median run.
 *   --cli     another build of the CLI to serve with (it must find proto/quantumdb.proto beside its dist/).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { CACHE_DIR, synth768 } from './datasets.mjs';
import { machineInfo } from './measure.mjs';
import { finishRun, isMainScript, machineLine } from './report.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_CLI = join(ROOT, 'dist/cli.js');
const PROTO = join(ROOT, 'proto/quantumdb.proto');
const RESULTS = join(ROOT, 'bench/results/server.json');
const SECTION = 'server';
const K = 10;

function parseArgs(argv) {
  const o = { quick: false, n: 20_000, requests: 3000, seconds: 15, levels: [1, 8, 64], repeats: 3, cli: DEFAULT_CLI };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--n') o.n = Number(argv[++i]);
    else if (a === '--requests') o.requests = Number(argv[++i]);
    else if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--repeats') o.repeats = Number(argv[++i]);
    else if (a === '--levels') o.levels = argv[++i].split(',').map(Number);
    else if (a === '--cli') o.cli = resolve(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.quick) Object.assign(o, { n: Math.min(o.n, 5000), requests: 500, seconds: 5, repeats: 1 });
  return o;
}

const log = (line) => console.log(line);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');

/** The HTTP transport of the load generator: one search, encoded and decoded. */
function httpSearcher(url, clients) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const search = (vector) => new Promise((done) => {
    const body = JSON.stringify({ vector, k: K });
    const req = request(`${url}/search`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => done(res.statusCode === 200 && JSON.parse(Buffer.concat(chunks).toString('utf8')).hits.length === K));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(false));
    req.end(body);
  });
  return { search, close: () => agent.destroy() };
}

/** The gRPC transport of the load generator: every client on one channel. */
function grpcSearcher(address) {
  const def = grpc.loadPackageDefinition(loadSync(PROTO, { keepCase: false, longs: Number, defaults: true, arrays: true, oneofs: true }));
  const client = new def.quantumdb.v1.QuantumDBService(address, grpc.credentials.createInsecure());
  const search = (vector) => new Promise((done) => {
    client.Search({ embedding: vector, topK: K }, { deadline: Date.now() + 10_000 }, (error, r) => done(!error && r.results.length === K));
  });
  const batch = (vectors) => new Promise((done) => {
    let answers = 0;
    const call = client.BatchSearch({ deadline: Date.now() + 120_000 });
    call.on('data', (r) => { if (r.results.length === K) answers++; });
    call.on('error', () => done(answers));
    call.on('status', (s) => { if (s.code === grpc.status.OK) done(answers); });
    (async () => {
      for (const embedding of vectors) if (!call.write({ embedding, topK: K })) await new Promise((r) => call.once('drain', r));
      call.end();
    })();
  });
  return { search, batch, close: () => client.close() };
}

/** `clients` concurrent callers share at most `total` requests and `seconds` of wall time. */
async function load(searcher, queries, clients, total, seconds) {
  const latencies = [];
  let issued = 0;
  let errors = 0;
  const stopAt = performance.now() + seconds * 1000;
  const caller = async () => {
    while (issued < total && performance.now() < stopAt) {
      const vector = queries[issued++ % queries.length];
      const t0 = performance.now();
      if (!(await searcher.search(vector))) errors++;
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, caller));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    clients, requests: latencies.length, errors, seconds: elapsed, requestsPerSecond: latencies.length / elapsed,
    p50ms: percentile(latencies, 0.5), p99ms: percentile(latencies, 0.99), timeLimited: latencies.length < total,
  };
}

async function servedIndex(n, dataset) {
  const { QuantumDB } = await import(pathToFileURL(join(ROOT, 'dist/index.js')).href);
  const dim = dataset.dim;
  const index = join(CACHE_DIR, `server-synth768-n${n}.qdb`);
  if (!existsSync(index)) {
    log(`building the served index (${n} × ${dim}) …`);
    const db = new QuantumDB({ dim, metric: 'cosine' });
    db.addBatch(Array.from({ length: n }, (_, i) => `doc-${i}`), dataset.base.subarray(0, n * dim));
    await db.buildIndex();
    await db.save(index);
  }
  return index;
}

/** Starts `quantumdb serve` with both transports; resolves with its addresses. */
function startServer(cli, index) {
  const child = spawn(process.execPath, [cli, 'serve', '--index', index, '--port', '0', '--grpc-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const ready = new Promise((res, rej) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /on (http:\/\/[\d.:]+) and gRPC ([\d.:]+)/.exec(out);
      if (m) res({ url: m[1], address: m[2] });
    });
    child.on('exit', (code) => rej(new Error(`serve exited ${code}: ${stderr}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  };
  return { ready, stop };
}

export function renderSection(results) {
  const out = ['## Server: `Search` over HTTP and gRPC', ''];
  out.push(`Last run: ${machineLine(results.machine)}; load average ${results.load[0]} before → ${results.load[1]} after (2 cores: anything above ~0.5 means another process shared the CPU).`);
  out.push(`Index: ${fmt(results.n)} × ${results.dim} synth-768 rows (default build settings), served by \`quantumdb serve --port 0 --grpc-port 0\` in its own process; the load generator (\`bench/server.mjs\`) is a second Node process on the same 2 cores, so at high concurrency both compete for the CPU. Each request is one k = ${K} search, encoded and its answer decoded per request: HTTP as JSON over a keep-alive \`http.Agent\` (one socket per client), gRPC with \`@grpc/grpc-js\` and the proto-loader codec (every client on one channel: one HTTP/2 connection). Each run stops at ${fmt(results.requests)} requests or ${results.seconds} s; each cell ran ${results.repeats} time(s), the transports interleaved, and shows its median run (req/s of every run in the last column).`, '');
  out.push('| transport | concurrent clients | requests | req/s | p50 ms | p99 ms | errors | req/s of each run |', '|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of results.levels) {
    out.push(`| ${r.transport} | ${r.clients} | ${fmt(r.requests)}${r.timeLimited ? ' (time limit)' : ''} | ${fmt(r.requestsPerSecond)} | ${fmt(r.p50ms, 2)} | ${fmt(r.p99ms, 2)} | ${r.errors} | ${(r.runs ?? []).map((x) => fmt(x)).join(', ')} |`);
  }
  if (results.batch) {
    const b = results.batch;
    out.push('', `gRPC \`BatchSearch\`, one stream, ${fmt(b.requests)} queries written as fast as the stream accepts them: ${fmt(b.requestsPerSecond)} answers/s (${b.seconds.toFixed(2)} s, ${b.requests - b.answers} missing).`);
  }
  out.push('', 'Request size: HTTP body ' + `${fmt(results.httpBodyBytes)} bytes of JSON; gRPC message ${fmt(results.grpcMessageBytes)} bytes.`);
  return out.join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.cli)) {
    console.error(`bench/server.mjs: ${o.cli} not found; run \`npm run build\` first`);
    process.exit(1);
  }
  const load0 = loadavg()[0];
  const dataset = await synth768({ nBase: Math.max(o.n, 10_000), nQueries: 200 });
  mkdirSync(CACHE_DIR, { recursive: true });
  const index = await servedIndex(o.n, dataset);
  const queries = Array.from({ length: dataset.nQueries }, (_, q) => Array.from(dataset.queries.subarray(q * dataset.dim, (q + 1) * dataset.dim)));
  const server = startServer(o.cli, index);
  const results = { machine: machineInfo(), n: o.n, dim: dataset.dim, requests: o.requests, seconds: o.seconds, repeats: o.repeats, levels: [] };
  try {
    const { url, address } = await server.ready;
    log(`serving on ${url} and gRPC ${address}`);
    const def = loadSync(PROTO, { keepCase: false });
    results.httpBodyBytes = Buffer.byteLength(JSON.stringify({ vector: queries[0], k: K }));
    results.grpcMessageBytes = def['quantumdb.v1.QuantumDBService'].Search.requestSerialize({ embedding: queries[0], topK: K }).length;
    // Repeats interleave the transports, so that a burst of other load on the machine hits both
    // alike; each cell reports its median run.
    const runs = new Map();
    for (let rep = 0; rep < o.repeats; rep++) {
      for (const clients of o.levels) {
        for (const transport of rep % 2 === 0 ? ['HTTP', 'gRPC'] : ['gRPC', 'HTTP']) {
          const searcher = transport === 'HTTP' ? httpSearcher(url, clients) : grpcSearcher(address);
          try {
            await load(searcher, queries, Math.min(clients, 8), Math.min(200, o.requests), 5); // warm-up: connections, JIT
            const r = await load(searcher, queries, clients, o.requests, o.seconds);
            log(`${transport} ${clients} client(s), run ${rep + 1}: ${fmt(r.requestsPerSecond)} req/s, p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms, ${r.errors} errors${r.timeLimited ? ' (time limit)' : ''}`);
            const key = `${transport} ${clients}`;
            runs.set(key, [...(runs.get(key) ?? []), r]);
          } finally {
            searcher.close();
          }
        }
      }
    }
    for (const transport of ['HTTP', 'gRPC']) {
      for (const clients of o.levels) {
        const all = runs.get(`${transport} ${clients}`).sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
        const median = all[(all.length - 1) >> 1];
        results.levels.push({ transport, ...median, runs: all.map((r) => Math.round(r.requestsPerSecond)) });
      }
    }
    const streamer = grpcSearcher(address);
    try {
      const vectors = Array.from({ length: o.requests }, (_, i) => queries[i % queries.length]);
      const t0 = performance.now();
      const answers = await streamer.batch(vectors);
      const seconds = (performance.now() - t0) / 1000;
      results.batch = { requests: vectors.length, answers, seconds, requestsPerSecond: answers / seconds };
      log(`gRPC BatchSearch, one stream: ${fmt(results.batch.requestsPerSecond)} answers/s`);
    } finally {
      streamer.close();
    }
  } finally {
    await server.stop();
  }
  finishRun(SECTION, renderSection, results, load0, { resultsPath: RESULTS, quick: o.quick });
}

if (isMainScript(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
