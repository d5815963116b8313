/**
 * `latchkey unregister`: remove Latchkey from Windows' passkey providers (its credential cache
 * first). The vault and its passkeys are untouched.
 * @module
 */
import { addonForCommand } from '../../app/windowsPlatform.js';
import { unregisterFromWindows } from '../../app/windowsRegistration.js';
import { parseCommandArgs } from '../args.js';
import type { CliIo } from '../io.js';

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  parseCommandArgs('unregister', args, {}, { min: 0, max: 0, names: '' });
  const { addon, message } = addonForCommand('unregister');
  if (addon === undefined) {
    io.stderr(`${message}\n`);
    return 1;
  }
  const removed = unregisterFromWindows(addon);
  io.stdout(
    removed
      ? 'Latchkey is no longer a passkey provider in Windows. Your vault and its passkeys are unchanged.\n'
      : 'Latchkey was not registered with Windows; nothing to do.\n',
  );
  return 0;
}
