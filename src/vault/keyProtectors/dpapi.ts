/**
 * The Windows DPAPI protector: the vault key is wrapped by `CryptProtectData` for the current
 * Windows user (through the native shim; the vault never imports it: the app passes the two
 * functions in). Whoever runs as that user can unwrap it, as with the key file; a copied vault file
 * opens on no other account or machine. The default protector on Windows.
 *
 * The protected bytes are `"LKDPAPI1" ‖ vault id (32 ASCII hex) ‖ vault key`, so a DPAPI blob
 * moved from one vault to another does not open it.
 * @module
 */
import { StoreError } from '../../ctap/ports.js';
import { VAULT_KEY_LENGTH } from '../sealing.js';
import type { KeyProtector } from './keyProtector.js';

export const DPAPI_KIND = 'dpapi';

const HEADER = new TextEncoder().encode('LKDPAPI1');
const VAULT_ID_LENGTH = 32;
const PLAIN_LENGTH = HEADER.length + VAULT_ID_LENGTH + VAULT_KEY_LENGTH;

export interface DpapiFunctions {
  /** CryptProtectData for the current user (the addon's `protectData`). */
  readonly protect: (data: Uint8Array) => Uint8Array;
  /** CryptUnprotectData (the addon's `unprotectData`); throws when the blob is not for this user. */
  readonly unprotect: (data: Uint8Array) => Uint8Array;
}

export function createDpapiProtector(dpapi: DpapiFunctions): KeyProtector {
  return {
    kind: DPAPI_KIND,

    wrap(vaultKey, binding) {
      if (vaultKey.length !== VAULT_KEY_LENGTH) throw new RangeError('the vault key must be 32 bytes');
      const plain = new Uint8Array(PLAIN_LENGTH);
      plain.set(HEADER, 0);
      plain.set(new TextEncoder().encode(binding.vaultId), HEADER.length);
      plain.set(vaultKey, HEADER.length + VAULT_ID_LENGTH);
      try {
        return { params: { version: 1 }, wrapped: new Uint8Array(dpapi.protect(plain)) };
      } catch (cause) {
        throw new StoreError('io', `vault ${binding.vaultPath}: Windows DPAPI could not protect the vault key`, { cause });
      } finally {
        plain.fill(0);
      }
    },

    unwrap(stored, binding) {
      if (stored.params['version'] !== 1) {
        throw new StoreError('corrupt', `vault ${binding.vaultPath}: DPAPI parameters are invalid`);
      }
      let plain: Uint8Array;
      try {
        plain = dpapi.unprotect(stored.wrapped);
      } catch (cause) {
        throw new StoreError(
          'locked',
          `vault ${binding.vaultPath} is locked: Windows DPAPI cannot unprotect its key ` +
            '(was the vault created by another Windows user or on another machine?)',
          { cause },
        );
      }
      try {
        const id = new TextDecoder().decode(plain.subarray(HEADER.length, HEADER.length + VAULT_ID_LENGTH));
        const headerOk = plain.length === PLAIN_LENGTH && HEADER.every((b, i) => plain[i] === b);
        if (!headerOk || id !== binding.vaultId) {
          throw new StoreError('locked', `vault ${binding.vaultPath} is locked: its DPAPI blob belongs to another vault`);
        }
        return plain.slice(HEADER.length + VAULT_ID_LENGTH);
      } finally {
        plain.fill(0);
      }
    },
  };
}
