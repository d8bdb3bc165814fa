/** Shared helpers of the CLI and server tests: in-process runs of the CLI, temp dirs, seeded vectors. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/command.js';
import { mulberry32 } from '../../src/random.js';

/** A stdout/stderr double that keeps what was written. */
export class MemoryStream {
  text = '';
  constructor(readonly isTTY = false, readonly columns = 80) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** Runs the CLI in-process and returns the exit code and both outputs. */
export async function cli(argv: readonly string[], extra: Partial<CliIO> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new MemoryStream();
  const stderr = new MemoryStream();
  const code = await run(argv, { stdout, stderr, ...extra });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A fresh temp directory and its cleanup. */
export async function tempDir(prefix = 'qdb-cli-'): Promise<{ dir: string; path: (name: string) => string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, path: (name) => join(dir, name), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** mulberry32 PRNG. */
export const rng = mulberry32;

/** n seeded rows of dim values in [-1, 1), as Float32Arrays. */
export function randomRows(n: number, dim: number, seed: number): Float32Array[] {
  const random = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => random() * 2 - 1));
}

/** JSONL text of rows with ids "v0", "v1", …; `digits` decimals (default: shortest f64 text of each f32). */
export function jsonlOf(rows: readonly Float32Array[], digits?: number): string {
  return rows.map((v, i) => `{"id":"v${i}","vector":[${Array.from(v, (x) => (digits === undefined ? String(x) : x.toFixed(digits))).join(',')}]}`).join('\n') + '\n';
}

/** The shared Vectro+ golden folder beside the repository. */
export const GOLDEN_DIR = fileURLToPath(new URL('../../../shared/golden/', import.meta.url));

/** The built CLI bundle, when `npm run build` has made it. */
export const DIST_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
