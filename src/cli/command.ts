/**
 * @module cli/command
 * What every verb shares: the injected input/output ({@link CliIO}), the command description
 * ({@link Command}) with its help text, argument parsing on `node:util` `parseArgs`, usage errors
 * (exit 2), option and vector parsers, and number formatting for human-readable output.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ProgressBar } from './progress.js';

/** A writable text stream: `process.stdout`/`stderr`, or a test double. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Everything a command touches outside itself, so tests can run verbs in-process. */
export interface CliIO {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Aborted to stop a long-running verb (`serve` shuts down gracefully); default: SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** The CLI bundle, for worker threads; undefined when running from the TypeScript sources. */
  workerScript?: URL;
  /** Milliseconds clock (tests pass a fake one). */
  now?: () => number;
  /** Called with the address once `serve` listens (tests). */
  onListening?: (url: string) => void;
}

/** Exit codes. */
export const EXIT = { OK: 0, ERROR: 1, USAGE: 2 } as const;

/** A mistake in the command line itself: exit code 2 and the verb's help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** One verb of the command line. */
export interface Command {
  name: string;
  /** One line for the verb list. */
  summary: string;
  /** The full `--help` text, without the common options (they are appended). */
  help: string;
  options: OptionSpec;
  /** Names of the positionals, in order; `?` marks optional ones. */
  positionals: readonly string[];
  run(ctx: CommandContext): Promise<number | void>;
}

/** What a verb's `run` gets. */
export interface CommandContext {
  io: CliIO;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  json: boolean;
  quiet: boolean;
  now: () => number;
  /** Prints a line on stdout (suppressed by --json). */
  print(line?: string): void;
  /** Prints a value as JSON on stdout (only with --json). */
  printJson(value: unknown): void;
  /** A progress bar on stderr, drawn only when both streams are terminals and neither --json nor --quiet is set. */
  progress(label: string, unit?: string): ProgressBar;
}

/** Options every verb accepts. */
export const COMMON_OPTIONS: OptionSpec = {
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
};

const COMMON_HELP: readonly (readonly [string, string])[] = [
  ['--json', 'print the result as JSON on stdout'],
  ['-q, --quiet', 'no progress bar'],
  ['-h, --help', 'show this help'],
];
/** Where option descriptions start when a verb's help lists no options of its own. */
const DEFAULT_HELP_COLUMN = 22;

/** The help text of a verb, common options included. */
export function helpText(command: Command): string {
  // The common options line up with the verb's own: the column where its first description starts.
  const own = /^ {2}-\S.*?\s{2,}(?=\S)/m.exec(command.help);
  const column = own ? own[0].length : DEFAULT_HELP_COLUMN;
  const common = COMMON_HELP.map(([flag, text]) => `  ${flag}`.padEnd(column) + text).join('\n');
  return `${command.help.trimEnd()}\n${common}\n`;
}

// Arguments such as "-0.5,1" look like options to parseArgs; they are swapped for placeholders first.
const PLACEHOLDER = '\u0000arg';
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity|NaN)/;

/** parseArgs' messages, shortened to what a user of this command line needs. */
function parseArgsMessage(message: string): string {
  const option = /Option '(?:-\w, )?(--[\w-]+)/.exec(message)?.[1];
  if (/^Unknown option '([^']+)'/.test(message)) return `unknown option ${/^Unknown option '([^']+)'/.exec(message)![1]}`;
  if (option && /argument missing/.test(message)) return `${option} needs a value`;
  if (option && /does not take an argument/.test(message)) return `${option} takes no value`;
  return message;
}

/**
 * Parses a verb's arguments with `node:util` `parseArgs` (strict: unknown options and missing
 * values are usage errors). Values that start with `-` and a digit are never taken for options.
 * @throws UsageError for anything parseArgs rejects, or a wrong number of positionals.
 */
export function parseCommandArgs(command: Command, argv: readonly string[]): { values: CommandContext['values']; positionals: string[] } {
  const saved: string[] = [];
  const masked = argv.map((a) => (NEGATIVE_NUMBER.test(a) ? `${PLACEHOLDER}${saved.push(a) - 1}` : a));
  const unmask = (s: string) => (s.startsWith(PLACEHOLDER) ? saved[Number(s.slice(PLACEHOLDER.length))]! : s);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: masked, options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(parseArgsMessage((e as Error).message.split('\n')[0]!.replace(/\u0000arg(\d+)/g, (_, i: string) => saved[Number(i)]!)));
  }
  const values: CommandContext['values'] = {};
  for (const [key, value] of Object.entries(parsed.values)) {
    if (Array.isArray(value)) throw new UsageError(`--${key} may be given once`);
    values[key] = typeof value === 'string' ? unmask(value) : value;
  }
  const positionals = parsed.positionals.map(unmask);
  if (values.help) return { values, positionals };
  const required = command.positionals.filter((p) => !p.endsWith('?'));
  if (positionals.length < required.length) throw new UsageError(`missing ${required.slice(positionals.length).map((p) => `<${p}>`).join(' ')}`);
  if (positionals.length > command.positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[command.positionals.length])}`);
  return { values, positionals };
}

/**
 * An integer option.
 * @throws UsageError when present but not an integer in [min, max].
 */
export function intOption(values: CommandContext['values'], name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === 'string' && /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer${max === Number.MAX_SAFE_INTEGER ? ` ≥ ${min}` : ` from ${min} to ${max}`}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** An integer option that may be absent. */
export function optionalInt(values: CommandContext['values'], name: string, min = 1): number | undefined {
  return values[name] === undefined ? undefined : intOption(values, name, 0, min);
}

/**
 * A string option restricted to `choices`.
 * @throws UsageError for any other value.
 */
export function choiceOption<T extends string>(values: CommandContext['values'], name: string, choices: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (!choices.includes(raw as T)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

/** A required string option. */
export function requiredOption(values: CommandContext['values'], name: string): string {
  const raw = values[name];
  if (typeof raw !== 'string' || raw === '') throw new UsageError(`--${name} is required`);
  return raw;
}

const NUMBER_TOKEN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(Infinity|NaN)$/;

/**
 * Parses a vector given on the command line: `"0.1,0.2,-0.3"` (spaces allowed) or a JSON array.
 * `NaN`/`Infinity` are accepted here so that the database reports them (NON_FINITE_VALUE).
 * @throws UsageError for an empty vector or a token that is not a number.
 */
export function parseVectorText(text: string, what: string): Float32Array {
  const body = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  const tokens = body.split(/[\s,]+/).filter((t) => t !== '');
  if (tokens.length === 0) throw new UsageError(`${what} is empty; pass numbers separated by commas, e.g. "0.1,0.2,0.3"`);
  const bad = tokens.find((t) => !NUMBER_TOKEN.test(t));
  if (bad !== undefined) throw new UsageError(`${what} holds ${JSON.stringify(bad)}, which is not a number; pass numbers separated by commas`);
  return Float32Array.from(tokens, Number);
}

/** 1234567 → "1,234,567" (locale-independent). */
export function fmtInt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = Math.round(Math.abs(n)).toString();
  return (n < 0 ? '-' : '') + s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Bytes in B, KiB, MiB or GiB with one decimal. */
export function fmtBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${bytes} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Seconds as "0.42s" / "12.3s" / "2m05s". */
export function fmtSeconds(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(2)}s`;
  if (seconds < 120) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.round(seconds - 60 * m)).padStart(2, '0')}s`;
}

/** Builds the context a verb runs with. */
export function makeContext(io: CliIO, parsed: { values: CommandContext['values']; positionals: string[] }): CommandContext {
  const json = parsed.values.json === true;
  const quiet = parsed.values.quiet === true;
  const now = io.now ?? (() => performance.now());
  const showProgress = !json && !quiet && io.stderr.isTTY === true && io.stdout.isTTY === true;
  return {
    io, json, quiet, now,
    values: parsed.values,
    positionals: parsed.positionals,
    print: (line = '') => { if (!json) io.stdout.write(`${line}\n`); },
    printJson: (value) => { if (json) io.stdout.write(`${JSON.stringify(value, null, 2)}\n`); },
    progress: (label, unit) => new ProgressBar({ label, unit, stream: io.stderr, enabled: showProgress, now }),
  };
}
