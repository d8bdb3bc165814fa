// Only needed inside the QuantumDB repository, whose own vitest.config.mjs would otherwise apply;
// in your project the test file sits among your other tests and uses your config.
export default { test: { include: ['**/*.test.ts'] } };
