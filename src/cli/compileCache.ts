/**
 * Node's on-disk module compile cache (`module.enableCompileCache`, Node 22.1+), so a cold start
 * (a COM activation, `latchkey serve` spawned by a test harness) does not parse and compile every
 * module again. It lives in the user's own cache directory, created owner-only: V8 code from a
 * directory others can write to would be code others can write. A no-op where Node lacks it
 * (Node 20), where NODE_DISABLE_COMPILE_CACHE is set, or where the directory cannot be made.
 * @module
 */
import { mkdirSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** Where the cache goes: the OS's per-user cache directory, under Latchkey's name. */
export function compileCacheDir(platform: NodeJS.Platform, env: Env, home: string): string {
  if (platform === 'win32') return join(env['LOCALAPPDATA'] || join(home, 'AppData', 'Local'), 'Latchkey', 'compile-cache');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'Latchkey', 'compile-cache');
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.cache'), 'latchkey', 'compile-cache');
}

/** Turns the compile cache on for the modules loaded from now on; says whether it did. */
export function enableCompileCache(env: Env = process.env): boolean {
  const enable = (nodeModule as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
  if (typeof enable !== 'function' || env['NODE_DISABLE_COMPILE_CACHE'] !== undefined) return false;
  try {
    const dir = compileCacheDir(process.platform, env, homedir());
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    enable(dir);
    return true;
  } catch {
    return false; // a read-only home, an odd environment: start without the cache
  }
}
