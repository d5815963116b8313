/**
 * A long-running CLI command (serve, start) as a child process: wait for what it prints, signal
 * it, and collect its exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from '../support/cli.js';

export class RunningCli {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private changed: (() => void) | undefined;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString('utf8');
      this.changed?.();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
      this.changed?.();
    });
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        this.changed?.();
        resolve({ code, signal });
      }),
    );
  }

  /** Resolves with the first match of `pattern` in stdout; fails if the process ends first. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.stdout);
      if (match !== null) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`latchkey exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${pattern}:\n${this.stdout}\n${this.stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`latchkey did not print ${pattern}:\n${this.stdout}\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.changed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The port in a "listening on 127.0.0.1:PORT" line. */
  async listeningPort(): Promise<number> {
    const match = await this.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
    return Number(match[1]);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    return this.exited;
  }
}
