import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c } from '../../src/storage/checksum.js';

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
