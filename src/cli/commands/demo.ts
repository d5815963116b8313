/**
 * `latchkey demo [--vault PATH]`: registers a passkey at a relying party built on
 * @simplewebauthn/server and signs in with it, through the same CTAP bytes a platform sends,
 * printing each step and the relying party's verdict. Uses a throwaway vault unless --vault is given.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAuthenticator } from '../../app/main.js';
import { approveAll } from '../../app/userVerifiers.js';
import { WebAuthnPlatform } from '../../app/webauthnClient.js';
import { toBase64Url, toHex } from '../../crypto/bytes.js';
import { statusName } from '../../ctap/status.js';
import { keyDirForThisProcess, vaultPathForThisProcess } from '../../vault/paths.js';
import { openVault } from '../../vault/vault.js';
import { parseCommandArgs, VAULT_OPTION } from '../args.js';
import type { CliIo } from '../io.js';

const RP_ID = 'demo.latchkey.test';
const ORIGIN = `https://${RP_ID}`;

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('demo', args, { ...VAULT_OPTION }, { min: 0, max: 0, names: '' });
  const server = await import('@simplewebauthn/server');
  const throwaway = values.vault === undefined ? mkdtempSync(join(tmpdir(), 'latchkey-demo-')) : undefined;
  const path = throwaway !== undefined ? join(throwaway, 'vault.db') : vaultPathForThisProcess(values.vault);
  const keyDir = throwaway !== undefined ? join(throwaway, 'keys') : keyDirForThisProcess();
  const say = (text: string) => io.stdout(`${text}\n`);

  const vault = openVault({ path, create: true, keyDir });
  try {
    say(`Latchkey demo: a relying party at ${ORIGIN} (verified by @simplewebauthn/server)`);
    say(`  vault: ${path}${throwaway !== undefined ? ' (throwaway, removed afterwards)' : ''}`);
    say('  user approval: simulated for the demo (a real platform asks Windows Hello)');
    const authenticator = buildAuthenticator(vault);
    const ctx = { user: approveAll };
    const platform = new WebAuthnPlatform(async (command, params) => {
      const reply = await authenticator.handle(command, params, ctx);
      say(
        `  → CTAP 0x${command.toString(16).padStart(2, '0')} with ${params.length} bytes of CBOR; ` +
          `← ${statusName(reply.status)}, ${reply.body?.length ?? 0} bytes`,
      );
      return reply;
    }, ORIGIN);

    say('\n1. Registration');
    const regOptions = await server.generateRegistrationOptions({
      rpName: 'Latchkey demo',
      rpID: RP_ID,
      userName: 'alice@demo.latchkey.test',
      userDisplayName: 'Alice',
      attestationType: 'none',
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    say(`  relying party: challenge ${regOptions.challenge.slice(0, 16)}…, discoverable credential, user verification required`);
    const created = await platform.create(regOptions);
    const registration = await server.verifyRegistrationResponse({
      response: created.json,
      expectedChallenge: regOptions.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: RP_ID,
      requireUserVerification: true,
    });
    if (!registration.verified) {
      say('  relying party: REJECTED the registration');
      return 1;
    }
    const info = registration.registrationInfo;
    say(`  relying party: ACCEPTED registration of credential ${info.credential.id.slice(0, 12)}…`);
    say(`    fmt=${info.fmt} aaguid=${info.aaguid} userVerified=${info.userVerified} ` +
      `deviceType=${info.credentialDeviceType} backedUp=${info.credentialBackedUp}`);

    say('\n2. Sign-in (discoverable: no allowCredentials)');
    const authOptions = await server.generateAuthenticationOptions({ rpID: RP_ID, userVerification: 'required' });
    const assertion = await platform.get(authOptions);
    const authentication = await server.verifyAuthenticationResponse({
      response: assertion.response,
      expectedChallenge: authOptions.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: RP_ID,
      credential: info.credential,
      requireUserVerification: true,
    });
    if (!authentication.verified) {
      say('  relying party: REJECTED the sign-in');
      return 1;
    }
    say(`  relying party: ACCEPTED sign-in as user handle ${toBase64Url(assertion.userHandle ?? new Uint8Array()).slice(0, 12)}… ` +
      `(userVerified=${authentication.authenticationInfo.userVerified}, counter=${authentication.authenticationInfo.newCounter})`);
    say(`    authenticatorData ${toHex(assertion.authenticatorData).slice(0, 16)}… signed with ES256`);
    say('\nDemo complete: the relying party accepted both the registration and the sign-in.');
    return 0;
  } finally {
    vault.close();
    if (throwaway !== undefined) rmSync(throwaway, { recursive: true, force: true });
  }
}
