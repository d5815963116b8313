/**
 * What a CLI command may touch, so tests can run commands in-process with captured output.
 * @module
 */
import { writeSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { isatty } from 'node:tty';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdin: Readable;
  readonly stdoutStream: Writable;
  readonly stdinIsTty: boolean;
  readonly stderrIsTty: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** A wrong argument: reported with a hint to run `latchkey help`, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Writes text to file descriptor 1 or 2 directly. Creating process.stdout and process.stderr (a
 * stream over a pipe) costs a serving process's cold start several milliseconds, for two lines.
 * Where a direct write fails (a full non-blocking pipe: EAGAIN), that text and all later text go
 * through the stream, so nothing is lost or reordered.
 */
function directWriter(fd: 1 | 2, stream: () => NodeJS.WriteStream): (text: string) => void {
  let viaStream = false;
  return (text) => {
    if (viaStream) {
      stream().write(text);
      return;
    }
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    try {
      while (written < bytes.length) written += writeSync(fd, bytes, written);
    } catch {
      viaStream = true;
      stream().write(bytes.subarray(written));
    }
  };
}

/**
 * The real process's streams, each made only when a command uses it: a serving process never
 * reads stdin, and prints its few lines through {@link directWriter}.
 */
export function processIo(): CliIo {
  return {
    stdout: directWriter(1, () => process.stdout),
    stderr: directWriter(2, () => process.stderr),
    get stdin() {
      return process.stdin;
    },
    get stdoutStream() {
      return process.stdout;
    },
    get stdinIsTty() {
      return isatty(0);
    },
    stderrIsTty: isatty(2),
    env: process.env,
  };
}
