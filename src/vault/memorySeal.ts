/**
 * Sealing in memory, for the secrets of the store's recently used credentials.
 *
 * At rest a secret is an AES-256-GCM blob under the vault key (sealing.ts). Opening one costs a
 * new OpenSSL cipher context each time (key schedule, GHASH setup, node's stream object): about
 * 10 µs on the assertion path, 2% of an ES256 signature. Once a blob has been opened and
 * authenticated, the store keeps it re-sealed under this memory key instead, and opens that per
 * use with one AES pass (about 1 µs).
 *
 * - The memory key is 32 random bytes, made when the store first needs it and wiped from the
 *   JavaScript heap at once: it lives only inside two OpenSSL cipher contexts (native memory, like
 *   the vault key's KeyObject). A heap snapshot holds ciphertext only.
 * - AES-256 in ECB mode over whole blocks: the contexts keep no per-message state, so one pair
 *   serves every secret, and a secret is uniformly random key material (a P-256 scalar, an
 *   Ed25519 seed, an hmac-secret CredRandom), which ECB's determinism does not reveal anything of.
 *   No tag: these bytes never leave the process; authenticity was checked when the GCM blob opened.
 * - {@link dispose} (on lock and close) finalises both contexts: OpenSSL frees and cleanses their
 *   key schedules then, without waiting for the garbage collector. Blobs sealed before are useless.
 * @module
 */
import { createCipheriv, createDecipheriv, randomFillSync, type Cipher, type Decipher } from 'node:crypto';

const BLOCK = 16;

export class MemorySeal {
  private encrypt: Cipher | undefined;
  private decrypt: Decipher | undefined;

  constructor() {
    const key = new Uint8Array(32);
    randomFillSync(key);
    try {
      this.encrypt = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
      this.decrypt = createDecipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    } finally {
      key.fill(0);
    }
  }

  /** Whether `secret` can be sealed here: whole AES blocks (every secret the vault holds is 32 bytes). */
  static fits(secret: Uint8Array): boolean {
    return secret.length > 0 && secret.length % BLOCK === 0;
  }

  /** `secret` sealed under the memory key. The caller still owns (and wipes) `secret`. */
  seal(secret: Uint8Array): Uint8Array {
    if (this.encrypt === undefined) throw new Error('memory seal disposed');
    if (!MemorySeal.fits(secret)) throw new RangeError('memory seal takes whole AES blocks');
    return plain(this.encrypt.update(secret));
  }

  /** The secret of a blob made by {@link seal}: a fresh plain Uint8Array the caller wipes. */
  open(sealed: Uint8Array): Uint8Array {
    if (this.decrypt === undefined) throw new Error('memory seal disposed');
    return plain(this.decrypt.update(sealed));
  }

  /** Finalise both contexts (OpenSSL frees and cleanses them now). Idempotent. */
  dispose(): void {
    for (const context of [this.encrypt, this.decrypt]) {
      try {
        context?.final();
      } catch {
        // nothing was pending (whole blocks only); a context that is already gone is gone
      }
    }
    this.encrypt = undefined;
    this.decrypt = undefined;
  }
}

/** A plain Uint8Array over a Buffer node made for this result, or a copy (then the Buffer is wiped). */
function plain(buffer: Buffer): Uint8Array {
  if (buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength) {
    return new Uint8Array(buffer.buffer, 0, buffer.byteLength);
  }
  const copy = new Uint8Array(buffer);
  buffer.fill(0);
  return copy;
}
