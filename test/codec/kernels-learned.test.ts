import { describe, expect, it } from 'vitest';
import { initFromLinear, loadLearnedCodec, loadLinearCodec, readLinearCodec } from '../../src/codec/learned-codec.js';
import { QuantumDB } from '../../src/quantumdb.js';
import type { Metric } from '../../src/types.js';
import type { Kernels } from '../../src/wasm/abi.js';
import { clustered, idsFor } from '../data.js';

/** A built database, its kernels (white box) and a flat-ADC search of every query. */
async function built(metric: Metric) {
  const [dim, n] = [40, 700];
  const db = new QuantumDB({ dim, metric, m: 8, seed: 2, flatThreshold: 1e9 });
  await db.addBatch(idsFor(n), clustered(n, dim, 3)).buildIndex();
  const kernels = (db as unknown as { kernels: Kernels }).kernels;
  const queries = clustered(25, dim, 8);
  const search = () => Array.from({ length: 25 }, (_, q) => db.search(queries.subarray(q * dim, (q + 1) * dim), { k: 10, rerank: 0, flat: true }));
  const reencode = () => kernels.withSlots(Uint32Array.from({ length: n }, (_, i) => i), (ptr) => kernels.raw.encodeSlots(ptr, n));
  return { db, kernels, dim, n, search, reencode };
}

describe('the kernels with the MLP encoder switched on', () => {
  it.each(['l2', 'cosine', 'ip'] as const)('an MLP initialised from the trained codec gives the same codes and rankings (%s)', async (metric) => {
    const { db, kernels, dim, n, search, reencode } = await built(metric);
    const { m, targetDim } = db.stats().params;
    const codes = () => kernels.u8(kernels.raw.codesPtr(), n * m).slice();
    const before = { codes: codes(), hits: search() };
    const pq = readLinearCodec(kernels, 'pq', dim, targetDim, m);
    loadLearnedCodec(kernels, initFromLinear(pq));
    reencode();
    const after = { codes: codes(), hits: search() };
    expect(after.codes).toEqual(before.codes);
    after.hits.forEach((hits, q) => {
      expect(hits.map((h) => h.id)).toEqual(before.hits[q]?.map((h) => h.id));
      // l2 scores are the same sums; inner products differ by a per-query constant (q·mean vs (Rq)·(R·mean)).
      const shift = (hits[0]?.score ?? 0) - (before.hits[q]?.[0]?.score ?? 0);
      if (metric === 'l2') expect(Math.abs(shift)).toBeLessThan(1e-3);
      hits.forEach((h, i) => expect(h.score - (before.hits[q]?.[i]?.score ?? 0)).toBeCloseTo(shift, 3));
    });
    // And back: the linear codec restored, codes re-encoded, the same results again.
    loadLinearCodec(kernels, pq);
    kernels.raw.codecLoaded();
    reencode();
    expect(codes()).toEqual(before.codes);
    expect(search()).toEqual(before.hits);
  });
});
