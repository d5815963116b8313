/**
 * What an authenticator instance is configured with, and its defaults.
 * @module
 */
import { randomBytes } from '../crypto/random.js';
import type { Clock, CredentialStore, Random } from './ports.js';

export type AttestationMode = 'none' | 'packed-self';

export interface AuthenticatorOptions {
  readonly store: CredentialStore;
  /** 16-byte AAGUID (the app holds the one source of Latchkey's). */
  readonly aaguid: Uint8Array;
  /** Attestation for new credentials: "none" (default) or packed self-attestation. */
  readonly attestation?: AttestationMode | undefined;
  /**
   * true (default): new credentials are backup eligible and backed up (BE=1, BS=1) with a
   * constant-zero counter. false: device-bound (BE=0, BS=0) with an incrementing counter.
   */
  readonly backupEligible?: boolean | undefined;
  /**
   * Whether the transport this instance serves can verify the user (getInfo option "uv").
   * Default true (Windows Hello; a test approver). A terminal prompt cannot.
   */
  readonly userVerification?: boolean | undefined;
  /** Transports listed in getInfo. */
  readonly transports?: readonly string[] | undefined;
  readonly clock?: Clock | undefined;
  readonly random?: Random | undefined;
  /** Receives one line per failed request: command, status, reason. Never secrets. */
  readonly log?: ((message: string) => void) | undefined;
}

/** Largest request (command byte + CBOR) accepted; the CTAPHID maximum message size. */
export const MAX_MSG_SIZE = 7609;
/** Credential ids up to the WebAuthn maximum, so imported credentials keep theirs. */
export const MAX_CREDENTIAL_ID_LENGTH = 1023;
/** Length of the credential ids we create. */
export const NEW_CREDENTIAL_ID_LENGTH = 16;
/** How long getNextAssertion may follow its getAssertion (CTAP 2.2 §6.3). */
export const NEXT_ASSERTION_TIMEOUT_MS = 30_000;

export interface ResolvedConfig {
  readonly store: CredentialStore;
  readonly aaguid: Uint8Array;
  readonly attestation: AttestationMode;
  readonly backupEligible: boolean;
  readonly userVerification: boolean;
  readonly transports: readonly string[];
  readonly clock: Clock;
  readonly random: Random;
  readonly log: (message: string) => void;
}

export function resolveConfig(options: AuthenticatorOptions): ResolvedConfig {
  if (options.aaguid.length !== 16) throw new Error('the AAGUID must be 16 bytes');
  return {
    store: options.store,
    aaguid: options.aaguid.slice(),
    attestation: options.attestation ?? 'none',
    backupEligible: options.backupEligible ?? true,
    userVerification: options.userVerification ?? true,
    transports: options.transports ?? ['internal'],
    clock: options.clock ?? { now: () => Date.now() },
    random: options.random ?? { bytes: randomBytes },
    log: options.log ?? (() => undefined),
  };
}
