/**
 * @module bench/codec
 * Codec benchmark (issue 3): for each data set, the flat-ADC recall of 16-byte codes (no re-rank)
 * of codec v1 (PQ), OPQ (when the kernels accept `codec: 'opq'`) and the learned codec, with their
 * reconstruction MSE, training time and TF.js backend. Writes `bench/results/codec.json` and the
 * section between `<!-- bench:codec:start -->` and `<!-- bench:codec:end -->` of `docs/benchmarks.md`.
 *
 * PQ and OPQ are built through the public `QuantumDB` API and searched with `{ flat: true, rerank: 0 }`.
 * The learned codec is trained by `trainLearnedCodec` from the PQ codec the database trained, and
 * measured with the same WASM kernels the query path uses (MLP encoder, nearest codewords, lookup
 * table), on every base row and every query. TypeScript sources are loaded through Vite, so no
 * build step is needed.
 *
 * Auto-tuning rows (per data set): the default build against `buildIndex({ autoTune })` at its
 * default budget (or `--auto-tune-budget S`): the chosen configuration, its objective, and R@10 /
 * QPS of each final index at the default search settings and at ef 64 without re-rank.
 * `--only autotune` runs just those rows and prints them (never writes).
 *
 * Pareto rows (per data set): an index built with each codec (`buildIndex({ codec })`, HNSW at the
 * defaults), searched at ef = 16 … 256 with the exact re-rank of the best `ef` candidates: R@10
 * against QPS. Part of a full run; `--only pareto` measures just these and adds them to the stored
 * entries of the same data sets.
 *
 * Usage: `node bench/codec.mjs [--dataset mnist|synth|all] [--synth-base 20000] [--budget 60] [--auto-tune-budget 120] [--only autotune|pareto] [--no-write]`
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { synth768, mnist784, groundTruth, recallAt } from './datasets.mjs';
import { machineInfo } from './measure.mjs';
import { DEFAULT_DOC, machineLine, replaceSection } from './report.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = resolve(ROOT, 'bench/results/codec.json');
const SECTION = 'codec';

function parseArgs(argv) {
  const o = { dataset: 'all', synthBase: 20_000, budget: 60, autoTuneBudget: undefined, only: undefined, write: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dataset') o.dataset = argv[++i];
    else if (a === '--synth-base') o.synthBase = Number(argv[++i]);
    else if (a === '--budget') o.budget = Number(argv[++i]);
    else if (a === '--auto-tune-budget') o.autoTuneBudget = Number(argv[++i]);
    else if (a === '--only') o.only = argv[++i];
    else if (a === '--no-write') o.write = false;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!['mnist', 'synth', 'all'].includes(o.dataset)) throw new Error('--dataset must be mnist, synth or all');
  if (o.only !== undefined && o.only !== 'autotune' && o.only !== 'pareto') throw new Error('--only takes autotune or pareto');
  if (o.only === 'autotune') o.write = false;
  return o;
}

/** The linear codec a built database holds (white box: reads its kernel memory). */
function linearCodecOf(db, kind) {
  const k = db.kernels;
  const raw = k.raw;
  const { m, targetDim } = db.stats().params;
  const dim = db.dim;
  return {
    kind, dim, targetDim, m,
    rotation: k.f32(raw.rotationPtr(), targetDim * dim).slice(),
    mean: k.f32(raw.meanPtr(), dim).slice(),
    codebooks: k.f32(raw.codebooksPtr(), m * 256 * (targetDim / m)).slice(),
  };
}

/** Flat-ADC results of every query (rerank 0), as base row indices. */
function searchAll(db, ds) {
  const out = [];
  for (let q = 0; q < ds.nQueries; q++) {
    out.push(db.search(ds.queries.subarray(q * ds.dim, (q + 1) * ds.dim), { k: 10, rerank: 0, flat: true }).map((h) => Number(h.id)));
  }
  return out;
}

/** Builds a database with `buildIndex({ codec })` and measures it; `{ error }` when that codec is not available. */
async function buildLinear(QuantumDB, ds, gt, codec) {
  const db = new QuantumDB({ dim: ds.dim, metric: ds.metric, seed: 1, flatThreshold: 1e9 });
  const t0 = performance.now();
  db.addBatch(Array.from({ length: ds.nBase }, (_, i) => String(i)), ds.base);
  try {
    await db.buildIndex({ codec });
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
  const seconds = (performance.now() - t0) / 1000;
  const kind = db.stats().codec?.kind;
  if (kind !== undefined && kind !== codec) return { error: `buildIndex({ codec: '${codec}' }) kept codec ${kind}` };
  const found = searchAll(db, ds);
  return { db, kind, seconds, recall10: recallAt(found, gt, 10), recall1: recallAt(found, gt, 1) };
}

/** Mean squared reconstruction error over the base rows, through an MLP-form codec's decoder. */
function reconstructionMse(mods, ev, weights, ds) {
  const xHat = mods.T.reconstruct(ev, weights, ds.base);
  let sum = 0;
  for (let i = 0; i < xHat.length; i++) sum += (xHat[i] - ds.base[i]) ** 2;
  return sum / ds.nBase;
}

/** Microseconds to encode one query with the WASM MLP (mean over the queries). */
function encodeMicros(ev, weights, ds) {
  ev.latent({ kind: 'mlp', weights }, ds.queries.subarray(0, ds.dim), ds.dim);
  const t0 = performance.now();
  ev.latent({ kind: 'mlp', weights }, ds.queries, ds.dim);
  return ((performance.now() - t0) * 1000) / ds.nQueries;
}

/** R@10 and QPS of a built database over every query, at one search setting. */
function searchFigures(db, ds, gt, options) {
  const found = [];
  const t0 = performance.now();
  for (let q = 0; q < ds.nQueries; q++) found.push(db.search(ds.queries.subarray(q * ds.dim, (q + 1) * ds.dim), { k: 10, ...options }).map((h) => Number(h.id)));
  const seconds = (performance.now() - t0) / 1000;
  return { recall10: recallAt(found, gt, 10), qps: ds.nQueries / seconds };
}

/** The default build against `buildIndex({ autoTune })`: chosen configuration, objective, and R@10 / QPS of each index. */
async function autoTuneRows(QuantumDB, ds, gt, budget, log) {
  const rows = [];
  for (const autoTune of [undefined, budget === undefined ? true : { budgetSeconds: budget }]) {
    const db = new QuantumDB({ dim: ds.dim, metric: ds.metric, seed: 1 });
    db.addBatch(Array.from({ length: ds.nBase }, (_, i) => String(i)), ds.base);
    const t0 = performance.now();
    await db.buildIndex(autoTune === undefined ? {} : { autoTune });
    const seconds = (performance.now() - t0) / 1000;
    const s = db.stats();
    const report = s.autoTune;
    const row = {
      build: autoTune === undefined ? 'default' : 'autoTune', seconds, params: s.params, codec: s.codec.kind, indexBytesPerVector: s.bytes.index / s.size,
      defaults: searchFigures(db, ds, gt, {}), codesOnly: searchFigures(db, ds, gt, { ef: 64, rerank: 0 }),
      ...(report ? {
        budgetSeconds: report.budgetSeconds, tuneSeconds: report.seconds, trials: report.trials.length, objective: report.chosen.figures.objective,
        chosen: report.chosen.config, reason: report.reason, trialFigures: report.trials.map((t) => ({ stage: t.stage, round: t.round, config: t.config, figures: t.figures })),
      } : {}),
    };
    log(`${ds.name}: ${row.build} build ${seconds.toFixed(1)} s, m ${s.params.m} targetDim ${s.params.targetDim} M ${s.params.M} efC ${s.params.efConstruction}, ${row.codec}; R@10 ${row.defaults.recall10.toFixed(4)} at ${row.defaults.qps.toFixed(0)} QPS (defaults), ${row.codesOnly.recall10.toFixed(4)} at ${row.codesOnly.qps.toFixed(0)} QPS (ef 64, no re-rank)`);
    rows.push(row);
  }
  return rows;
}

const PARETO_EF = [16, 32, 64, 128, 256];

/** R@10 against QPS of an HNSW index per codec, over ef (re-ranking the best ef candidates exactly). */
async function paretoRows(QuantumDB, ds, gt, budget, log) {
  const rows = [];
  for (const codec of ['pq', 'opq', 'learned']) {
    const db = new QuantumDB({ dim: ds.dim, metric: ds.metric, seed: 1 });
    db.addBatch(Array.from({ length: ds.nBase }, (_, i) => String(i)), ds.base);
    await db.buildIndex({ codec, trainBudgetSeconds: budget });
    for (const ef of PARETO_EF) {
      const f = searchFigures(db, ds, gt, { ef, rerank: ef });
      rows.push({ codec, ef, ...f });
      log(`${ds.name}: ${codec} ef ${ef}: R@10 ${f.recall10.toFixed(4)} at ${f.qps.toFixed(0)} QPS`);
    }
  }
  return rows;
}

/** The Pareto table of one data set: a column pair per codec. */
function paretoTable(rows) {
  const codecs = [...new Set(rows.map((r) => r.codec))];
  const lines = [`| ef = rerank | ${codecs.map((c) => `${c} R@10 | ${c} QPS`).join(' | ')} |`, `|---:|${codecs.map(() => '---:|---:').join('|')}|`];
  for (const ef of [...new Set(rows.map((r) => r.ef))]) {
    lines.push(`| ${ef} | ${codecs.map((c) => { const r = rows.find((x) => x.codec === c && x.ef === ef); return `${f4(r.recall10)} | ${r.qps.toFixed(0)}`; }).join(' | ')} |`);
  }
  return lines;
}

async function runDataset(mods, ds, budget, log, o = {}) {
  const { QuantumDB, L } = mods;
  const gt = await groundTruth(ds, 100);
  if (o.only === 'autotune') return { name: ds.name, metric: ds.metric, nBase: ds.nBase, nQueries: ds.nQueries, dim: ds.dim, machine: machineInfo(), autoTune: await autoTuneRows(QuantumDB, ds, gt, o.autoTuneBudget, log) };
  if (o.only === 'pareto') return { name: ds.name, nBase: ds.nBase, pareto: { machine: machineInfo(), rows: await paretoRows(QuantumDB, ds, gt, budget, log) } };
  const truth10 = new Int32Array(ds.nQueries * 10);
  for (let q = 0; q < ds.nQueries; q++) truth10.set(gt.subarray(q * 100, q * 100 + 10), q * 10);
  const set = { dim: ds.dim, queries: ds.queries, base: ds.base, truth: truth10 };
  const l2 = ds.metric === 'l2';
  const ev = new mods.E.CodecEvaluator();
  const out = { name: ds.name, metric: ds.metric, nBase: ds.nBase, nQueries: ds.nQueries, dim: ds.dim, codecs: {}, notes: [], machine: machineInfo(), budgetSeconds: budget };

  const pq = await buildLinear(QuantumDB, ds, gt, 'pq');
  if (pq.error) throw new Error(`PQ build failed: ${pq.error}`);
  const pqCodec = linearCodecOf(pq.db, 'pq');
  const pqMlp = L.initFromLinear(pqCodec);
  out.codecs.pq = { recall10: pq.recall10, recall1: pq.recall1, mse: reconstructionMse(mods, ev, pqMlp, ds), buildSeconds: pq.seconds };
  log(`${ds.name}: pq 10-R@10 ${pq.recall10.toFixed(4)}`);
  // The same measurement through the learned codec's harness, as a cross-check of the harness.
  const check = ev.recall({ kind: 'mlp', weights: pqMlp }, set, l2);
  out.codecs.pq.harnessRecall10 = check.recall10;

  let opqCodec = null;
  const opq = await buildLinear(QuantumDB, ds, gt, 'opq');
  if (opq.error) {
    out.notes.push(`OPQ not measured: ${opq.error}`);
  } else {
    opqCodec = linearCodecOf(opq.db, 'opq');
    // Without stats().codec, an OPQ build that left the PQ rotation untouched ignored the option.
    if (opq.db.stats().codec === undefined && opqCodec.rotation.every((v, i) => v === pqCodec.rotation[i])) {
      out.notes.push("OPQ not measured: buildIndex({ codec: 'opq' }) is not wired yet (the rotation equals PQ's)");
      opqCodec = null;
    }
  }
  if (opqCodec) {
    out.codecs.opq = { recall10: opq.recall10, recall1: opq.recall1, mse: reconstructionMse(mods, ev, L.initFromLinear(opqCodec), ds), buildSeconds: opq.seconds };
    log(`${ds.name}: opq 10-R@10 ${opq.recall10.toFixed(4)}`);
  }

  const { weights, report } = await L.trainLearnedCodec(ds.base, ds.metric, pqCodec, opqCodec, { trainBudgetSeconds: budget, seed: 1 });
  const r = ev.recall({ kind: 'mlp', weights }, set, l2);
  out.codecs.learned = {
    recall10: r.recall10, recall1: r.recall1, mse: reconstructionMse(mods, ev, weights, ds), trainSeconds: report.trainSeconds,
    backend: report.backend, steps: report.steps, epochs: report.epochs, stoppedBy: report.stoppedBy, bestStep: report.bestStep,
    hidden: weights.hidden, targetDim: weights.targetDim, dsub: weights.targetDim / weights.m, startedFrom: report.startedFrom, encodeMicros: encodeMicros(ev, weights, ds), effectiveDims: report.effectiveDims,
    validation: report.validation, timings: report.timings,
  };
  out.choice = L.chooseCodec(report.validation);
  log(`${ds.name}: learned 10-R@10 ${r.recall10.toFixed(4)} (${report.trainSeconds.toFixed(1)} s, ${report.backend}); auto keeps ${out.choice.kind}`);
  out.autoTune = await autoTuneRows(QuantumDB, ds, gt, o.autoTuneBudget, log);
  out.pareto = { machine: machineInfo(), rows: await paretoRows(QuantumDB, ds, gt, budget, log) };
  return out;
}

const f4 = (x) => (Number.isFinite(x) ? x.toFixed(4) : '–');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');

/** The auto-tuning table of one data set. */
function autoTuneTable(rows) {
  const lines = ['| build | m | targetDim | M | efConstruction | codec | build s | index bytes/vec | objective | R@10 (defaults) | QPS | R@10 (ef 64, no re-rank) | QPS |'];
  lines.push('|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const p = r.params;
    const label = r.build === 'default' ? 'default build' : `autoTune (budget ${r.budgetSeconds} s, ${r.trials} trials)`;
    lines.push(`| ${label} | ${p.m} | ${p.targetDim} | ${p.M} | ${p.efConstruction} | ${r.codec} | ${f1(r.seconds)} | ${f1(r.indexBytesPerVector)} | ${r.objective === undefined ? '–' : f4(r.objective)} | ${f4(r.defaults.recall10)} | ${r.defaults.qps.toFixed(0)} | ${f4(r.codesOnly.recall10)} | ${r.codesOnly.qps.toFixed(0)} |`);
  }
  const tuned = rows.find((r) => r.reason);
  if (tuned) lines.push('', `Chosen: learning rate ${tuned.chosen.learningRate}, batch ${tuned.chosen.groupsPerBatch}×${tuned.chosen.groupSize}, k ${tuned.chosen.kNeighbours}; ${tuned.reason}.`);
  return lines;
}

/** The Markdown of the codec section (without its markers). */
export function renderCodecSection(results) {
  const lines = ['## Codecs: PQ, OPQ and the learned codec (16-byte codes, flat ADC, no re-rank)', ''];
  lines.push(`Last run: ${machineLine(results.machine)}. Generated by \`node bench/codec.mjs\`. Recall against the exact`);
  lines.push('top 10 (top 1) of every query over every base row, ranking by the 16-byte codes alone. MSE is the mean');
  lines.push('squared reconstruction error per base row in the input space. The learned codec is trained within the');
  lines.push('budget named below, on a seeded sample, and measured through the WASM kernels of the query path.');
  for (const d of results.datasets) {
    lines.push('', `### ${d.name} (${d.metric}; ${d.nBase} base × ${d.dim}, ${d.nQueries} queries)`, '');
    lines.push(`Measured ${d.machine.date.slice(0, 16).replace('T', ' ')} UTC, load average ${d.machine.load1} at the start, training budget ${d.budgetSeconds} s.`, '');
    lines.push('| codec | 10-recall@10 | 1-recall@1 | reconstruction MSE | train s | backend | notes |');
    lines.push('|---|---:|---:|---:|---:|---|---|');
    const { pq, opq, learned } = d.codecs;
    lines.push(`| PQ (codec v1) | ${f4(pq.recall10)} | ${f4(pq.recall1)} | ${f4(pq.mse)} | ${f1(pq.buildSeconds)} (whole build) | – | |`);
    if (opq) lines.push(`| OPQ | ${f4(opq.recall10)} | ${f4(opq.recall1)} | ${f4(opq.mse)} | ${f1(opq.buildSeconds)} (whole build) | – | |`);
    if (learned) {
      const best = learned.effectiveDims.reduce((a, b) => (b.recall10 > a.recall10 ? b : a));
      const note = `${best.perSubspace} of ${learned.dsub} dims per subspace kept (targetDim ${learned.targetDim}); hidden ${learned.hidden}; ${learned.steps} steps (${learned.epochs.toFixed(1)} epochs, ${learned.stoppedBy}, kept step ${learned.bestStep}); query encode ${learned.encodeMicros.toFixed(0)} µs`;
      lines.push(`| learned | ${f4(learned.recall10)} | ${f4(learned.recall1)} | ${f4(learned.mse)} | ${f1(learned.trainSeconds)} | ${learned.backend} | ${note} |`);
    }
    if (d.choice) lines.push('', `\`codec: 'auto'\` would keep **${d.choice.kind}**: ${d.choice.reason}.`);
    if (learned) {
      lines.push('', `Effective dimension (validation 10-recall@10 of the start of training, per dims kept per subspace): ${learned.effectiveDims.map((e) => `${e.perSubspace} → ${f4(e.recall10)}`).join(', ')}.`);
    }
    for (const n of d.notes ?? []) lines.push('', n);
    if (d.autoTune) lines.push('', 'Auto-tuning against the default build (`buildIndex({ autoTune: true })`; search at the defaults ef = rerank = 160, and codes only):', '', ...autoTuneTable(d.autoTune));
    if (d.pareto) {
      const m = d.pareto.machine;
      lines.push('', `HNSW + re-rank per codec (an index built with \`buildIndex({ codec })\`, M = 16, efConstruction = 200; the best ef candidates re-ranked exactly; measured ${m.date.slice(0, 16).replace('T', ' ')} UTC, load average ${m.load1} at the start):`, '', ...paretoTable(d.pareto.rows));
    }
  }
  return lines.join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const log = (s) => console.log(s);
  const server = await createServer({ root: ROOT, server: { middlewareMode: true, hmr: false, watch: null }, appType: 'custom', logLevel: 'error' });
  try {
    const { QuantumDB } = await server.ssrLoadModule('/src/index.ts');
    const L = await server.ssrLoadModule('/src/codec/learned-codec.ts');
    const T = await server.ssrLoadModule('/src/codec/auto-tune-trial.ts');
    const E = await server.ssrLoadModule('/src/codec/codec-evaluator.ts');
    const machine = machineInfo();
    log(`${machineLine(machine)}; load ${machine.load1}`);
    const datasets = [];
    if (o.dataset !== 'synth') datasets.push(await runDataset({ QuantumDB, L, T, E }, mnist784(), o.budget, log, o));
    if (o.dataset !== 'mnist') datasets.push(await runDataset({ QuantumDB, L, T, E }, await synth768({ nBase: o.synthBase, nQueries: 1000 }), o.budget, log, o));
    if (o.only === 'autotune') {
      for (const d of datasets) console.log([`### ${d.name} (${d.nBase} × ${d.dim}), load average ${d.machine.load1} at the start`, '', ...autoTuneTable(d.autoTune)].join('\n'));
      return;
    }
    // Data sets not measured in this run keep their previous entry (each names its own machine and date).
    const previous = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : { datasets: [] };
    const key = (d) => `${d.name}-${d.nBase}`;
    const paretoOf = (d) => datasets.find((n) => key(n) === key(d))?.pareto;
    const merged = o.only === 'pareto'
      ? previous.datasets.map((d) => (paretoOf(d) ? { ...d, pareto: paretoOf(d) } : d))
      : [...previous.datasets.filter((d) => !datasets.some((n) => key(n) === key(d))), ...datasets]
        .sort((a, b) => a.name.localeCompare(b.name) || a.nBase - b.nBase);
    const results = { machine, budgetSeconds: o.budget, datasets: merged };
    const body = renderCodecSection(results);
    if (!o.write) { console.log(body); return; }
    mkdirSync(dirname(RESULTS), { recursive: true });
    writeFileSync(RESULTS, `${JSON.stringify(results, null, 1)}\n`);
    const doc = existsSync(DEFAULT_DOC) ? readFileSync(DEFAULT_DOC, 'utf8') : '';
    writeFileSync(DEFAULT_DOC, replaceSection(doc, SECTION, body));
    log(`wrote ${RESULTS} and the ${SECTION} section of ${DEFAULT_DOC}`);
  } finally {
    await server.close();
  }
}

await main();
