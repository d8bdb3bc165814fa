/**
 * @module ids
 * External id ↔ internal slot: a dense array (slot → id) and a `Map` (id → slot). Slots are
 * u32 indices into every kernel region; ids are the caller's strings. Never mix the two.
 * A deleted id leaves its slot behind (as "") until compaction renumbers the slots.
 *
 * A database opened from a file starts from the file's id table instead: search results decode
 * their ids from it one by one, and the array and map are built on the first call that looks an
 * id up or changes the ids, so opening a million-id file builds neither.
 */
import { qdbError } from './errors.js';
import type { StringTable } from './storage/section-codecs.js';

export class IdMap {
  private slotToId: string[] = [];
  private readonly idToSlot = new Map<string, number>();
  private idChars = 0;
  /**
   * The ids of an opened file, until {@link IdMap.materialize}; `deleted` has one byte per slot and
   * `decoded` keeps each id decoded so far, so that repeated scans (a predicate filter) decode once.
   */
  private table: { ids: StringTable; deleted: Uint8Array; live: number; lookups: number; decoded: (string | undefined)[] | undefined } | undefined;

  /** Live ids. */
  get size(): number { return this.table ? this.table.live : this.idToSlot.size; }

  /** Slots ever assigned, deleted ones included. */
  get slotCount(): number { return this.table ? this.table.ids.count : this.slotToId.length; }

  /**
   * Throws unless every id is a non-empty string, unique in the batch, and (unless `replacing`)
   * new to the map.
   */
  validateNew(ids: readonly unknown[], replacing = false): void {
    this.materialize();
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
    this.materialize();
    for (const id of ids) {
      this.idToSlot.set(id, this.slotToId.length);
      this.slotToId.push(id);
      this.idChars += id.length;
    }
  }

  /**
   * Replaces the whole map with the id table of an opened file, whose live ids the caller has
   * checked to be non-empty and unique.
   * @param deleted one byte per slot, 1 = deleted (its id is ignored)
   * @param deletedCount how many slots `deleted` marks
   */
  load(ids: StringTable, deleted: Uint8Array, deletedCount: number): void {
    this.table = { ids, deleted, live: ids.count - deletedCount, lookups: 0, decoded: undefined };
    this.slotToId = [];
    this.idToSlot.clear();
    this.idChars = 0;
  }

  /** Forgets `id`; returns its slot, or undefined when it is not present. */
  remove(id: string): number | undefined {
    this.materialize();
    const slot = this.idToSlot.get(id);
    if (slot === undefined) return undefined;
    this.idToSlot.delete(id);
    this.slotToId[slot] = '';
    this.idChars -= id.length;
    return slot;
  }

  /** Keeps only the slots listed in `kept` (ascending), renumbered 0, 1, … in that order. */
  renumber(kept: readonly number[]): void {
    this.materialize();
    this.slotToId = kept.map((slot) => this.slotToId[slot] as string);
    this.idToSlot.clear();
    this.slotToId.forEach((id, slot) => this.idToSlot.set(id, slot));
  }

  /** The id at `slot` ("" when deleted). */
  idOf(slot: number): string {
    const t = this.table;
    if (!t) return this.slotToId[slot] as string;
    if (t.deleted[slot]) return '';
    if (t.decoded) return (t.decoded[slot] ??= t.ids.at(slot));
    // Search results decode a few ids each; a cache pays off once lookups look like a scan.
    if (++t.lookups > t.ids.count >> 4) t.decoded = new Array<string | undefined>(t.ids.count);
    return t.ids.at(slot);
  }

  /** The slot of `id`, or undefined. */
  slotOf(id: string): number | undefined {
    this.materialize();
    return this.idToSlot.get(id);
  }

  /** Live ids in slot order. */
  *ids(): IterableIterator<string> {
    for (let slot = 0; slot < this.slotCount; slot++) {
      const id = this.idOf(slot);
      if (id !== '') yield id;
    }
  }

  /** Every slot's id, "" for deleted ones (for saving). */
  allSlots(): readonly string[] {
    return this.table ? Array.from({ length: this.slotCount }, (_, slot) => this.idOf(slot)) : this.slotToId;
  }

  /**
   * Approximate bytes held: V8 keeps one-byte strings at ~1 byte a character plus a 16-byte
   * header; each Map entry costs ~40 bytes at its usual load factor; the array 8 bytes a slot.
   * An unexpanded file table holds its UTF-8 bytes and a u32 offset and a byte per slot.
   */
  approximateBytes(): number {
    const t = this.table;
    if (t) return t.ids.blob.length + 5 * t.ids.count;
    return this.idChars + this.size * (16 + 40) + this.slotToId.length * 8;
  }

  /** Builds the slot array and the id map from the file's table, once. */
  private materialize(): void {
    const t = this.table;
    if (!t) return;
    this.table = undefined;
    this.slotToId = Array.from({ length: t.ids.count }, (_, slot) => (t.deleted[slot] ? '' : t.decoded?.[slot] ?? t.ids.at(slot)));
    this.slotToId.forEach((id, slot) => {
      if (id === '') return;
      this.idToSlot.set(id, slot);
      this.idChars += id.length;
    });
  }
}
