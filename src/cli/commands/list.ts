/**
 * `latchkey list [--json] [--vault PATH]`: the passkeys in the vault.
 * @module
 */
import { openUserVault } from '../../app/main.js';
import { toBase64Url } from '../../crypto/bytes.js';
import { JSON_OPTION, parseCommandArgs, VAULT_OPTION } from '../args.js';
import type { CliIo } from '../io.js';

function date(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('list', args, { ...JSON_OPTION, ...VAULT_OPTION }, { min: 0, max: 0, names: '' });
  const vault = openUserVault({ path: values.vault, create: false, env: io.env });
  try {
    const rows = vault.list().map((c) => ({
      id: toBase64Url(c.id),
      rpId: c.rpId,
      rpName: c.rpName ?? null,
      userName: c.userName ?? null,
      userDisplayName: c.userDisplayName ?? null,
      userHandle: toBase64Url(c.userId),
      algorithm: c.alg === -7 ? 'ES256' : 'EdDSA',
      discoverable: c.discoverable,
      backupEligible: c.backupEligible,
      backupState: c.backupState,
      signCount: c.signCount,
      credProtect: c.credProtect,
      created: date(c.createdAt),
      lastUsed: date(c.lastUsedAt),
      origin: c.origin,
    }));
    if (values.json) {
      io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      io.stdout('No passkeys in this vault.\n');
      return 0;
    }
    const table = [
      ['RP', 'USER', 'CREATED', 'LAST USED', 'CREDENTIAL ID'],
      ...rows.map((r) => [r.rpId, r.userName ?? r.userDisplayName ?? '-', r.created ?? '-', r.lastUsed ?? 'never', r.id]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) io.stdout(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`);
    io.stdout(`${rows.length} passkey${rows.length === 1 ? '' : 's'}\n`);
    return 0;
  } finally {
    vault.close();
  }
}
