/**
 * The ports the authenticator core needs from the outside world. The core is
 * pure TypeScript over Uint8Array; the vault, the transports and the app
 * implement these.
 * @module
 */

/** COSE algorithm identifiers the core can create credentials for. */
export const COSE_ALG_ES256 = -7;
export const COSE_ALG_EDDSA = -8;
export type CoseAlgorithm = typeof COSE_ALG_ES256 | typeof COSE_ALG_EDDSA;

/** credProtect levels (CTAP 2.2 §12.1). */
export type CredProtectLevel = 1 | 2 | 3;

/**
 * Signature counter policy, fixed at creation.
 * - `zero`: always 0 (backup-eligible credentials, what syncing providers send).
 * - `increment`: a per-credential counter, incremented durably before each assertion leaves.
 */
export type CounterMode = 'zero' | 'increment';

/** Everything about a credential except its secrets. Plain data, safe to list and log (ids aside). */
export interface CredentialRecord {
  /** Credential id: 16 random bytes for new ones, 1..1023 bytes for imported ones. */
  readonly id: Uint8Array;
  readonly rpId: string;
  readonly rpName?: string | undefined;
  /** User handle, 1..64 bytes. */
  readonly userId: Uint8Array;
  readonly userName?: string | undefined;
  readonly userDisplayName?: string | undefined;
  readonly alg: CoseAlgorithm;
  /** COSE_Key of the public key, canonical CBOR bytes. */
  readonly publicKey: Uint8Array;
  /** Whether an empty allowList may find it (the `rk` option at creation). */
  readonly discoverable: boolean;
  readonly credProtect: CredProtectLevel;
  /** Backup eligibility and state: fixed at creation, never changed afterwards. */
  readonly backupEligible: boolean;
  readonly backupState: boolean;
  readonly counterMode: CounterMode;
  /** Current counter value (always 0 for `zero`). */
  readonly signCount: number;
  /** credBlob extension data, stored as given (at most maxCredBlobLength bytes). */
  readonly credBlob?: Uint8Array | undefined;
  /** Milliseconds since the Unix epoch. */
  readonly createdAt: number;
  readonly lastUsedAt?: number | undefined;
  readonly origin: 'created' | 'imported';
}

/** The secrets of a credential. Sealed at rest by the store; the core wipes them after use. */
export interface CredentialSecrets {
  /** Raw private key: 32-byte P-256 scalar or 32-byte Ed25519 seed. */
  readonly privateKey: Uint8Array;
  /** hmac-secret CredRandom with user verification (32 bytes), when the credential has one. */
  readonly hmacSecretWithUv?: Uint8Array | undefined;
  /** hmac-secret CredRandom without user verification (32 bytes). */
  readonly hmacSecretWithoutUv?: Uint8Array | undefined;
}

/**
 * Where credentials live. Every method is synchronous and, when it writes, durable
 * (committed) before it returns, so a response that depends on it may leave.
 * Implementations throw {@link StoreError} for storage failures.
 */
export interface CredentialStore {
  /** The credential with this id bound to this rpId, or undefined (another RP's id is unknown). */
  findById(rpId: string, id: Uint8Array): CredentialRecord | undefined;
  /** Discoverable credentials of this rpId, most recently created first. */
  findDiscoverable(rpId: string): CredentialRecord[];
  /**
   * Store a new credential with its secrets, atomically. When `record.discoverable`, any
   * discoverable credential with the same rpId and user handle is removed in the same transaction.
   */
  create(record: CredentialRecord, secrets: CredentialSecrets): void;
  /** Unseal the secrets of a stored credential. The caller wipes them after use. */
  openSecrets(record: CredentialRecord): CredentialSecrets;
  /**
   * Record an assertion with this credential: for `increment` credentials, add one to the
   * counter durably and return the new value; for `zero` ones return 0. Also updates last-used
   * (which may be written lazily: it is not a security property).
   */
  recordUse(record: CredentialRecord, usedAt: number): number;
  /** Remove a credential by id (any RP). Returns whether one was removed. */
  delete(id: Uint8Array): boolean;
  /** All credentials, ordered by rpId then creation time. */
  list(): CredentialRecord[];
  /** Number of stored credentials. */
  count(): number;
  /**
   * Whether the store is locked (its key is not in memory; every other method would throw
   * StoreError('locked')). Optional: a store without it is never locked. The byte entry point
   * asks before every command that uses credentials, so a locked vault costs the user no prompt.
   */
  isLocked?(): boolean;
}

/** What the core asks the user for. */
export interface UserPrompt {
  /** Test of user presence requested. */
  readonly presence: boolean;
  /** User verification (Windows Hello, a passphrase, an approval with identity) requested. */
  readonly verification: boolean;
  readonly rpId: string;
  readonly userName?: string | undefined;
  readonly reason: 'makeCredential' | 'getAssertion' | 'excluded' | 'selection';
}

export type UserRefusal = 'declined' | 'timeout' | 'cancelled' | 'unavailable';

export type UserVerdict =
  | { readonly ok: true; readonly up: boolean; readonly uv: boolean }
  | { readonly ok: false; readonly refusal: UserRefusal };

/** Asks the user; bound to one request (it travels in the request context). */
export interface UserVerifier {
  /** Whether built-in user verification is available at all (getInfo option `uv`). */
  readonly canVerify: boolean;
  confirm(prompt: UserPrompt, signal?: AbortSignal): Promise<UserVerdict>;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export interface Random {
  bytes(length: number): Uint8Array;
}

/** Per-request context handed to the core by a transport. */
export interface RequestContext {
  readonly user: UserVerifier;
  readonly signal?: AbortSignal | undefined;
}

/** A storage failure the core cannot recover from (it answers CTAP1_ERR_OTHER, or KEY_STORE_FULL). */
export class StoreError extends Error {
  constructor(
    readonly code: 'corrupt' | 'full' | 'locked' | 'io' | 'tampered',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}
