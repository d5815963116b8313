/**
 * `latchkey register [--vault PATH]`: make Latchkey a passkey provider in Windows (add, or update
 * an existing registration: name, CLSID, logos, getInfo), resync Windows' credential cache with the
 * vault, and say what to turn on in Settings.
 * @module
 */
import { openUserVault } from '../../app/main.js';
import { addonForCommand } from '../../app/windowsPlatform.js';
import { ENABLE_INSTRUCTIONS, registerWithWindows } from '../../app/windowsRegistration.js';
import { parseCommandArgs, VAULT_OPTION } from '../args.js';
import type { CliIo } from '../io.js';

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('register', args, { ...VAULT_OPTION }, { min: 0, max: 0, names: '' });
  const { addon, message } = addonForCommand('register');
  if (addon === undefined) {
    io.stderr(`${message}\n`);
    return 1;
  }
  const result = registerWithWindows(addon, () => openUserVault({ path: values.vault, env: io.env }));
  io.stdout(`Latchkey is ${result.action === 'added' ? 'registered' : 'registered (details updated)'} with Windows as a passkey provider.\n`);
  if (result.cache !== undefined) {
    io.stdout(`Windows' passkey list: ${result.cache.added} added, ${result.cache.removed} removed, ${result.cache.unchanged} unchanged.\n`);
  } else {
    io.stdout(`Windows' passkey list was not updated: ${result.cacheProblem ?? 'the vault did not open'}\n`);
  }
  if (result.state === 'enabled') io.stdout('It is turned on: Windows offers it for passkey sign-ins.\n');
  else io.stdout(`${ENABLE_INSTRUCTIONS}\n`);
  return 0;
}
