/**
 * A second process on the same vault (SECURITY.md, "Concurrency"): safe sharing, through SQLite's
 * WAL and a 5 s busy timeout. Two processes create, assert (incrementing counters of the same
 * credentials) and delete at once, one of them is SIGKILLed halfway; then the vault passes the
 * integrity check, every acknowledged credential is there, no acknowledged delete came back, every
 * row's key matches its public key, and no increment was lost: the counter values the two
 * processes handed out for one credential are all different, and the stored one is at least the
 * highest of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openVault } from '../../src/vault/vault.js';
import { Acknowledged, checkAfterCrash, requireBuild, runChild, seedFromEnv } from './crash.js';

describe('two processes on one vault', () => {
  it('create, assert and delete at once, one killed halfway: nothing lost, no increment lost, vault whole', async () => {
    requireBuild();
    const seed = seedFromEnv();
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-shared-'));
    try {
      const vaultPath = join(dir, 'vault.db');
      const keyDir = join(dir, 'keys');
      // Credentials both processes will know (each child starts from what the vault lists).
      const seeding = await runChild(vaultPath, keyDir, seed, { maxOps: 60 });
      expect(seeding.code, seeding.stderr).toBe(0);

      const [a, b] = await Promise.all([
        runChild(vaultPath, keyDir, seed + 1, { afterReadyMs: 600, shared: true }),
        runChild(vaultPath, keyDir, seed + 2, { maxOps: 400, shared: true }),
      ]);
      expect(a.signal, a.stderr).toBe('SIGKILL');
      expect(b.code, b.stderr).toBe(0);
      expect(`${a.stderr}${b.stderr}`).not.toMatch(/SQLITE_BUSY|database is locked/);

      // Everything acknowledged by anyone, and every counter value handed out.
      const all = [...seeding.lines, ...a.lines, ...b.lines];
      const created = new Map<string, { rpId: string; cose: string }>();
      const deleted = new Set<string>();
      const mayBeGone = new Set<string>();
      const counts = new Map<string, number[]>();
      for (const line of all) {
        const [kind, id, ...rest] = line.split(' ');
        if (kind === 'MC') created.set(id!, { rpId: rest[0]!, cose: rest[2]! });
        if (kind === 'DEL') deleted.add(id!);
        if (kind === 'DEL?') mayBeGone.add(id!);
        if (kind === 'GA') counts.set(id!, [...(counts.get(id!) ?? []), Number(rest[0])]);
      }
      // Each process on its own saw its counters go only up (Acknowledged throws otherwise).
      for (const run of [a, b]) {
        const own = new Acknowledged();
        own.apply(seeding.lines.filter((l) => l.startsWith('MC')));
        own.apply(run.lines);
      }
      // Integrity, no deleted credential back, every row's sealed key matches its public key.
      const model = new Acknowledged();
      for (const id of deleted) model.deleted.add(id);
      const { rows } = checkAfterCrash(vaultPath, keyDir, model, `shared run (LATCHKEY_SEED=${seed})`);

      const vault = openVault({ path: vaultPath, keyDir, create: false });
      let shared = 0;
      let sharedIncrements = 0;
      try {
        for (const [id, { rpId, cose }] of created) {
          const record = vault.findById(rpId, Buffer.from(id, 'hex'));
          if (mayBeGone.has(id)) continue;
          expect(record, `credential ${id}`).toBeDefined();
          expect(Buffer.from(record!.publicKey).toString('hex')).toBe(cose);
        }
        for (const [id, values] of counts) {
          const known = created.get(id);
          if (known === undefined) continue;
          const nonZero = values.filter((v) => v !== 0);
          expect(new Set(nonZero).size, `counter values of ${id}`).toBe(nonZero.length); // no increment lost or repeated
          const record = vault.findById(known.rpId, Buffer.from(id, 'hex'));
          if (record !== undefined) expect(record.signCount).toBeGreaterThanOrEqual(Math.max(...values));
          const byA = a.lines.some((l) => l.startsWith(`GA ${id} `) && !l.endsWith(' 0'));
          const byB = b.lines.some((l) => l.startsWith(`GA ${id} `) && !l.endsWith(' 0'));
          if (byA && byB) {
            shared++;
            sharedIncrements += nonZero.length;
          }
        }
      } finally {
        vault.close();
      }
      expect(shared).toBeGreaterThan(0); // the two processes really did advance the same counters
      console.log(
        `FIGURE shared vault: 2 processes, ${a.lines.length + b.lines.length} answers acknowledged, ` +
          `${shared} credentials whose counter both advanced (${sharedIncrements} increments, none lost or repeated), ${rows} rows checked; LATCHKEY_SEED=${seed}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
