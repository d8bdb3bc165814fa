// Builds dist/: ESM (.js) and CommonJS (.cjs) bundles of each entry point, plus bundled type
// declarations for both (.d.ts / .d.cts). The kernel bytes are already embedded in src/wasm.
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';

const entries = { index: 'src/index.ts' };
const external = (id) => /^node:/.test(id) || /^@riaskov\/mmap-io/.test(id) || /^@tensorflow\//.test(id) || /^@langchain\//.test(id);

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
];
