/**
 * The passphrase protector: scrypt (node:crypto) derives a key-encryption key from the passphrase
 * and a random 16-byte salt; the vault key is wrapped with AES-256-GCM under it. The scrypt cost
 * and salt are stored with the wrapped key, so the defaults can be raised later without breaking
 * existing vaults.
 * @module
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { StoreError } from '../../ctap/ports.js';
import { importVaultKey, openBytes, sealBytes, VAULT_KEY_LENGTH, vaultKeyAad } from '../sealing.js';
import type { KeyProtector, ProtectorParams, VaultKeyBinding } from './keyProtector.js';

export const PASSPHRASE_KIND = 'passphrase';

/** scrypt cost parameters. */
export interface ScryptCost {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** ~370 ms and 128 MiB per unlock on the development machine. */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };

const SALT_LENGTH = 16;

// Bounds on what a vault file may ask for: enough headroom to raise the cost later, small enough
// that a crafted file cannot make an unlock take hours or exhaust memory.
const MAX_LOG2_N = 22;
const MAX_R = 32;
const MAX_P = 16;

function memoryNeeded(cost: ScryptCost): number {
  return 128 * cost.N * cost.r + 128 * cost.r * cost.p;
}

function deriveKey(passphrase: string, salt: Uint8Array, cost: ScryptCost): Uint8Array {
  const secret = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  let key: Buffer;
  try {
    key = scryptSync(secret, salt, VAULT_KEY_LENGTH, {
      N: cost.N,
      r: cost.r,
      p: cost.p,
      maxmem: memoryNeeded(cost) + 1024 * 1024,
    });
  } catch (error) {
    throw new StoreError('io', `scrypt failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  } finally {
    secret.fill(0);
  }
  const out = new Uint8Array(key);
  key.fill(0);
  return out;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;
}

function validCost(cost: ScryptCost): boolean {
  return (
    isPowerOfTwo(cost.N) &&
    cost.N <= 2 ** MAX_LOG2_N &&
    Number.isInteger(cost.r) &&
    cost.r >= 1 &&
    cost.r <= MAX_R &&
    Number.isInteger(cost.p) &&
    cost.p >= 1 &&
    cost.p <= MAX_P
  );
}

function parseParams(params: ProtectorParams, binding: VaultKeyBinding): { cost: ScryptCost; salt: Buffer } {
  const { kdf, N, r, p, salt } = params;
  if (
    kdf !== 'scrypt' ||
    typeof N !== 'number' ||
    typeof r !== 'number' ||
    typeof p !== 'number' ||
    typeof salt !== 'string' ||
    !/^[0-9a-f]{32}$/.test(salt) ||
    !validCost({ N, r, p })
  ) {
    throw new StoreError('corrupt', `vault ${binding.vaultPath}: passphrase parameters are invalid`);
  }
  return { cost: { N, r, p }, salt: Buffer.from(salt, 'hex') };
}

/** Throws a RangeError for an empty passphrase (a programming or input error, not a storage one). */
function checkPassphrase(passphrase: string): void {
  if (passphrase.length === 0) throw new RangeError('the passphrase is empty');
}

export function createPassphraseProtector(passphrase: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): KeyProtector {
  checkPassphrase(passphrase);
  if (!validCost(cost)) throw new RangeError('invalid scrypt cost parameters');
  return {
    kind: PASSPHRASE_KIND,

    wrap(vaultKey, binding) {
      const salt = randomBytes(SALT_LENGTH);
      const kek = importVaultKey(deriveKey(passphrase, salt, cost));
      return {
        params: { kdf: 'scrypt', N: cost.N, r: cost.r, p: cost.p, salt: salt.toString('hex') },
        wrapped: sealBytes(kek, vaultKey, vaultKeyAad(PASSPHRASE_KIND, binding.vaultId)),
      };
    },

    unwrap(stored, binding) {
      const { cost: storedCost, salt } = parseParams(stored.params, binding);
      const kek = importVaultKey(deriveKey(passphrase, salt, storedCost));
      try {
        return openBytes(kek, stored.wrapped, vaultKeyAad(PASSPHRASE_KIND, binding.vaultId), 'vault key');
      } catch (cause) {
        throw new StoreError('locked', `wrong passphrase for vault ${binding.vaultPath}`, { cause });
      }
    },
  };
}
