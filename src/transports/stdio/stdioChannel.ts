/**
 * The raw CTAP2 channel over a byte stream pair (stdin/stdout): requests are answered one at a
 * time, in order. Malformed framing closes the channel with a message; malformed CBOR is the
 * core's business (it answers a status and the channel stays usable).
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import type { Authenticator, RequestContext } from '../../ctap/index.js';
import { encodeFrame, FrameReader, FramingError, HEADER_LENGTH } from './framing.js';

export interface StdioChannelOptions {
  readonly authenticator: Authenticator;
  readonly input: Readable;
  readonly output: Writable;
  /** A fresh request context per request (it carries the user verifier). */
  readonly context: () => RequestContext;
  /** Human-readable diagnostics (stderr). */
  readonly diagnostics: (message: string) => void;
}

/** Serves until the input ends or framing breaks. Resolves with true on a clean end, false on a framing error. */
export function serveStdioChannel(options: StdioChannelOptions): Promise<boolean> {
  const { authenticator, input, output, context, diagnostics } = options;
  const reader = new FrameReader();
  let queue: Promise<void> = Promise.resolve();
  let failed = false;

  return new Promise<boolean>((resolve) => {
    const finish = (clean: boolean) => {
      input.removeAllListeners('data');
      queue.then(() => resolve(clean), () => resolve(false));
    };
    input.on('data', (chunk: Buffer) => {
      if (failed) return;
      let frames;
      try {
        frames = reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (error) {
        failed = true;
        diagnostics(`latchkey: closing the CTAP channel: ${error instanceof FramingError ? error.message : 'unreadable input'}`);
        input.pause();
        finish(false);
        return;
      }
      for (const frame of frames) {
        queue = queue.then(async () => {
          const reply = await authenticator.handle(frame.code, frame.payload, context());
          await write(output, encodeFrame(reply.status, reply.body ?? new Uint8Array(0)));
        });
      }
    });
    input.on('end', () => {
      if (failed) return;
      if (reader.pending > 0) {
        diagnostics(
          `latchkey: closing the CTAP channel: input ended inside a frame (${reader.pending} bytes, a frame header is ${HEADER_LENGTH})`,
        );
        finish(false);
        return;
      }
      finish(true);
    });
    input.on('error', (error) => {
      diagnostics(`latchkey: closing the CTAP channel: ${error.message}`);
      finish(false);
    });
  });
}

function write(output: Writable, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    output.write(bytes, (error) => (error ? reject(error) : resolve()));
  });
}
