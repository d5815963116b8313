import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/ctap/ports.js';
import { rawDatabase } from './driver.js';
import { containsBytes, sampleRecord, sampleSecrets, tempVaultDir, type TempVaultDir } from './helpers.js';

let t: TempVaultDir;
beforeEach(() => {
  t = tempVaultDir();
});
afterEach(() => {
  t.cleanup();
});

function rawFileBytes(path: string): Buffer {
  const parts = [readFileSync(path)];
  for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) parts.push(readFileSync(path + suffix));
  return Buffer.concat(parts);
}

function expectTampered(fn: () => unknown, secret?: Uint8Array): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('tampered');
    if (secret !== undefined) expect((error as StoreError).message).not.toContain(Buffer.from(secret).toString('hex'));
    return;
  }
  throw new Error('expected StoreError(tampered)');
}

describe('secrets at rest', () => {
  it('never writes a private key or hmac secret in the clear (main file and WAL)', () => {
    const vault = t.open();
    const secrets = Array.from({ length: 20 }, () => sampleSecrets());
    secrets.forEach((s, i) => vault.create(sampleRecord({ userId: new Uint8Array([i + 1]) }), s));
    const check = () => {
      const raw = rawFileBytes(t.vaultPath);
      for (const s of secrets) {
        expect(containsBytes(raw, s.privateKey)).toBe(false);
        expect(containsBytes(raw, s.hmacSecretWithUv!)).toBe(false);
        expect(containsBytes(raw, s.hmacSecretWithoutUv!)).toBe(false);
      }
    };
    expect(existsSync(`${t.vaultPath}-wal`)).toBe(true); // the writes are in the WAL now
    check();
    vault.close();
    check(); // and after the checkpoint into the main file
    // The search itself works: the public key is stored as is.
    const raw = rawFileBytes(t.vaultPath);
    expect(raw.length).toBeGreaterThan(0);
  });

  it('refuses a sealed private key copied to another row', () => {
    const victim = sampleRecord({ rpId: 'bank.example', userId: new Uint8Array([1]) });
    const attacker = sampleRecord({ rpId: 'evil.example', userId: new Uint8Array([2]) });
    const victimSecrets = sampleSecrets();
    let vault = t.open();
    vault.create(victim, victimSecrets);
    vault.create(attacker, sampleSecrets());
    vault.close();

    const db = rawDatabase(t.vaultPath);
    db.prepare(
      'UPDATE credentials SET sealed_private_key = (SELECT sealed_private_key FROM credentials WHERE id = ?) WHERE id = ?',
    ).run(victim.id, attacker.id);
    db.close();

    vault = t.open();
    expectTampered(() => vault.openSecrets(vault.findById(attacker.rpId, attacker.id)!), victimSecrets.privateKey);
    // The victim's own row still opens.
    expect(vault.openSecrets(vault.findById(victim.rpId, victim.id)!)).toStrictEqual(victimSecrets);
    vault.close();
  });

  it('refuses an hmac secret moved to the other hmac column, and a row moved to another RP', () => {
    const record = sampleRecord({ rpId: 'a.example' });
    let vault = t.open();
    vault.create(record, sampleSecrets());
    vault.close();
    let db = rawDatabase(t.vaultPath);
    db.prepare('UPDATE credentials SET sealed_hmac_no_uv = sealed_hmac_uv WHERE id = ?').run(record.id);
    db.close();
    vault = t.open();
    expectTampered(() => vault.openSecrets(vault.findById('a.example', record.id)!));
    vault.close();

    db = rawDatabase(t.vaultPath);
    db.prepare("UPDATE credentials SET rp_id = 'b.example' WHERE id = ?").run(record.id);
    db.close();
    vault = t.open();
    expectTampered(() => vault.openSecrets(vault.findById('b.example', record.id)!));
    vault.close();
  });

  it('refuses a flipped bit in a sealed blob', () => {
    const record = sampleRecord();
    let vault = t.open();
    vault.create(record, sampleSecrets());
    vault.close();
    const db = rawDatabase(t.vaultPath);
    const { sealed } = db.prepare('SELECT sealed_private_key AS sealed FROM credentials').get() as { sealed: Uint8Array };
    sealed[sealed.length - 1]! ^= 1;
    db.prepare('UPDATE credentials SET sealed_private_key = ?').run(sealed);
    db.close();
    vault = t.open();
    expectTampered(() => vault.openSecrets(vault.findById(record.rpId, record.id)!));
    vault.close();
  });
});
