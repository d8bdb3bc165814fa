/**
 * @module arena
 * Raw linear-memory blocks for the kernels. Blocks come from AssemblyScript's TLSF allocator
 * (16-byte aligned, so every block can be read with `v128.load`); growth uses `heap.realloc`,
 * which may move a block, so callers always re-read region pointers after a grow.
 * `memory.grow` happens inside the allocator and detaches every JS view of the buffer.
 */

/** Allocates `bytes` zeroed bytes; 16-byte aligned. */
export function allocZeroed(bytes: usize): usize {
  const ptr = heap.alloc(bytes);
  memory.fill(ptr, 0, bytes);
  return ptr;
}

/** Grows (or creates, when `ptr` is 0) a block to `newBytes`, zeroing the added tail. */
export function growZeroed(ptr: usize, oldBytes: usize, newBytes: usize): usize {
  const out = ptr == 0 ? heap.alloc(newBytes) : heap.realloc(ptr, newBytes);
  if (newBytes > oldBytes) memory.fill(out + oldBytes, 0, newBytes - oldBytes);
  return out;
}

/**
 * Grows (or creates) a block to `newBytes` without zeroing the tail: for scratch that is written
 * before it is read, so that its pages are not touched (and faulted in) before a search needs them.
 */
export function growScratch(ptr: usize, newBytes: usize): usize {
  return ptr == 0 ? heap.alloc(newBytes) : heap.realloc(ptr, newBytes);
}

/** Frees a block from {@link allocZeroed} or {@link growZeroed}; 0 is ignored. */
export function release(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}
