/**
 * Runs the built `latchkey` CLI as a user would (a child process) with a private home, so tests
 * never touch the real vault or key files.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'dist', 'cli', 'latchkey.cjs');

export interface Sandbox {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly vault: string;
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: join(dir, 'home'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'config'),
  };
  return { dir, env, vault: join(dir, 'data', 'latchkey', 'vault.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function runCliSync(args: string[], env: NodeJS.ProcessEnv, input?: string | Uint8Array): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', input: input ?? '', timeout: 60_000 });
}

/** Runs the CLI with binary stdin and returns stdout as bytes. */
export function runCliBinary(
  args: string[],
  env: NodeJS.ProcessEnv,
  input: Uint8Array,
): Promise<{ status: number | null; stdout: Uint8Array; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout: new Uint8Array(Buffer.concat(out)), stderr: err }));
    child.stdin.end(input);
  });
}
