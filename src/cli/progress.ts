/**
 * @module cli/progress
 * A one-line progress bar with rate and ETA, redrawn in place on stderr:
 * ```
 * compressing [██████████░░░░░░░░░░]  52%  52,114/100,000 entries  31,845/s  ETA 0:02
 * ```
 * It stays silent for the first second, so quick commands print nothing, and it is disabled
 * entirely when the output is not a terminal (or with --json / --quiet). Without a total it
 * shows the count and rate only.
 */
import type { OutputStream } from './command.js';

/** Options of {@link ProgressBar}. */
export interface ProgressOptions {
  label: string;
  /** What is counted, e.g. "entries" or "queries". */
  unit?: string;
  stream: OutputStream;
  /** False: every call is a no-op. */
  enabled: boolean;
  /** Milliseconds clock. */
  now: () => number;
  /** Nothing is drawn before this many ms (default 1000). */
  delayMs?: number;
  /** Minimum ms between redraws (default 100). */
  intervalMs?: number;
}

function fmtCount(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function fmtEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * Renders one progress line (no terminal control characters), at most `width` columns.
 * @example
 * ```ts
 * renderProgress({ label: 'build', done: 50, total: 100, rate: 25, width: 80 });
 * ```
 */
export function renderProgress(p: { label: string; done: number; total?: number; rate: number; unit?: string; width: number }): string {
  const unit = p.unit ? ` ${p.unit}` : '';
  const rate = Number.isFinite(p.rate) && p.rate > 0 ? `  ${p.rate < 10 ? p.rate.toFixed(1) : fmtCount(p.rate)}/s` : '';
  if (p.total === undefined || !Number.isFinite(p.total) || p.total <= 0) {
    return `${p.label}  ${fmtCount(p.done)}${unit}${rate}`.slice(0, p.width);
  }
  const fraction = Math.min(1, Math.max(0, p.done / p.total));
  const eta = `  ETA ${fmtEta(p.rate > 0 ? (p.total - p.done) / p.rate : NaN)}`;
  const tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}%  ${fmtCount(p.done)}/${fmtCount(p.total)}${unit}${rate}${eta}`;
  const barWidth = Math.max(0, Math.min(30, p.width - p.label.length - tail.length - 3));
  const filled = Math.round(fraction * barWidth);
  const bar = barWidth > 0 ? ` [${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}]` : '';
  return `${p.label}${bar}${tail}`.slice(0, p.width);
}

/** A progress bar for one task; call {@link update} as it advances and {@link finish} at the end. */
export class ProgressBar {
  private readonly start: number;
  private lastDraw = -Infinity;
  private drawn = false;

  constructor(private readonly options: ProgressOptions) {
    this.start = options.now();
  }

  /** Records progress and redraws when due. `total` may change (estimates) or stay unknown. */
  update(done: number, total?: number): void {
    if (!this.options.enabled) return;
    const now = this.options.now();
    const elapsed = now - this.start;
    if (elapsed < (this.options.delayMs ?? 1000) || now - this.lastDraw < (this.options.intervalMs ?? 100)) return;
    this.lastDraw = now;
    // A terminal that reports no size (columns 0 or undefined) gets 80.
    const width = Math.max(20, (this.options.stream.columns || 80) - 1);
    const line = renderProgress({ label: this.options.label, done, total, rate: done / (elapsed / 1000), unit: this.options.unit, width });
    this.options.stream.write(`\r${line}\u001b[K`);
    this.drawn = true;
  }

  /** Clears the line if anything was drawn. */
  finish(): void {
    if (this.drawn) this.options.stream.write('\r\u001b[K');
    this.drawn = false;
  }
}
