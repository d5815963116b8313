/**
 * Talks to a running `latchkey ctap --stdio` child process, one request and one response at a time.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { CLI } from './cli.js';
import { concat, frame } from './frames.js';

export class StdioClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer: Uint8Array = new Uint8Array(0);
  private waiting: (() => void) | undefined;
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [CLI, 'ctap', '--stdio', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.buffer = concat(this.buffer, new Uint8Array(chunk));
      this.waiting?.();
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => {
      this.waiting?.();
      resolve(code);
    }));
  }

  /** Sends raw bytes (possibly a malformed frame). */
  write(bytes: Uint8Array): void {
    this.child.stdin.write(bytes);
  }

  async send(command: number, params: Uint8Array): Promise<{ status: number; body: Uint8Array }> {
    this.write(frame(command, params));
    return this.next();
  }

  async next(): Promise<{ status: number; body: Uint8Array }> {
    for (;;) {
      if (this.buffer.length >= 5) {
        const b = this.buffer;
        const length = ((b[1]! << 24) | (b[2]! << 16) | (b[3]! << 8) | b[4]!) >>> 0;
        if (b.length >= 5 + length) {
          const reply = { status: b[0]!, body: b.slice(5, 5 + length) };
          this.buffer = b.slice(5 + length);
          return reply;
        }
      }
      if (this.child.exitCode !== null) throw new Error(`latchkey exited (${this.child.exitCode}): ${this.stderr}`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
      this.waiting = undefined;
    }
  }

  async close(): Promise<number | null> {
    this.child.stdin.end();
    return this.exited;
  }
}
