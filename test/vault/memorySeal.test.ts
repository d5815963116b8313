/**
 * The memory seal (memorySeal.ts) and the store's use of it: secrets of rows in use are kept
 * sealed, never in the clear; every caller gets its own plaintext; a lock makes the kept copies
 * unusable, and the vault's own blobs are opened (and authenticated) again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemorySeal } from '../../src/vault/memorySeal.js';
import { containsBytes, sampleRecord, sampleSecrets, tempVaultDir, type TempVaultDir } from './helpers.js';

describe('MemorySeal', () => {
  it('seals whole blocks to other bytes and opens them again, as plain Uint8Arrays', () => {
    const seal = new MemorySeal();
    const secret = new Uint8Array(32).map((_, i) => i + 1);
    const sealed = seal.seal(secret);
    expect(sealed).toHaveLength(32);
    expect(containsBytes(sealed, secret.subarray(0, 16))).toBe(false);
    expect(containsBytes(sealed, secret.subarray(16))).toBe(false);
    const opened = seal.open(sealed);
    expect(Object.getPrototypeOf(opened)).toBe(Uint8Array.prototype);
    expect(opened).toStrictEqual(secret);
    // Each open is a new array: wiping one leaves the next intact.
    opened.fill(0);
    expect(seal.open(sealed)).toStrictEqual(secret);
    seal.dispose();
  });

  it('uses a new key per seal: one seal cannot open another one’s blobs', () => {
    const a = new MemorySeal();
    const b = new MemorySeal();
    const secret = new Uint8Array(32).fill(5);
    expect(b.open(a.seal(secret))).not.toStrictEqual(secret);
    a.dispose();
    b.dispose();
  });

  it('takes only whole AES blocks', () => {
    expect(MemorySeal.fits(new Uint8Array(32))).toBe(true);
    expect(MemorySeal.fits(new Uint8Array(0))).toBe(false);
    expect(MemorySeal.fits(new Uint8Array(31))).toBe(false);
    const seal = new MemorySeal();
    expect(() => seal.seal(new Uint8Array(20))).toThrow(RangeError);
    seal.dispose();
  });

  it('opens nothing once disposed (dispose is idempotent)', () => {
    const seal = new MemorySeal();
    const sealed = seal.seal(new Uint8Array(32).fill(1));
    seal.dispose();
    seal.dispose();
    expect(() => seal.open(sealed)).toThrow(/disposed/);
    expect(() => seal.seal(new Uint8Array(32))).toThrow(/disposed/);
  });
});

describe('the store keeps the secrets of rows in use sealed in memory', () => {
  let t: TempVaultDir;
  beforeEach(() => {
    t = tempVaultDir();
  });
  afterEach(() => {
    t.cleanup();
  });

  it('answers every use with the right secrets, each caller its own copy, never kept in the clear', () => {
    const record = sampleRecord();
    const secrets = sampleSecrets();
    const vault = t.open();
    vault.create(record, secrets);
    for (let use = 0; use < 4; use++) {
      const opened = vault.openSecrets(vault.findById(record.rpId, record.id)!);
      expect(opened).toStrictEqual(secrets);
      // The caller wipes what it was given (as the core does): the next use is unaffected.
      opened.privateKey.fill(0);
      opened.hmacSecretWithUv!.fill(0);
      opened.hmacSecretWithoutUv!.fill(0);
    }
    // What the store keeps for the row holds no secret in the clear.
    const rows = [...(Reflect.get(vault, 'recordCache') as Map<string, { kept?: Record<string, unknown> }>).values()];
    expect(rows).toHaveLength(1);
    const kept = rows[0]!.kept!;
    for (const blob of [kept['privateKey'], kept['hmacUv'], kept['hmacNoUv']]) {
      expect(blob).toBeInstanceOf(Uint8Array);
      for (const secret of [secrets.privateKey, secrets.hmacSecretWithUv!, secrets.hmacSecretWithoutUv!]) {
        expect(containsBytes(blob as Uint8Array, secret.subarray(0, 16))).toBe(false);
        expect(containsBytes(blob as Uint8Array, secret.subarray(16))).toBe(false);
      }
    }
    vault.close();
  });

  it('after a lock, opens a record handed out before it from the vault’s own blob again', () => {
    const record = sampleRecord();
    const secrets = sampleSecrets();
    const vault = t.open();
    vault.create(record, secrets);
    const before = vault.findById(record.rpId, record.id)!;
    expect(vault.openSecrets(before)).toStrictEqual(secrets);
    expect(vault.openSecrets(before)).toStrictEqual(secrets); // from the kept copy
    const [row] = (Reflect.get(vault, 'recordCache') as Map<string, { kept?: { seal: MemorySeal; privateKey: Uint8Array } }>).values();
    const kept = row!.kept!;
    vault.lock();
    // The lock disposed of the memory key: nothing kept before it opens any more.
    expect(() => kept.seal.open(kept.privateKey)).toThrow(/disposed/);
    expect(() => vault.openSecrets(before)).toThrow(/locked/);
    vault.unlock();
    expect(vault.openSecrets(before)).toStrictEqual(secrets);
    expect(vault.openSecrets(vault.findById(record.rpId, record.id)!)).toStrictEqual(secrets);
    vault.close();
  });
});
