/**
 * The demo ceremony: register a passkey at a relying party built on @simplewebauthn/server and
 * sign in with it, through whatever carries the platform's CTAP bytes (the byte entry point for
 * `latchkey demo`, the CTAPHID socket for `latchkey start`), printing each step and the relying
 * party's verdict.
 * @module
 */
import { decodeStrict } from '../cbor/index.js';
import { equalBytes, fromBase64Url, toBase64Url, toHex } from '../crypto/bytes.js';
import { statusName } from '../ctap/status.js';
import type { CtapSend, WebAuthnPlatform } from './webauthnClient.js';

export const DEMO_RP_ID = 'demo.latchkey.test';
export const DEMO_ORIGIN = `https://${DEMO_RP_ID}`;

export interface DemoCeremonyOptions {
  readonly userName: string;
  /** "required" where the verifier can verify the user; "preferred" lets the authenticator's getInfo decide. */
  readonly userVerification: 'required' | 'preferred';
}


/** The COSE algorithm of a COSE_Key, by name. */
function algorithmName(coseKey: Uint8Array): string {
  const key = decodeStrict(coseKey);
  const alg = key instanceof Map ? key.get(3) : undefined;
  return alg === -7 ? 'ES256' : alg === -8 ? 'EdDSA' : `COSE algorithm ${String(alg)}`;
}

/** `send`, printing one line per CTAP command and its answer. */
export function tracingSend(send: CtapSend, say: (line: string) => void): CtapSend {
  return async (command, params) => {
    const reply = await send(command, params);
    say(
      `  → CTAP 0x${command.toString(16).padStart(2, '0')} with ${params.length} bytes of CBOR; ` +
        `← ${statusName(reply.status)}, ${reply.body?.length ?? 0} bytes`,
    );
    return reply;
  };
}

export async function runDemoCeremony(
  platform: WebAuthnPlatform,
  say: (line: string) => void,
  options: DemoCeremonyOptions,
): Promise<{ readonly accepted: boolean }> {
  const server = await import('@simplewebauthn/server');
  const requireUv = options.userVerification === 'required';

  say('\n1. Registration');
  const regOptions = await server.generateRegistrationOptions({
    rpName: 'Latchkey demo',
    rpID: DEMO_RP_ID,
    userName: options.userName,
    userDisplayName: 'Alice',
    attestationType: 'none',
    authenticatorSelection: { residentKey: 'required', userVerification: options.userVerification },
  });
  say(`  relying party: challenge ${regOptions.challenge.slice(0, 16)}…, discoverable credential, user verification ${options.userVerification}`);
  const created = await platform.create(regOptions);
  const credentialId = fromBase64Url(created.json.rawId);
  const registration = await server.verifyRegistrationResponse({
    response: created.json,
    expectedChallenge: regOptions.challenge,
    expectedOrigin: DEMO_ORIGIN,
    expectedRPID: DEMO_RP_ID,
    requireUserVerification: requireUv,
  });
  if (!registration.verified) {
    say('  relying party: REJECTED the registration');
    return { accepted: false };
  }
  const info = registration.registrationInfo;
  say(`  relying party: ACCEPTED registration of credential ${info.credential.id.slice(0, 12)}…`);
  say(
    `    fmt=${info.fmt} aaguid=${info.aaguid} userVerified=${info.userVerified} ` +
      `deviceType=${info.credentialDeviceType} backedUp=${info.credentialBackedUp}`,
  );

  say('\n2. Sign-in (discoverable: no allowCredentials)');
  const authOptions = await server.generateAuthenticationOptions({ rpID: DEMO_RP_ID, userVerification: options.userVerification });
  const assertion = await platform.get(authOptions, {
    // Should older demo passkeys answer too, take the one just registered.
    chooseAccount: (accounts) => Math.max(0, accounts.findIndex((a) => equalBytes(a.credentialId, credentialId))),
  });
  const authentication = await server.verifyAuthenticationResponse({
    response: assertion.response,
    expectedChallenge: authOptions.challenge,
    expectedOrigin: DEMO_ORIGIN,
    expectedRPID: DEMO_RP_ID,
    credential: info.credential,
    requireUserVerification: requireUv,
  });
  if (!authentication.verified) {
    say('  relying party: REJECTED the sign-in');
    return { accepted: false };
  }
  say(
    `  relying party: ACCEPTED sign-in as user handle ${toBase64Url(assertion.userHandle ?? new Uint8Array()).slice(0, 12)}… ` +
      `(userVerified=${authentication.authenticationInfo.userVerified}, counter=${authentication.authenticationInfo.newCounter})`,
  );
  say(`    authenticatorData ${toHex(assertion.authenticatorData).slice(0, 16)}… signed with ${algorithmName(info.credential.publicKey)}`);
  return { accepted: true };
}
