/**
 * `npm run test:reliability`: the tests of test/reliability with long settings: 200 SIGKILLs
 * (LATCHKEY_KILLS overrides), a seed printed for replay (LATCHKEY_SEED).
 */
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import SummaryReporter from '../support/summaryReporter.js';

export default defineConfig({
  root: resolve(import.meta.dirname, '..', '..'),
  test: {
    include: ['test/reliability/**/*.test.ts'],
    env: { LATCHKEY_KILLS: process.env['LATCHKEY_KILLS'] ?? '200' },
    testTimeout: 30_000,
    pool: 'forks',
    reporters: ['default', new SummaryReporter()],
  },
});
