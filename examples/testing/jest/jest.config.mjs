// Jest with native ES modules: no transform, test files ending in .test.mjs.
// Run with NODE_OPTIONS=--experimental-vm-modules (Jest's ESM support needs it).
export default {
  testEnvironment: 'node',
  transform: {},
  testMatch: ['**/*.test.mjs'],
};
