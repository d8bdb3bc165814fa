import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c, xxh64, xxh64Stream, XXH64_STAGING_BYTES } from '../../src/storage/checksum.js';
import { Kernels } from '../../src/wasm/abi.js';

const ascii = (s: string) => new TextEncoder().encode(s);

/** Bit-at-a-time CRC32C straight from the definition (reflected polynomial 0x82F63B78): the oracle. */
function crc32cBitwise(data: Uint8Array): number {
  let c = ~0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32c', () => {
  it('matches the published check values', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    // RFC 3720 B.4 test vectors.
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('agrees with the bitwise definition on every length around the 8-byte blocks and at odd offsets', () => {
    const data = Uint8Array.from({ length: 200 }, (_, i) => (i * 151 + 7) & 0xff);
    for (let start = 0; start < 9; start++) {
      for (let len = 0; len < 40; len++) {
        const part = data.subarray(start, start + len);
        expect(crc32c(part)).toBe(crc32cBitwise(part));
      }
    }
  });

  it('chains: crc32c(b, crc32c(a)) equals crc32c(a ++ b)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, cut) => {
        const k = Math.min(cut, bytes.length);
        expect(crc32c(bytes.subarray(k), crc32c(bytes.subarray(0, k)))).toBe(crc32c(bytes));
        expect(crc32c(bytes)).toBe(crc32cBitwise(bytes));
      }),
      { seed: 20240601, numRuns: 200 },
    );
  });
});

describe('xxh64 (format-2 section checksum)', () => {
  // Reference values printed by `xxhsum -H1` (xxHash 0.8) for the same bytes.
  const patterned = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
  it('matches xxhsum on the standard and boundary inputs', () => {
    expect(xxh64([])).toBe(0xef46db3751d8e999n);
    expect(xxh64([ascii('abc')])).toBe(0x44bc2cf5ad770999n);
    expect(xxh64([ascii('123456789')])).toBe(0x8cb841db40e6ae83n);
    expect(xxh64([patterned(31)])).toBe(0x4a74f3a1a39ad4a1n);
    expect(xxh64([patterned(32)])).toBe(0x8d57d6a4671cc43dn);
    expect(xxh64([patterned(1000)])).toBe(0x99594f4828043d35n);
  });

  it('is the same however the bytes are split, and when hashed in kernel memory', () => {
    const kernels = new Kernels();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 4 }), (bytes, cuts) => {
      const at = [...new Set([0, ...cuts.map((c) => c % (bytes.length + 1)), bytes.length])].sort((a, b) => a - b);
      const parts = at.slice(1).map((end, i) => bytes.subarray(at[i], end));
      const whole = xxh64([bytes]);
      // In kernel memory: each part in a block of its own, hashed where it lies.
      const staging = kernels.raw.arenaAlloc(XXH64_STAGING_BYTES);
      const blocks = parts.map((part) => {
        const ptr = kernels.raw.arenaAlloc(Math.max(part.length, 1));
        kernels.u8(ptr, part.length).set(part);
        return { ptr, length: part.length };
      });
      const stream = xxh64Stream(kernels, staging);
      for (const { ptr, length } of blocks) stream.add(ptr, length);
      const inPlace = stream.digest();
      for (const { ptr } of [...blocks, { ptr: staging }]) kernels.raw.arenaFree(ptr);
      return xxh64(parts) === whole && inPlace === whole;
    }));
    // Larger than the 1 MiB block the hasher copies through.
    const big = patterned((1 << 20) + 77);
    expect(xxh64([big.subarray(0, 5), big.subarray(5)])).toBe(xxh64([big]));
  });
});
