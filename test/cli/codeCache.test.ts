/**
 * The `latchkey` bin's V8 code cache (src/cli/latchkey.cts): written owner-only in the user's cache
 * directory on a first start, used by the next, replaced when V8 rejects it (a corrupt file), never
 * trusted from a directory others can write, off when Node is told so, and named after the bundle's
 * content so a rebuilt bundle of the same length never meets an old cache.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, sandbox, type Sandbox } from '../support/cli.js';

interface Launcher {
  compileCacheDir(platform: NodeJS.Platform, env: Record<string, string | undefined>, home: string): string;
  cacheFileName(source: string, nodeVersion: string, arch: string, argv: readonly string[]): string;
}
const launcher = createRequire(import.meta.url)(CLI) as Launcher;

let box: Sandbox | undefined;
afterEach(() => box?.cleanup());

/** Runs `latchkey <args>` with the cache's debug lines on; returns them and the command's output. */
function run(s: Sandbox, args: string[], extraEnv: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...s.env, XDG_CACHE_HOME: join(s.dir, 'cache'), LATCHKEY_DEBUG_CODE_CACHE: '1', ...extraEnv },
    encoding: 'utf8',
  });
  const cacheLines = result.stderr.split('\n').filter((line) => line.startsWith('latchkey: code cache: '));
  return { status: result.status, stdout: result.stdout, cache: cacheLines.map((line) => line.slice('latchkey: code cache: '.length)) };
}

const cacheDir = (s: Sandbox) => join(s.dir, 'cache', 'latchkey', 'compile-cache');

describe('the code cache of the latchkey bin', () => {
  it('is written owner-only on a first start and used by the next, with the same output', () => {
    box = sandbox();
    const first = run(box, ['info', '--json']);
    expect(first.status).toBe(0);
    expect(first.cache).toEqual(['written']);
    const files = readdirSync(cacheDir(box));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{32}-info\.v8cache$/);
    expect(statSync(cacheDir(box)).mode & 0o777).toBe(0o700);
    expect(statSync(join(cacheDir(box), files[0]!)).mode & 0o777).toBe(0o600);

    const second = run(box, ['info', '--json']);
    expect(second.cache).toEqual(['used']);
    expect(second.stdout).toBe(first.stdout);
  });

  it('keeps one cache per command: a serving process and a short command compile different functions', () => {
    box = sandbox();
    expect(run(box, ['info']).status).toBe(0);
    expect(run(box, ['help']).status).toBe(0);
    expect(readdirSync(cacheDir(box)).map((f) => f.replace(/^[0-9a-f]{32}-/, '')).sort()).toEqual(['help.v8cache', 'info.v8cache']);
  });

  it('is not written by a command that failed, such as a mistyped one', () => {
    box = sandbox();
    const result = run(box, ['lsit']);
    expect(result.status).toBe(2);
    expect(result.cache).toEqual([]);
    expect(existsSync(cacheDir(box)) ? readdirSync(cacheDir(box)) : []).toEqual([]);
  });

  it('removes caches no start can use any more (another bundle or Node) and temporary files left behind', () => {
    box = sandbox();
    mkdirSync(cacheDir(box), { recursive: true, mode: 0o700 });
    const stale = join(cacheDir(box), `${'0'.repeat(32)}-list.v8cache`);
    const leftover = join(cacheDir(box), '.123-abc.tmp');
    const fresh = join(cacheDir(box), '.456-def.tmp'); // perhaps another process's, being written now
    for (const path of [stale, leftover, fresh]) writeFileSync(path, 'x', { mode: 0o600 });
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(leftover, old, old);
    expect(run(box, ['info']).cache).toEqual(['written']);
    expect(readdirSync(cacheDir(box)).map((f) => f.replace(/^[0-9a-f]{32}-/, '')).sort()).toEqual(['.456-def.tmp', 'info.v8cache']);
  });

  it('replaces a cache V8 rejects (here a corrupt one) and still runs the command correctly', () => {
    box = sandbox();
    const first = run(box, ['info', '--json']);
    const [file] = readdirSync(cacheDir(box));
    const path = join(cacheDir(box), file!);
    const size = statSync(path).size;
    writeFileSync(path, Buffer.alloc(size, 0x5a));
    const corrupt = run(box, ['info', '--json']);
    expect(corrupt.status).toBe(0);
    expect(corrupt.stdout).toBe(first.stdout);
    expect(corrupt.cache).toEqual(['rejected, will be replaced', 'written']);
    expect(readFileSync(path).equals(Buffer.alloc(size, 0x5a))).toBe(false);
    expect(run(box, ['info', '--json']).cache).toEqual(['used']);
  });

  it.skipIf(process.platform === 'win32' || process.getuid?.() === undefined)(
    'is neither read nor written in a directory others can write to',
    () => {
      box = sandbox();
      mkdirSync(cacheDir(box), { recursive: true });
      chmodSync(cacheDir(box), 0o777);
      const result = run(box, ['info']);
      expect(result.status).toBe(0);
      expect(result.cache).toEqual([`not used: ${cacheDir(box)} is not private to this user`]);
      expect(readdirSync(cacheDir(box))).toEqual([]);
    },
  );

  it('is off with NODE_DISABLE_COMPILE_CACHE', () => {
    box = sandbox();
    const result = run(box, ['info'], { NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(result.status).toBe(0);
    expect(result.cache).toEqual(['off (NODE_DISABLE_COMPILE_CACHE)']);
    expect(existsSync(cacheDir(box))).toBe(false);
  });

  it('names each cache after the bundle’s content, the Node version, the architecture and the command', () => {
    const name = launcher.cacheFileName('bundle source', 'v20.19.0', 'x64', ['serve', '--ctaphid', '127.0.0.1:0']);
    expect(name).toMatch(/^[0-9a-f]{32}-serve\.v8cache$/);
    // Same length, other content: V8 alone would accept the old cache for it.
    expect(launcher.cacheFileName('bundle sourcf', 'v20.19.0', 'x64', ['serve'])).not.toBe(name);
    expect(launcher.cacheFileName('bundle source', 'v22.22.2', 'x64', ['serve'])).not.toBe(name);
    expect(launcher.cacheFileName('bundle source', 'v20.19.0', 'arm64', ['serve'])).not.toBe(name);
    expect(launcher.cacheFileName('bundle source', 'v20.19.0', 'x64', ['serve', '--com'])).toMatch(/-serve-com\.v8cache$/);
    expect(launcher.cacheFileName('bundle source', 'v20.19.0', 'x64', ['../../etc'])).toMatch(/-other\.v8cache$/);
    expect(launcher.cacheFileName('bundle source', 'v20.19.0', 'x64', [])).toMatch(/-other\.v8cache$/);
  });

  it('lives in the user’s own cache directory on each OS', () => {
    expect(launcher.compileCacheDir('linux', { XDG_CACHE_HOME: '/xdg/cache' }, '/home/u')).toBe('/xdg/cache/latchkey/compile-cache');
    expect(launcher.compileCacheDir('linux', { XDG_CACHE_HOME: 'relative' }, '/home/u')).toBe('/home/u/.cache/latchkey/compile-cache');
    expect(launcher.compileCacheDir('linux', {}, '/home/u')).toBe('/home/u/.cache/latchkey/compile-cache');
    expect(launcher.compileCacheDir('darwin', {}, '/Users/u')).toBe('/Users/u/Library/Caches/Latchkey/compile-cache');
    expect(launcher.compileCacheDir('win32', { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Local\\Latchkey\\compile-cache');
  });
});
