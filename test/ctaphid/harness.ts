/**
 * An in-process CTAPHID server on an ephemeral loopback port over an in-memory authenticator,
 * and user verifiers a test answers by hand.
 */
import type { UserPrompt, UserVerdict, UserVerifier } from '../../src/ctap/ports.js';
import type { CtapHandler } from '../../src/transports/ctaphid/device.js';
import { listenCtaphid, type CtaphidServer } from '../../src/transports/ctaphid/server.js';
import { setup, type Setup } from '../support/ctapHelpers.js';
import { ScriptedUser } from '../support/users.js';

/** A verifier that waits until the test answers; it ignores the AbortSignal on purpose (the transport must cope). */
export class GatedUser implements UserVerifier {
  readonly canVerify = true;
  readonly prompts: { prompt: UserPrompt; signal: AbortSignal | undefined }[] = [];
  private readonly answers: ((verdict: UserVerdict) => void)[] = [];
  private notify: (() => void) | undefined;

  confirm(prompt: UserPrompt, signal?: AbortSignal): Promise<UserVerdict> {
    this.prompts.push({ prompt, signal });
    this.notify?.();
    return new Promise((resolve) => this.answers.push(resolve));
  }

  /** Resolves once `count` prompts have arrived in all. */
  async asked(count = 1): Promise<void> {
    while (this.prompts.length < count) await new Promise<void>((resolve) => (this.notify = resolve));
  }

  approve(): void {
    this.answers.shift()?.({ ok: true, up: true, uv: true });
  }
}

export interface Harness extends Setup {
  readonly server: CtaphidServer;
  readonly port: number;
  readonly logs: string[];
  close(): Promise<void>;
}

export async function startServer(
  options: {
    user?: UserVerifier;
    handler?: CtapHandler;
    messageTimeoutMs?: number;
    transactionTimeoutMs?: number;
    keepaliveIntervalMs?: number;
  } = {},
): Promise<Harness> {
  const core = setup();
  const user = options.user ?? new ScriptedUser();
  const logs: string[] = [];
  const server = await listenCtaphid(
    { kind: 'tcp', host: '127.0.0.1', port: 0 },
    {
      authenticator: options.handler ?? core.authenticator,
      context: () => ({ user }),
      version: { major: 1, minor: 2, build: 3 },
      messageTimeoutMs: options.messageTimeoutMs,
      transactionTimeoutMs: options.transactionTimeoutMs,
      keepaliveIntervalMs: options.keepaliveIntervalMs,
      log: (line) => logs.push(line),
    },
  );
  const port = server.address.kind === 'tcp' ? server.address.port : 0;
  return { ...core, server, port, logs, close: () => server.close() };
}
