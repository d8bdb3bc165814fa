/**
 * @module quantumdb/browser
 * The browser build of QuantumDB: the same API as the main entry, bundled into one ES module
 * (`dist/browser.js`, the `quantumdb/browser` subpath) with the WebAssembly core inside, no
 * `node:` imports and no native modules. Load it from a page with `<script type="module">` or
 * through any bundler.
 *
 * Everything in memory works as in Node: `addBatch`, `buildIndex`, `search`, `upsert`, `delete`,
 * `get`. Files do not exist in a page, so persistence goes through bytes: `db.toBytes()` gives
 * the `.qdb` file as a `Uint8Array` (store it in IndexedDB, the Origin Private File System, or
 * send it to a server) and `QuantumDB.fromBytes(bytes)` opens it again, in a page or in Node.
 * `save(path)` and `QuantumDB.open(path)` throw `IO_ERROR` in a browser.
 *
 * @example
 * ```html
 * <script type="module">
 *   import { QuantumDB } from './node_modules/quantumdb/dist/browser.js';
 *   const db = new QuantumDB({ dim: 384 });
 *   await db.addBatch(ids, vectors).buildIndex();
 *   const hits = db.search(query, { k: 10 });
 *   const bytes = db.toBytes();             // a Uint8Array: keep it in IndexedDB or the OPFS
 *   const again = QuantumDB.fromBytes(bytes);
 * </script>
 * ```
 */
// The browser entry is the public API itself; re-exporting the barrel keeps the two from drifting.
export * from './index.js';
