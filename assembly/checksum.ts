/**
 * @module checksum
 * XXH64 (Yann Collet's xxHash, 64-bit, seed 0), the section checksum of `.qdb` format 2: four
 * independent 64-bit lanes per 32-byte stripe keep the multipliers busy: 16 MiB in 1.6 ms on the
 * benchmark machine, where WebAssembly has no CRC instruction and a table-driven CRC32C in
 * JavaScript takes 22 ms (`bench/kernels.mjs`).
 * Streaming: reset, then update with whole stripes, then digest the tail; one stream at a time.
 */

const P1: u64 = 0x9e3779b185ebca87;
const P2: u64 = 0xc2b2ae3d27d4eb4f;
const P3: u64 = 0x165667b19e3779f9;
const P4: u64 = 0x85ebca77c2b2ae63;
const P5: u64 = 0x27d4eb2f165667c5;
const STRIPE: usize = 32;

let v1: u64 = 0;
let v2: u64 = 0;
let v3: u64 = 0;
let v4: u64 = 0;
let total: u64 = 0;

// @ts-ignore: decorator
@inline function round(acc: u64, input: u64): u64 {
  return rotl<u64>(acc + input * P2, 31) * P1;
}

// @ts-ignore: decorator
@inline function merge(acc: u64, v: u64): u64 {
  return (acc ^ round(0, v)) * P1 + P4;
}

/** Starts a new checksum. */
export function xxh64Reset(): void {
  v1 = P1 + P2;
  v2 = P2;
  v3 = 0;
  v4 = 0 - P1;
  total = 0;
}

/** Hashes the whole stripes of `len` bytes at `ptr`; returns the bytes consumed (a multiple of 32). */
export function xxh64Update(ptr: usize, len: usize): usize {
  const end = ptr + (len & ~(STRIPE - 1));
  let a = v1, b = v2, c = v3, d = v4;
  for (let p = ptr; p < end; p += STRIPE) {
    a = round(a, load<u64>(p));
    b = round(b, load<u64>(p, 8));
    c = round(c, load<u64>(p, 16));
    d = round(d, load<u64>(p, 24));
  }
  v1 = a; v2 = b; v3 = c; v4 = d;
  const consumed = end - ptr;
  total += <u64>consumed;
  return consumed;
}

/** Finishes the checksum with the last `len` (< 32) bytes at `ptr`. */
export function xxh64Digest(ptr: usize, len: usize): u64 {
  const length = total + <u64>len;
  let acc: u64 = length >= STRIPE
    ? merge(merge(merge(merge(rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18), v1), v2), v3), v4)
    : P5;
  acc += length;
  let p = ptr;
  const end = ptr + len;
  for (; p + 8 <= end; p += 8) acc = rotl<u64>(acc ^ round(0, load<u64>(p)), 27) * P1 + P4;
  if (p + 4 <= end) {
    acc = rotl<u64>(acc ^ (<u64>load<u32>(p) * P1), 23) * P2 + P3;
    p += 4;
  }
  for (; p < end; p++) acc = rotl<u64>(acc ^ (<u64>load<u8>(p) * P5), 11) * P1;
  acc ^= acc >> 33;
  acc *= P2;
  acc ^= acc >> 29;
  acc *= P3;
  acc ^= acc >> 32;
  return acc;
}
