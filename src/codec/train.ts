/**
 * @module codec/train
 * The training loop of the learned codec (issue 3), with TensorFlow.js (loaded by
 * `codec/tf-runtime.ts`): the MLP encoder, the `m` learnable codebooks and the decoder. Trained
 * weights leave as plain `Float32Array`s for the WASM encoder (`assembly/encoder.ts`).
 *
 * Model, for a batch X of B rows (dim):
 *   z  = relu(X·W1ᵀ + b1)·W2ᵀ + b2                       latent, (B, targetDim)
 *   per subspace s: d_s = ‖z_s − C_s[c]‖², logits = −d_s / σ_s  (σ_s learned, UNQ's per-codebook scale)
 *   y  = softmax((logits + g·γ) / T),  g ~ Gumbel(0, 1)   T and γ annealed over the run
 *   q  = onehot(argmax(logits + g·γ)) forward, y backward (straight-through Gumbel-softmax);
 *        or soft y forward before `hardFrom`
 *   ẑ  = q·C;   X̂ = ẑ·Wdᵀ + bd
 * Loss = w_rec ‖X − X̂‖² + w_cluster ‖sg(z) − ẑ‖² + w_div (log K − H(mean y)) + w_commit ‖z − sg(ẑ)‖²
 *        + w_struct · local-structure loss on the batch's k-NN groups,
 * each term divided by its value at the start, so the weights are scale-free. Sources: Jang et al.
 * 2017 (Gumbel-softmax), van den Oord et al. 2017 (VQ-VAE commitment), Morozov & Babenko 2019
 * (UNQ: learned per-codebook scales, code balance), Zhan et al. 2021 (JPQ: ranking loss on ADC
 * scores: the query is not quantized, the candidates are).
 *
 * The `'vq'` estimator replaces the relaxation by the VQ-VAE straight-through estimator: the nearest
 * codeword forward, identity to z backward; about 4× cheaper per step, same recall in our runs.
 *
 * Speed on the wasm backend (measured here, 2-core machine): `matMul` with a transposed operand ran
 * 14× (transposeB) to 30× (transposeA) slower than an explicit transpose followed by a plain
 * `matMul`, and autodiff of `matMul` produces exactly those, so every product goes through
 * {@link TrainSession}'s `mm`, whose gradient transposes explicitly. Batched `matMul` over the `m`
 * subspaces was 2× slower than a loop of 2-D products. `gather` has no gradient on wasm: the
 * relaxed path looks codewords up with `oneHot`·C, the VQ path gathers forward and scatter-adds the
 * codebook gradient on the host.
 */
import type * as TF from '@tensorflow/tfjs';
import { mulberry32 } from '../random.js';
import { KSUB } from '../wasm/abi.js';
import type { LearnedCodecWeights } from './learned-codec.js';
import type { TfRuntime } from './tf-runtime.js';

type Tf = typeof TF;
type Tensor = TF.Tensor;
type CustomGrad = Parameters<Tf['customGrad']>[0];

let sessions = 0;

/** Loss weights; every term is divided by its value on the first batch. */
export interface LossWeights {
  /** ‖x − decode(quantize(encode(x)))‖². */
  reconstruction: number;
  /** Within-codeword variance ‖sg(z) − ẑ‖² (moves the codebooks). */
  cluster: number;
  /** log K − entropy of the mean code usage, per codebook. */
  diversity: number;
  /** ‖z − sg(ẑ)‖² (moves the encoder towards its codewords). */
  commitment: number;
  /** The ranking loss on each anchor's k-NN group. */
  structure: number;
}

/** Hyper-parameters of one training run. */
export interface TrainOptions {
  weights: LossWeights;
  /** Positives per anchor: its `k` nearest neighbours; the rest of its group are negatives. */
  k: number;
  /** `'triplet'`: hinge on (positive, negative) pairs; `'listwise'`: KL between softmaxes of true and ADC distances. */
  structureLoss: 'triplet' | 'listwise';
  /** Triplet margin, in units of the anchor's spread of true distances. */
  margin: number;
  /** `'gumbel'`: straight-through Gumbel-softmax; `'vq'`: the VQ-VAE straight-through estimator. */
  estimator: 'gumbel' | 'vq';
  /** Temperature of the relaxed assignment at the start and at the end (geometric schedule). */
  temperature: [number, number];
  /** Scale of the Gumbel noise at the start and at the end (linear schedule). */
  noise: [number, number];
  /** Fraction of the run after which the forward pass uses hard assignments (straight-through). */
  hardFrom: number;
  /** Adam step sizes, relative to the RMS of each weight matrix: encoder and decoder, codebooks (and their log-scales, absolute). */
  learningRate: number;
  codebookLearningRate: number;
  seed: number;
  /** Distance of the structure loss and of ADC: squared L2 (`true`), or the negative inner product. */
  l2: boolean;
}

/** One batch: `groups` k-NN groups of `groupSize` rows (anchor first, then its neighbours nearest first). */
export interface TrainBatch {
  rows: Float32Array;
  groups: number;
  groupSize: number;
  /** `(groups, groupSize − 1)` true distances from each anchor to its neighbours. */
  trueDist: Float32Array;
}

/** Loss terms of one step (unweighted, normalised). */
export interface StepLosses {
  total: number;
  reconstruction: number;
  cluster: number;
  diversity: number;
  commitment: number;
  structure: number;
}

/**
 * One model under training: TF.js variables, two Adam optimizers and the step function. Dispose
 * it to free every tensor it holds.
 */
export class TrainSession {
  private readonly tf: Tf;
  private readonly vars: Record<'w1t' | 'b1' | 'w2t' | 'b2' | 'codebooks' | 'logScale' | 'wdt' | 'bd', TF.Variable>;
  /** One Adam per variable, each with a step relative to the scale of its weights. */
  private readonly optimizers: { vars: TF.Variable[]; opt: TF.Optimizer }[];
  private readonly mm: (a: Tensor, b: Tensor) => Tensor;
  private readonly straight: (soft: Tensor, hard: Tensor) => Tensor;
  private readonly stop: (x: Tensor) => Tensor;
  private readonly mmInput: (a: Tensor, b: Tensor) => Tensor;
  private readonly nearest: (z: Tensor, books: Tensor) => Tensor;
  private readonly lookup: (booksFlat: Tensor, idx: Tensor) => Tensor;
  private norms: StepLosses | undefined;
  private noiseBank: Tensor | undefined;
  private readonly dsub: number;

  constructor(rt: TfRuntime, readonly init: LearnedCodecWeights, readonly options: TrainOptions) {
    const tf = rt.tf;
    this.tf = tf;
    const { dim, hidden, targetDim, m } = init;
    this.dsub = targetDim / m;
    // Variable names are global in TF.js: each session gets its own suffix.
    const id = `qdb${++sessions}`;
    const variable = (t: Tensor, name: string): TF.Variable => tf.variable(t, true, `${name}_${id}`);
    this.vars = tf.tidy(() => ({
      w1t: variable(tf.transpose(tf.tensor2d(init.w1, [hidden, dim])), 'w1t'),
      b1: variable(tf.tensor1d(init.b1), 'b1'),
      w2t: variable(tf.transpose(tf.tensor2d(init.w2, [targetDim, hidden])), 'w2t'),
      b2: variable(tf.tensor1d(init.b2), 'b2'),
      codebooks: variable(tf.tensor3d(init.codebooks, [m, KSUB, this.dsub]), 'codebooks'),
      logScale: variable(tf.tensor3d(init.logScale, [m, 1, 1]), 'logScale'),
      wdt: variable(tf.transpose(tf.tensor2d(init.decoderW, [dim, targetDim])), 'wdt'),
      bd: variable(tf.tensor1d(init.decoderB), 'bd'),
    }));
    // Adam moves every parameter by about the learning rate per step whatever its gradient's scale,
    // so the rate is taken relative to the RMS of each weight matrix (biases follow their matrix).
    const rms = (a: Float32Array): number => Math.sqrt(a.reduce((s, x) => s + x * x, 0) / Math.max(1, a.length)) || 1;
    const v = this.vars;
    const group = (vars: TF.Variable[], rate: number) => ({ vars, rate });
    this.optimizers = [
      group([v.w1t, v.b1], options.learningRate * rms(init.w1)),
      group([v.w2t, v.b2], options.learningRate * rms(init.w2)),
      group([v.wdt, v.bd], options.learningRate * rms(init.decoderW)),
      group([v.codebooks], options.codebookLearningRate * rms(init.codebooks)),
      group([v.logScale], options.codebookLearningRate),
    ].filter((g) => g.rate > 0).map((g) => ({ vars: g.vars, opt: tf.train.adam(g.rate) }));
    const lastT = (x: Tensor): Tensor => (x.rank === 3 ? tf.transpose(x, [0, 2, 1]) : tf.transpose(x));
    this.mm = tf.customGrad(((a: Tensor, b: Tensor, save: TF.GradSaveFunc) => {
      save([a, b]);
      return {
        value: tf.matMul(a as TF.Tensor2D, b as TF.Tensor2D),
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [sa, sb] = saved as [Tensor, Tensor];
          return [tf.matMul(dy as TF.Tensor2D, lastT(sb) as TF.Tensor2D), tf.matMul(lastT(sa) as TF.Tensor2D, dy as TF.Tensor2D)];
        },
      };
    }) as unknown as CustomGrad) as (a: Tensor, b: Tensor) => Tensor;
    // First layer: the input needs no gradient, so only the weight's is computed.
    this.mmInput = tf.customGrad(((a: Tensor, b: Tensor, save: TF.GradSaveFunc) => {
      save([a]);
      return {
        value: tf.matMul(a as TF.Tensor2D, b as TF.Tensor2D),
        gradFunc: (dy: Tensor, saved: Tensor[]) => [tf.zerosLike(saved[0] as Tensor), tf.matMul(lastT(saved[0] as Tensor) as TF.Tensor2D, dy as TF.Tensor2D)],
      };
    }) as unknown as CustomGrad) as (a: Tensor, b: Tensor) => Tensor;
    // Nearest codeword of each (row, subspace), as flat indices s·KSUB + c in row-major (row, s) order; no gradient.
    this.nearest = tf.customGrad(((z: Tensor, books: Tensor) => {
      const B = z.shape[0] as number;
      const idx = tf.tidy(() => {
        const parts = tf.split(z, m, 1);
        const codes = parts.map((zs, s) => {
          const cs = tf.reshape(tf.slice(books, [s, 0, 0], [1, KSUB, this.dsub]), [KSUB, this.dsub]);
          const score = tf.sub(tf.mul(tf.matMul(zs as TF.Tensor2D, tf.transpose(cs) as TF.Tensor2D), 2), tf.reshape(tf.sum(tf.square(cs), 1), [1, KSUB]));
          return tf.add(tf.argMax(score, 1), tf.scalar(s * KSUB, 'int32'));
        });
        return tf.reshape(tf.stack(codes, 1), [B * m]);
      });
      return { value: idx, gradFunc: () => [tf.zerosLike(z), tf.zerosLike(books)] };
    }) as unknown as CustomGrad) as (z: Tensor, books: Tensor) => Tensor;
    // Row lookup: gather forward; the codebook gradient is a scatter-add done on the host, because
    // the gradient of gather (UnsortedSegmentSum) is missing on the wasm backend.
    this.lookup = tf.customGrad(((booksFlat: Tensor, idx: Tensor, save: TF.GradSaveFunc) => {
      save([idx]);
      return {
        value: tf.gather(booksFlat, idx),
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const ids = (saved[0] as Tensor).dataSync();
          const g = dy.dataSync();
          const d = this.dsub;
          const out = new Float32Array(m * KSUB * d);
          for (let r = 0; r < ids.length; r++) {
            const base = (ids[r] as number) * d;
            for (let j = 0; j < d; j++) out[base + j] += g[r * d + j] as number;
          }
          return [tf.tensor2d(out, [m * KSUB, d]), tf.zeros((saved[0] as Tensor).shape, 'float32')];
        },
      };
    }) as unknown as CustomGrad) as (booksFlat: Tensor, idx: Tensor) => Tensor;
    this.straight = tf.customGrad(((_soft: Tensor, hard: Tensor) => ({
      value: tf.clone(hard),
      gradFunc: (dy: Tensor) => [dy, tf.zerosLike(dy)],
    })) as unknown as CustomGrad) as (soft: Tensor, hard: Tensor) => Tensor;
    this.stop = tf.customGrad(((x: Tensor) => ({
      value: tf.clone(x),
      gradFunc: (dy: Tensor) => [tf.zerosLike(dy)],
    })) as unknown as CustomGrad) as (x: Tensor) => Tensor;
  }

  /** The loss terms of a batch at training progress `progress` ∈ [0, 1] (tensors; call inside a tidy). */
  private losses(batch: TrainBatch, progress: number, step: number): Record<keyof StepLosses, Tensor> {
    const { tf, vars: v, mm, options: o } = this;
    const { dim } = this.init;
    const B = batch.rows.length / dim;
    const x = tf.tensor2d(batch.rows, [B, dim]);
    const z = tf.add(mm(tf.relu(tf.add(this.mmInput(x, v.w1t), v.b1)), v.w2t), v.b2);
    const q = o.estimator === 'vq' ? this.quantizeVq(z) : this.quantizeGumbel(z, progress, step);
    const reconstruction = o.weights.reconstruction > 0 ? tf.mean(tf.sum(tf.square(tf.sub(x, tf.add(mm(q.zHat, v.wdt), v.bd))), 1)) : tf.scalar(0);
    const cluster = tf.mean(tf.sum(tf.square(tf.sub(this.stop(z), q.zHard)), 1));
    const commitment = tf.mean(tf.sum(tf.square(tf.sub(z, this.stop(q.zHard))), 1));
    const usage = q.usage ?? (o.weights.diversity > 0 ? this.softUsage(z) : null);
    const diversity = usage === null ? tf.scalar(0)
      : tf.mean(tf.add(Math.log(KSUB), tf.sum(tf.mul(usage, tf.log(tf.add(usage, 1e-9))), 1)));
    const structure = o.weights.structure > 0 ? this.structureLoss(z, q.zHat, batch) : tf.scalar(0);
    const n = this.norms;
    const term = (t: Tensor, key: keyof LossWeights): Tensor => tf.mul(t, o.weights[key] / (n ? Math.max(n[key], 1e-12) : 1));
    const total = tf.addN([term(reconstruction, 'reconstruction'), term(cluster, 'cluster'), term(diversity, 'diversity'),
      term(commitment, 'commitment'), term(structure, 'structure')]);
    return { total, reconstruction, cluster, diversity, commitment, structure };
  }

  /** Codebook `s` as `(KSUB, dsub)`, differentiable. */
  private book(s: number): Tensor {
    const { tf, dsub } = this;
    return tf.reshape(tf.slice(this.vars.codebooks, [s, 0, 0], [1, KSUB, dsub]), [KSUB, dsub]);
  }

  /** Logits `−‖z_s − c‖² / σ_s` of rows `zs` `(n, dsub)` against codebook `s`: `(n, KSUB)`. */
  private logits(zs: Tensor, s: number): Tensor {
    const { tf, mm } = this;
    const cs = this.book(s);
    const dist = tf.add(tf.sub(tf.sum(tf.square(zs), 1, true), tf.mul(mm(zs, tf.transpose(cs)), 2)), tf.reshape(tf.sum(tf.square(cs), 1), [1, KSUB]));
    const scale = tf.exp(tf.reshape(tf.slice(this.vars.logScale, [s, 0, 0], [1, 1, 1]), [1, 1]));
    return tf.div(tf.neg(dist), scale);
  }

  /**
   * Straight-through Gumbel-softmax (UNQ): forward with the hard (or, before `hardFrom`, the
   * relaxed) assignment, backward through the relaxed one.
   */
  private quantizeGumbel(z: Tensor, progress: number, step: number): { zHat: Tensor; zHard: Tensor; usage: Tensor | null } {
    const { tf, mm, options: o } = this;
    const { m } = this.init;
    const B = z.shape[0] as number;
    const noiseScale = o.noise[0] + (o.noise[1] - o.noise[0]) * progress;
    const temperature = o.temperature[0] * (o.temperature[1] / o.temperature[0]) ** progress;
    const parts = tf.split(z, m, 1);
    const zq: Tensor[] = [], zh: Tensor[] = [], usage: Tensor[] = [];
    for (let s = 0; s < m; s++) {
      let logits = this.logits(parts[s] as Tensor, s);
      if (noiseScale > 0) logits = tf.add(logits, tf.mul(this.gumbel(B, step, s), noiseScale));
      const soft = tf.softmax(tf.div(logits, temperature));
      const hard = tf.oneHot(tf.argMax(logits, 1), KSUB).toFloat();
      const cs = this.book(s);
      zq.push(mm(progress >= o.hardFrom ? this.straight(soft, hard) : soft, cs));
      zh.push(mm(hard, cs));
      usage.push(tf.mean(soft, 0));
    }
    return { zHat: tf.concat(zq, 1), zHard: tf.concat(zh, 1), usage: tf.stack(usage) };
  }

  /**
   * VQ-VAE straight-through: the nearest codeword forward, identity to z backward; the codebooks
   * get the gradient of the looked-up rows (a scatter-add, computed on the host).
   */
  private quantizeVq(z: Tensor): { zHat: Tensor; zHard: Tensor; usage: null } {
    const { tf } = this;
    const { m, targetDim } = this.init;
    const B = z.shape[0] as number;
    const idx = this.nearest(z, this.vars.codebooks);
    const picked = this.lookup(tf.reshape(this.vars.codebooks, [m * KSUB, this.dsub]), idx);
    const zHard = tf.reshape(picked, [B, targetDim]);
    return { zHat: tf.add(zHard, tf.sub(z, this.stop(z))), zHard, usage: null };
  }

  /** Mean relaxed code usage `(m, KSUB)` over the first rows of the batch (the diversity term of the VQ path). */
  private softUsage(z: Tensor): Tensor {
    const { tf } = this;
    const { m } = this.init;
    const rows = Math.min(z.shape[0] as number, 64);
    const parts = tf.split(tf.slice(z, [0, 0], [rows, z.shape[1] as number]), m, 1);
    return tf.stack(parts.map((zs, s) => tf.mean(tf.softmax(this.logits(zs, s)), 0)));
  }

  /** Gumbel(0, 1) noise `(rows, KSUB)` for subspace `s` at `step`: a seeded slice of a bank drawn once. */
  private gumbel(rows: number, step: number, s: number): Tensor {
    const { tf } = this;
    const bankRows = 4 * rows;
    if (this.noiseBank === undefined || (this.noiseBank.shape[0] as number) < bankRows) {
      this.noiseBank?.dispose();
      this.noiseBank = tf.tidy(() => {
        const u = tf.randomUniform([bankRows + rows, KSUB], 1e-6, 1 - 1e-6, 'float32', this.options.seed >>> 0);
        return tf.neg(tf.log(tf.neg(tf.log(u))));
      });
      tf.keep(this.noiseBank);
    }
    const off = Math.floor(mulberry32(this.options.seed + step * 131 + s)() * bankRows);
    return tf.slice(this.noiseBank, [off, 0], [rows, KSUB]);
  }

  /** Ranking loss of each anchor's (unquantized) latent against its neighbours' quantized latents. */
  private structureLoss(z: Tensor, zHat: Tensor, batch: TrainBatch): Tensor {
    const { tf, mm, options: o } = this;
    const { targetDim } = this.init;
    const G = batch.groups, S = batch.groupSize, L = S - 1;
    if (G === 0 || L < 2) return tf.scalar(0);
    const anchors = tf.slice(tf.reshape(z, [G, S, targetDim]), [0, 0, 0], [G, 1, targetDim]);
    const cands = tf.slice(tf.reshape(zHat, [G, S, targetDim]), [0, 1, 0], [G, L, targetDim]);
    const dots = tf.reshape(mm(anchors, tf.transpose(cands, [0, 2, 1])), [G, L]);
    const approx = o.l2 ? tf.sub(tf.sum(tf.square(cands), 2), tf.mul(dots, 2)) : tf.neg(dots);
    const truth = tf.tensor2d(batch.trueDist, [G, L]);
    const spread = tf.add(tf.sub(tf.max(truth, 1, true), tf.min(truth, 1, true)), 1e-12);
    const k = Math.min(o.k, L - 1);
    if (o.structureLoss === 'listwise') {
      const target = tf.softmax(tf.div(tf.neg(truth), tf.div(spread, 10)));
      const logp = tf.logSoftmax(tf.div(tf.neg(approx), tf.div(spread, 10)));
      return tf.mean(tf.neg(tf.sum(tf.mul(target, logp), 1)));
    }
    const pos = tf.reshape(tf.slice(approx, [0, 0], [G, k]), [G, k, 1]);
    const neg = tf.reshape(tf.slice(approx, [0, k], [G, L - k]), [G, 1, L - k]);
    const gap = tf.div(tf.sub(pos, neg), tf.reshape(spread, [G, 1, 1]));
    return tf.mean(tf.relu(tf.add(gap, o.margin)));
  }

  /**
   * One optimizer step on `batch`. The first call also fixes the normalisers (each term's value on
   * that batch).
   * @param progress training progress in [0, 1] (drives the temperature, noise and hard schedule)
   * @param step the step number (seeds the Gumbel noise)
   */
  step(batch: TrainBatch, progress: number, step: number): StepLosses {
    const { tf } = this;
    if (this.norms === undefined) {
      const first = tf.tidy(() => {
        const l = this.losses(batch, progress, step);
        return Object.fromEntries(Object.entries(l).map(([k, t]) => [k, t.dataSync()[0] as number]));
      }) as unknown as StepLosses;
      this.norms = first;
    }
    const trainable = this.optimizers.flatMap((g) => g.vars);
    if (trainable.length === 0) {
      const total = this.evaluate(batch, progress, step);
      return { total, reconstruction: 0, cluster: 0, diversity: 0, commitment: 0, structure: 0 };
    }
    const values = tf.tidy(() => {
      let kept: Tensor | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const p = this.losses(batch, progress, step);
        // variableGrads frees everything but its result: keep the terms for the report.
        kept = tf.keep(tf.stack([p.reconstruction, p.cluster, p.diversity, p.commitment, p.structure]));
        return p.total as TF.Scalar;
      }, trainable);
      for (const g of this.optimizers) g.opt.applyGradients(Object.fromEntries(g.vars.map((vv) => [vv.name, grads[vv.name] as Tensor])));
      const terms = kept as Tensor;
      const out = [value.dataSync()[0] as number, ...(terms.dataSync() as Float32Array)];
      terms.dispose();
      return out;
    });
    return { total: values[0] as number, reconstruction: values[1] as number, cluster: values[2] as number,
      diversity: values[3] as number, commitment: values[4] as number, structure: values[5] as number };
  }

  /** Evaluates the (weighted, normalised) loss of a batch without training. */
  evaluate(batch: TrainBatch, progress: number, step: number): number {
    return this.tf.tidy(() => this.losses(batch, progress, step).total.dataSync()[0] as number);
  }

  /** The current weights in the public layout. */
  weights(): LearnedCodecWeights {
    const { tf, vars: v } = this;
    const read = (t: Tensor): Float32Array => (t.dataSync() as Float32Array).slice();
    const t2 = (t: Tensor): Float32Array => tf.tidy(() => read(tf.transpose(t)));
    return {
      ...this.init,
      w1: t2(v.w1t), b1: read(v.b1), w2: t2(v.w2t), b2: read(v.b2),
      codebooks: read(v.codebooks), logScale: read(v.logScale),
      decoderW: t2(v.wdt), decoderB: read(v.bd),
    };
  }

  /** Frees every variable and optimizer slot. */
  dispose(): void {
    this.noiseBank?.dispose();
    for (const g of this.optimizers) g.opt.dispose();
    for (const v of Object.values(this.vars)) v.dispose();
  }
}
