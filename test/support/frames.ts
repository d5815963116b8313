/** Builds and splits frames of the stdio CTAP channel, written here independently of src/. */
import { concatBytes } from '../../src/crypto/bytes.js';

export function frame(code: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out[0] = code;
  out[1] = (payload.length >>> 24) & 0xff;
  out[2] = (payload.length >>> 16) & 0xff;
  out[3] = (payload.length >>> 8) & 0xff;
  out[4] = payload.length & 0xff;
  out.set(payload, 5);
  return out;
}

export function splitFrames(bytes: Uint8Array): { status: number; body: Uint8Array }[] {
  const frames: { status: number; body: Uint8Array }[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 5) throw new Error(`dangling ${bytes.length - offset} bytes`);
    const length = ((bytes[offset + 1]! << 24) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 8) | bytes[offset + 4]!) >>> 0;
    if (offset + 5 + length > bytes.length) throw new Error('truncated frame');
    frames.push({ status: bytes[offset]!, body: bytes.slice(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return frames;
}

/** Byte strings joined (the project's own helper; only the framing here is written independently). */
export const concat = concatBytes;
