// Bundles the CLI (src/cli/main.ts and everything it reaches) into one CommonJS file,
// dist/bundle/latchkey.cjs, which dist/cli/latchkey.cjs (the `latchkey` bin) runs with a V8 code cache.
//
// Why: a cold `latchkey serve` spent ~35 ms resolving and loading ~100 ES modules one by one. One
// file is read once and, with the code cache, not even parsed again.
//
// In the bundle: our code, @noble/*, and better-sqlite3's JavaScript. Outside it:
//   - better-sqlite3's native binary, which the driver loads by path (src/vault/drivers/betterSqlite3.ts);
//   - @simplewebauthn/server, the demo relying party, required only when a demo runs.
// `import.meta.url` becomes the bundle's own URL, so paths relative to a module (the assets, the
// Windows addon) are found from dist/bundle/, two levels below the package root like dist/app/.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/bundle/latchkey.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20.19',
  external: ['@simplewebauthn/server'],
  // import() becomes require() (of its CommonJS build, for @simplewebauthn/server): a dynamic import
  // in code that vm.Script compiles needs a loader that Node 20 still calls experimental.
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__latchkeyBundleUrl' },
  banner: { js: '"use strict";\nconst __latchkeyBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  // Whitespace and comments out, names kept (stack traces stay readable; the source map maps them back):
  // a third less to read and hash at every start, and ASCII only, so the bin decodes it as Latin-1.
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
  sourcemap: 'linked',
  legalComments: 'eof',
  logLevel: 'warning',
});
