/**
 * @module codec/auto-tune
 * The auto-tuner of `buildIndex({ autoTune })` (issue 3), in three stages scaled to a time budget:
 *   1. random search: seeded configurations (the database's own first), each a whole small index
 *      built on a seeded sample with few training steps (`codec/auto-tune-trial.ts`);
 *   2. successive halving (Jamieson & Talwalkar 2016; the rung schedule of Li et al.'s Hyperband):
 *      the better half by objective runs again on twice the rows and steps, until two remain;
 *   3. the database is built with the winner, its learned codec trained for the remaining budget.
 * Everything that decides is deterministic: the plan follows from the budget by a fixed cost model
 * (never by the clock), training stops at step counts, and search speed is counted in distance
 * evaluations, so the same data, seed and budget give the same configuration, codes and graph on
 * any machine. Wall-clock figures are recorded for information only.
 *
 * Objective, every term in [0, 1] (docs/guide.md, "Auto-tuning"):
 *   quality · (0.8 graph 10-recall@10 + 0.2 (1 − relative reconstruction error))
 *   + compression · (12 / m)  + speed · (lowest cost of the round / this cost)
 *   − memory · (bytes per vector / those of m = 24, M = 24)
 */
import { isQuantumDBError, qdbError } from '../errors.js';
import { mulberry32 } from '../random.js';
import type {
  AutoTuneConfig, AutoTuneFigures, AutoTuneObjective, AutoTuneOptions, AutoTuneReport, AutoTuneTrial, BuildOptions, CodecKind, Metric, QuantumDBStats,
} from '../types.js';
import type { Kernels } from '../wasm/abi.js';
import { CODECS } from './build-codec.js';
import { QUALITY_RECALL_SHARE, TrialBench, learnedOptions, type Measured, type TrialPlan } from './auto-tune-trial.js';
import { DEFAULT_LOSS_WEIGHTS, type LearnedCodecOptions, type LearnedCodecWeights } from './learned-codec.js';
import { sampleSlots } from './pq-codec.js';
import { loadTensorflow, type TfBackendName } from './tf-runtime.js';

/** Default planned seconds: twice the learned codec's default training budget (60 s). */
const DEFAULT_AUTOTUNE_BUDGET_SECONDS = 120;
/** The issue's weights: 0.4 quality, 0.1 compression, 0.4 speed, 0.1 memory. */
const DEFAULT_AUTOTUNE_OBJECTIVE: AutoTuneObjective = { quality: 0.4, compression: 0.1, speed: 0.4, memory: 0.1 };
/** Fewer vectors leave too few held-out queries and sample rows to tell configurations apart. */
const AUTOTUNE_MIN_ROWS = 1_000;

const M_CHOICES = [12, 16, 24];
const HNSW_M_CHOICES = [12, 16, 24];
const EF_CONSTRUCTION_CHOICES = [100, 200, 400];
const LEARNING_RATES = [3e-4, 1e-3, 3e-3];
/** Batch shapes (anchors × group rows): 128, 256 (the default) and 512 rows. */
const BATCHES = [[4, 32], [8, 32], [16, 32]] as const;
const K_NEIGHBOURS = [5, 10, 20];
/** targetDim candidates per m: the largest multiples of m within a quarter, a half and all of min(dim, 256). */
const TARGET_FRACTIONS = [0.25, 0.5, 1];
const QUERIES = 200;
const STAGE1_ROWS = 2_000;
const TRIALS_RANGE = [4, 32] as const;
const KMEANS_ITERATIONS = 8;
const OPQ_ITERATIONS = 2;
/** Share of the budget for stages 1 and 2; the rest is the final codec's optimizer steps. */
const SEARCH_SHARE = 0.6;
/**
 * Cost model in seconds, fitted on the 2-core reference machine at 64 and 768 dimensions: a
 * trial's linear codecs, graph and measurement (fixed + per row·dim); the learned codec's
 * preparation and checkpoints (fixed + per row·dim); one optimizer step (fixed + per dimension).
 */
const COST = { trial: 0.3, linear: 8e-7, learned: 0.5, prepare: 1.5e-6, step: 0.12, stepPerDim: 1e-4 };

/** Options after defaults and checks. */
export interface ResolvedAutoTune {
  budgetSeconds: number;
  objective: AutoTuneObjective;
  seed: number;
  trials: number | undefined;
}

/**
 * Checks `buildIndex`'s `autoTune` option (and the build options it excludes) and fills in its defaults.
 * @param options the build options
 * @param seed the database's seed, the default
 * @param codecImported whether the database uses an imported codec (which auto-tuning would replace)
 * @returns the options in force, or undefined when `autoTune` is absent or false
 * @throws QuantumDBError `INVALID_ARGUMENT` for an unknown key, a non-positive budget, a negative or
 *   non-finite weight, weights all 0, an unknown codec, `trainEpochs` / `trainBudgetSeconds`
 *   (auto-tuning plans the training itself), or an imported codec.
 * @example
 * ```ts
 * resolveAutoTune({ autoTune: { budgetSeconds: 30, objective: { memory: 0.3 } } }, 42, false);
 * ```
 */
export function resolveAutoTune(options: BuildOptions, seed: number, codecImported: boolean): ResolvedAutoTune | undefined {
  const option = options.autoTune;
  if (option === undefined || option === false) return undefined;
  const bad = (what: string) => qdbError('INVALID_ARGUMENT', [`autoTune: ${what}`]);
  if (codecImported) throw bad('this database uses an imported codec, which auto-tuning would replace; build without autoTune, or tune a database without an imported codec');
  if (options.trainEpochs !== undefined || options.trainBudgetSeconds !== undefined) throw bad('the tuner plans the training itself; pass autoTune: { budgetSeconds } instead of trainEpochs / trainBudgetSeconds');
  if (options.codec !== undefined && !CODECS.includes(options.codec)) throw bad(`codec must be one of ${CODECS.join(', ')}, got ${String(options.codec)}`);
  const o: AutoTuneOptions = option === true ? {} : option;
  if (typeof o !== 'object' || o === null) throw bad(`pass true or an options object such as { budgetSeconds: 60 }, got ${String(option)}`);
  const unknown = Object.keys(o).filter((key) => !['budgetSeconds', 'objective', 'seed', 'trials'].includes(key));
  if (unknown.length > 0) throw bad(`unknown option ${unknown.join(', ')}; use budgetSeconds, objective, seed or trials`);
  const budgetSeconds = o.budgetSeconds ?? DEFAULT_AUTOTUNE_BUDGET_SECONDS;
  if (typeof budgetSeconds !== 'number' || !Number.isFinite(budgetSeconds) || budgetSeconds <= 0) throw bad(`budgetSeconds must be a positive number of seconds, got ${String(budgetSeconds)}`);
  const weights = o.objective ?? {};
  if (typeof weights !== 'object' || weights === null) throw bad('objective must be an object such as { quality: 0.4, compression: 0.1, speed: 0.4, memory: 0.1 }');
  const extra = Object.keys(weights).filter((key) => !(key in DEFAULT_AUTOTUNE_OBJECTIVE));
  if (extra.length > 0) throw bad(`unknown objective weight ${extra.join(', ')}; use quality, compression, speed or memory`);
  const objective = { ...DEFAULT_AUTOTUNE_OBJECTIVE, ...weights };
  for (const [key, w] of Object.entries(objective)) {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) throw bad(`objective.${key} must be a finite number ≥ 0, got ${String(w)}`);
  }
  if (Object.values(objective).every((w) => w === 0)) throw bad('at least one objective weight must be positive');
  const s = o.seed ?? seed;
  if (!Number.isInteger(s)) throw bad(`seed must be an integer, got ${String(s)}`);
  const trials = o.trials;
  if (trials !== undefined && (!Number.isInteger(trials) || trials < 2 || trials > 64)) throw bad(`trials must be an integer from 2 to 64, got ${String(trials)}`);
  return { budgetSeconds, objective, seed: s, trials };
}

/** What the tuner needs from the database. */
export interface AutoTuneInput {
  dim: number;
  metric: Metric;
  rotation: 'pca' | 'none';
  buildDistance: QuantumDBStats['params']['buildDistance'];
  /** Stored rows (all live: slots 0 … slotCount − 1). */
  slotCount: number;
  /** A view of the preprocessed row of `slot` (copied at once). */
  readRow(slot: number): Float32Array;
  /** The database's own parameters: stage 1's first trial. */
  baseline: { m: number; targetDim: number | 'auto'; M: number; efConstruction: number };
  /** `buildIndex`'s `codec`: 'auto' compares all three in every trial. */
  codec: 'auto' | CodecKind;
  backend: TfBackendName | 'auto';
  /** Id-map bytes per vector, counted in every configuration's memory. */
  idBytesPerVector: number;
}

/** The winner, how the final build trains it, and how to finish the report. */
export interface AutoTuneOutcome {
  config: AutoTuneConfig;
  /** What the final build trains: the winner's codec, or 'auto' (the learned one, kept only if it beats PQ and OPQ). */
  codec: 'auto' | CodecKind;
  /** The learned codec's options for the final build, `maxSteps` from the budget's remainder. */
  learned: Partial<LearnedCodecOptions>;
  /**
   * Measures the built database (stage 3) and returns the whole report.
   * @param learned the learned codec in use, if any
   */
  finish(kernels: Kernels, n: number, kind: CodecKind, learned: LearnedCodecWeights | undefined): AutoTuneReport;
}

/** Stage sizes: stage 1, then the halving rounds, then the final training steps. */
interface Plan {
  trials: number;
  stage1: TrialPlan;
  rounds: { count: number; plan: TrialPlan }[];
  finalSteps: number;
}

/**
 * Runs stages 1 and 2 on a seeded sample of the database and returns the winner.
 * @param onProgress called after each trial with trials done, planned, and the stage
 * @returns the outcome; apply `config`, train with `codec` / `learned`, build, then call `finish`
 * @throws QuantumDBError `INVALID_ARGUMENT` below {@link AUTOTUNE_MIN_ROWS} vectors, or with codec
 *   'learned' when TF.js is not installed.
 * @example
 * ```ts
 * const outcome = await autoTune(input, resolveAutoTune({ autoTune: true }, 42, false)!, async (done, total) => console.log(done, total));
 * ```
 */
export async function autoTune(input: AutoTuneInput, o: ResolvedAutoTune, onProgress: (done: number, total: number, stage: 1 | 2) => Promise<void>): Promise<AutoTuneOutcome> {
  const started = performance.now();
  const { dim, slotCount: n } = input;
  if (n < AUTOTUNE_MIN_ROWS) throw qdbError('INVALID_ARGUMENT', [`autoTune needs at least ${AUTOTUNE_MIN_ROWS} vectors to compare configurations, this database has ${n}; build without autoTune`]);
  const tf = await learnedAvailability(input);
  const space = searchSpace(input);
  const nq = Math.min(QUERIES, Math.floor(n / 10));
  const plan = makePlan(o, dim, n - nq, tf.backend !== null);
  const rows = plan.rounds.length > 0 ? (plan.rounds[plan.rounds.length - 1] as { plan: TrialPlan }).plan.rows : plan.stage1.rows;
  const sample = gatherRows(input, sampleSlots(n, nq + rows, o.seed ^ 0xa070), nq);
  const bench = new TrialBench({ ...input, ...sample, seed: o.seed, kinds: tf.kinds, backend: tf.backend });
  bench.fitRotations([...new Set(space.ms.flatMap((m) => space.targetDims(m)))]);
  const total = plan.trials + plan.rounds.reduce((sum, r) => sum + r.count, 0);
  const trials: AutoTuneTrial[] = [];
  const runRound = async (configs: AutoTuneConfig[], stage: 1 | 2, round: number, trialPlan: TrialPlan): Promise<AutoTuneTrial[]> => {
    const measured: Measured[] = [];
    for (const config of configs) {
      measured.push(await bench.run(config, trialPlan));
      await onProgress(trials.length + measured.length, total, stage);
    }
    const scored = score(configs, measured, o.objective, space, input.idBytesPerVector, stage, round);
    trials.push(...scored);
    return [...scored].sort((a, b) => b.figures.objective - a.figures.objective || scored.indexOf(a) - scored.indexOf(b));
  };
  let ranked = await runRound(sampleConfigs(space, input.baseline, plan.trials, o.seed), 1, 0, plan.stage1);
  for (const [r, round] of plan.rounds.entries()) ranked = await runRound(ranked.slice(0, round.count).map((t) => t.config), 2, r + 1, round.plan);
  const winner = ranked[0] as AutoTuneTrial;
  const kind = winner.figures.codec;
  const finalSteps = kind === 'learned' ? plan.finalSteps : 0;
  return {
    config: winner.config,
    codec: input.codec === 'auto' && kind === 'learned' ? 'auto' : kind,
    learned: learnedOptions(winner.config, Math.max(1, finalSteps), o.seed),
    finish(kernels, rowsBuilt, keptKind, learned) {
      const measured = bench.measureBuilt(kernels, rowsBuilt, winner.config, keptKind, learned, keptKind === 'learned' ? finalSteps : 0);
      const final = score([winner.config], [measured], o.objective, space, input.idBytesPerVector, 3, 0)[0] as AutoTuneTrial;
      const t = (x: number) => x.toFixed(3);
      const w = winner.figures;
      const reason = `stage ${winner.stage}${winner.round > 0 ? ` round ${winner.round}` : ''} ranked this configuration first of ${ranked.length}`
        + ` (objective ${t(w.objective)}: quality ${t(w.terms.quality)}, compression ${t(w.terms.compression)}, speed ${t(w.terms.speed)}, memory ${t(w.terms.memory)};`
        + ` codec ${w.codec}, graph 10-recall@10 ${t(w.graphRecall10)} on ${w.rows} rows)${tf.reason === '' ? '' : `; ${tf.reason}`}`;
      return {
        seed: o.seed, budgetSeconds: o.budgetSeconds, seconds: (performance.now() - started) / 1000, objectiveWeights: { ...o.objective },
        learned: tf.backend !== null, chosen: { config: winner.config, figures: final.figures }, trials: [...trials, final], reason,
      };
    },
  };
}

/** Which codecs trials may keep, and whether TF.js is there to train the learned one. */
async function learnedAvailability(input: AutoTuneInput): Promise<{ kinds: CodecKind[]; backend: TfBackendName | 'auto' | null; reason: string }> {
  if (input.codec !== 'auto') {
    const reason = input.codec === 'learned' ? '' : `learned codec not tried: codec '${input.codec}' requested`;
    if (input.codec === 'learned') await loadTensorflow(input.backend);
    return { kinds: [input.codec], backend: input.codec === 'learned' ? input.backend : null, reason };
  }
  try {
    await loadTensorflow(input.backend);
    return { kinds: ['pq', 'opq', 'learned'], backend: input.backend, reason: '' };
  } catch (e) {
    // Without TensorFlow.js installed the search covers the linear codecs and every other parameter.
    if (!isQuantumDBError(e) || e.code !== 'INVALID_ARGUMENT') throw e;
    return { kinds: ['pq', 'opq'], backend: null, reason: `learned codec not tried: ${e.message}` };
  }
}

/** The space, limited to what the data allows. */
interface Space {
  ms: number[];
  targetDims(m: number): number[];
}

function searchSpace(input: AutoTuneInput): Space {
  const { dim, rotation, baseline } = input;
  const targetDims = (m: number): number[] => {
    if (rotation === 'none') return dim % m === 0 ? [dim] : [];
    const top = Math.min(dim, 256);
    return [...new Set(TARGET_FRACTIONS.map((f) => Math.floor((top * f) / m) * m).filter((t) => t >= m))];
  };
  const fits = M_CHOICES.filter((m) => m <= dim && targetDims(m).length > 0);
  const ms = fits.length > 0 ? fits : [baseline.m];
  const fallback = baseline.targetDim === 'auto' ? Math.floor(Math.min(dim, 256) / baseline.m) * baseline.m : baseline.targetDim;
  return { ms, targetDims: (m) => (fits.length > 0 ? targetDims(m) : [fallback]) };
}

/** Index bytes per vector: the code, level-0 links, expected upper-layer links (1/(M−1) lists of 1 + M), level byte, upper offset, id overhead. */
function bytesPerVector(m: number, M: number, idBytes: number): number {
  return m + (1 + 2 * M) * 4 + 1 + 4 + ((1 + M) * 4) / (M - 1) + idBytes;
}

/**
 * The database's own parameters, moved into the space (nearest choice, lower on ties); targetDim
 * 'auto' becomes the candidate nearest 4m, where the build's own choice landed on the benchmark sets.
 */
function baselineConfig(space: Space, b: AutoTuneInput['baseline']): AutoTuneConfig {
  const nearest = (choices: readonly number[], v: number) => choices.reduce((best, c) => (Math.abs(c - v) < Math.abs(best - v) ? c : best));
  const m = nearest(space.ms, b.m);
  const targetDim = nearest(space.targetDims(m), b.targetDim === 'auto' ? 4 * m : b.targetDim);
  return {
    m, targetDim, M: nearest(HNSW_M_CHOICES, b.M), efConstruction: nearest(EF_CONSTRUCTION_CHOICES, b.efConstruction),
    learningRate: 1e-3, groupsPerBatch: 8, groupSize: 32, kNeighbours: 10, lossWeights: { ...DEFAULT_LOSS_WEIGHTS },
  };
}

/** Stage 1's configurations: the baseline, then distinct seeded draws (mulberry32). */
function sampleConfigs(space: Space, baseline: AutoTuneInput['baseline'], count: number, seed: number): AutoTuneConfig[] {
  const random = mulberry32(seed ^ 0x7e57);
  const pick = <T>(choices: readonly T[]): T => choices[Math.floor(random() * choices.length)] as T;
  const out = [baselineConfig(space, baseline)];
  const seen = new Set([JSON.stringify(out[0])]);
  for (let attempt = 0; out.length < count && attempt < 50 * count; attempt++) {
    const m = pick(space.ms);
    const [groupsPerBatch, groupSize] = pick(BATCHES);
    // Each default loss weight scaled by 2^u, u uniform in [−1, 1], then renormalised.
    const raw = Object.entries(DEFAULT_LOSS_WEIGHTS).map(([key, w]) => [key, w * 2 ** (2 * random() - 1)] as const);
    const sum = raw.reduce((acc, [, w]) => acc + w, 0);
    const config: AutoTuneConfig = {
      m, targetDim: pick(space.targetDims(m)), M: pick(HNSW_M_CHOICES), efConstruction: pick(EF_CONSTRUCTION_CHOICES),
      learningRate: pick(LEARNING_RATES), groupsPerBatch, groupSize, kNeighbours: pick(K_NEIGHBOURS),
      lossWeights: Object.fromEntries(raw.map(([key, w]) => [key, Math.round((w / sum) * 1e4) / 1e4])) as AutoTuneConfig['lossWeights'],
    };
    const key = JSON.stringify(config);
    if (!seen.has(key)) { seen.add(key); out.push(config); }
  }
  return out;
}

/**
 * The stage sizes from the budget, by the cost model {@link COST}: the most stage-1 trials (4 to
 * 32) whose trials and halving rounds fit in 60% of the budget, then as many final optimizer steps
 * as the other 40% pays for (at least twice the last round's). The final build's fixed costs (PCA,
 * k-means, encoding, graph) are those of any build and come on top.
 */
function makePlan(o: ResolvedAutoTune, dim: number, available: number, learned: boolean): Plan {
  const stepSeconds = COST.step + COST.stepPerDim * dim;
  const cost = (p: TrialPlan) => COST.trial + p.rows * dim * COST.linear + (learned ? COST.learned + p.rows * dim * COST.prepare + p.steps * stepSeconds : 0);
  const stage1: TrialPlan = {
    rows: Math.min(STAGE1_ROWS, available), steps: learned ? Math.min(40, Math.max(4, Math.round(o.budgetSeconds / 12))) : 0,
    kmeansIterations: KMEANS_ITERATIONS, opqIterations: OPQ_ITERATIONS,
  };
  const roundsFor = (trials: number) => {
    const rounds: Plan['rounds'] = [];
    for (let count = trials, r = 1; r === 1 || count > 2; r++) {
      count = Math.ceil(count / 2);
      rounds.push({ count, plan: { ...stage1, rows: Math.min(available, stage1.rows * 2 ** r), steps: stage1.steps * 2 ** r } });
    }
    return rounds;
  };
  const searchCost = (trials: number) => trials * cost(stage1) + roundsFor(trials).reduce((sum, r) => sum + r.count * cost(r.plan), 0);
  let trials = o.trials ?? TRIALS_RANGE[0];
  if (o.trials === undefined) {
    for (let t = TRIALS_RANGE[1]; t > TRIALS_RANGE[0]; t--) if (searchCost(t) <= SEARCH_SHARE * o.budgetSeconds) { trials = t; break; }
  }
  const rounds = roundsFor(trials);
  const last = (rounds[rounds.length - 1] as { plan: TrialPlan }).plan;
  const finalSteps = learned ? Math.max(2 * last.steps, Math.floor(((1 - SEARCH_SHARE) * o.budgetSeconds) / stepSeconds)) : 0;
  return { trials, stage1, rounds, finalSteps };
}

/**
 * Completes measured trials with their memory, objective terms and objective. Speed is relative:
 * the lowest search cost among `configs` (trials compared together) over each one's.
 */
function score(configs: AutoTuneConfig[], measured: Measured[], w: AutoTuneObjective, space: Space, idBytes: number, stage: 1 | 2 | 3, round: number): AutoTuneTrial[] {
  const maxBytes = bytesPerVector(Math.max(...M_CHOICES, ...space.ms), Math.max(...HNSW_M_CHOICES), idBytes);
  const minM = Math.min(...space.ms);
  const cheapest = Math.min(...measured.map((f) => f.searchCost));
  return configs.map((config, i) => {
    const f = measured[i] as Measured;
    const bytes = bytesPerVector(config.m, config.M, idBytes);
    const terms: AutoTuneFigures['terms'] = {
      quality: QUALITY_RECALL_SHARE * f.graphRecall10 + (1 - QUALITY_RECALL_SHARE) * (1 - Math.min(1, Math.max(0, f.reconstructionMse))),
      compression: minM / config.m,
      speed: f.searchCost > 0 ? cheapest / f.searchCost : 1,
      memory: bytes / maxBytes,
    };
    const objective = w.quality * terms.quality + w.compression * terms.compression + w.speed * terms.speed - w.memory * terms.memory;
    return { stage, round, config, figures: { ...f, bytesPerVector: bytes, terms, objective } };
  });
}

/** The sample: `nq` held-out query rows, then the base rows, copied out of the database. */
function gatherRows(input: AutoTuneInput, slots: Uint32Array, nq: number): { queries: Float32Array; base: Float32Array } {
  const { dim } = input;
  const all = new Float32Array(slots.length * dim);
  slots.forEach((slot, i) => all.set(input.readRow(slot), i * dim));
  return { queries: all.subarray(0, nq * dim), base: all.subarray(nq * dim) };
}
