/**
 * @module bench/kernels
 * Micro-benchmarks of the WASM kernels against plain-JS versions of the same loops (tinybench):
 * ADC distance per 16-byte code in sequential and random order over 1M codes, the 16×256 lookup
 * table from a 256-d query, one k-means iteration of one subspace, a 768-d dot product, and the
 * `.qdb` section checksum over 16 MiB: XXH64 in WASM (format 2, hashed in place as `open` does)
 * against the JS CRC32C of format 1 (`src/storage/checksum.ts`, loaded through Vite); and writing
 * 64 MiB of fresh WebAssembly memory against memory already touched (the page faults that dominate
 * opening a large file).
 * Writes the `kernels` section of docs/benchmarks.md.
 *
 * Usage: `node bench/kernels.mjs` (after `npm run build`).
 */
import { readFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import { createServer } from 'vite';
import { machineLine, publishSection } from './report.mjs';
import { machineInfo } from './measure.mjs';
import { mulberry32 } from './datasets.mjs';

const wasm = new WebAssembly.Module(readFileSync(new URL('../build/quantumdb.wasm', import.meta.url)));
const instance = new WebAssembly.Instance(wasm, { env: { abort: () => { throw new Error('kernel abort'); }, filterAllows: () => 1 } });
const k = instance.exports;
const f32 = (ptr, n) => new Float32Array(k.memory.buffer, ptr, n);
const u32 = (ptr, n) => new Uint32Array(k.memory.buffer, ptr, n);
const u8 = (ptr, n) => new Uint8Array(k.memory.buffer, ptr, n);
const random = mulberry32(7);

const CODES = 1 << 20, M = 16, DIM = 256, KSUB = 256, DSUB = DIM / M;
// A 256-d inner-product database with the identity rotation: codes and codebooks are random.
k.configure(1, 0, DIM, DIM, M, 16, 200, 0, 1);
k.useTargetDim(DIM, 0, 1);
k.reserve(CODES);
u8(k.codesPtr(), CODES * M).forEach((_, i, a) => { a[i] = (random() * 256) | 0; });
f32(k.codebooksPtr(), M * KSUB * DSUB).forEach((_, i, a) => { a[i] = random() - 0.5; });
k.codecLoaded();
const query = f32(k.queryPtr(), DIM);
query.forEach((_, i, a) => { a[i] = random() - 0.5; });
k.queryPrepare();

const BATCH = 4096;
const sequential = Uint32Array.from({ length: BATCH }, (_, i) => i);
const shuffled = Uint32Array.from({ length: BATCH }, () => (random() * CODES) >>> 0);
const slotsPtr = k.arenaAlloc(BATCH * 4), outPtr = k.arenaAlloc(BATCH * 4);

// Plain-JS twins, on copies of the same data.
const codesJs = u8(k.codesPtr(), CODES * M).slice();
const lutJs = f32(k.lutPtr(), M * KSUB).slice();
const codebooksJs = f32(k.codebooksPtr(), M * KSUB * DSUB).slice();
const queryJs = query.slice();
const outJs = new Float32Array(BATCH);
function adcJs(slots) {
  for (let i = 0; i < slots.length; i++) {
    const base = slots[i] * M;
    let sum = 0;
    for (let s = 0; s < M; s++) sum += lutJs[s * KSUB + codesJs[base + s]];
    outJs[i] = sum;
  }
}
function lutBuildJs() {
  for (let s = 0; s < M; s++) {
    for (let c = 0; c < KSUB; c++) {
      let dot = 0;
      const off = (s * KSUB + c) * DSUB;
      for (let d = 0; d < DSUB; d++) dot += queryJs[s * DSUB + d] * codebooksJs[off + d];
      lutJs[s * KSUB + c] = -dot;
    }
  }
}

// One k-means iteration of one subspace over 20k rows.
const TRAIN = 20_000;
const trainSlots = Uint32Array.from({ length: TRAIN }, (_, i) => i);
const vectorsJs = Float32Array.from({ length: TRAIN * DIM }, () => random() - 0.5);
for (let r = 0; r < TRAIN; r++) f32(k.rowPtr(r), DIM).set(vectorsJs.subarray(r * DIM, (r + 1) * DIM));
const trainPtr = k.arenaAlloc(TRAIN * 4);
u32(trainPtr, TRAIN).set(trainSlots);
k.trainSampleProject(trainPtr, TRAIN);
const subRows = new Float32Array(TRAIN * DSUB);
for (let r = 0; r < TRAIN; r++) subRows.set(vectorsJs.subarray(r * DIM, r * DIM + DSUB), r * DSUB);
const centroidsJs = subRows.slice(0, KSUB * DSUB);
function kmeansIterationJs() {
  const sums = new Float64Array(KSUB * DSUB), counts = new Uint32Array(KSUB);
  for (let r = 0; r < TRAIN; r++) {
    let best = 0, bestDist = Infinity;
    for (let c = 0; c < KSUB; c++) {
      let dist = 0;
      for (let d = 0; d < DSUB; d++) { const t = subRows[r * DSUB + d] - centroidsJs[c * DSUB + d]; dist += t * t; }
      if (dist < bestDist) { bestDist = dist; best = c; }
    }
    counts[best]++;
    for (let d = 0; d < DSUB; d++) sums[best * DSUB + d] += subRows[r * DSUB + d];
  }
  for (let c = 0; c < KSUB; c++) if (counts[c]) for (let d = 0; d < DSUB; d++) centroidsJs[c * DSUB + d] = sums[c * DSUB + d] / counts[c];
}

const a768 = k.arenaAlloc(768 * 4), b768 = k.arenaAlloc(768 * 4);
f32(a768, 768).forEach((_, i, a) => { a[i] = random(); });
f32(b768, 768).forEach((_, i, a) => { a[i] = random(); });
const aJs = f32(a768, 768).slice(), bJs = f32(b768, 768).slice();
function dotJs() {
  let s = 0;
  for (let i = 0; i < 768; i++) s += aJs[i] * bJs[i];
  return s;
}

// 16 MiB of patterned bytes in kernel memory, and a JS copy for CRC32C.
const CHECKSUM_BYTES = 16 << 20;
const checksumPtr = k.arenaAlloc(CHECKSUM_BYTES);
u8(checksumPtr, CHECKSUM_BYTES).forEach((_, i, a) => { a[i] = (i * 2654435761) >>> 24; });
const checksumJs = u8(checksumPtr, CHECKSUM_BYTES).slice();
const vite = await createServer({ root: new URL('..', import.meta.url).pathname, server: { middlewareMode: true, hmr: false, watch: null }, appType: 'custom', logLevel: 'error' });
const { crc32c } = await vite.ssrLoadModule('/src/storage/checksum.ts');
await vite.close();
function xxh64InPlace() {
  k.xxh64Reset();
  const done = k.xxh64Update(checksumPtr, CHECKSUM_BYTES);
  return k.xxh64Digest(checksumPtr + done, CHECKSUM_BYTES - done);
}

const TOUCH_PAGES = 1024; // 64 KiB WebAssembly pages: 64 MiB
const touched = new WebAssembly.Memory({ initial: TOUCH_PAGES });
new Uint8Array(touched.buffer).fill(1);

const bench = new Bench({ time: 400, warmupTime: 100 });
const perCode = new Map();
const adcTask = (name, slots, wasmSide) => {
  perCode.set(name, BATCH);
  bench.add(name, wasmSide ? () => { u32(slotsPtr, BATCH).set(slots); k.kernelAdcSlots(slotsPtr, BATCH, outPtr); } : () => adcJs(slots));
};
adcTask('ADC, sequential codes — WASM SIMD (4 codes at once)', sequential, true);
adcTask('ADC, sequential codes — plain JS', sequential, false);
adcTask('ADC, random order — WASM SIMD (4 codes at once)', shuffled, true);
adcTask('ADC, random order — plain JS', shuffled, false);
bench.add('LUT build 16×256 from a 256-d query — WASM SIMD', () => k.queryPrepare());
bench.add('LUT build 16×256 from a 256-d query — plain JS', lutBuildJs);
perCode.set('k-means iteration, one subspace, 20k rows — WASM SIMD', 1);
bench.add('k-means iteration, one subspace, 20k rows — WASM SIMD', () => k.trainSubspace(0, 1, 3));
bench.add('k-means iteration, one subspace, 20k rows — plain JS', kmeansIterationJs);
bench.add('768-d dot product — WASM SIMD', () => k.kernelDot(a768, b768, 768));
bench.add('768-d dot product — plain JS', dotJs);
bench.add('section checksum, 16 MiB — XXH64, WASM (format 2)', xxh64InPlace);
bench.add('section checksum, 16 MiB — CRC32C slicing-by-8, plain JS (format 1)', () => crc32c(checksumJs));
bench.add('write 64 MiB of fresh WebAssembly memory (first touch: page faults)', () => new Uint8Array(new WebAssembly.Memory({ initial: TOUCH_PAGES }).buffer).fill(1));
bench.add('write 64 MiB of WebAssembly memory already touched', () => new Uint8Array(touched.buffer).fill(2));
await bench.run();

const rows = bench.tasks.map((task) => {
  const r = task.result;
  const mean = r.latency?.mean ?? r.mean;
  const median = r.latency?.p50 ?? r.median ?? mean;
  const per = perCode.get(task.name) && perCode.get(task.name) > 1 ? perCode.get(task.name) : 1;
  const unit = per > 1 ? 'ns/code' : mean * 1e3 < 1000 ? 'µs' : 'ms';
  const scale = per > 1 ? 1e6 / per : unit === 'µs' ? 1e3 : 1;
  return { name: task.name, median: median * scale, mean: mean * scale, unit };
});
const machine = machineInfo();
const table = [
  '## Kernels (tinybench)',
  '',
  `Machine: ${machineLine(machine)}; load average at start ${machine.load1}. Median and mean over tinybench's samples;`,
  'ADC rows are per code over batches of 4,096 codes out of 1,048,576 (16 MiB of codes, so random order misses the cache).',
  '',
  '| kernel | median | mean | unit |',
  '|---|---:|---:|---|',
  ...rows.map((r) => `| ${r.name} | ${r.median.toFixed(2)} | ${r.mean.toFixed(2)} | ${r.unit} |`),
].join('\n');
console.log(table);
publishSection('kernels', table);
