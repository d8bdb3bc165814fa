/**
 * @module cli/search
 * `quantumdb search "<v1,v2,…>" --dataset <file> --top-k 10`: exact top-k cosine similarity over
 * every record of a vector file (STREAM1, QSTREAM1 dequantized, PQSTREAM1 decoded, .fvecs, .npy,
 * JSONL), decoded in blocks and scored by the WebAssembly kernels (`scanVectorFile`); or
 * approximate search when the dataset is a `.qdb` index.
 */
import { EXIT, intOption, optionalInt, parseVectorText, requiredOption, type Command, type CommandContext } from './command.js';
import { isQdbFile, openIndex, printHits } from './db-files.js';
import { scanVectorFile, type SearchHit } from './lib.js';

/** What {@link exactSearch} found. */
export interface ExactSearchResult {
  hits: SearchHit[];
  /** Records compared. */
  scanned: number;
}

/**
 * Exact top-k by cosine similarity over every record of a vector file. An all-zero record scores 0.
 *
 * @param path - Any file `readVectors` reads (or its bytes).
 * @param query - The query vector.
 * @param k - Results wanted.
 * @param onRecord - Called after each block of records with the count so far.
 * @returns The best `k` hits (highest similarity first; ties keep file order) and the number of records scanned.
 * @throws QuantumDBError `ZERO_VECTOR` / `NON_FINITE_VALUE` for the query, `DIMENSION_MISMATCH` naming the first record of another length.
 * @example
 * ```ts
 * const { hits } = await exactSearch('embeddings.bin', new Float32Array([1, 0, 0]), 10);
 * ```
 */
export async function exactSearch(path: string | Uint8Array, query: Float32Array, k: number, onRecord?: (count: number) => void): Promise<ExactSearchResult> {
  return scanVectorFile(path, query, k, { onProgress: onRecord });
}

/** The `search` verb. */
export const searchCommand: Command = {
  name: 'search',
  summary: 'exact top-k cosine over a vector file, or ANN over a .qdb index',
  positionals: ['vector'],
  options: {
    dataset: { type: 'string' },
    'top-k': { type: 'string', short: 'k' },
    ef: { type: 'string' },
  },
  help: `Usage: quantumdb search "<v1,v2,...>" --dataset <file> [--top-k 10] [--ef N]

Finds the records most similar to a query vector. Over a vector file (STREAM1,
QSTREAM1 dequantized, PQSTREAM1 decoded, .fvecs, .npy, JSONL) the search is exact
cosine similarity over every record; over a .qdb index it is the index's approximate
search (HNSW + re-rank), scored by the index's metric. Prints "rank. id -> score".

Options:
  --dataset <file>    the vector file or .qdb index to search (required)
  -k, --top-k <n>     results to print (default 10)
  --ef <n>            beam width of the graph search (.qdb only)
`,
  async run(ctx: CommandContext) {
    const [text] = ctx.positionals as [string];
    const dataset = requiredOption(ctx.values, 'dataset');
    const k = intOption(ctx.values, 'top-k', 10);
    const ef = optionalInt(ctx.values, 'ef');
    const query = parseVectorText(text, 'the query vector');
    const t0 = ctx.now();
    let hits: SearchHit[];
    let scanned: number | undefined;
    let mode: 'exact' | 'index';
    if (await isQdbFile(dataset)) {
      mode = 'index';
      const db = await openIndex(dataset, true);
      hits = db.search(query, { k, ef });
    } else {
      mode = 'exact';
      if (ef !== undefined) ctx.io.stderr.write('quantumdb search: --ef applies to .qdb indexes only; ignored for an exact search\n');
      const bar = ctx.progress('searching', 'records');
      try {
        ({ hits, scanned } = await exactSearch(dataset, query, k, (n) => bar.update(n)));
      } finally {
        bar.finish();
      }
    }
    const seconds = (ctx.now() - t0) / 1000;
    ctx.printJson({ mode, hits, ...(scanned === undefined ? {} : { scanned }), seconds });
    printHits(ctx, hits);
    return EXIT.OK;
  },
};
