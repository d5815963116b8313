/**
 * `latchkey delete <credential-id> [--yes] [--vault PATH]`: removes one passkey, after asking.
 * The id is the base64url one `latchkey list` shows; a unique prefix of at least 6 characters works.
 * @module
 */
import { createInterface } from 'node:readline';
import { openUserVault } from '../../app/main.js';
import { isYes } from '../../app/userVerifiers.js';
import { toBase64Url } from '../../crypto/bytes.js';
import { parseCommandArgs, VAULT_OPTION } from '../args.js';
import { UsageError, type CliIo } from '../io.js';

const MIN_PREFIX = 6;

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'delete',
    args,
    { ...VAULT_OPTION, yes: { type: 'boolean', short: 'y', default: false } },
    { min: 1, max: 1, names: 'the credential id (see `latchkey list`)' },
  );
  const wanted = positionals[0]!.trim().replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]+$/.test(wanted)) throw new UsageError(`delete: ${JSON.stringify(wanted)} is not a base64url credential id`);
  if (wanted.length < MIN_PREFIX) throw new UsageError(`delete: give at least ${MIN_PREFIX} characters of the credential id`);

  const vault = openUserVault({ path: values.vault, create: false, env: io.env });
  try {
    const matches = vault.list().filter((c) => toBase64Url(c.id).startsWith(wanted));
    if (matches.length === 0) {
      io.stderr(`latchkey: no passkey with credential id ${wanted} in this vault\n`);
      return 1;
    }
    if (matches.length > 1) {
      io.stderr(`latchkey: ${wanted} matches ${matches.length} passkeys; give more of the id\n`);
      return 1;
    }
    const target = matches[0]!;
    const label = `${target.rpId} (${target.userName ?? target.userDisplayName ?? 'no user name'})`;
    if (!values.yes) {
      if (!io.stdinIsTty) {
        io.stderr(`latchkey: not deleting the passkey for ${label} without confirmation: run in a terminal or pass --yes\n`);
        return 1;
      }
      const answer = await ask(io, `Delete the passkey for ${label}? Sites will no longer accept it. [y/N] `);
      if (!isYes(answer)) {
        io.stdout('Nothing deleted.\n');
        return 1;
      }
    }
    vault.delete(target.id);
    io.stdout(`Deleted the passkey for ${label}.\n`);
    return 0;
  } finally {
    vault.close();
  }
}

function ask(io: CliIo, question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: io.stdin, terminal: false });
    io.stderr(question);
    rl.once('line', (line) => {
      rl.close();
      resolve(line);
    });
    rl.once('close', () => resolve(''));
  });
}
