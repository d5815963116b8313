/**
 * Cryptographic randomness from the runtime's Web Crypto (`globalThis.crypto`), which Node,
 * browsers and workers all provide; the core never imports `node:crypto`.
 * @module
 */

export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  // getRandomValues fills at most 65,536 bytes per call.
  for (let offset = 0; offset < length; offset += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  }
  return out;
}
