/** Shared test helpers: coded-error assertions and seeded data. */
import { expect } from 'vitest';
import { isQuantumDBError, type ErrorCode, type QuantumDBError } from '../src/errors.js';

/** Asserts that `fn` throws a QuantumDBError with `code`; fails when nothing is thrown. */
export function expectQdbError(fn: () => unknown, code: ErrorCode): QuantumDBError {
  let thrown: unknown = undefined;
  try { fn(); } catch (e) { thrown = e; }
  expect(thrown, `expected a QuantumDBError ${code}, but nothing was thrown`).toBeDefined();
  expect(isQuantumDBError(thrown), `expected a QuantumDBError, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: string }).code).toBe(code);
  return thrown as QuantumDBError;
}

/** Async twin of {@link expectQdbError}. */
export async function expectQdbErrorAsync(fn: () => Promise<unknown>, code: ErrorCode): Promise<void> {
  let thrown: unknown = undefined;
  try { await fn(); } catch (e) { thrown = e; }
  expect(thrown, `expected a QuantumDBError ${code}, but nothing was thrown`).toBeDefined();
  expect(isQuantumDBError(thrown), `expected a QuantumDBError, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: string }).code).toBe(code);
}
