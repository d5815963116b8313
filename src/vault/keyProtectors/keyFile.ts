/**
 * The key-file protector: a random 32-byte key-encryption key in an owner-only file kept apart from
 * the vault (by default `<config dir>/latchkey/keys/<vault id>.key`), wrapping the vault key with
 * AES-256-GCM. Whoever can read both files can open the vault: it protects a copied vault file,
 * not a compromised account.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../../ctap/ports.js';
import { ensurePrivateDirectory, errnoCode, unlinkQuietly, writeNewPrivateFile } from '../privateFiles.js';
import { generateKey, importVaultKey, openBytes, sealBytes, VAULT_KEY_LENGTH, vaultKeyAad } from '../sealing.js';
import type { KeyProtector, VaultKeyBinding, WrappedVaultKey } from './keyProtector.js';

export const KEY_FILE_KIND = 'keyfile';

/** Key file names are derived from the vault id; anything else in a vault's params is refused. */
const KEY_FILE_NAME = /^[0-9a-f]{32}\.key$/;

export interface KeyFileProtectorOptions {
  /** Directory holding key files (already resolved: option, LATCHKEY_KEY_DIR, or the default). */
  readonly keyDir: string;
}

function keyFileName(params: WrappedVaultKey['params'], binding: VaultKeyBinding): string {
  const file = params['file'];
  if (typeof file !== 'string' || !KEY_FILE_NAME.test(file)) {
    throw new StoreError('corrupt', `vault ${binding.vaultPath}: key-file parameters are invalid`);
  }
  return file;
}

function readKeyFile(path: string, binding: VaultKeyBinding): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT') {
      throw new StoreError(
        'locked',
        `vault ${binding.vaultPath} is locked: its key file ${path} was not found ` +
          `(restore it, or point LATCHKEY_KEY_DIR / --key-dir at the directory that holds it)`,
        { cause },
      );
    }
    throw new StoreError('locked', `vault ${binding.vaultPath} is locked: key file ${path} cannot be read`, { cause });
  }
  if (bytes.length !== VAULT_KEY_LENGTH) {
    bytes.fill(0);
    throw new StoreError('locked', `key file ${path} is not a Latchkey key file (wrong length)`);
  }
  const key = new Uint8Array(bytes);
  bytes.fill(0);
  return key;
}

/** Create the key file, or reuse the one already there (nothing is ever overwritten). */
function createOrReuseKeyFile(path: string, keyDir: string, binding: VaultKeyBinding): Uint8Array {
  ensurePrivateDirectory(keyDir);
  const kek = generateKey();
  try {
    writeNewPrivateFile(path, keyDir, kek);
    return kek;
  } catch (cause) {
    kek.fill(0);
    if (errnoCode(cause) === 'EEXIST') return readKeyFile(path, binding);
    throw new StoreError('io', `cannot create key file ${path}`, { cause });
  }
}

export function createKeyFileProtector(options: KeyFileProtectorOptions): KeyProtector {
  const { keyDir } = options;
  return {
    kind: KEY_FILE_KIND,

    wrap(vaultKey, binding) {
      const file = `${binding.vaultId}.key`;
      const kek = importVaultKey(createOrReuseKeyFile(join(keyDir, file), keyDir, binding));
      return { params: { file }, wrapped: sealBytes(kek, vaultKey, vaultKeyAad(KEY_FILE_KIND, binding.vaultId)) };
    },

    unwrap(stored, binding) {
      const path = join(keyDir, keyFileName(stored.params, binding));
      const kek = importVaultKey(readKeyFile(path, binding));
      try {
        return openBytes(kek, stored.wrapped, vaultKeyAad(KEY_FILE_KIND, binding.vaultId), 'vault key');
      } catch (cause) {
        throw new StoreError('locked', `vault ${binding.vaultPath} is locked: key file ${path} does not open it`, {
          cause,
        });
      }
    },

    retire(stored, binding) {
      try {
        unlinkQuietly(join(keyDir, keyFileName(stored.params, binding)));
      } catch {
        // invalid params: nothing of ours to remove
      }
    },
  };
}
