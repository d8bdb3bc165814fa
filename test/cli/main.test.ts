/**
 * The command line's frame: the top-level help, every verb's --help (pinned as inline snapshots),
 * usage errors (exit 2 with the verb's help on stderr), error reporting (exit 1), --json errors,
 * --version, and the argument parser's handling of negative numbers.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS, packageVersion } from '../../src/cli/main.js';
import { helpText, parseVectorText, UsageError } from '../../src/cli/command.js';
import { cli } from './cli-helpers.js';

describe('help', () => {
  it('lists every verb', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatchInlineSnapshot(`
      "Usage: quantumdb <command> [options]

      Commands:
        compress   JSONL embeddings → Vectro+ STREAM1 (or QSTREAM1 with --quantize)
        search     exact top-k cosine over a vector file, or ANN over a .qdb index
        train      train the learned codec on a vector file and save it as safetensors
        build      build a .qdb index (PQ codes + HNSW graph) from a vector file
        query      search a .qdb index with one vector or a file of query vectors
        info       show what a .qdb index or a vector file holds
        benchmark  Recall@k, QPS and latency percentiles of a .qdb index against ground truth
        bench      run the benchmark suite; --summary writes an HTML report with deltas
        serve      serve a .qdb index over HTTP (search, add, delete, health, stats)

      Run "quantumdb <command> --help" for the options of a command.
      Exit codes: 0 success, 1 error, 2 usage error.
      "
    `);
  });

  it('with no arguments prints the help on stderr and exits 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Usage: quantumdb <command>/);
  });

  it('every verb has --help naming each of its options', async () => {
    for (const command of COMMANDS) {
      const r = await cli([command.name, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(helpText(command));
      expect(r.stdout.startsWith(`Usage: quantumdb ${command.name}`)).toBe(true);
      for (const option of Object.keys(command.options)) expect(r.stdout, `${command.name} --${option}`).toContain(`--${option}`);
      // Every option's description, the common ones included, starts in one column.
      const columns = r.stdout.split('\n').filter((line) => /^ {2}-/.test(line)).map((line) => /^ {2}-\S.*?\s{2,}(?=\S)/.exec(line)?.[0].length);
      expect(new Set(columns).size, `${command.name}: ${JSON.stringify(columns)}`).toBe(1);
      expect((await cli(['help', command.name])).stdout).toBe(r.stdout);
    }
  });

  it('pins the help of compress, search, query, benchmark and serve', async () => {
    expect((await cli(['compress', '-h'])).stdout).toMatchInlineSnapshot(`
      "Usage: quantumdb compress <in.jsonl> <out.bin> [--quantize] [--workers N]

      Converts JSONL embeddings, one {"id": "...", "vector": [...]} object per line, to a
      Vectro+ STREAM1 file (f32 vectors), or QSTREAM1 with --quantize (one byte per value,
      per-dimension min/max tables). Streams the input and parses it on worker threads;
      the output is byte for byte what Vectro+ writes. .fvecs, .npy and Vectro+ files are
      accepted as input too.

      Options:
        --quantize          write QSTREAM1 instead of STREAM1
        --workers <n>       parser threads (default: one per core; 0 = main thread only)
        --json              print the result as JSON on stdout
        -q, --quiet         no progress bar
        -h, --help          show this help
      "
    `);
    expect((await cli(['search', '-h'])).stdout).toMatchInlineSnapshot(`
      "Usage: quantumdb search "<v1,v2,...>" --dataset <file> [--top-k 10] [--ef N]

      Finds the records most similar to a query vector. Over a vector file (STREAM1,
      QSTREAM1 dequantized, PQSTREAM1 decoded, .fvecs, .npy, JSONL) the search is exact
      cosine similarity over every record; over a .qdb index it is the index's approximate
      search (HNSW + re-rank), scored by the index's metric. Prints "rank. id -> score".

      Options:
        --dataset <file>    the vector file or .qdb index to search (required)
        -k, --top-k <n>     results to print (default 10)
        --ef <n>            beam width of the graph search (.qdb only)
        --json              print the result as JSON on stdout
        -q, --quiet         no progress bar
        -h, --help          show this help
      "
    `);
    expect((await cli(['query', '-h'])).stdout).toMatchInlineSnapshot(`
      "Usage: quantumdb query --index index.qdb (--vector "<v1,v2,...>" | --query-file <file>) [--top-k 10] [--ef N]

      Searches a .qdb index. With --vector prints "rank. id -> score"; with --query-file
      (.fvecs, .npy, JSONL or Vectro+) prints the hits of every query under "# query <id>".

      Options:
        --index <file>        the .qdb index (required)
        --vector <v1,...>     one query vector
        --query-file <file>   a file of query vectors
        -k, --top-k <n>       results per query (default 10)
        --ef <n>              beam width of the graph search (default: the index's)
        --rerank <n>          candidates re-scored exactly (default: the index's; 0 = off)
        --json                print the result as JSON on stdout
        -q, --quiet           no progress bar
        -h, --help            show this help
      "
    `);
    expect((await cli(['benchmark', '-h'])).stdout).toMatchInlineSnapshot(`
      "Usage: quantumdb benchmark --index index.qdb --queries <file> --ground-truth <ivecs> [--top-k 10] [--ef 16,32,64]

      Measures an index: Recall@k against exact neighbours, queries per second and the
      p50/p95/p99 latency of one search call, on one thread. The ground truth (.ivecs) holds
      base-row numbers, so build the index from the base .fvecs/.npy file (ids = row numbers).

      Options:
        --index <file>          the .qdb index (required)
        --queries <file>        query vectors (.fvecs, .npy, JSONL, Vectro+) (required)
        --ground-truth <file>   exact neighbours, one .ivecs row per query (required)
        -k, --top-k <n>         k of Recall@k (default 10)
        --ef <n[,n...]>         beam widths to measure (default: the index's)
        --rerank <n>            candidates re-scored exactly (default: the index's)
        --warmup <n>            untimed queries before each setting (default 20)
        --json                  print the result as JSON on stdout
        -q, --quiet             no progress bar
        -h, --help              show this help
      "
    `);
    expect((await cli(['serve', '-h'])).stdout).toMatchInlineSnapshot(`
      "Usage: quantumdb serve --index index.qdb [--port 6333] [--grpc-port 6334] [--host 127.0.0.1]

      Serves an index as JSON over HTTP:
        POST /search  {"vector": [...], "k": 10, "ef": 64, "filter": {"ids": [...], "metadata": {...}}}
        POST /add     {"items": [{"id": "a", "vector": [...], "metadata": {...}}]}
        POST /delete  {"ids": ["a", "b"]}
        POST /build   {"codec": "pq" | "opq"}   (trains and builds the index; searches get 409
                      meanwhile; an opened index needs --vectors memory)
        GET  /health, GET /stats
      Errors are {"error": {"code", "message"}} with 400 (invalid request), 403 (read-only),
      404 (unknown id or route), 409 (duplicate id), 413 (body too large) or 500.
      With --grpc-port, also serves gRPC (proto/quantumdb.proto in the package: Add, Search,
      BatchSearch, BuildIndex, Delete, Stats, Health; plus grpc.health.v1 and server reflection).
      Stops on SIGINT/SIGTERM after answering the requests in flight (HTTP and gRPC).

      Options:
        --index <file>            the .qdb index (required)
        -p, --port <n>            TCP port (default 6333; 0 = any free port)
        --grpc-port <n>           also serve gRPC on this port (0 = any free port)
        --host <addr>             address to bind (default 127.0.0.1, loopback only)
        --max-body-bytes <n>      largest request body or gRPC message (default 16777216)
        --read-only               refuse /add, /delete and /build (403)
        --save-on-exit            save the index back to --index on shutdown if it changed
        --shutdown-timeout <s>    seconds to wait for in-flight requests (default 10)
        --vectors <where>         re-rank vectors left in the file ("mapped", default) or
                                  loaded into memory ("memory": exact inserts, and /build works)
        --json                    print the result as JSON on stdout
        -q, --quiet               no progress bar
        -h, --help                show this help
      "
    `);
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${packageVersion()}\n`);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('usage errors exit 2 with the verb help on stderr', () => {
  const cases: [string, string[]][] = [
    ['unknown command', ['frobnicate']],
    ['missing positionals', ['compress', 'in.jsonl']],
    ['extra positional', ['info', 'a', 'b']],
    ['unknown option', ['search', '1,2', '--dataset', 'x', '--fast']],
    ['missing option value', ['search', '1,2', '--dataset']],
    ['missing required option', ['search', '1,2']],
    ['bad integer', ['search', '1,2', '--dataset', 'x', '--top-k', '0']],
    ['bad vector', ['search', '1,two,3', '--dataset', 'x']],
    ['bad metric', ['build', '--input', 'a', '--output', 'b', '--metric', 'manhattan']],
    ['both query sources', ['query', '--index', 'a', '--vector', '1', '--query-file', 'q']],
    ['bad ef list', ['benchmark', '--index', 'a', '--queries', 'q', '--ground-truth', 'g', '--ef', '16,x']],
  ];
  for (const [name, argv] of cases) {
    it(name, async () => {
      const r = await cli(argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('Usage: quantumdb');
    });
  }

  it('pins the messages', async () => {
    const first = async (argv: string[]) => (await cli(argv)).stderr.split('\n')[0];
    expect(await first(['frobnicate'])).toMatchInlineSnapshot(`"quantumdb: unknown command "frobnicate""`);
    expect(await first(['compress', 'in.jsonl'])).toMatchInlineSnapshot(`"quantumdb compress: missing <out.bin>"`);
    expect(await first(['search', '1,2', '--dataset', 'x', '--fast'])).toMatchInlineSnapshot(`"quantumdb search: unknown option --fast"`);
    expect(await first(['search', '1,2', '--dataset'])).toMatchInlineSnapshot(`"quantumdb search: --dataset needs a value"`);
    expect(await first(['compress', 'a', 'b', '--quantize=yes'])).toMatchInlineSnapshot(`"quantumdb compress: --quantize takes no value"`);
    expect(await first(['search', '1,2'])).toMatchInlineSnapshot(`"quantumdb search: --dataset is required"`);
    expect(await first(['search', '1,2', '--dataset', 'x', '--top-k', '0'])).toMatchInlineSnapshot(`"quantumdb search: --top-k must be an integer ≥ 1, got "0""`);
    expect(await first(['search', '1,two,3', '--dataset', 'x'])).toMatchInlineSnapshot(`"quantumdb search: the query vector holds "two", which is not a number; pass numbers separated by commas"`);
    expect(await first(['query', '--index', 'a', '--vector', '1', '--query-file', 'q'])).toMatchInlineSnapshot(`"quantumdb query: pass exactly one of --vector and --query-file"`);
  });
});

describe('errors exit 1 with the message on stderr', () => {
  it('a QuantumDBError: message and code', async () => {
    const r = await cli(['info', '/nonexistent/file.bin']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatchInlineSnapshot(`
      "quantumdb info: could not stat /nonexistent/file.bin (ENOENT: no such file or directory, stat '/nonexistent/file.bin'); check that the path exists [IO_ERROR]
      "
    `);
  });

  it('--json: the error as JSON on stderr', async () => {
    const r = await cli(['info', '/nonexistent/file.bin', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'IO_ERROR', details: { path: '/nonexistent/file.bin' } } });
  });
});

describe('argument parsing', () => {
  it('takes "-0.5,1" as a value, not an option', async () => {
    expect(Array.from(parseVectorText('-0.5, 1,2e-1', 'v'))).toEqual([-0.5, 1, Math.fround(0.2)]);
    expect(Array.from(parseVectorText('[1, -2]', 'v'))).toEqual([1, -2]);
    const r = await cli(['search', '-0.5,1', '--dataset', '/nonexistent/x.bin']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/IO_ERROR/);
  });

  it('rejects an empty vector', () => {
    expect(() => parseVectorText(' , ', 'the query')).toThrow(UsageError);
  });
});
