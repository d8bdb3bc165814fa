/** The progress bar: its line (rate, ETA, unknown totals), the one-second delay, redraw throttling, and quiet mode. */
import { describe, expect, it } from 'vitest';
import { ProgressBar, renderProgress } from '../../src/cli/progress.js';
import { writeFile } from 'node:fs/promises';
import { MemoryStream, cli, jsonlOf, randomRows, tempDir } from './cli-helpers.js';

describe('renderProgress', () => {
  it('draws the bar, percentage, counts, rate and ETA', () => {
    expect(renderProgress({ label: 'compressing', done: 52_114, total: 100_000, rate: 31_845, unit: 'entries', width: 100 })).toMatchInlineSnapshot(`"compressing [████████████████░░░░░░░░░░░░░░]  52%  52,114/100,000 entries  31,845/s  ETA 0:02"`);
    expect(renderProgress({ label: 'graph', done: 3, total: 4, rate: 0.5, width: 60 })).toMatchInlineSnapshot(`"graph [███████████████████░░░░░░]  75%  3/4  0.5/s  ETA 0:02"`);
  });

  it('shows count and rate only when the total is unknown, and fits the width', () => {
    expect(renderProgress({ label: 'reading', done: 1234, rate: 999.6, unit: 'vectors', width: 80 })).toMatchInlineSnapshot(`"reading  1,234 vectors  1,000/s"`);
    expect(renderProgress({ label: 'compressing', done: 1, total: 2, rate: 1, width: 30 }).length).toBeLessThanOrEqual(30);
  });
});

describe('ProgressBar', () => {
  const make = (enabled: boolean) => {
    let now = 0;
    const stream = new MemoryStream(true, 80);
    const bar = new ProgressBar({ label: 'work', unit: 'items', stream, enabled, now: () => now });
    return { bar, stream, at: (ms: number) => { now = ms; } };
  };

  it('stays silent during the first second, then redraws at most every 100 ms, and clears at the end', () => {
    const { bar, stream, at } = make(true);
    at(500);
    bar.update(10, 100);
    expect(stream.text).toBe('');
    at(1000);
    bar.update(20, 100);
    expect(stream.text).toMatch(/^\r {0}work \[.*\]  20%  20\/100 items  20\/s  ETA 0:04\u001b\[K$/);
    const drawn = stream.text;
    at(1050);
    bar.update(21, 100);
    expect(stream.text).toBe(drawn);
    at(1200);
    bar.update(30, 100);
    expect(stream.text.length).toBeGreaterThan(drawn.length);
    bar.finish();
    expect(stream.text.endsWith('\r\u001b[K')).toBe(true);
  });

  it('writes nothing when disabled', () => {
    const { bar, stream, at } = make(false);
    at(5000);
    bar.update(1, 2);
    bar.finish();
    expect(stream.text).toBe('');
  });

  it('is drawn only when stdout and stderr are terminals and neither --quiet nor --json is given', async () => {
    const tmp = await tempDir();
    try {
      const input = tmp.path('in.jsonl');
      await writeFile(input, jsonlOf(randomRows(30_000, 8, 1), 4)); // > 1 MiB: several blocks, several updates
      const drawn = async (stdoutTTY: boolean, extra: string[] = []) => {
        let now = 0;
        const stderr = new MemoryStream(true);
        // Each reading of the clock advances it by 0.4 s, so the one-second delay passes at once.
        const r = await cli(['compress', input, tmp.path('out.bin'), '--workers', '0', ...extra], { stdout: new MemoryStream(stdoutTTY), stderr, now: () => (now += 400) });
        expect(r.code).toBe(0);
        return stderr.text.includes('\r');
      };
      expect(await drawn(true)).toBe(true);
      expect(await drawn(false)).toBe(false);
      expect(await drawn(true, ['--quiet'])).toBe(false);
      expect(await drawn(true, ['--json'])).toBe(false);
    } finally {
      await tmp.cleanup();
    }
  });
});
