/**
 * A key protector wraps the vault key for storage in the vault's `meta` row and unwraps it on open.
 * Kinds so far: `keyfile`, `passphrase`; `dpapi` (Windows, through the native shim) comes later and
 * only needs to implement this interface. Synchronous, like the store: an unlock happens once per
 * process and the CLI and the COM server both want a plain call.
 * @module
 */

/** Parameters a protector needs to unwrap again (stored as JSON in the vault). No secrets. */
export type ProtectorParams = Readonly<Record<string, string | number>>;

/** The vault key as stored: protector parameters plus the wrapped bytes. */
export interface WrappedVaultKey {
  readonly params: ProtectorParams;
  readonly wrapped: Uint8Array;
}

/** Which vault a key belongs to; the wrapping is bound to the vault id. */
export interface VaultKeyBinding {
  readonly vaultId: string;
  /** For error messages only. */
  readonly vaultPath: string;
}

export interface KeyProtector {
  /** Stored in the vault to pick the protector on open. */
  readonly kind: string;
  /** Wrap the 32-byte vault key. Does not wipe or keep `vaultKey`. */
  wrap(vaultKey: Uint8Array, binding: VaultKeyBinding): WrappedVaultKey;
  /**
   * Unwrap the vault key (32 bytes, the caller wipes it). Throws StoreError('locked') when the
   * secret it needs (key file, passphrase, user session) is missing or wrong.
   */
  unwrap(stored: WrappedVaultKey, binding: VaultKeyBinding): Uint8Array;
  /**
   * Called once the vault no longer uses `stored` (after the commit that replaced it, or when a
   * creation was abandoned): e.g. remove the key file. Best effort; must not throw.
   */
  retire?(stored: WrappedVaultKey, binding: VaultKeyBinding): void;
}
