#!/usr/bin/env node
/**
 * The `latchkey` bin. It runs the bundled CLI (dist/bundle/latchkey.cjs, made by scripts/bundle.mjs)
 * with a V8 code cache, so a cold start (a FIDO client spawning `latchkey serve`, Windows activating
 * the COM server) neither parses nor compiles the CLI again.
 *
 * The cache lives in the user's own cache directory, created owner-only, and is used only while it
 * still is: V8 code from a directory others can write to would be code others can write. Each cache
 * file is named after a SHA-256 of the bundle and the Node version and architecture, because V8 itself
 * checks only the source's length, not its content; a cache V8 rejects (other flags, a corrupt file)
 * is simply replaced. A cache is written when the process exits successfully, so it holds every
 * function the command ran, and one is kept per command. NODE_DISABLE_COMPILE_CACHE turns it off;
 * LATCHKEY_DEBUG_CODE_CACHE=1 says on stderr what happened to it.
 *
 * CommonJS (the bin is loaded by `require`, and so is the bundle), with nothing imported from src/.
 * @module
 */
import fs = require('node:fs');
import buffer = require('node:buffer');
import crypto = require('node:crypto');
import os = require('node:os');
import path = require('node:path');
import vm = require('node:vm');

type Env = Readonly<Record<string, string | undefined>>;

const SUFFIX = '.v8cache';

/** Where the cache goes: the OS's per-user cache directory, under Latchkey's name. */
function compileCacheDir(platform: NodeJS.Platform, env: Env, home: string): string {
  const join = platform === 'win32' ? path.win32.join : path.posix.join;
  if (platform === 'win32') return join(env['LOCALAPPDATA'] || join(home, 'AppData', 'Local'), 'Latchkey', 'compile-cache');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'Latchkey', 'compile-cache');
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg !== undefined && path.posix.isAbsolute(xdg) ? xdg : join(home, '.cache'), 'latchkey', 'compile-cache');
}

/** The cache file's name: which bundle, which Node, which command (their caches hold different functions). */
function cacheFileName(source: string | Uint8Array, nodeVersion: string, arch: string, argv: readonly string[]): string {
  const digest = crypto.createHash('sha256').update(`${nodeVersion}\0${arch}\0`).update(source).digest('hex').slice(0, 32);
  const first = argv[0] ?? '';
  const command = /^[a-z][a-z-]{0,30}$/.test(first) ? first : 'other';
  return `${digest}-${command}${command === 'serve' && argv.includes('--com') ? '-com' : ''}${SUFFIX}`;
}

/** Creates the directory owner-only; says whether it is ours alone (POSIX), so its contents can be trusted. */
function privateDirectory(dir: string): boolean {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') return true; // under %LOCALAPPDATA%, which only its user can write
  const stat = fs.statSync(dir);
  return stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0;
}

/**
 * Writes `data` as `file` atomically (a temporary file, then a rename), owner-only, and removes what
 * no start can use any more: caches of another bundle or Node (a rebuild, an upgrade) and temporary
 * files a killed process left behind.
 */
function writeCache(dir: string, file: string, data: Buffer): void {
  const temporary = path.join(dir, `.${process.pid}-${crypto.randomBytes(6).toString('hex')}.tmp`);
  fs.writeFileSync(temporary, data, { mode: 0o600, flag: 'wx' });
  fs.renameSync(temporary, path.join(dir, file));
  const digest = file.slice(0, 33); // "<digest>-"
  for (const other of fs.readdirSync(dir)) {
    const stale = other.endsWith(SUFFIX)
      ? !other.startsWith(digest)
      : other.endsWith('.tmp') && Date.now() - fs.statSync(path.join(dir, other)).mtimeMs > 60_000;
    if (stale) fs.rmSync(path.join(dir, other), { force: true });
  }
}

function main(): void {
  const bundle = path.join(__dirname, '..', 'bundle', 'latchkey.cjs');
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(bundle);
  } catch {
    process.stderr.write(`latchkey: ${bundle} is missing: run \`npm run build\` (npm ci runs it too)\n`);
    process.exitCode = 1;
    return;
  }
  // The bundle is ASCII (scripts/bundle.mjs), which decodes 4× faster as Latin-1 than as UTF-8.
  const source = bytes.toString(buffer.isAscii(bytes) ? 'latin1' : 'utf8');
  const env = process.env;
  const debug = env['LATCHKEY_DEBUG_CODE_CACHE'] === '1' ? (line: string) => process.stderr.write(`latchkey: code cache: ${line}\n`) : () => {};
  let dir: string | undefined;
  let file = '';
  let cached: Buffer | undefined;
  if (env['NODE_DISABLE_COMPILE_CACHE'] === undefined) {
    try {
      const candidate = compileCacheDir(process.platform, env, os.homedir());
      if (privateDirectory(candidate)) {
        dir = candidate;
        file = cacheFileName(bytes, process.version, process.arch, process.argv.slice(2));
        try {
          cached = fs.readFileSync(path.join(dir, file));
        } catch {
          cached = undefined; // none yet
        }
      } else {
        debug(`not used: ${candidate} is not private to this user`);
      }
    } catch {
      dir = undefined; // no home, a read-only disk: run without the cache
    }
  } else {
    debug('off (NODE_DISABLE_COMPILE_CACHE)');
  }

  // The CommonJS wrapper, on the first line so the bundle's line numbers (and its source map) hold.
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
  const script = new vm.Script(wrapped, {
    filename: bundle,
    ...(cached !== undefined ? { cachedData: cached } : {}),
  });
  if (cached !== undefined) debug(script.cachedDataRejected === true ? 'rejected, will be replaced' : 'used');
  if (dir !== undefined && (cached === undefined || script.cachedDataRejected === true)) {
    const cacheDir = dir;
    process.once('exit', (status) => {
      // Only a command that worked: a mistyped one would leave a cache under its mistyped name.
      if (status !== 0) return;
      try {
        writeCache(cacheDir, file, script.createCachedData());
        debug('written');
      } catch {
        debug('could not be written');
      }
    });
  }
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  const module = { exports: {}, filename: bundle, id: bundle, loaded: false };
  // This file's own require: the bundle requires Node's built-in modules and, for a demo,
  // @simplewebauthn/server, which resolves from dist/cli/ exactly as from dist/bundle/.
  run.call(module.exports, module.exports, require, module, bundle, path.dirname(bundle));
}

if (require.main === module) main();

/** For tests: the pure parts. */
export = { compileCacheDir, cacheFileName };
