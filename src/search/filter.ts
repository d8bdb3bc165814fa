/**
 * @module search/filter
 * Turns a search filter into the cheapest exact plan. A filter that matches few items is answered
 * by scanning exactly the matching slots; a broad one runs inside the graph search, where
 * rejected nodes still route the beam, so `k` results come back whenever `k` items match.
 */
import { qdbError } from '../errors.js';
import { mulberry32 } from '../random.js';
import type { Metadata, SearchFilter } from '../types.js';

/**
 * Below this fraction of matching items, scanning the matches beats walking the graph: a beam of
 * width ef must visit about ef / selectivity nodes before it holds ef matches.
 */
export const FLAT_FILTER_SELECTIVITY = 0.05;
/** Items a predicate is tried on to estimate its selectivity, and the seed that picks them. */
const SELECTIVITY_SAMPLE = 256;
const SELECTIVITY_SEED = 0x5eed;

/** How a filtered search runs. */
export type FilterPlan =
  | { kind: 'slots'; slots: Uint32Array }
  | { kind: 'bitmap'; slots: Uint32Array }
  | { kind: 'predicate'; accepts: (slot: number) => boolean };

/** What the planner needs to know about the database. */
export interface FilterContext {
  slotCount: number;
  liveCount: number;
  slotOf(id: string): number | undefined;
  idOf(slot: number): string;
  metadataOf(slot: number): Metadata | undefined;
}

/** Plans `filter` (an allow-list of ids or a predicate on id and metadata). */
export function planFilter(filter: SearchFilter, db: FilterContext): FilterPlan {
  if (Array.isArray(filter)) {
    const slots = new Set<number>();
    for (const id of filter) {
      if (typeof id !== 'string') throw qdbError('INVALID_ARGUMENT', ['an allow-list filter must be an array of id strings']);
      const slot = db.slotOf(id);
      if (slot !== undefined) slots.add(slot);
    }
    const list = Uint32Array.from(slots).sort();
    return list.length < FLAT_FILTER_SELECTIVITY * db.liveCount ? { kind: 'slots', slots: list } : { kind: 'bitmap', slots: list };
  }
  if (typeof filter !== 'function') throw qdbError('INVALID_ARGUMENT', ['filter must be a function (id, metadata) => boolean or an array of ids']);
  const accepts = (slot: number) => {
    const id = db.idOf(slot);
    return id !== '' && filter(id, db.metadataOf(slot)) === true;
  };
  // Seeded random slots: evenly spaced ones alias with periodic data (every 390th of 100k items
  // picks one residue in ten of `i % 100`, so a 1% filter looked like 10%).
  const random = mulberry32(SELECTIVITY_SEED);
  let tried = 0, passed = 0;
  for (let i = 0; i < Math.min(SELECTIVITY_SAMPLE, db.slotCount); i++) {
    const slot = Math.floor(random() * db.slotCount);
    if (db.idOf(slot) === '') continue;
    tried++;
    if (accepts(slot)) passed++;
  }
  if (tried > 0 && passed / tried >= FLAT_FILTER_SELECTIVITY) return { kind: 'predicate', accepts };
  const matching: number[] = [];
  for (let slot = 0; slot < db.slotCount; slot++) if (accepts(slot)) matching.push(slot);
  return { kind: 'slots', slots: Uint32Array.from(matching) };
}
