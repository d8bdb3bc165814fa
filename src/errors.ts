/**
 * @module errors
 * The one error type QuantumDB throws. Every failure a caller can act on carries a stable `code`
 * (branch on it) and a message that says what to do next. Messages are built from one table so
 * the wording of each code lives in a single place.
 */

const MESSAGES = {
  INVALID_ARGUMENT: (what: string) => `${what}`,
  DIMENSION_MISMATCH: (expected: number, got: number, where: string) =>
    `${where} has ${got} dimensions but this database holds ${expected}-dimensional vectors; pass vectors of length ${expected}.`,
  NON_FINITE_VALUE: (where: string) =>
    `${where} contains NaN or Infinity; replace non-finite values before adding or searching.`,
  ZERO_VECTOR: (where: string) =>
    `${where} has zero length, so its cosine similarity is undefined; drop it or use metric 'l2' or 'ip'.`,
  DUPLICATE_ID: (id: string) =>
    `id ${JSON.stringify(id)} is already in the database (or twice in this batch); use unique ids, or delete the old entry first.`,
  EMPTY_ID: (index: number) => `the id at position ${index} is empty or not a string; every id must be a non-empty string.`,
  UNKNOWN_ID: (id: string) => `id ${JSON.stringify(id)} is not in the database; check the id or add it first.`,
  NOT_TRAINED: (what: string) => `${what}: call buildIndex() first.`,
  CAPACITY_EXCEEDED: (what: string) => `${what}`,
  CORRUPT_FILE: (what: string) => `${what}`,
  UNSUPPORTED_VERSION: (what: string) => `${what}`,
  IO_ERROR: (what: string) => `${what}`,
  WASM_UNAVAILABLE: (what: string) =>
    `${what}; QuantumDB needs WebAssembly with SIMD (Node 16.4+, Chrome 91+, Firefox 89+, Safari 16.4+).`,
  INTERNAL: (what: string) => `internal error: ${what}. This is a bug in QuantumDB; please report it with the steps that led to it.`,
} as const;

/** Stable error codes. Branch on these, never on the message text. */
export type ErrorCode = keyof typeof MESSAGES;

type MessageArgs<C extends ErrorCode> = Parameters<(typeof MESSAGES)[C]>;

/**
 * The error QuantumDB throws for every failure a caller can act on.
 *
 * @example
 * ```ts
 * try { db.search(new Float32Array(3)); }
 * catch (e) { if (isQuantumDBError(e) && e.code === 'DIMENSION_MISMATCH') { … } }
 * ```
 */
export class QuantumDBError extends Error {
  /** Always `'QuantumDBError'`; {@link isQuantumDBError} relies on it. */
  override readonly name = 'QuantumDBError';
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Structured facts about the failure (byte offset, index, id …) where there are any. */
  readonly details?: Record<string, unknown>;

  /**
   * @param code the stable code
   * @param message what happened and what to do
   * @param details structured facts (byte offset, index, id …)
   * @param cause the underlying error, if any
   * @throws nothing
   */
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

/**
 * Builds a {@link QuantumDBError} whose message comes from the table of messages for `code`.
 * @internal
 */
export function qdbError<C extends ErrorCode>(code: C, args: MessageArgs<C>, details?: Record<string, unknown>, cause?: unknown): QuantumDBError {
  const format = MESSAGES[code] as (...a: MessageArgs<C>) => string;
  return new QuantumDBError(code, format(...args), details, cause);
}

/**
 * True when `e` is a {@link QuantumDBError}. Works across the ESM and CommonJS builds, where
 * `instanceof` fails because each build has its own class.
 * @param e anything caught
 * @returns whether `e` is a QuantumDBError (and narrows its type)
 * @throws nothing
 * @example
 * ```ts
 * try { db.search(query); } catch (e) { if (isQuantumDBError(e) && e.code === 'NOT_TRAINED') await db.buildIndex(); }
 * ```
 */
export function isQuantumDBError(e: unknown): e is QuantumDBError {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'QuantumDBError' && typeof (e as { code?: unknown }).code === 'string';
}
