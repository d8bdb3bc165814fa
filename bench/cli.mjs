/**
 * @module bench/cli
 * Throughput of the command line and the HTTP server, measured through `dist/cli.js` as a user
 * runs it, and written into the `cli` section of `docs/benchmarks.md` (and `bench/results/cli.json`):
 *
 * - `compress`: synth-768 (100k × 768, unit-norm) as JSONL → STREAM1 and QSTREAM1, with 1 and 2
 *   worker threads; embeddings/s = records / the time the command reports (process start excluded).
 * - `search`: exact top-10 cosine over the 100k STREAM1 file (the time the command reports).
 * - `serve`: requests/s and latency of `POST /search` against `quantumdb serve` in its own process,
 *   from a bounded load generator on loopback (keep-alive `http.Agent`, C concurrent clients,
 *   a fixed number of requests per level).
 *
 * JSONL number format: every value is written with 9 decimals (`-0.036123455`), about what an
 * f32 embedding exporter writes; 17-digit binary64 text (`String(x)`) is measured as a second row,
 * since parsing cost grows with the digits.
 *
 * Usage: `node bench/cli.mjs [--quick] [--repeats 3] [--server-n 20000] [--requests 2000] [--skip compress,search,serve]`
 *   --quick   10k rows, one repeat, 500 requests per level; prints the section instead of writing files.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR, synth768 } from './datasets.mjs';
import { finishRun, isMainScript, machineLine } from './report.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/cli.js');
const RESULTS = join(ROOT, 'bench/results/cli.json');
const SECTION = 'cli';
/** Vectro+'s published figures (README: 100K × 768d, compress 3.2 s, quantize 4.1 s, M1 Max 10-core). */
const VECTRO = { stream1: 100_000 / 3.2, qstream1: 100_000 / 4.1 };

function parseArgs(argv) {
  const o = { quick: false, repeats: 3, serverN: 20_000, requests: 2000, skip: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--repeats') o.repeats = Number(argv[++i]);
    else if (a === '--server-n') o.serverN = Number(argv[++i]);
    else if (a === '--requests') o.requests = Number(argv[++i]);
    else if (a === '--skip') for (const s of argv[++i].split(',')) o.skip.add(s);
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.quick) Object.assign(o, { repeats: 1, requests: 500, serverN: Math.min(o.serverN, 5000) });
  return o;
}

const log = (line) => console.log(line);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');

function machineInfo() {
  return { cpu: cpus()[0]?.model?.trim() ?? 'unknown CPU', cores: cpus().length, totalMemBytes: totalmem(), node: process.version, platform: `${process.platform}-${process.arch}`, date: new Date().toISOString() };
}

/** Runs the CLI and returns its parsed --json output. */
function cliJson(args) {
  const r = spawnSync(process.execPath, [CLI, ...args, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 30 * 60_000 });
  if (r.status !== 0) throw new Error(`quantumdb ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** 9 decimals from an integer, faster than toFixed for 77M values and the same text for |x| < 1. */
function fixed9(x) {
  const k = Math.round(Math.abs(x) * 1e9);
  const digits = String(k % 1e9).padStart(9, '0');
  return `${x < 0 && k !== 0 ? '-' : ''}${Math.floor(k / 1e9)}.${digits}`;
}

async function writeJsonl(path, base, n, dim, format) {
  if (existsSync(path)) return;
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  for (let i = 0; i < n; i++) {
    const parts = new Array(dim);
    for (let j = 0; j < dim; j++) parts[j] = format === 'fixed9' ? fixed9(base[i * dim + j]) : String(base[i * dim + j]);
    if (!out.write(`{"id":"doc-${i}","vector":[${parts.join(',')}]}\n`)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
  renameSync(tmp, path);
}

async function benchCompress(o, files, n) {
  const rows = [];
  for (const { format, path } of files) {
    const configs = format === 'fixed9' ? [['STREAM1', 1], ['STREAM1', 2], ['QSTREAM1', 1], ['QSTREAM1', 2]] : [['STREAM1', 2], ['QSTREAM1', 2]];
    for (const [kind, workers] of configs) {
      const out = join(CACHE_DIR, `cli-out-${kind.toLowerCase()}.bin`);
      const rates = [];
      const cpu = [];
      const loads = [];
      let result;
      for (let r = 0; r < o.repeats; r++) {
        loads.push(loadavg()[0]);
        result = cliJson(['compress', path, out, '--workers', String(workers), ...(kind === 'QSTREAM1' ? ['--quantize'] : [])]);
        if (result.count !== n) throw new Error(`compress wrote ${result.count} records, expected ${n}`);
        rates.push(result.embeddingsPerSecond);
        cpu.push(result.cpuSeconds);
        log(`  compress ${format} → ${kind}, ${workers} worker(s): ${fmt(result.embeddingsPerSecond)} embeddings/s (${result.seconds.toFixed(2)} s, CPU ${result.cpuSeconds.toFixed(2)} s, load ${loads.at(-1).toFixed(2)})`);
      }
      rows.push({
        input: format, format: kind, workers, embeddingsPerSecond: median(rates), runs: rates.map(Math.round), seconds: median(rates.map((x) => n / x)),
        cpuSeconds: median(cpu), load1: loads.map((x) => Math.round(x * 100) / 100), inputBytes: result.bytesIn, outputBytes: result.bytesOut,
      });
    }
  }
  return rows;
}

function benchSearch(o, stream1, queries, dim) {
  const seconds = [];
  const loads = [];
  let records = 0;
  for (let r = 0; r < Math.max(3, o.repeats); r++) {
    const q = Array.from(queries.subarray(r * dim, (r + 1) * dim)).join(',');
    loads.push(loadavg()[0]);
    const result = cliJson(['search', q, '--dataset', stream1, '--top-k', '10']);
    seconds.push(result.seconds);
    records = result.scanned;
    log(`  search: ${result.scanned} records in ${result.seconds.toFixed(3)} s (load ${loads.at(-1).toFixed(2)})`);
  }
  return { records, seconds: median(seconds), runs: seconds, recordsPerSecond: records / median(seconds), load1: loads.map((x) => Math.round(x * 100) / 100) };
}

/** POST /search load: `clients` concurrent keep-alive clients share `total` requests. */
async function load(url, bodies, clients, total) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const latencies = [];
  let issued = 0;
  let errors = 0;
  const post = (body) => new Promise((resolvePost) => {
    const req = request(`${url}/search`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolvePost(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolvePost(false));
    req.end(body);
  });
  const client = async () => {
    while (issued < total) {
      const body = bodies[issued++ % bodies.length];
      const t0 = performance.now();
      if (!(await post(body))) errors++;
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { clients, requests: total, errors, seconds, requestsPerSecond: total / seconds, p50ms: percentile(latencies, 0.5), p95ms: percentile(latencies, 0.95), p99ms: percentile(latencies, 0.99) };
}

async function benchServe(o, dataset) {
  const { QuantumDB } = await import(new URL('../dist/index.js', import.meta.url).href);
  const n = Math.min(o.serverN, dataset.nBase);
  const dim = dataset.dim;
  const index = join(CACHE_DIR, `cli-server-synth768-n${n}.qdb`);
  if (!existsSync(index)) {
    log(`  building the served index (${n} × ${dim}) …`);
    const db = new QuantumDB({ dim, metric: 'cosine' });
    db.addBatch(Array.from({ length: n }, (_, i) => `doc-${i}`), dataset.base.subarray(0, n * dim));
    await db.buildIndex();
    await db.save(index);
  }
  const bodies = Array.from({ length: 200 }, (_, q) => JSON.stringify({ vector: Array.from(dataset.queries.subarray(q * dim, (q + 1) * dim)), k: 10 }));
  const child = spawn(process.execPath, [CLI, 'serve', '--index', index, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise((res, rej) => {
      let out = '';
      child.stdout.on('data', (c) => { out += c; const m = /on (http:\/\/[\d.:]+)/.exec(out); if (m) res(m[1]); });
      child.on('exit', (code) => rej(new Error(`serve exited ${code}`)));
    });
    await load(url, bodies, 4, Math.min(200, o.requests));
    const levels = [];
    for (const clients of [1, 4, 16]) {
      const r = await load(url, bodies, clients, o.requests);
      log(`  serve: ${clients} client(s): ${fmt(r.requestsPerSecond)} req/s, p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms, ${r.errors} errors`);
      levels.push(r);
    }
    return { n, dim, bodyBytes: Buffer.byteLength(bodies[0]), levels };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}

export function renderSection(results) {
  const out = ['## Command line and HTTP server', ''];
  const m = results.machine;
  out.push(`Last run: ${machineLine(m)}; load average ${results.load[0]} before → ${results.load[1]} after (2 cores: anything above ~0.5 means another process shared the CPU).`);
  out.push(`Data: synth-768 (${fmt(results.n)} × 768, unit-norm) as JSONL; each figure is the median of ${results.repeats} run(s) of \`node dist/cli.js\`, timed by the command itself (process start excluded).`);
  if (results.compress) {
    out.push('', '### `quantumdb compress` (JSONL → Vectro+ file)', '');
    out.push('| JSONL numbers | output | worker threads | embeddings/s (median) | runs | seconds | CPU seconds | input | output size | Vectro+ published |', '|---|---|---:|---:|---|---:|---:|---:|---:|---:|');
    for (const r of results.compress) {
      const ref = r.format === 'STREAM1' ? VECTRO.stream1 : VECTRO.qstream1;
      out.push(`| ${r.input === 'fixed9' ? '9 decimals' : '17 digits (binary64 text)'} | ${r.format} | ${r.workers} | ${fmt(r.embeddingsPerSecond)} | ${r.runs.map((x) => fmt(x)).join(', ')} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${fmt(r.inputBytes / 2 ** 20)} MiB | ${fmt(r.outputBytes / 2 ** 20)} MiB | ${fmt(ref)} |`);
    }
    out.push('', '"CPU seconds" is the user + system time of all threads of the compress process: the work done, which other load on the machine inflates far less than the wall time. "runs" lists every run; the load average before each is in `bench/results/cli.json`.');
    out.push('', 'Vectro+ figures: its README (100K × 768d: compress 3.2 s, quantize 4.1 s, on an M1 Max with 10 cores). The output is byte-identical to Vectro+\'s; QSTREAM1 reads the input once, spilling f32 records to a temp file for the second (quantizing) pass.');
  }
  if (results.search) {
    const s = results.search;
    out.push('', '### `quantumdb search` (exact top-10 cosine over a STREAM1 file)', '');
    out.push(`${fmt(s.records)} records: ${s.seconds.toFixed(3)} s per query (${fmt(s.recordsPerSecond)} records/s; runs ${s.runs.map((x) => x.toFixed(3)).join(', ')} s), read in 4 MiB blocks and scored by the WebAssembly kernels; the file is in the page cache.`);
  }
  if (results.serve) {
    const v = results.serve;
    out.push('', `### \`quantumdb serve\`: \`POST /search\` (k = 10) on loopback`, '');
    out.push(`Index: ${fmt(v.n)} × ${v.dim} synth-768 rows (default build settings); request body ${fmt(v.bodyBytes)} bytes of JSON. The server and the load generator (Node, keep-alive \`http.Agent\`) run as separate processes on the same 2 cores.`, '');
    out.push('| concurrent clients | requests | req/s | p50 ms | p95 ms | p99 ms | errors |', '|---:|---:|---:|---:|---:|---:|---:|');
    for (const l of v.levels) out.push(`| ${l.clients} | ${l.requests} | ${fmt(l.requestsPerSecond)} | ${l.p50ms.toFixed(2)} | ${l.p95ms.toFixed(2)} | ${l.p99ms.toFixed(2)} | ${l.errors} |`);
  }
  return out.join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) {
    console.error(`bench/cli.mjs: ${CLI} not found; run \`npm run build\` first`);
    process.exit(1);
  }
  const load0 = loadavg()[0];
  const dataset = await synth768({ nBase: o.quick ? 10_000 : 100_000, nQueries: 1000 });
  const n = dataset.nBase;
  mkdirSync(CACHE_DIR, { recursive: true });
  const files = [];
  for (const format of o.quick ? ['fixed9'] : ['fixed9', 'f64']) {
    const path = join(CACHE_DIR, `cli-synth768-n${n}-${format}.jsonl`);
    log(`JSONL ${format}: ${path}`);
    await writeJsonl(path, dataset.base, n, dataset.dim, format);
    files.push({ format, path });
  }
  const results = { machine: machineInfo(), n, repeats: o.repeats };
  if (!o.skip.has('compress')) results.compress = await benchCompress(o, files, n);
  const stream1 = join(CACHE_DIR, `cli-synth768-n${n}.stream1.bin`);
  if (!existsSync(stream1)) cliJson(['compress', files[0].path, stream1]);
  if (!o.skip.has('search')) results.search = benchSearch(o, stream1, dataset.queries, dataset.dim);
  if (!o.skip.has('serve')) results.serve = await benchServe(o, dataset);
  finishRun(SECTION, renderSection, results, load0, { resultsPath: RESULTS, quick: o.quick });
}

if (isMainScript(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
