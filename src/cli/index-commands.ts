/**
 * @module cli/index-commands
 * The index verbs: `train` (learned codec → safetensors), `build` (vector file → `.qdb`),
 * `query` (search a `.qdb` with one vector or a file of them) and `info` (what a `.qdb` or vector
 * file holds).
 */
import { stat } from 'node:fs/promises';
import {
  EXIT, UsageError, choiceOption, fmtBytes, fmtInt, fmtSeconds, intOption, optionalInt, parseVectorText, requiredOption,
  type Command, type CommandContext,
} from './command.js';
import { isQdbFile, loadDatabase, openIndex, printHits, readHead, readQueries } from './db-files.js';
import { QuantumDB, qdbError, readPQStream1, readQStream1, readVectors, type AutoTuneReport, type Metric, type SearchHit } from './lib.js';

const METRICS: readonly Metric[] = ['cosine', 'l2', 'ip'];

/** Database options shared by `train` and `build`. */
function dbOptions(ctx: CommandContext) {
  return {
    metric: choiceOption(ctx.values, 'metric', METRICS, 'cosine'),
    seed: intOption(ctx.values, 'seed', 42, 0, 2 ** 31 - 1),
    M: intOption(ctx.values, 'hnsw-m', 16, 2, 256),
    efConstruction: intOption(ctx.values, 'ef-construction', 200),
    m: optionalInt(ctx.values, 'pq-m'),
  };
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train the learned codec on a vector file and save it as safetensors',
  positionals: [],
  options: {
    data: { type: 'string' },
    output: { type: 'string', short: 'o' },
    'auto-tune': { type: 'boolean' },
    budget: { type: 'string' },
    epochs: { type: 'string' },
    metric: { type: 'string' },
    seed: { type: 'string' },
  },
  help: `Usage: quantumdb train --data <file> --output codec.safetensors [--auto-tune [--budget S]] [--epochs N]

Trains the learned codec (neural encoder + learnable PQ) on the vectors of a file and
writes its weights as safetensors, for "quantumdb build --codec".

Options:
  --data <file>         training vectors (STREAM1/QSTREAM1/PQSTREAM1, .fvecs, .npy, JSONL)
  -o, --output <file>   where to write the codec (required)
  --auto-tune           search m, targetDim, the HNSW settings and the training settings
                        (three stages; prints the chosen configuration and every trial)
  --budget <s>          planned seconds of --auto-tune (default 120)
  --epochs <n>          training epochs (not with --auto-tune)
  --metric <name>       cosine (default), l2 or ip
  --seed <n>            random seed (default 42)
`,
  async run(ctx) {
    const data = requiredOption(ctx.values, 'data');
    const output = requiredOption(ctx.values, 'output');
    const epochs = optionalInt(ctx.values, 'epochs');
    const autoTune = ctx.values['auto-tune'] === true;
    const budget = optionalInt(ctx.values, 'budget');
    if (budget !== undefined && !autoTune) throw new UsageError('--budget is the budget of --auto-tune; add --auto-tune');
    if (epochs !== undefined && autoTune) throw new UsageError('--auto-tune plans the training itself; use --budget instead of --epochs');
    const { metric, seed } = dbOptions(ctx);
    const t0 = ctx.now();
    const db = await loadDatabase(ctx, data, { metric, seed }, false);
    const bar = ctx.progress('training');
    try {
      // --auto-tune runs the three-stage search (every trial compares PQ, OPQ and the learned codec); otherwise the learned codec.
      await db.buildIndex({
        ...(autoTune ? { autoTune: budget === undefined ? true : { budgetSeconds: budget } } : { codec: 'learned', trainEpochs: epochs }),
        onProgress: (p) => bar.update(p.done, p.total),
      });
    } finally {
      bar.finish();
    }
    await db.exportCodec(output);
    const seconds = (ctx.now() - t0) / 1000;
    const stats = db.stats();
    const tuned = stats.autoTune;
    ctx.printJson({ output, vectors: db.size, dim: db.dim, seconds, codec: stats.codec.kind, ...(tuned ? { autoTune: tuned } : {}) });
    if (tuned) printAutoTune(ctx, tuned);
    ctx.print(`trained the ${stats.codec.kind} codec on ${fmtInt(db.size)} vectors (${db.dim}-d) and wrote ${output} (${fmtSeconds(seconds)})`);
    return EXIT.OK;
  },
};

/** The auto-tuner's trials as a table, then its choice. */
function printAutoTune(ctx: CommandContext, report: AutoTuneReport): void {
  const f3 = (x: number) => x.toFixed(3);
  ctx.print('stage  m  targetDim   M  efC  codec    rows  10-R@10  graph R  dist/q  bytes/vec  objective');
  for (const { stage, config: c, figures: f } of report.trials) {
    ctx.print(`${String(stage).padStart(5)} ${String(c.m).padStart(2)} ${String(c.targetDim).padStart(10)} ${String(c.M).padStart(3)} ${String(c.efConstruction).padStart(4)}  ${f.codec.padEnd(7)} ${String(f.rows).padStart(5)}  ${f3(f.recall10).padStart(7)}  ${f3(f.graphRecall10).padStart(7)}  ${f.distanceEvaluationsPerQuery.toFixed(0).padStart(6)}  ${f.bytesPerVector.toFixed(0).padStart(9)}  ${f3(f.objective).padStart(9)}`);
  }
  const c = report.chosen.config;
  ctx.print(`chosen: m ${c.m}, targetDim ${c.targetDim}, M ${c.M}, efConstruction ${c.efConstruction}, learning rate ${c.learningRate}, batch ${c.groupsPerBatch}×${c.groupSize}, k ${c.kNeighbours}: ${report.reason}`);
}

export const buildCommand: Command = {
  name: 'build',
  summary: 'build a .qdb index (PQ codes + HNSW graph) from a vector file',
  positionals: [],
  options: {
    input: { type: 'string', short: 'i' },
    output: { type: 'string', short: 'o' },
    codec: { type: 'string' },
    'hnsw-m': { type: 'string' },
    'ef-construction': { type: 'string' },
    'pq-m': { type: 'string' },
    metric: { type: 'string' },
    seed: { type: 'string' },
  },
  help: `Usage: quantumdb build --input <file> --output index.qdb [--codec codec.safetensors] [--hnsw-m 16]

Reads every vector of a file, trains the codec (or loads a learned one with --codec),
encodes each vector to a 16-byte PQ code, builds the HNSW graph and saves a .qdb index.

Options:
  -i, --input <file>      vectors (STREAM1/QSTREAM1/PQSTREAM1, .fvecs, .npy, JSONL)
  -o, --output <file>     the index to write (required)
  --codec <file>          a learned codec from "quantumdb train"
  --hnsw-m <n>            HNSW links per node (default 16)
  --ef-construction <n>   HNSW build beam width (default 200)
  --pq-m <n>              PQ sub-quantizers = bytes per code (default min(16, dim))
  --metric <name>         cosine (default), l2 or ip
  --seed <n>              random seed (default 42)
`,
  async run(ctx) {
    const input = requiredOption(ctx.values, 'input');
    const output = requiredOption(ctx.values, 'output');
    const codec = ctx.values.codec as string | undefined;
    const options = dbOptions(ctx);
    const t0 = ctx.now();
    // With --codec the database starts from the stored codec, and building it trains nothing.
    const imported = codec === undefined ? undefined : await QuantumDB.importCodec(codec, { seed: options.seed, M: options.M, efConstruction: options.efConstruction });
    const db = await loadDatabase(ctx, input, options, codec === undefined, imported ? () => imported : undefined);
    if (codec !== undefined) {
      const bar = ctx.progress('building');
      try {
        await db.buildIndex({ onProgress: (p) => bar.update(p.done, p.total) });
      } finally {
        bar.finish();
      }
    }
    await db.save(output);
    const seconds = (ctx.now() - t0) / 1000;
    const bytes = (await stat(output)).size;
    const stats = db.stats();
    ctx.printJson({ output, vectors: db.size, dim: db.dim, metric: db.metric, bytes, seconds, buildSeconds: stats.buildSeconds, params: stats.params });
    ctx.print(`built ${output}: ${fmtInt(db.size)} vectors × ${db.dim} (${db.metric}), M=${stats.params.M}, ${stats.codeBytes}-byte codes, ${fmtBytes(bytes)} (${fmtSeconds(seconds)})`);
    return EXIT.OK;
  },
};

export const queryCommand: Command = {
  name: 'query',
  summary: 'search a .qdb index with one vector or a file of query vectors',
  positionals: [],
  options: {
    index: { type: 'string' },
    vector: { type: 'string' },
    'query-file': { type: 'string' },
    'top-k': { type: 'string', short: 'k' },
    ef: { type: 'string' },
    rerank: { type: 'string' },
  },
  help: `Usage: quantumdb query --index index.qdb (--vector "<v1,v2,...>" | --query-file <file>) [--top-k 10] [--ef N]

Searches a .qdb index. With --vector prints "rank. id -> score"; with --query-file
(.fvecs, .npy, JSONL or Vectro+) prints the hits of every query under "# query <id>".

Options:
  --index <file>        the .qdb index (required)
  --vector <v1,...>     one query vector
  --query-file <file>   a file of query vectors
  -k, --top-k <n>       results per query (default 10)
  --ef <n>              beam width of the graph search (default: the index's)
  --rerank <n>          candidates re-scored exactly (default: the index's; 0 = off)
`,
  async run(ctx) {
    const index = requiredOption(ctx.values, 'index');
    const vector = ctx.values.vector as string | undefined;
    const file = ctx.values['query-file'] as string | undefined;
    if ((vector === undefined) === (file === undefined)) throw new UsageError('pass exactly one of --vector and --query-file');
    const k = intOption(ctx.values, 'top-k', 10);
    const ef = optionalInt(ctx.values, 'ef');
    const rerank = optionalInt(ctx.values, 'rerank', 0);
    const queries = vector !== undefined ? [{ id: 'query', vector: parseVectorText(vector, '--vector') }] : null;
    const db = await openIndex(index, true);
    const all = queries ?? (await readQueries(file!));
    const results: { query: string; hits: SearchHit[] }[] = [];
    const bar = ctx.progress('querying', 'queries');
    const t0 = ctx.now();
    try {
      for (const q of all) {
        results.push({ query: q.id, hits: db.search(q.vector, { k, ef, rerank }) });
        bar.update(results.length, all.length);
      }
    } finally {
      bar.finish();
    }
    const seconds = (ctx.now() - t0) / 1000;
    ctx.printJson(vector !== undefined ? { hits: results[0]!.hits, seconds } : { results, seconds });
    if (vector !== undefined) {
      printHits(ctx, results[0]!.hits);
    } else {
      for (const r of results) {
        ctx.print(`# query ${r.query}`);
        printHits(ctx, r.hits);
      }
    }
    return EXIT.OK;
  },
};

/** What a vector file holds: format, record count, dimensions, sample ids. */
async function describeVectorFile(path: string): Promise<Record<string, unknown>> {
  const magic = new TextDecoder('latin1').decode(await readHead(path, 17));
  const vectro = ['PQSTREAM1', 'QSTREAM1', 'STREAM1'].find((f) => magic.startsWith(`VECTRO+${f}\n`));
  const format = vectro ?? (magic.startsWith('\u0093NUMPY') ? 'npy' : /\.fvecs$/i.test(path) ? 'fvecs' : 'jsonl');
  let count = 0;
  let minDim = Infinity;
  let maxDim = 0;
  const ids: string[] = [];
  const extra: Record<string, unknown> = {};
  const records = format === 'QSTREAM1' ? readQStream1(path) : format === 'PQSTREAM1' ? readPQStream1(path) : readVectors(path);
  for await (const r of records) {
    if (count === 0 && 'tables' in r) extra.tables = (r.tables as unknown[]).length;
    if (count === 0 && 'pq' in r) {
      const pq = r.pq as { m: number; k: number; dim: number; codebooks: unknown[][] };
      extra.pq = { m: pq.m, k: pq.k, dim: pq.dim, centroidsPerSubspace: pq.codebooks.map((c) => c.length) };
    }
    count++;
    minDim = Math.min(minDim, r.vector.length);
    maxDim = Math.max(maxDim, r.vector.length);
    if (ids.length < 3) ids.push(r.id);
  }
  return { format, records: count, dim: count === 0 ? null : minDim === maxDim ? minDim : { min: minDim, max: maxDim }, firstIds: ids, ...extra };
}

function describeIndex(db: QuantumDB): Record<string, unknown> {
  const s = db.stats();
  return {
    format: 'qdb', vectors: s.size, dim: s.dim, metric: s.metric, built: s.built, codeBytes: s.codeBytes, deleted: s.deleted,
    rerankVectors: s.vectors, params: s.params, memoryBytes: s.bytes,
  };
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'show what a .qdb index or a vector file holds',
  positionals: ['file'],
  options: {},
  help: `Usage: quantumdb info <file>

For a .qdb index: vector count, dimension, metric, codec and graph parameters and the
bytes each part takes in memory. For a vector file (STREAM1, QSTREAM1, PQSTREAM1,
.fvecs, .npy, JSONL): its format, record count, dimension and first ids.
`,
  async run(ctx) {
    const [path] = ctx.positionals as [string];
    const bytes = (await stat(path).catch((e: Error) => { throw qdbError('IO_ERROR', [`could not stat ${path} (${e.message}); check that the path exists`], { path }, e); })).size;
    const info = { file: path, bytes, ...(await isQdbFile(path) ? describeIndex(await openIndex(path, true)) : await describeVectorFile(path)) };
    ctx.printJson(info);
    for (const [key, value] of Object.entries(info)) {
      const text = key === 'bytes' ? `${fmtInt(value as number)} (${fmtBytes(value as number)})` : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
      ctx.print(`${key.padEnd(14)} ${text}`);
    }
    return EXIT.OK;
  },
};
