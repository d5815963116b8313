/**
 * Framing of the raw CTAP2 stdio channel: each request is [command:1][length:4 big-endian][CBOR],
 * each response [status:1][length:4 big-endian][CBOR]. A frame reader over a byte stream.
 * @module
 */

export const HEADER_LENGTH = 5;
/** Frames larger than this are a framing error, not a CTAP request (the core's own limit is far lower). */
export const MAX_FRAME_PAYLOAD = 1 << 20;

export interface Frame {
  readonly code: number;
  readonly payload: Uint8Array;
}

export class FramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

export function encodeFrame(code: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + payload.length);
  out[0] = code;
  new DataView(out.buffer).setUint32(1, payload.length, false);
  out.set(payload, HEADER_LENGTH);
  return out;
}

/** Accumulates stream chunks and yields whole frames. */
export class FrameReader {
  private buffer = new Uint8Array(0);

  push(chunk: Uint8Array): Frame[] {
    const merged = new Uint8Array(this.buffer.length + chunk.length);
    merged.set(this.buffer, 0);
    merged.set(chunk, this.buffer.length);
    this.buffer = merged;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffer.length < HEADER_LENGTH) break;
      const length = new DataView(this.buffer.buffer, this.buffer.byteOffset).getUint32(1, false);
      if (length > MAX_FRAME_PAYLOAD) {
        throw new FramingError(`frame length ${length} exceeds the limit of ${MAX_FRAME_PAYLOAD} bytes`);
      }
      if (this.buffer.length < HEADER_LENGTH + length) break;
      frames.push({ code: this.buffer[0] as number, payload: this.buffer.slice(HEADER_LENGTH, HEADER_LENGTH + length) });
      this.buffer = this.buffer.slice(HEADER_LENGTH + length);
    }
    return frames;
  }

  /** Bytes of an unfinished frame left at end of input. */
  get pending(): number {
    return this.buffer.length;
  }
}
