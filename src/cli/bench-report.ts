/**
 * @module cli/bench-report
 * The summary of `quantumdb bench`: every result compared with the previous saved run, as a text
 * table for the terminal and as one self-contained HTML page (inline CSS, inline SVG, no scripts,
 * nothing fetched) with the table and a plot of Recall@10 against QPS over the `ef` sweep.
 * Improvements are green, regressions red, changes within ±{@link NOISE_PERCENT}% grey, and a
 * benchmark without a previous value says "first run". Like Vectro+'s `bench --summary`
 * (a table of median, mean, unit and delta), but the direction of "better" is per benchmark.
 */

/** One benchmark result. */
export interface BenchRow {
  name: string;
  median: number;
  mean: number;
  unit: string;
  /** Which way is an improvement. */
  better: 'lower' | 'higher';
  samples: number;
}

/** One point of the `ef` sweep. */
export interface SweepPoint {
  ef: number;
  recall: number;
  qps: number;
}

/** A whole run, as saved in the report directory. */
export interface BenchRun {
  version: 1;
  date: string;
  machine: { cpu: string; cores: number; node: string; platform: string };
  config: { n: number; dim: number; queries: number; k: number; seed: number };
  rows: BenchRow[];
  sweep: SweepPoint[];
}

/** A result next to its previous value. */
export interface DeltaRow extends BenchRow {
  previous?: number;
  /** (median − previous) / previous × 100. */
  deltaPercent?: number;
  verdict: 'improved' | 'regressed' | 'unchanged' | 'first run';
}

/** Changes smaller than this many percent count as noise. */
export const NOISE_PERCENT = 1;

/**
 * Pairs each row of `current` with the row of the same name in `previous`.
 * @example
 * ```ts
 * compareRuns(run, lastRun).filter((r) => r.verdict === 'regressed');
 * ```
 */
export function compareRuns(current: BenchRun, previous: BenchRun | undefined): DeltaRow[] {
  const before = new Map((previous?.rows ?? []).map((r) => [r.name, r]));
  return current.rows.map((row) => {
    const old = before.get(row.name);
    if (old === undefined || !Number.isFinite(old.median) || old.median === 0 || old.unit !== row.unit) return { ...row, verdict: 'first run' };
    const deltaPercent = ((row.median - old.median) / Math.abs(old.median)) * 100;
    const better = row.better === 'lower' ? deltaPercent < 0 : deltaPercent > 0;
    const verdict = Math.abs(deltaPercent) < NOISE_PERCENT ? 'unchanged' : better ? 'improved' : 'regressed';
    return { ...row, previous: old.median, deltaPercent, verdict };
  });
}

/** A number with about 4 significant digits, thousands separated. */
export function formatValue(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const abs = Math.abs(x);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : abs >= 1 ? 3 : 4;
  const [int, frac] = x.toFixed(digits).split('.');
  return `${int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac ? `.${frac}` : ''}`;
}

function deltaText(r: DeltaRow): string {
  return r.deltaPercent === undefined ? 'first run' : `${r.deltaPercent >= 0 ? '+' : ''}${r.deltaPercent.toFixed(1)}%`;
}

/**
 * The terminal table: benchmark, median, mean, unit, delta.
 * @example
 * ```ts
 * process.stdout.write(renderTextTable(compareRuns(run, undefined)));
 * ```
 */
export function renderTextTable(rows: readonly DeltaRow[]): string {
  const header = ['benchmark', 'median', 'mean', 'unit', 'delta'];
  const body = rows.map((r) => [r.name, formatValue(r.median), formatValue(r.mean), r.unit, deltaText(r)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return `${[line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')}\n`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Round axis ticks covering [lo, hi], each with its label (as many decimals as the step needs). */
function ticks(lo: number, hi: number, count: number): { value: number; label: string }[] {
  const span = hi - lo || 1;
  const raw = span / count;
  const step = [1, 2, 2.5, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(raw))).find((s) => s >= raw)!;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (step / 10 ** Math.floor(Math.log10(step)) === 2.5 ? 1 : 0));
  const out: { value: number; label: string }[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) {
    const value = Number((i * step).toPrecision(12));
    const [int, frac] = value.toFixed(decimals).split('.');
    out.push({ value, label: `${int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac ? `.${frac}` : ''}` });
  }
  return out;
}

/**
 * An SVG line plot of Recall@10 (y) against QPS (x), one labelled point per `ef`; the previous run
 * (when given) as a grey dashed line.
 * @example
 * ```ts
 * const svg = renderSweepSvg(run.sweep, lastRun?.sweep);
 * ```
 */
export function renderSweepSvg(sweep: readonly SweepPoint[], previous: readonly SweepPoint[] = []): string {
  const W = 640;
  const H = 380;
  const m = { left: 64, right: 24, top: 28, bottom: 52 };
  const all = [...sweep, ...previous];
  const maxQps = Math.max(1, ...all.map((p) => p.qps)) * 1.08;
  const minRecall = Math.max(0, Math.min(1, ...all.map((p) => p.recall)) - 0.02);
  const yLo = Math.floor(minRecall * 50) / 50;
  const x = (qps: number) => m.left + (qps / maxQps) * (W - m.left - m.right);
  const y = (recall: number) => H - m.bottom - ((recall - yLo) / (1 - yLo || 1)) * (H - m.top - m.bottom);
  const path = (points: readonly SweepPoint[]) => points.map((p, i) => `${i ? 'L' : 'M'}${x(p.qps).toFixed(1)},${y(p.recall).toFixed(1)}`).join(' ');
  const xTicks = ticks(0, maxQps, 6).map((t) => `<line x1="${x(t.value)}" y1="${H - m.bottom}" x2="${x(t.value)}" y2="${m.top}" class="grid"/><text x="${x(t.value)}" y="${H - m.bottom + 18}" text-anchor="middle">${t.label}</text>`);
  const yTicks = ticks(yLo, 1, 5).map((t) => `<line x1="${m.left}" y1="${y(t.value)}" x2="${W - m.right}" y2="${y(t.value)}" class="grid"/><text x="${m.left - 8}" y="${y(t.value) + 4}" text-anchor="end">${t.label}</text>`);
  // Labels alternate above and below their points so that neighbours do not overprint each other.
  const points = sweep.map((p, i) => `<circle cx="${x(p.qps).toFixed(1)}" cy="${y(p.recall).toFixed(1)}" r="4.5" class="point"><title>ef=${p.ef}: Recall@10 ${p.recall.toFixed(4)}, ${formatValue(p.qps)} QPS</title></circle><text x="${(x(p.qps) + 6).toFixed(1)}" y="${(y(p.recall) + (i % 2 === 0 ? -8 : 17)).toFixed(1)}" class="label">ef=${p.ef}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="Recall@10 against QPS">
<style>text{font:12px system-ui,sans-serif;fill:#444}.grid{stroke:#e4e4e4}.axis{stroke:#555}.line{fill:none;stroke:#2563eb;stroke-width:2}.prev{fill:none;stroke:#9ca3af;stroke-width:1.5;stroke-dasharray:5 4}.point{fill:#2563eb}.label{font-size:11px;fill:#1e3a8a}</style>
${xTicks.join('\n')}
${yTicks.join('\n')}
<line x1="${m.left}" y1="${H - m.bottom}" x2="${W - m.right}" y2="${H - m.bottom}" class="axis"/><line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${H - m.bottom}" class="axis"/>
${previous.length > 1 ? `<path d="${path(previous)}" class="prev"/>` : ''}
${sweep.length > 1 ? `<path d="${path(sweep)}" class="line"/>` : ''}
${points.join('\n')}
<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">queries per second (one thread)</text>
<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">Recall@10</text>
</svg>`;
}

/**
 * The whole HTML page: header with the machine and data set, the comparison table, the plot.
 * @example
 * ```ts
 * writeFileSync('summary.html', renderHtmlReport(run, compareRuns(run, last), last));
 * ```
 */
export function renderHtmlReport(run: BenchRun, rows: readonly DeltaRow[], previous?: BenchRun): string {
  const { machine, config } = run;
  const tableRows = rows.map((r) => `<tr class="${r.verdict.replace(' ', '-')}"><td>${escapeHtml(r.name)}</td><td class="num">${formatValue(r.median)}</td><td class="num">${formatValue(r.mean)}</td><td>${escapeHtml(r.unit)}</td><td class="num delta">${escapeHtml(deltaText(r))}</td></tr>`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>QuantumDB benchmark summary</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:960px;padding:0 1rem;color:#1f2328;background:#fff}
h1{font-size:1.5rem;border-bottom:2px solid #2563eb;padding-bottom:.4rem}
h2{font-size:1.15rem;margin-top:2rem}
.meta{color:#57606a;font-size:.9rem}
table{border-collapse:collapse;width:100%;margin-top:1rem}
th,td{padding:.45rem .7rem;border-bottom:1px solid #d0d7de;text-align:left}
th{background:#f6f8fa}
.num{text-align:right;font-variant-numeric:tabular-nums;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
tr.improved .delta{color:#1a7f37;font-weight:600}
tr.regressed .delta{color:#cf222e;font-weight:600}
tr.unchanged .delta{color:#57606a}
tr.first-run .delta{color:#57606a;font-style:italic}
.legend{font-size:.85rem;color:#57606a}
</style>
</head>
<body>
<h1>QuantumDB benchmark summary</h1>
<p class="meta">${escapeHtml(run.date)} · ${escapeHtml(machine.cpu)}, ${machine.cores} cores, Node ${escapeHtml(machine.node)} (${escapeHtml(machine.platform)})<br>
Data: ${config.n.toLocaleString('en-US')} synthetic clustered vectors × ${config.dim}, ${config.queries} queries, k = ${config.k}, seed ${config.seed}.
${previous ? `Compared with the run of ${escapeHtml(previous.date)}.` : 'No previous run saved: every delta reads "first run".'}</p>
<table>
<thead><tr><th>benchmark</th><th class="num">median</th><th class="num">mean</th><th>unit</th><th class="num">Δ vs previous</th></tr></thead>
<tbody>
${tableRows.join('\n')}
</tbody>
</table>
<p class="legend">Green: better than the previous run by more than ${NOISE_PERCENT}%; red: worse; grey: within ±${NOISE_PERCENT}%. Lower is better for times, higher for rates and recall.</p>
<h2>Recall@10 against QPS (ef sweep)</h2>
${renderSweepSvg(run.sweep, previous?.sweep)}
<p class="legend">Blue: this run${previous && previous.sweep.length > 1 ? '; grey dashed: the previous run' : ''}.</p>
</body>
</html>
`;
}
