/**
 * `latchkey passphrase set|remove [--vault PATH]`: wrap the vault key with a passphrase (scrypt),
 * or go back to an owner-only key file. The credentials themselves are not re-sealed.
 * The new passphrase comes from LATCHKEY_NEW_PASSPHRASE, or is asked for twice on a terminal;
 * the current one (for a vault that already has one) from LATCHKEY_PASSPHRASE.
 * @module
 */
import { openUserVault } from '../../app/main.js';
import { parseCommandArgs, VAULT_OPTION } from '../args.js';
import { UsageError, type CliIo } from '../io.js';

export const NEW_PASSPHRASE_ENV = 'LATCHKEY_NEW_PASSPHRASE';
const MIN_LENGTH = 8;

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('passphrase', args, { ...VAULT_OPTION }, {
    min: 1,
    max: 1,
    names: 'what to do: "set" or "remove"',
  });
  const action = positionals[0];
  if (action !== 'set' && action !== 'remove') {
    throw new UsageError(`passphrase: expected "set" or "remove", not ${JSON.stringify(action)}`);
  }
  let next: string | undefined;
  if (action === 'set') {
    next = io.env[NEW_PASSPHRASE_ENV];
    if (next === undefined || next === '') {
      if (!io.stdinIsTty) {
        io.stderr(`latchkey: no new passphrase: set ${NEW_PASSPHRASE_ENV} or run in a terminal\n`);
        return 1;
      }
      next = await readHidden(io, 'New passphrase: ');
      const again = await readHidden(io, 'Repeat it: ');
      if (next !== again) {
        io.stderr('latchkey: the passphrases differ; nothing changed\n');
        return 1;
      }
    }
    if (next.length < MIN_LENGTH) {
      io.stderr(`latchkey: a passphrase needs at least ${MIN_LENGTH} characters; nothing changed\n`);
      return 1;
    }
  }
  const vault = openUserVault({ path: values.vault, create: false, env: io.env });
  try {
    if (next !== undefined) {
      vault.setPassphrase(next);
      io.stdout(`The vault key is now protected by your passphrase. Supply it with LATCHKEY_PASSPHRASE for non-interactive use.\n`);
    } else {
      vault.useKeyFile();
      io.stdout('The vault key is now protected by an owner-only key file instead of a passphrase.\n');
    }
    return 0;
  } finally {
    vault.close();
  }
}

/** Reads one line from a terminal without echoing it. */
function readHidden(io: CliIo, prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const input = io.stdin as NodeJS.ReadStream;
    io.stderr(prompt);
    input.setRawMode?.(true);
    input.resume();
    let text = '';
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          input.off('data', onData);
          input.setRawMode?.(false);
          input.pause();
          io.stderr('\n');
          resolve(text);
          return;
        }
        if (ch === '\u0003') {
          input.setRawMode?.(false);
          process.exit(130);
        }
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    input.on('data', onData);
  });
}
