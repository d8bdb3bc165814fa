import { describe, expect, it } from 'vitest';
import { planFilter, type FilterContext } from '../../src/search/filter.js';

/** A database of `n` live slots whose metadata is `{ bucket: slot % 100 }`: periodic, as round-robin inserts make it. */
function periodic(n: number): FilterContext {
  return {
    slotCount: n,
    liveCount: n,
    slotOf: (id) => Number(id),
    idOf: (slot) => String(slot),
    metadataOf: (slot) => ({ bucket: slot % 100 }),
  };
}

describe('planFilter', () => {
  it('estimates a periodic predicate’s selectivity without aliasing: 1% scans the matches, 10% runs in the beam', () => {
    for (const n of [100_000, 25_600, 3_900]) {
      const rare = planFilter((_, meta) => (meta?.bucket as number) < 1, periodic(n));
      expect(rare.kind).toBe('slots');
      expect(rare.kind === 'slots' && Array.from(rare.slots).every((slot) => slot % 100 === 0)).toBe(true);
      expect(rare.kind === 'slots' && rare.slots.length).toBe(Math.ceil(n / 100));
      expect(planFilter((_, meta) => (meta?.bucket as number) < 10, periodic(n)).kind).toBe('predicate');
    }
  });

  it('plans the same way every time (a seeded sample)', () => {
    const context = periodic(50_000);
    const kinds = Array.from({ length: 3 }, () => planFilter((id) => Number(id) % 23 === 0, context).kind);
    expect(new Set(kinds).size).toBe(1);
  });
});
