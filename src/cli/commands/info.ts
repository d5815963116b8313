/**
 * `latchkey info [--json]`: the authenticator's getInfo, decoded from the exact bytes a platform gets.
 * @module
 */
import { buildAuthenticator } from '../../app/main.js';
import { decodeStrict, type CborValue } from '../../cbor/index.js';
import { toHex } from '../../crypto/bytes.js';
import { StoreError, type CredentialStore } from '../../ctap/ports.js';
import { GetInfoKey } from '../../ctap/wire/getInfo.js';
import { JSON_OPTION, parseCommandArgs } from '../args.js';
import type { CliIo } from '../io.js';

/** getInfo never touches credentials; this stands in for the vault so `info` needs none. */
const NO_STORE: CredentialStore = new Proxy({} as CredentialStore, {
  get() {
    return () => {
      throw new StoreError('locked', 'no vault is open');
    };
  },
});

const NAMES = new Map<number, string>(Object.entries(GetInfoKey).map(([name, key]) => [key, name[0]!.toLowerCase() + name.slice(1)]));

function toJson(value: CborValue): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJson(v)]));
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function uuid(bytes: Uint8Array): string {
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('info', args, { ...JSON_OPTION }, { min: 0, max: 0, names: '' });
  const bytes = buildAuthenticator(NO_STORE).getInfoBytes();
  const info = decodeStrict(bytes) as Map<number, CborValue>;
  const named: Record<string, unknown> = {};
  for (const [key, value] of info) {
    named[NAMES.get(key) ?? String(key)] = key === GetInfoKey.Aaguid && value instanceof Uint8Array ? uuid(value) : toJson(value);
  }
  if (values.json) {
    io.stdout(`${JSON.stringify({ ...named, cbor: toHex(bytes) }, null, 2)}\n`);
    return 0;
  }
  const options = named['options'] as Record<string, boolean>;
  const algorithms = (named['algorithms'] as { alg: number }[]).map((a) => ({ [-7]: 'ES256 (-7)', [-8]: 'EdDSA (-8)' })[a.alg] ?? String(a.alg));
  io.stdout(
    [
      'Latchkey authenticator (authenticatorGetInfo)',
      `  versions              ${(named['versions'] as string[]).join(', ')}`,
      `  AAGUID                ${String(named['aaguid'])}`,
      `  algorithms            ${algorithms.join(', ')}`,
      `  extensions            ${(named['extensions'] as string[]).join(', ')}`,
      `  options               ${Object.entries(options).map(([k, v]) => `${k}=${v}`).join(' ')}`,
      `  transports            ${(named['transports'] as string[]).join(', ')}`,
      `  maxMsgSize            ${String(named['maxMsgSize'])}`,
      `  maxCredentialIdLength ${String(named['maxCredentialIdLength'])}`,
      `  maxCredBlobLength     ${String(named['maxCredBlobLength'])}`,
      '',
    ].join('\n'),
  );
  return 0;
}
