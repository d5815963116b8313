/**
 * What a leak scan looks for, derived independently from a vault the test controls: the key file
 * (the key-encryption key), the vault key unwrapped from the vault's meta row with it (or with the
 * passphrase), and every credential's private key and hmac-secret CredRandoms unsealed with the
 * vault key. And the scan itself: any 12-byte window of any secret, as hex (either case), base64 /
 * base64url (at every alignment), a list of decimal byte values, or raw bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scryptSync } from 'node:crypto';
import { importVaultKey, openBytes, vaultKeyAad } from '../../src/vault/sealing.js';
import { openVault } from '../../src/vault/vault.js';
import { rawDatabase } from '../vault/driver.js';

export interface Secret {
  /** What it is, for the failure message (never the bytes). */
  readonly label: string;
  readonly bytes: Uint8Array;
}

interface Meta {
  readonly vaultId: string;
  readonly kind: string;
  readonly params: Record<string, string | number>;
  readonly wrapped: Uint8Array;
}

function readMeta(vaultPath: string): Meta {
  const db = rawDatabase(vaultPath);
  try {
    const row = db.prepare('SELECT vault_id, protector_kind, protector_params, wrapped_key FROM meta').get()!;
    return {
      vaultId: row['vault_id'] as string,
      kind: row['protector_kind'] as string,
      params: JSON.parse(row['protector_params'] as string) as Record<string, string | number>,
      wrapped: new Uint8Array(row['wrapped_key'] as Uint8Array),
    };
  } finally {
    db.close();
  }
}

/** The key-encryption key (key file, or derived from the passphrase) and the vault key it unwraps. */
export function vaultKeys(vaultPath: string, keyDir: string, passphrase?: string): Secret[] {
  const meta = readMeta(vaultPath);
  let kek: Uint8Array;
  if (meta.kind === 'keyfile') {
    kek = new Uint8Array(readFileSync(join(keyDir, String(meta.params['file']))));
  } else if (meta.kind === 'passphrase' && passphrase !== undefined) {
    const { N, r, p, salt } = meta.params as { N: number; r: number; p: number; salt: string };
    kek = new Uint8Array(scryptSync(Buffer.from(passphrase.normalize('NFC')), Buffer.from(salt, 'hex'), 32, { N, r, p, maxmem: 256 * 1024 * 1024 }));
  } else {
    throw new Error(`cannot derive the key of a '${meta.kind}' vault here`);
  }
  const label = meta.kind === 'keyfile' ? 'the key file' : 'the passphrase-derived key';
  const vaultKey = openBytes(importVaultKey(kek.slice()), meta.wrapped, vaultKeyAad(meta.kind, meta.vaultId), 'vault key');
  return [
    { label, bytes: kek },
    { label: 'the vault key', bytes: vaultKey },
  ];
}

/** Every credential secret in the vault (private keys, hmac-secret CredRandoms), unsealed. */
export function credentialSecrets(vaultPath: string, keyDir: string, passphrase?: string): Secret[] {
  const vault = openVault({ path: vaultPath, keyDir, create: false, ...(passphrase === undefined ? {} : { passphrase }) });
  try {
    return vault.list().flatMap((record) => {
      const secrets = vault.openSecrets(record);
      const name = `${record.rpId} credential ${Buffer.from(record.id).toString('hex').slice(0, 8)}`;
      const out: Secret[] = [{ label: `${name}: private key`, bytes: secrets.privateKey }];
      if (secrets.hmacSecretWithUv !== undefined) out.push({ label: `${name}: hmac-secret (UV)`, bytes: secrets.hmacSecretWithUv });
      if (secrets.hmacSecretWithoutUv !== undefined) out.push({ label: `${name}: hmac-secret (no UV)`, bytes: secrets.hmacSecretWithoutUv });
      return out;
    });
  } finally {
    vault.close();
  }
}

const WINDOW = 12;

/** The strings any appearance of `secret` would contain, in the encodings a program prints bytes in. */
export function fingerprints(secret: Uint8Array): string[] {
  const out = new Set<string>();
  const buffer = Buffer.from(secret);
  for (let start = 0; start + WINDOW <= buffer.length; start += 4) {
    const window = buffer.subarray(start, start + WINDOW);
    out.add(window.toString('hex'));
    out.add(window.toString('hex').toUpperCase());
    out.add(window.toString('latin1'));
    out.add([...window].join(','));
    out.add([...window].join(', '));
  }
  // base64 of a buffer holding the secret contains the encoding of a 3-aligned window of it.
  for (let start = 0; start + WINDOW <= buffer.length; start++) {
    const window = buffer.subarray(start, start + WINDOW);
    out.add(window.toString('base64'));
    out.add(window.toString('base64url'));
  }
  return [...out];
}

/** The labels of the secrets that appear in `text`, with where they were found. */
export function findLeaks(where: string, text: string | Uint8Array, secrets: readonly Secret[]): string[] {
  const haystack = typeof text === 'string' ? text : Buffer.from(text).toString('latin1');
  const found: string[] = [];
  for (const secret of secrets) {
    if (secret.bytes.length < WINDOW) throw new Error(`${secret.label} is too short to scan for`);
    if (fingerprints(secret.bytes).some((f) => haystack.includes(f))) found.push(`${secret.label} in ${where}`);
  }
  return found;
}
