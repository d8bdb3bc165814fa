// Builds dist/: ESM (.js) and CommonJS (.cjs) bundles of each entry point, plus bundled type
// declarations for both (.d.ts / .d.cts). The kernel bytes are already embedded in src/wasm.
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import path from 'node:path';

const entries = { index: 'src/index.ts' };
const external = (id) => /^node:/.test(id) || /^@riaskov\/mmap-io/.test(id) || /^@tensorflow\//.test(id) || /^@langchain\//.test(id) || /^@grpc\//.test(id) || id === 'grpc-health-check';

// Subpaths (quantumdb/langchain, quantumdb/testing, quantumdb/pool) import the main entry by its
// package name, so at run time they share its module instance (one QuantumDB class, one compiled
// kernel) and their .d.ts files refer to its types instead of copying them.
const subpaths = { langchain: 'src/integrations/langchain.ts', testing: 'src/testing/index.ts', pool: 'src/pool/index.ts', client: 'src/client/index.ts' };
// The pool's worker script (dist/pool-worker.js), started by the pool from its own directory.
const workerEntry = { 'pool-worker': 'src/pool/worker.ts' };
const mainEntry = path.resolve('src/index.ts');
const mainEntryAsPackage = {
  name: 'main-entry-as-package',
  resolveId(source, importer) {
    if (!importer || !source.startsWith('.')) return null;
    const target = path.resolve(path.dirname(importer), source).replace(/\.js$/, '.ts');
    return target === mainEntry ? { id: 'quantumdb', external: true } : null;
  },
};
const subpathExternal = (id) => external(id) || id === 'quantumdb';
// The browser build (quantumdb/browser) is one self-contained ES module. Node builtins become stubs
// with the real export names, each throwing IO_ERROR: save(path) and open(path) have no meaning in
// a page, which persists with toBytes()/fromBytes() instead.
const errorsModule = path.resolve('src/errors.ts');
const stubNodeBuiltins = {
  name: 'stub-node-builtins',
  resolveId: (source) => (source.startsWith('node:') ? `\0node-stub:${source}` : null),
  async load(id) {
    if (!id.startsWith('\0node-stub:')) return null;
    const name = id.slice('\0node-stub:'.length);
    const names = Object.keys(await import(name)).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
    return `import { QuantumDBError } from ${JSON.stringify(errorsModule)};\n` +
      `const fail = () => { throw new QuantumDBError('IO_ERROR', ${JSON.stringify(`${name} is not available in a browser; persist with db.toBytes() and QuantumDB.fromBytes(bytes)`)}); };\n` +
      `export default {};\n${names.map((n) => `export const ${n} = fail;`).join('\n')}\n`;
  },
};
const jsPlugins = () => [typescript({ tsconfig: './tsconfig.json', declaration: false, outDir: 'dist', compilerOptions: { declaration: false } })];
const subpathBuilds = [
  {
    input: { ...subpaths, ...workerEntry },
    external: subpathExternal,
    plugins: [mainEntryAsPackage, ...jsPlugins()],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/sub-[name]-[hash].js' },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/sub-[name]-[hash].cjs', exports: 'named' },
    ],
  },
  ...Object.entries(subpaths).flatMap(([name, input]) => [
    { input, external: subpathExternal, plugins: [mainEntryAsPackage, dts({ tsconfig: './tsconfig.json' })], output: { file: `dist/${name}.d.ts`, format: 'es' } },
    { input, external: subpathExternal, plugins: [mainEntryAsPackage, dts({ tsconfig: './tsconfig.json' })], output: { file: `dist/${name}.d.cts`, format: 'es' } },
  ]),
  {
    input: { browser: 'src/browser.ts' },
    plugins: [stubNodeBuiltins, ...jsPlugins()],
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].js', inlineDynamicImports: true },
  },
  { input: 'src/browser.ts', external, plugins: [dts({ tsconfig: './tsconfig.json' })], output: { file: 'dist/browser.d.ts', format: 'es' } },
];

export default [
  {
    input: entries,
    external,
    plugins: [typescript({ tsconfig: './tsconfig.json', declaration: false, outDir: 'dist', compilerOptions: { declaration: false } })],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs', exports: 'named' },
    ],
  },
  ...Object.entries(entries).flatMap(([name, input]) => [
    { input, external, plugins: [dts({ tsconfig: './tsconfig.json' })], output: { file: `dist/${name}.d.ts`, format: 'es' } },
    { input, external, plugins: [dts({ tsconfig: './tsconfig.json' })], output: { file: `dist/${name}.d.cts`, format: 'es' } },
  ]),
  ...subpathBuilds,
  // The command line (the package's bin) and its compression worker: ESM, run directly by Node.
  {
    input: { cli: 'src/cli/main.ts', 'compress-worker': 'src/cli/compress-worker.ts' },
    external,
    preserveEntrySignatures: 'allow-extension',
    plugins: [typescript({ tsconfig: './tsconfig.json', declaration: false, outDir: 'dist', compilerOptions: { declaration: false } })],
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/cli-[name]-[hash].js' },
  },
];
