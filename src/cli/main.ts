#!/usr/bin/env node
/**
 * @module cli/main
 * The `quantumdb` command line: one verb per command, `--help` on each, `--json` output, progress
 * bars on terminals. {@link run} parses and dispatches without touching `process`, so tests call it
 * in-process with their own streams; the bottom of this file wires it to the real process.
 *
 * Exit codes: 0 success, 1 error (a QuantumDBError: its message on stderr), 2 usage (the verb's help).
 * Bundled by rollup into `dist/cli.js`; compress workers run `dist/compress-worker.js` (see compress-worker.ts).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { benchCommand } from './bench.js';
import { benchmarkCommand } from './benchmark.js';
import { EXIT, UsageError, helpText, makeContext, parseCommandArgs, type CliIO, type Command } from './command.js';
import { compressCommand } from './compress.js';
import { buildCommand, infoCommand, queryCommand, trainCommand } from './index-commands.js';
import { isQuantumDBError } from './lib.js';
import { searchCommand } from './search.js';
import { serveCommand } from './serve.js';

/** Every verb, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  compressCommand, searchCommand, trainCommand, buildCommand, queryCommand, infoCommand, benchmarkCommand, benchCommand, serveCommand,
];

/** The package version, read from the package.json above this file (sources or dist/). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'quantumdb') return pkg.version ?? 'unknown';
    } catch {
      // not here; try the parent directory
    }
  }
  return 'unknown';
}

/** The top-level help: every verb with its one-line summary. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: quantumdb <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "quantumdb <command> --help" for the options of a command.
Exit codes: 0 success, 1 error, 2 usage error.
`;
}

function reportError(verb: string, e: unknown, json: boolean, io: CliIO): number {
  if (isQuantumDBError(e)) {
    if (json) io.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } })}\n`);
    else io.stderr.write(`quantumdb ${verb}: ${e.message} [${e.code}]\n`);
    return EXIT.ERROR;
  }
  const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
  io.stderr.write(json ? `${JSON.stringify({ error: { code: 'INTERNAL', message: String(e) } })}\n` : `quantumdb ${verb}: unexpected error; this is a bug, please report it:\n${text}\n`);
  return EXIT.ERROR;
}

function usage(command: Command, message: string, io: CliIO): number {
  io.stderr.write(`quantumdb ${command.name}: ${message}\n\n${helpText(command)}`);
  return EXIT.USAGE;
}

/**
 * Runs one command line.
 * @param argv - The arguments after the program name, e.g. `['search', '0.1,0.2', '--dataset', 'x.bin']`.
 * @param io - Output streams and the other process-level inputs.
 * @returns The exit code: 0 success, 1 error, 2 usage error.
 * @example
 * ```ts
 * const code = await run(['info', 'index.qdb', '--json'], { stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined) {
    io.stderr.write(mainHelp());
    return EXIT.USAGE;
  }
  if (verb === '--help' || verb === '-h' || (verb === 'help' && rest.length === 0)) {
    io.stdout.write(mainHelp());
    return EXIT.OK;
  }
  if (verb === '--version' || verb === '-v') {
    io.stdout.write(`${packageVersion()}\n`);
    return EXIT.OK;
  }
  const name = verb === 'help' ? rest[0] : verb;
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`quantumdb: unknown command ${JSON.stringify(name)}\n\n${mainHelp()}`);
    return EXIT.USAGE;
  }
  if (verb === 'help') {
    io.stdout.write(helpText(command));
    return EXIT.OK;
  }
  let parsed: ReturnType<typeof parseCommandArgs>;
  try {
    parsed = parseCommandArgs(command, rest);
  } catch (e) {
    if (e instanceof UsageError) return usage(command, e.message, io);
    throw e;
  }
  if (parsed.values.help === true) {
    io.stdout.write(helpText(command));
    return EXIT.OK;
  }
  const ctx = makeContext(io, parsed);
  try {
    return (await command.run(ctx)) ?? EXIT.OK;
  } catch (e) {
    if (e instanceof UsageError) return usage(command, e.message, io);
    return reportError(command.name, e, ctx.json, io);
  }
}

/** True when this module is the script Node was started with (directly or through an npm bin link). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * The script compress workers run: the compress-worker bundle beside this file, else this bundle
 * itself (compress-worker.ts, inside it, serves tasks in a worker). From the .ts sources: none.
 */
function compressWorkerScript(): URL | undefined {
  const ext = /\.m?js$/.exec(import.meta.url)?.[0];
  if (ext === undefined) return undefined;
  const sibling = new URL(`./compress-worker${ext}`, import.meta.url);
  return existsSync(fileURLToPath(sibling)) ? sibling : new URL(import.meta.url);
}

// In a compress worker thread this module is loaded only as part of a bundle; compress-worker.ts serves tasks there.
if (isMainThread && isEntryPoint()) {
  // A closed pipe (e.g. `quantumdb query … | head`) is not an error of ours.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); });
  run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, workerScript: compressWorkerScript() }).then(
    (code) => { process.exitCode = code; },
    (e: unknown) => { process.stderr.write(`quantumdb: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`); process.exitCode = EXIT.ERROR; },
  );
}
