/**
 * What a CLI command may touch, so tests can run commands in-process with captured output.
 * @module
 */
import type { Readable, Writable } from 'node:stream';

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
 * The real process's streams. stdin is reached only when a command reads it: creating
 * `process.stdin` costs a serving process's cold start a few milliseconds for nothing.
 */
export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    get stdin() {
      return process.stdin;
    },
    stdoutStream: process.stdout,
    get stdinIsTty() {
      return process.stdin.isTTY === true;
    },
    stderrIsTty: process.stderr.isTTY === true,
    env: process.env,
  };
}
