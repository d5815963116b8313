/**
 * `latchkey status [--json] [--vault PATH]`: Latchkey as Windows sees it: plugin API, registered,
 * enabled, the operation-signing key's type, how many credentials Windows' cache holds, and
 * whether the vault is locked.
 * @module
 */
import { openUserVault, vaultPath } from '../../app/main.js';
import { addonForCommand } from '../../app/windowsPlatform.js';
import { ENABLE_INSTRUCTIONS, windowsStatus } from '../../app/windowsRegistration.js';
import { JSON_OPTION, parseCommandArgs, VAULT_OPTION } from '../args.js';
import type { CliIo } from '../io.js';

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('status', args, { ...JSON_OPTION, ...VAULT_OPTION }, { min: 0, max: 0, names: '' });
  const { addon, message } = addonForCommand('status', { allowMissingApi: true });
  if (addon === undefined) {
    io.stderr(`${message}\n`);
    return 1;
  }
  const status = windowsStatus(addon, {
    path: vaultPath({ path: values.vault }),
    open: () => openUserVault({ path: values.vault, create: false, env: io.env }),
  });
  if (values.json) {
    io.stdout(`${JSON.stringify(status, null, 2)}\n`);
    return 0;
  }
  const api = status.pluginApi;
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  io.stdout(
    [
      'Latchkey on Windows',
      `  plugin API          ${api.available ? `available (add v${api.addAuthenticator ?? 1}, update v${api.updateAuthenticatorDetails ?? 1}, UV v${api.performUserVerification ?? 1})` : `not available: ${api.reason ?? 'unknown'}`}`,
      `  registered          ${status.state === 'unknown' ? 'unknown' : yes(status.state !== 'not-registered')}`,
      `  enabled             ${status.state === 'unknown' ? 'unknown' : yes(status.state === 'enabled')}`,
      `  signing key         ${status.signingKey}`,
      `  cached credentials  ${String(status.cachedCredentials)}${status.vault.discoverable !== undefined ? ` (the vault has ${status.vault.discoverable} discoverable)` : ''}`,
      `  vault               ${status.vault.path}`,
      `  vault locked        ${yes(status.vault.locked)}: ${status.vault.detail}`,
      '',
    ].join('\n'),
  );
  if (status.state === 'disabled') io.stdout(`${ENABLE_INSTRUCTIONS}\n`);
  if (status.state === 'not-registered') io.stdout('Run `latchkey register` to make Latchkey a passkey provider.\n');
  return 0;
}
