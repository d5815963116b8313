/**
 * A relying party built on @simplewebauthn/server, the independent judge of what we produce.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import type { WebAuthnPlatform } from '../../src/app/webauthnClient.js';
import type { CborValue } from '../../src/cbor/index.js';

export const RP_ID = 'example.com';
export const ORIGIN = 'https://example.com';

export interface Account {
  readonly credential: WebAuthnCredential;
  readonly userId: Uint8Array;
  readonly backedUp: boolean;
  readonly deviceType: string;
  readonly userVerified: boolean;
  readonly fmt: string;
  readonly authenticatorData: Uint8Array;
}

export type UV = 'required' | 'preferred' | 'discouraged';

export async function register(
  platform: WebAuthnPlatform,
  opts: {
    userName?: string;
    displayName?: string;
    userId?: Uint8Array;
    residentKey?: 'required' | 'preferred' | 'discouraged';
    userVerification?: UV;
    algorithms?: number[];
    exclude?: WebAuthnCredential[];
    attestation?: 'none' | 'direct';
    rpId?: string;
    ctapExtensions?: ReadonlyMap<string, CborValue>;
  } = {},
): Promise<Account> {
  const rpId = opts.rpId ?? RP_ID;
  const options = await generateRegistrationOptions({
    rpName: 'Example',
    rpID: rpId,
    userName: opts.userName ?? 'alice@example.com',
    userDisplayName: opts.displayName ?? 'Alice',
    ...(opts.userId ? { userID: opts.userId as Uint8Array<ArrayBuffer> } : {}),
    attestationType: opts.attestation ?? 'none',
    excludeCredentials: (opts.exclude ?? []).map((c) => ({ id: c.id })),
    authenticatorSelection: {
      residentKey: opts.residentKey ?? 'required',
      userVerification: opts.userVerification ?? 'preferred',
    },
    supportedAlgorithmIDs: opts.algorithms ?? [-7, -8],
  });
  const result = await platform.create(options, opts.ctapExtensions ? { ctapExtensions: opts.ctapExtensions } : {});
  const verification = await verifyRegistrationResponse({
    response: result.json,
    expectedChallenge: options.challenge,
    expectedOrigin: platform.origin,
    expectedRPID: rpId,
    requireUserVerification: opts.userVerification === 'required',
    supportedAlgorithmIDs: opts.algorithms ?? [-7, -8],
  });
  if (!verification.verified) throw new Error('the relying party rejected the registration');
  const info = verification.registrationInfo;
  return {
    credential: info.credential,
    userId: Uint8Array.from(Buffer.from(options.user.id, 'base64url')),
    backedUp: info.credentialBackedUp,
    deviceType: info.credentialDeviceType,
    userVerified: info.userVerified,
    fmt: info.fmt,
    authenticatorData: result.authenticatorData,
  };
}

export async function authenticate(
  platform: WebAuthnPlatform,
  accounts: readonly Account[],
  opts: {
    allow?: boolean;
    userVerification?: UV;
    choose?: number;
    rpId?: string;
    ctapExtensions?: ReadonlyMap<string, CborValue>;
  } = {},
) {
  const rpId = opts.rpId ?? RP_ID;
  const options = await generateAuthenticationOptions({
    rpID: rpId,
    userVerification: opts.userVerification ?? 'preferred',
    allowCredentials: opts.allow === false ? [] : accounts.map((a) => ({ id: a.credential.id })),
  });
  const chosen = await platform.get(options, {
    ...(opts.choose !== undefined ? { chooseAccount: () => opts.choose as number } : {}),
    ...(opts.ctapExtensions ? { ctapExtensions: opts.ctapExtensions } : {}),
  });
  const account = accounts.find((a) => a.credential.id === chosen.response.id);
  if (account === undefined) throw new Error('the authenticator answered with a credential the RP does not know');
  const verification = await verifyAuthenticationResponse({
    response: chosen.response,
    expectedChallenge: options.challenge,
    expectedOrigin: platform.origin,
    expectedRPID: rpId,
    credential: account.credential,
    requireUserVerification: opts.userVerification === 'required',
  });
  return { verification, chosen, account };
}
