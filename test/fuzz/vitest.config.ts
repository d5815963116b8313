/** `npm run fuzz`: the long fuzzing run (long.fuzz.ts), alone. */
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import SummaryReporter from '../support/summaryReporter.js';

export default defineConfig({
  root: resolve(import.meta.dirname, '..', '..'),
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    pool: 'forks',
    reporters: ['default', new SummaryReporter()],
  },
});
