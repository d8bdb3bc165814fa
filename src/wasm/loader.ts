/**
 * @module wasm/loader
 * Compiles the embedded kernel bytes once per process and instantiates one module per database,
 * each with its own linear memory. The `abort` import turns a trap inside a kernel into a
 * `QuantumDBError` (`CAPACITY_EXCEEDED` when the allocator runs out of memory, else `INTERNAL`).
 */
import { qdbError } from '../errors.js';
import { KERNELS_WASM_BASE64 } from './kernels.generated.js';
import type { KernelExports } from './abi.js';

let compiled: WebAssembly.Module | undefined;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  if (typeof Buffer !== 'undefined') return Uint8Array.from(Buffer.from(text, 'base64'));
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function compile(): WebAssembly.Module {
  if (compiled) return compiled;
  if (typeof WebAssembly !== 'object') throw qdbError('WASM_UNAVAILABLE', ['this runtime has no WebAssembly']);
  const bytes = decodeBase64(KERNELS_WASM_BASE64);
  if (!WebAssembly.validate(bytes)) throw qdbError('WASM_UNAVAILABLE', ['this runtime does not support WebAssembly SIMD']);
  compiled = new WebAssembly.Module(bytes);
  return compiled;
}

/** Reads an AssemblyScript string (UTF-16, byte length at ptr − 4) from a trapped instance. */
function readString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0] ?? 0;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
}

/** Host functions a kernel instance calls back. */
export interface KernelHost {
  /** The current search's filter predicate on a slot. */
  filterAllows(slot: number): boolean;
}

/** A fresh kernel instance with its own memory, calling back into `host`. */
export function instantiateKernels(host: KernelHost): KernelExports {
  let memory: WebAssembly.Memory | undefined;
  const instance = new WebAssembly.Instance(compile(), {
    env: {
      filterAllows: (slot: number): number => (host.filterAllows(slot) ? 1 : 0),
      abort(messagePtr: number, filePtr: number, line: number, column: number): never {
        const message = memory ? readString(memory, messagePtr) : '';
        const file = memory ? readString(memory, filePtr) : '';
        if (/memory/i.test(message)) {
          throw qdbError('CAPACITY_EXCEEDED', ['WebAssembly memory is exhausted (4 GiB at most per database); split the data across databases or store fewer dimensions'], { message });
        }
        throw qdbError('INTERNAL', [`kernel abort: ${message} at ${file}:${line}:${column}`], { message, file, line, column });
      },
    },
  });
  const exports = instance.exports as unknown as KernelExports;
  memory = exports.memory;
  return exports;
}
