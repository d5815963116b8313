import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/ctap/ports.js';
import { openVault } from '../../src/vault/vault.js';
import { sampleRecord, sampleSecrets, tempVaultDir, type TempVaultDir } from './helpers.js';

let t: TempVaultDir | undefined;
afterEach(() => t?.cleanup());

describe('signature counter limit', () => {
  it('refuses to advance past 2^32-1 instead of wrapping to 0, and keeps the stored value', () => {
    t = tempVaultDir();
    const vault = openVault({ path: t.vaultPath, keyDir: t.keyDir });
    const record = sampleRecord({ counterMode: 'increment', signCount: 0xfffffffe, backupEligible: false, backupState: false });
    vault.create(record, sampleSecrets());
    expect(vault.recordUse(record, 1)).toBe(0xffffffff);
    const error = (() => {
      try {
        vault.recordUse(record, 2);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('full');
    expect(vault.findById(record.rpId, record.id)!.signCount).toBe(0xffffffff);
    vault.close();
  });
});
