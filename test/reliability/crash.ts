/**
 * The crash loop: start crashChild.mjs (the real Authenticator over a real vault, working flat
 * out), SIGKILL it at a random moment, and check what a restart would find, again and again over
 * one vault. "Acknowledged" means the child's answer had left the process: its side-channel line
 * was in the pipe before the kill.
 *
 * After every kill, on a copy of the files exactly as the kill left them (so the next child, not
 * this check, is the one that recovers the original):
 * 1. the vault opens and passes SQLite's integrity check;
 * 2. every acknowledged credential is there with the public key its response carried;
 * 3. no acknowledged delete came back;
 * 4. no counter went backwards: each acknowledged signCount ≤ the stored one, zero counters are 0,
 *    and acknowledged counts of one credential strictly increase across kills;
 * 5. no half-written credential: every row's sealed private key unseals, and a signature made with
 *    it verifies with the row's public key (node:crypto).
 * At the end the children's stderr is scanned for the vault key, the key file and every private key.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openVault } from '../../src/vault/vault.js';
import { findLeaks, vaultKeys, type Secret } from '../security/secrets.js';
import { privateKeyMatches, prng } from './support.js';

export const CHILD = resolve(import.meta.dirname, 'crashChild.mjs');

export interface ChildRun {
  /** Complete side-channel lines (a line cut by the kill is not one). */
  readonly lines: string[];
  readonly stderr: string;
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
}

/**
 * Runs one child. `killAfterReadyMs` / `killAfterSpawnMs`: when to SIGKILL it; neither: let it
 * finish `maxOps` operations.
 */
export function runChild(
  vaultPath: string,
  keyDir: string,
  seed: number,
  kill: { afterReadyMs?: number; afterSpawnMs?: number; maxOps?: number; shared?: boolean },
  mutant?: string,
): Promise<ChildRun> {
  const args = [CHILD, vaultPath, keyDir, String(seed)];
  if (kill.maxOps !== undefined) args.push(String(kill.maxOps));
  const env: NodeJS.ProcessEnv = { ...process.env, LATCHKEY_CRASH_MUTANT: mutant, LATCHKEY_CHILD_SHARED: kill.shared === true ? '1' : undefined };
  if (mutant === undefined) delete env['LATCHKEY_CRASH_MUTANT'];
  if (kill.shared !== true) delete env['LATCHKEY_CHILD_SHARED'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  let timer: NodeJS.Timeout | undefined;
  const killNow = () => child.kill('SIGKILL');
  if (kill.afterSpawnMs !== undefined) timer = setTimeout(killNow, kill.afterSpawnMs);
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    if (out === '' && kill.afterReadyMs !== undefined && chunk.startsWith('READY') && timer === undefined) {
      timer = setTimeout(killNow, kill.afterReadyMs);
    }
    out += chunk;
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (err += chunk));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = out.split('\n');
      lines.pop(); // the part after the last newline is not a complete line
      done({ lines, stderr: err, signal, code });
    });
  });
}

interface Known {
  readonly rpId: string;
  readonly mode: 'zero' | 'increment';
  readonly cose: string;
  /** Highest acknowledged signCount. */
  count: number;
}

/** What the children acknowledged, across all kills. */
export class Acknowledged {
  readonly credentials = new Map<string, Known>();
  readonly deleted = new Set<string>();
  /** Deletes that started but whose acknowledgement never left: either outcome is correct. */
  readonly maybeDeleted = new Set<string>();
  acknowledgements = 0;

  /** Applies one child's lines; throws on a counter that went backwards as a relying party saw it. */
  apply(lines: readonly string[]): void {
    for (const line of lines) {
      const [kind, id, ...rest] = line.split(' ');
      if (kind === 'READY' || id === undefined) continue;
      this.acknowledgements++;
      if (kind === 'MC') {
        const [rpId, mode, cose] = rest as [string, 'zero' | 'increment', string];
        this.credentials.set(id, { rpId, mode, cose, count: 0 });
      } else if (kind === 'GA') {
        const count = Number(rest[0]);
        const known = this.credentials.get(id);
        if (known === undefined) continue; // made by a process whose MC answer never left
        this.maybeDeleted.delete(id); // it was there when this answer left, after any delete that started
        if (known.mode === 'zero' && count !== 0) throw new Error(`credential ${id} has a zero counter but answered ${count}`);
        if (known.mode === 'increment' && count <= known.count) {
          throw new Error(`credential ${id} answered signCount ${count} after ${known.count}: the counter went backwards`);
        }
        known.count = count;
      } else if (kind === 'DEL?') {
        this.maybeDeleted.add(id);
        this.acknowledgements--;
      } else if (kind === 'DEL') {
        this.maybeDeleted.delete(id);
        this.deleted.add(id);
        this.credentials.delete(id);
      } else {
        throw new Error(`unknown side-channel line: ${line}`);
      }
    }
  }
}

export interface CheckResult {
  readonly rows: number;
  readonly secrets: Secret[];
}

/**
 * Checks a vault as a restart would find it: on a copy of its files (main and -wal; -shm is the
 * index every opener rebuilds or validates), so the original is left for the next child.
 */
export function checkAfterCrash(vaultPath: string, keyDir: string, ack: Acknowledged, where: string): CheckResult {
  if (!existsSync(vaultPath)) {
    // Killed before the first vault was linked into place: nothing may have been acknowledged.
    if (ack.acknowledgements > 0) throw new Error(`${where}: the vault is gone after ${ack.acknowledgements} acknowledgements`);
    return { rows: 0, secrets: [] };
  }
  const scratch = mkdtempSync(join(tmpdir(), 'latchkey-crash-check-'));
  try {
    const copy = join(scratch, 'vault.db');
    copyFileSync(vaultPath, copy);
    if (existsSync(`${vaultPath}-wal`)) copyFileSync(`${vaultPath}-wal`, `${copy}-wal`);
    const vault = openVault({ path: copy, keyDir, create: false });
    try {
      const problems = vault.checkIntegrity();
      if (problems.length > 0) throw new Error(`${where}: integrity check: ${problems.join('; ')}`);
      for (const [id, known] of ack.credentials) {
        const record = vault.findById(known.rpId, Buffer.from(id, 'hex'));
        if (record === undefined && ack.maybeDeleted.has(id)) continue; // a delete started: gone or not, both fine
        if (record === undefined) throw new Error(`${where}: acknowledged credential ${id} is missing`);
        if (Buffer.from(record.publicKey).toString('hex') !== known.cose) throw new Error(`${where}: credential ${id} has another public key`);
        if (record.counterMode !== known.mode) throw new Error(`${where}: credential ${id} changed counter mode`);
        if (record.signCount < known.count) {
          throw new Error(`${where}: credential ${id} stores signCount ${record.signCount} < acknowledged ${known.count}`);
        }
      }
      const rows = vault.list();
      const secrets: Secret[] = [];
      const challenge = new TextEncoder().encode(`after ${where}`);
      for (const record of rows) {
        const id = Buffer.from(record.id).toString('hex');
        if (ack.deleted.has(id)) throw new Error(`${where}: deleted credential ${id} came back`);
        if (record.counterMode === 'zero' && record.signCount !== 0) throw new Error(`${where}: zero counter of ${id} is ${record.signCount}`);
        const { privateKey } = vault.openSecrets(record); // throws if the sealed key does not open
        if (!privateKeyMatches(record.publicKey, privateKey, challenge)) throw new Error(`${where}: credential ${id}: its private key does not match its public key`);
        secrets.push({ label: `private key of ${id.slice(0, 8)}`, bytes: privateKey });
      }
      return { rows: rows.length, secrets };
    } finally {
      vault.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface CrashFigures {
  readonly kills: number;
  readonly acknowledged: number;
  readonly credentialsChecked: number;
  readonly finalRows: number;
  readonly seed: number;
}

/**
 * `kills` rounds of start / random SIGKILL / check over one vault. Most kills land while the child
 * works (0–300 ms after it is ready); one in eight lands anywhere from the spawn on (vault creation,
 * opening, WAL recovery).
 */
export async function crashLoop(
  kills: number,
  seed: number,
  log: (line: string) => void = () => undefined,
  /** A deliberately broken child (crashChild.mjs), to prove the checks catch it. */
  mutant?: string,
): Promise<CrashFigures> {
  const random = prng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-crash-'));
  const vaultPath = join(dir, 'data', 'vault.db');
  const keyDir = join(dir, 'keys');
  mkdirSync(join(dir, 'data'), { recursive: true, mode: 0o700 });
  const ack = new Acknowledged();
  const stderrs: string[] = [];
  const secrets = new Map<string, Secret>();
  let checked = 0;
  let rows = 0;
  try {
    for (let round = 1; round <= kills; round++) {
      const early = random() < 0.125;
      const kill = early ? { afterSpawnMs: Math.floor(random() * 400) } : { afterReadyMs: Math.floor(random() * 300) };
      const run = await runChild(vaultPath, keyDir, seed + round, kill, mutant);
      stderrs.push(run.stderr);
      if (run.signal !== 'SIGKILL') {
        throw new Error(`round ${round}: the child ended by itself (code ${run.code}, signal ${run.signal}) before the kill:\n${run.stderr}`);
      }
      ack.apply(run.lines);
      const where = `kill ${round} (seed ${seed}, child seed ${seed + round})`;
      const result = checkAfterCrash(vaultPath, keyDir, ack, where);
      checked += result.rows;
      rows = result.rows;
      for (const s of result.secrets) secrets.set(s.label, s);
      if (round % 25 === 0) log(`  ${round}/${kills} kills, ${ack.acknowledgements} answers acknowledged, ${rows} credentials in the vault`);
    }
    // Crash output never carries a secret.
    const all = [...secrets.values(), ...(existsSync(vaultPath) ? vaultKeys(vaultPath, keyDir) : [])];
    const leaks = stderrs.flatMap((text, i) => findLeaks(`the stderr of child ${i + 1}`, text, all));
    if (leaks.length > 0) throw new Error(`secrets in crash output: ${leaks.join('; ')}`);
    return { kills, acknowledged: ack.acknowledgements, credentialsChecked: checked, finalRows: rows, seed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The number of kills: LATCHKEY_KILLS, else `fallback`. */
export function killsFromEnv(fallback: number): number {
  const value = Number(process.env['LATCHKEY_KILLS'] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error('LATCHKEY_KILLS must be a positive integer');
  return value;
}

/** A seed: LATCHKEY_SEED, else a fresh one (printed, so a failure can be replayed). */
export function seedFromEnv(): number {
  const text = process.env['LATCHKEY_SEED'];
  return text === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(text);
}

/** The built CLI must exist (npm test and npm run test:reliability build first). */
export function requireBuild(): void {
  const main = resolve(import.meta.dirname, '..', '..', 'dist', 'vault', 'vault.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
}
