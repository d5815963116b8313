import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/ctap/ports.js';
import type { KeyProtector } from '../../src/vault/keyProtectors/keyProtector.js';
import { KEY_DIR_ENV } from '../../src/vault/paths.js';
import { writeNewPrivateFile } from '../../src/vault/privateFiles.js';
import { openVault } from '../../src/vault/vault.js';
import { openTestDriver } from './driver.js';
import { sampleRecord, sampleSecrets, sha256File, tempVaultDir, type TempVaultDir } from './helpers.js';

let t: TempVaultDir;
beforeEach(() => {
  t = tempVaultDir();
});
afterEach(() => {
  t.cleanup();
});

function storeError(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (error) {
    if (error instanceof StoreError) return error;
    throw error;
  }
  throw new Error('expected a StoreError');
}

describe('passphrase protector', () => {
  it('creates, reopens, and refuses a wrong or missing passphrase without changing the file', () => {
    const record = sampleRecord();
    const secrets = sampleSecrets();
    let vault = t.open({ passphrase: 'correct horse battery staple' });
    expect(vault.info().protector).toBe('passphrase');
    vault.create(record, secrets);
    vault.close();
    expect(existsSync(t.keyDir)).toBe(false); // no key file for a passphrase vault

    const before = sha256File(t.vaultPath);
    const wrong = storeError(() => t.open({ passphrase: 'correct horse battery stapler' }));
    expect(wrong.code).toBe('locked');
    expect(wrong.message).toMatch(/wrong passphrase/);
    expect(wrong.message).not.toContain('correct horse');
    const missing = storeError(() => t.open());
    expect(missing.code).toBe('locked');
    expect(missing.message).toMatch(/passphrase/);
    expect(sha256File(t.vaultPath)).toBe(before);

    vault = t.open({ passphrase: 'correct horse battery staple' });
    expect(vault.openSecrets(vault.findById(record.rpId, record.id)!)).toStrictEqual(secrets);
    vault.close();
  });

  it('switches keyfile → passphrase → keyfile, re-wrapping the same key', () => {
    const record = sampleRecord();
    const secrets = sampleSecrets();
    let vault = t.open();
    const vaultId = vault.info().vaultId;
    vault.create(record, secrets);
    vault.setPassphrase('hunter2 hunter2');
    expect(vault.info().protector).toBe('passphrase');
    expect(vault.openSecrets(vault.findById(record.rpId, record.id)!)).toStrictEqual(secrets);
    vault.close();
    // The old key file was removed after the commit: it no longer opens anything.
    expect(existsSync(join(t.keyDir, `${vaultId}.key`))).toBe(false);
    expect(storeError(() => t.open()).code).toBe('locked');

    vault = t.open({ passphrase: 'hunter2 hunter2' });
    expect(vault.info().vaultId).toBe(vaultId);
    expect(vault.openSecrets(vault.findById(record.rpId, record.id)!)).toStrictEqual(secrets);
    vault.useKeyFile();
    vault.close();

    vault = t.open();
    expect(vault.info().protector).toBe('keyfile');
    expect(vault.openSecrets(vault.findById(record.rpId, record.id)!)).toStrictEqual(secrets);
    vault.setPassphrase('new one');
    vault.setPassphrase('newer one'); // changing the passphrase
    vault.close();
    expect(storeError(() => t.open({ passphrase: 'new one' })).code).toBe('locked');
    t.open({ passphrase: 'newer one' }).close();
  });
});

describe('key-file protector', () => {
  it('reports a missing key file as locked, naming the path', () => {
    const vault = t.open();
    const { vaultId } = vault.info();
    const keyFile = join(t.keyDir, `${vaultId}.key`);
    vault.close();
    const before = sha256File(t.vaultPath);
    const otherDir = join(t.dir, 'elsewhere');
    const error = storeError(() => openVault({ path: t.vaultPath, keyDir: otherDir, driver: openTestDriver }));
    expect(error.code).toBe('locked');
    expect(error.message).toContain(join(otherDir, `${vaultId}.key`));
    expect(error.message).toMatch(/key file .* not found/);
    expect(sha256File(t.vaultPath)).toBe(before);
    expect(existsSync(keyFile)).toBe(true);
  });

  it('refuses a key file with other contents, without printing key bytes', () => {
    const vault = t.open();
    const keyFile = join(t.keyDir, `${vault.info().vaultId}.key`);
    vault.close();
    const replacement = randomBytes(32);
    writeFileSync(keyFile, replacement);
    const error = storeError(() => t.open());
    expect(error.code).toBe('locked');
    expect(error.message).toContain(keyFile);
    expect(error.message).not.toContain(replacement.toString('hex'));
  });

  it('takes the key directory from LATCHKEY_KEY_DIR when no option is given', () => {
    const envDir = join(t.dir, 'from-env');
    const saved = process.env[KEY_DIR_ENV];
    process.env[KEY_DIR_ENV] = envDir;
    try {
      const vault = openVault({ path: t.vaultPath, driver: openTestDriver });
      const id = vault.info().vaultId;
      vault.close();
      expect(readdirSync(envDir)).toEqual([`${id}.key`]);
    } finally {
      if (saved === undefined) delete process.env[KEY_DIR_ENV];
      else process.env[KEY_DIR_ENV] = saved;
    }
  });

  it('never overwrites an existing file when writing a key file', () => {
    const path = join(t.dir, 'existing.key');
    writeFileSync(path, 'keep me');
    expect(() => writeNewPrivateFile(path, t.dir, new Uint8Array(32))).toThrow(/EEXIST/);
    expect(existsSync(path)).toBe(true);
  });
});

describe('other protectors (the interface DPAPI will implement)', () => {
  /** A stand-in that keeps the wrapped key in memory: enough to show a new kind plugs in. */
  function memoryProtector(): KeyProtector & { retired: number } {
    const keys = new Map<string, Uint8Array>();
    return {
      kind: 'test-memory',
      retired: 0,
      wrap(vaultKey, binding) {
        keys.set(binding.vaultId, new Uint8Array(vaultKey));
        return { params: { slot: binding.vaultId }, wrapped: new Uint8Array([1]) };
      },
      unwrap(stored, binding) {
        const key = keys.get(String(stored.params['slot']));
        if (key === undefined) throw new StoreError('locked', `no key for ${binding.vaultPath}`);
        return new Uint8Array(key);
      },
      retire() {
        this.retired += 1;
      },
    };
  }

  it('creates and reopens a vault with a protector object', () => {
    const protector = memoryProtector();
    const record = sampleRecord();
    const secrets = sampleSecrets();
    let vault = t.open({ protector });
    vault.create(record, secrets);
    expect(vault.info().protector).toBe('test-memory');
    vault.close();
    // Without the protector object, the vault says what it needs.
    expect(storeError(() => t.open()).message).toMatch(/'test-memory'/);
    vault = t.open({ protector });
    expect(vault.openSecrets(vault.findById(record.rpId, record.id)!)).toStrictEqual(secrets);
    vault.useKeyFile();
    vault.close();
    expect(protector.retired).toBe(1);
    t.open().close();
  });

  it('leaves nothing behind when creation fails', () => {
    const failing: KeyProtector = {
      kind: 'test-failing',
      wrap() {
        throw new StoreError('io', 'the protector is unavailable');
      },
      unwrap() {
        throw new Error('unreachable');
      },
    };
    expect(() => t.open({ protector: failing })).toThrow(/unavailable/);
    expect(existsSync(t.vaultPath)).toBe(false);
    expect(readdirSync(join(t.dir, 'data'))).toEqual([]);
  });
});
