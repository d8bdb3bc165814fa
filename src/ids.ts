/**
 * @module ids
 * External id ↔ internal slot: a dense array (slot → id) and a `Map` (id → slot). Slots are
 * u32 indices into every kernel region; ids are the caller's strings. Never mix the two.
 */
import { qdbError } from './errors.js';

export class IdMap {
  private readonly slotToId: string[] = [];
  private readonly idToSlot = new Map<string, number>();
  private idChars = 0;

  /** Number of ids held. */
  get size(): number { return this.slotToId.length; }

  /** Throws unless every id is a non-empty string, unique in the batch and new to the map. */
  validateNew(ids: readonly unknown[]): void {
    const seen = new Set<string>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (typeof id !== 'string' || id.length === 0) throw qdbError('EMPTY_ID', [i], { index: i });
      if (this.idToSlot.has(id) || seen.has(id)) throw qdbError('DUPLICATE_ID', [id], { index: i, id });
      seen.add(id);
    }
  }

  /** Appends ids (validated beforehand) at the next slots. */
  append(ids: readonly string[]): void {
    for (const id of ids) {
      this.idToSlot.set(id, this.slotToId.length);
      this.slotToId.push(id);
      this.idChars += id.length;
    }
  }

  /** The id at `slot`. */
  idOf(slot: number): string { return this.slotToId[slot] as string; }

  /** The slot of `id`, or undefined. */
  slotOf(id: string): number | undefined { return this.idToSlot.get(id); }

  /**
   * Approximate bytes held: V8 keeps one-byte strings at ~1 byte a character plus a 16-byte
   * header; each Map entry costs ~40 bytes at its usual load factor; the array 8 bytes a slot.
   */
  approximateBytes(): number { return this.idChars + this.slotToId.length * (16 + 40 + 8); }
}
