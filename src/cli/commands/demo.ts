/**
 * `latchkey demo [--vault PATH]`: registers a passkey at a relying party built on
 * @simplewebauthn/server and signs in with it, through the same CTAP bytes a platform sends,
 * printing each step and the relying party's verdict. Uses a throwaway vault unless --vault is given.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_ORIGIN, runDemoCeremony, tracingSend } from '../../app/demoCeremony.js';
import { buildAuthenticator } from '../../app/main.js';
import { approveAll } from '../../app/userVerifiers.js';
import { WebAuthnPlatform } from '../../app/webauthnClient.js';
import { keyDirForThisProcess, vaultPathForThisProcess } from '../../vault/paths.js';
import { openVault } from '../../vault/vault.js';
import { parseCommandArgs, VAULT_OPTION } from '../args.js';
import type { CliIo } from '../io.js';

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('demo', args, { ...VAULT_OPTION }, { min: 0, max: 0, names: '' });
  const throwaway = values.vault === undefined ? mkdtempSync(join(tmpdir(), 'latchkey-demo-')) : undefined;
  const path = throwaway !== undefined ? join(throwaway, 'vault.db') : vaultPathForThisProcess(values.vault);
  const keyDir = throwaway !== undefined ? join(throwaway, 'keys') : keyDirForThisProcess();
  const say = (text: string) => io.stdout(`${text}\n`);

  const vault = openVault({ path, create: true, keyDir });
  try {
    say(`Latchkey demo: a relying party at ${DEMO_ORIGIN} (verified by @simplewebauthn/server)`);
    say(`  vault: ${path}${throwaway !== undefined ? ' (throwaway, removed afterwards)' : ''}`);
    say('  user approval: simulated for the demo (a real platform asks Windows Hello)');
    const authenticator = buildAuthenticator(vault);
    const ctx = { user: approveAll };
    const platform = new WebAuthnPlatform(tracingSend((command, params) => authenticator.handle(command, params, ctx), say), DEMO_ORIGIN);
    const result = await runDemoCeremony(platform, say, { userName: 'alice@demo.latchkey.test', userVerification: 'required' });
    if (!result.accepted) return 1;
    say('\nDemo complete: the relying party accepted both the registration and the sign-in.');
    return 0;
  } finally {
    vault.close();
    if (throwaway !== undefined) rmSync(throwaway, { recursive: true, force: true });
  }
}
