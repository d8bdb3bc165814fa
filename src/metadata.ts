/**
 * @module metadata
 * Per-slot metadata. A database opened from a file keeps the METADATA section's JSON texts and
 * parses a slot's text the first time it is read, so opening a million-item file parses nothing.
 */
import { qdbError } from './errors.js';
import type { StringTable } from './storage/section-codecs.js';
import type { Metadata } from './types.js';

export class SlotMetadata {
  /** Set or parsed values; slots of an opened file are absent until read (a sparse array). */
  private values: (Metadata | undefined)[] = [];
  private slotCount = 0;
  /** JSON texts of an opened file ("" for none) and which of them `values` already holds. */
  private texts: { table: StringTable; parsed: Uint8Array; fileOffset: number } | undefined;

  /** Starts over with `slotCount` slots: the texts of an opened file, or none. */
  load(slotCount: number, texts?: StringTable, fileOffset = 0): void {
    this.values = [];
    this.slotCount = slotCount;
    this.texts = texts && { table: texts, parsed: new Uint8Array(slotCount), fileOffset };
  }

  /**
   * The metadata of `slot`.
   * @throws QuantumDBError `CORRUPT_FILE` when the file's text for this slot is not JSON.
   */
  get(slot: number): Metadata | undefined {
    const t = this.texts;
    if (t && this.unparsed(slot)) {
      const text = t.table.at(slot);
      try {
        this.values[slot] = text === '' ? undefined : (JSON.parse(text) as Metadata);
      } catch {
        throw qdbError('CORRUPT_FILE', [`not a valid QuantumDB database: the metadata of slot ${slot} is not valid JSON`], { offset: t.fileOffset, slot });
      }
      t.parsed[slot] = 1;
    }
    return this.values[slot];
  }

  set(slot: number, value: Metadata | undefined): void {
    this.values[slot] = value;
    if (this.texts && this.unparsed(slot)) this.texts.parsed[slot] = 1;
  }

  append(values: readonly (Metadata | undefined)[]): void {
    for (const v of values) this.values[this.slotCount++] = v;
  }

  /** Keeps only the slots in `kept` (ascending), renumbered 0, 1, … */
  renumber(kept: readonly number[]): void {
    this.values = kept.map((slot) => this.get(slot));
    this.slotCount = kept.length;
    this.texts = undefined;
  }

  /** JSON text per slot ("" for none), or undefined when no slot has metadata (for saving). */
  toTexts(): string[] | undefined {
    const texts = Array.from({ length: this.slotCount }, (_, slot) => {
      if (this.texts && this.unparsed(slot)) return this.texts.table.at(slot);
      const value = this.values[slot];
      return value === undefined ? '' : JSON.stringify(value);
    });
    return texts.some((text) => text !== '') ? texts : undefined;
  }

  /** Whether `slot` still has only the file's text. */
  private unparsed(slot: number): boolean {
    const parsed = this.texts?.parsed;
    return parsed !== undefined && slot < parsed.length && parsed[slot] === 0;
  }
}
