/**
 * Ed25519, loaded on first use: most credentials are ES256, and importing the curve costs a cold
 * start ~25 ms. The async `loadEd25519` must have resolved before the sync functions run; the core
 * awaits it wherever an EdDSA credential is about to be created or used.
 * @module
 */
type Ed25519 = (typeof import('@noble/curves/ed25519.js'))['ed25519'];

let curve: Ed25519 | undefined;

export async function loadEd25519(): Promise<void> {
  curve ??= (await import('@noble/curves/ed25519.js')).ed25519;
}

/** Whether {@link loadEd25519} has resolved (the sync functions may run). */
export function ed25519Loaded(): boolean {
  return curve !== undefined;
}

export function ed25519(): Ed25519 {
  if (curve === undefined) throw new Error('Ed25519 used before loadEd25519() resolved');
  return curve;
}
