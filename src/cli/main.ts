/**
 * The `latchkey` command line. `npm run build` also bundles this entry into one file
 * (dist/bundle/latchkey.cjs), which the `latchkey` bin (dist/cli/latchkey.cjs, from latchkey.cts) runs
 * with a code cache; see scripts/bundle.mjs.
 * No top-level await, so the same source can be bundled as CommonJS.
 * @module
 */
import { processIo } from './io.js';
import { runCli } from './run.js';

void runCli(process.argv.slice(2), processIo()).then((status) => {
  process.exitCode = status;
});
