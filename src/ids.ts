/**
 * @module ids
 * External id ↔ internal slot: a dense array (slot → id) and a `Map` (id → slot). Slots are
 * u32 indices into every kernel region; ids are the caller's strings. Never mix the two.
 * A deleted id leaves its slot behind (as "") until compaction renumbers the slots.
 */
import { qdbError } from './errors.js';

export class IdMap {
  private slotToId: string[] = [];
  private readonly idToSlot = new Map<string, number>();
  private idChars = 0;

  /** Live ids. */
  get size(): number { return this.idToSlot.size; }

  /** Slots ever assigned, deleted ones included. */
  get slotCount(): number { return this.slotToId.length; }

  /**
   * Throws unless every id is a non-empty string, unique in the batch, and (unless `replacing`)
   * new to the map.
   */
  validateNew(ids: readonly unknown[], replacing = false): void {
    const seen = new Set<string>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (typeof id !== 'string' || id.length === 0) throw qdbError('EMPTY_ID', [i], { index: i });
      if ((!replacing && this.idToSlot.has(id)) || seen.has(id)) throw qdbError('DUPLICATE_ID', [id], { index: i, id });
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

  /**
   * Replaces the whole map with one id per slot, "" marking a deleted slot (opening a file).
   * @param isDeleted whether a slot is deleted; a live slot with an empty or repeated id is corrupt
   */
  load(slotIds: string[], isDeleted: (slot: number) => boolean): void {
    this.slotToId = slotIds;
    this.idToSlot.clear();
    this.idChars = 0;
    slotIds.forEach((id, slot) => {
      if (isDeleted(slot)) return;
      if (id === '' || this.idToSlot.has(id)) throw qdbError('CORRUPT_FILE', [`not a valid QuantumDB database: slot ${slot} has ${id === '' ? 'an empty' : 'a duplicate'} id`], { slot });
      this.idToSlot.set(id, slot);
      this.idChars += id.length;
    });
  }

  /** Forgets `id`; returns its slot, or undefined when it is not present. */
  remove(id: string): number | undefined {
    const slot = this.idToSlot.get(id);
    if (slot === undefined) return undefined;
    this.idToSlot.delete(id);
    this.slotToId[slot] = '';
    this.idChars -= id.length;
    return slot;
  }

  /** Keeps only the slots listed in `kept` (ascending), renumbered 0, 1, … in that order. */
  renumber(kept: readonly number[]): void {
    this.slotToId = kept.map((slot) => this.slotToId[slot] as string);
    this.idToSlot.clear();
    this.slotToId.forEach((id, slot) => this.idToSlot.set(id, slot));
  }

  /** The id at `slot` ("" when deleted). */
  idOf(slot: number): string { return this.slotToId[slot] as string; }

  /** The slot of `id`, or undefined. */
  slotOf(id: string): number | undefined { return this.idToSlot.get(id); }

  /** Live ids in slot order. */
  *ids(): IterableIterator<string> {
    for (const id of this.slotToId) if (id !== '') yield id;
  }

  /** Every slot's id, "" for deleted ones (for saving). */
  allSlots(): readonly string[] { return this.slotToId; }

  /**
   * Approximate bytes held: V8 keeps one-byte strings at ~1 byte a character plus a 16-byte
   * header; each Map entry costs ~40 bytes at its usual load factor; the array 8 bytes a slot.
   */
  approximateBytes(): number { return this.idChars + this.size * (16 + 40) + this.slotToId.length * 8; }
}
