/**
 * Test-only bundler: rollup with a transpile-only TypeScript transform (no type check), so a test
 * can turn an entry of `src/` into one runnable file in about a second without touching `dist/`.
 * `npm run build` remains the real build; these bundles exist for the browser page, the worker
 * pool and the examples, which need JavaScript files a browser, a worker or a child process loads.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollup, type Plugin } from 'rollup';
import ts from 'typescript';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Resolves `./x.js` to `./x.ts` and strips types, file by file. */
function transpileTs(): Plugin {
  return {
    name: 'transpile-ts',
    resolveId(source, importer) {
      if (!importer || !source.startsWith('.') || !source.endsWith('.js')) return null;
      const candidate = resolve(dirname(importer), `${source.slice(0, -3)}.ts`);
      return existsSync(candidate) ? candidate : null;
    },
    transform(code, id) {
      if (!id.endsWith('.ts')) return null;
      const out = ts.transpileModule(code, {
        fileName: id,
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, useDefineForClassFields: true, sourceMap: false },
      });
      return { code: out.outputText, map: null };
    },
  };
}

/**
 * Replaces every `node:` module with a stub that has the real module's export names, each a
 * function that throws `IO_ERROR`: what a page gets for the file-system paths (`save`, `open`),
 * which have no meaning there. The names are read from Node at build time.
 */
function stubNodeBuiltins(): Plugin {
  const errors = JSON.stringify(resolve(ROOT, 'src/errors.ts'));
  return {
    name: 'stub-node-builtins',
    resolveId: (source) => (source.startsWith('node:') ? `\0node-stub:${source}` : null),
    async load(id) {
      if (!id.startsWith('\0node-stub:')) return null;
      const name = id.slice('\0node-stub:'.length);
      const names = Object.keys(await import(name)).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
      return `import { QuantumDBError } from ${errors};\n` +
        `const fail = () => { throw new QuantumDBError('IO_ERROR', ${JSON.stringify(`${name} is not available in a browser; persist with db.toBytes() and QuantumDB.fromBytes(bytes)`)}); };\n` +
        `export default {};\n${names.map((n) => `export const ${n} = fail;`).join('\n')}\n`;
    },
  };
}

export interface BundleOptions {
  /** Entry, relative to the repository root, e.g. `src/browser.ts`. */
  entry: string;
  /** Output file (absolute). */
  outFile: string;
  /** Stub `node:` modules instead of leaving them external (browser bundles). */
  browser?: boolean;
  /** Module ids to leave as imports (bare package names). */
  external?: (id: string) => boolean;
  /** Map a resolved source file to an external specifier (e.g. src/index.ts → 'quantumdb'). */
  aliasToExternal?: Record<string, string>;
}

/** Bundles `entry` into one ES module at `outFile` and returns the code. */
export async function bundle(options: BundleOptions): Promise<string> {
  const aliases = Object.entries(options.aliasToExternal ?? {}).map(([file, spec]) => [resolve(ROOT, file), spec] as const);
  const plugins: Plugin[] = [];
  if (aliases.length > 0) {
    plugins.push({
      name: 'alias-to-external',
      resolveId(source, importer) {
        if (!importer || !source.startsWith('.')) return null;
        const target = resolve(dirname(importer), source.replace(/\.js$/, '.ts'));
        const hit = aliases.find(([file]) => file === target);
        return hit ? { id: hit[1], external: true } : null;
      },
    });
  }
  if (options.browser) plugins.push(stubNodeBuiltins());
  plugins.push(transpileTs());
  const build = await rollup({
    input: resolve(ROOT, options.entry),
    plugins,
    external: (id) => (!options.browser && id.startsWith('node:')) || (options.external?.(id) ?? false),
    onwarn: (warning, warn) => { if (warning.code !== 'CIRCULAR_DEPENDENCY') warn(warning); },
  });
  try {
    const { output } = await build.generate({ format: 'es', inlineDynamicImports: true });
    const code = (output[0] as { code: string }).code;
    await mkdir(dirname(options.outFile), { recursive: true });
    await writeFile(options.outFile, code);
    return code;
  } finally {
    await build.close();
  }
}

/** The package's entries as `dist/<name>.js` → source, for {@link createUserProject}. */
export const PACKAGE_ENTRIES: Record<string, string> = {
  index: 'src/index.ts',
  testing: 'src/testing/index.ts',
  langchain: 'src/integrations/langchain.ts',
  pool: 'src/pool/index.ts',
  'pool-worker': 'src/pool/worker.ts',
};

/**
 * Lays out a throwaway user project in `dir`: `node_modules/quantumdb/` holds the real
 * package.json and ES-module bundles of each entry (subpaths import the main entry by name, as in
 * the published build), and the repository's copies of other packages are linked in by name. Code
 * in `dir` then imports `quantumdb`, `quantumdb/testing` … exactly as users do, without `dist/`.
 */
export async function createUserProject(dir: string, links: readonly string[] = ['@langchain', 'vitest']): Promise<void> {
  const { readFile, symlink } = await import('node:fs/promises');
  const pkgDir = join(dir, 'node_modules', 'quantumdb');
  await mkdir(join(pkgDir, 'dist'), { recursive: true });
  await writeFile(join(pkgDir, 'package.json'), await readFile(join(ROOT, 'package.json')));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  for (const name of links) await symlink(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
  await Promise.all(Object.entries(PACKAGE_ENTRIES).map(([name, entry]) => bundle({
    entry,
    outFile: join(pkgDir, 'dist', `${name}.js`),
    external: (id) => id.startsWith('@langchain/') || id.startsWith('@riaskov/') || id.startsWith('@tensorflow/'),
    aliasToExternal: name === 'index' ? {} : { 'src/index.ts': 'quantumdb' },
  })));
}
