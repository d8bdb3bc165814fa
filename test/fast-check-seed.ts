/**
 * Property tests draw the same cases on every run, as every other test is seeded: a failure
 * reproduces as is. Change the seed to explore other cases.
 */
import fc from 'fast-check';

fc.configureGlobal({ seed: 0x5eed_2026 });
