/**
 * The Linux end of test/windows/wine/e2e.mjs: starts it under Wine, talks to it as JSON lines over
 * TCP on 127.0.0.1 (Windows node's stdio must be files, and its named pipes are not visible here),
 * and offers it to WebAuthnPlatform as a CtapSend, so the test plays browser and relying party while
 * the double plays the WebAuthn service calling Latchkey's COM object.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { CtapSend } from '../../../src/app/webauthnClient.js';
import { Command } from '../../../src/ctap/commands.js';
import { REPO, runWindowsNode, windowsPath, type WineRun } from './wineEnv.js';

/** What the double does to the request signature: sign it, flip a bit, leave it out, or sign other bytes. */
export type SignatureMode = 'valid' | 'forged' | 'missing' | 'other-bytes';

// Messages from the Wine side are loosely typed JSON.
export type Message = Record<string, any>;

/** Windows answered an operation with a failure HRESULT (what the browser would turn into a DOM error). */
export class HresultError extends Error {
  constructor(readonly hresult: number) {
    super(`Windows got HRESULT 0x${hresult.toString(16).padStart(8, '0')} from Latchkey`);
    this.name = 'HresultError';
  }
}

export interface InvokeResult {
  readonly hresult: number;
  readonly response: string | null;
  readonly ms: number;
}

export class WindowsSide {
  private nextId = 1;
  private readonly waiting = new Map<number, (message: Message) => void>();
  private readonly unsolicited: Message[] = [];
  private readonly listeners: ((message: Message) => void)[] = [];

  private constructor(
    private readonly server: Server,
    private readonly socket: Socket,
    readonly ready: Message,
    readonly process: Promise<WineRun>,
  ) {}

  /** Starts e2e.mjs in `prefix` and waits until `serve --com` has registered the class. */
  static async launch(prefix: string, env: Record<string, string>): Promise<WindowsSide> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const connected = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const process = runWindowsNode(prefix, join(REPO, 'test', 'windows', 'wine', 'e2e.mjs'), {
      env: { LATCHKEY_ROOT: windowsPath(REPO), LATCHKEY_PORT: String(port), ...env },
      timeoutMs: 180_000,
    });
    const socket = await Promise.race([
      connected,
      process.then((run) => {
        throw new Error(`e2e.mjs ended before connecting (${run.code}):\n${run.stdout}\n${run.stderr}`);
      }),
    ]);
    socket.setEncoding('utf8');
    const side = new Promise<WindowsSide>((resolve) => {
      let buffer = '';
      let self: WindowsSide | undefined;
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        for (let at = buffer.indexOf('\n'); at >= 0; at = buffer.indexOf('\n')) {
          const message = JSON.parse(buffer.slice(0, at)) as Message;
          buffer = buffer.slice(at + 1);
          if (self === undefined && message['type'] === 'ready') {
            self = new WindowsSide(server, socket, message, process);
            resolve(self);
          } else if (self !== undefined) {
            self.receive(message);
          }
        }
      });
    });
    return side;
  }

  private receive(message: Message): void {
    const id = message['id'];
    if (typeof id === 'number' && this.waiting.has(id)) {
      this.waiting.get(id)!(message);
      this.waiting.delete(id);
      return;
    }
    this.unsolicited.push(message);
    for (const listener of this.listeners.splice(0)) listener(message);
  }

  /** Sends one command and waits for its answer. */
  request(op: string, fields: Record<string, unknown> = {}): Promise<Message> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (message) => (message['error'] !== undefined ? reject(new Error(String(message['error']))) : resolve(message)));
      this.socket.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
  }

  /** The next message of `type` the Wine side sends on its own (e.g. 'served' when serve --com ends). */
  async next(type: string): Promise<Message> {
    for (;;) {
      const found = this.unsolicited.find((message) => message['type'] === type);
      if (found !== undefined) return found;
      await new Promise<Message>((resolve) => this.listeners.push(resolve));
    }
  }

  invoke(kind: 'makeCredential' | 'getAssertion', request: Uint8Array, signature: SignatureMode = 'valid', transactionId: string = randomUUID()): Promise<InvokeResult> {
    return this.request('invoke', { kind, request: Buffer.from(request).toString('hex'), signature, transactionId }) as Promise<Message> as Promise<InvokeResult>;
  }

  /**
   * A CtapSend for WebAuthnPlatform: getInfo is answered with what Latchkey registered (Windows
   * knows it from AddAuthenticator); makeCredential/getAssertion go through the COM object.
   */
  ctapSend(getInfo: Uint8Array, options: { signature?: SignatureMode; onInvoke?: (transactionId: string) => void } = {}): CtapSend {
    return async (command, params) => {
      if (command === Command.GetInfo) return { status: 0, body: getInfo };
      const kind = command === Command.MakeCredential ? 'makeCredential' : command === Command.GetAssertion ? 'getAssertion' : undefined;
      if (kind === undefined) throw new Error(`Windows sends plugins no CTAP command 0x${command.toString(16)}`);
      const transactionId = randomUUID();
      options.onInvoke?.(transactionId);
      const reply = await this.invoke(kind, params, options.signature ?? 'valid', transactionId);
      if (reply.hresult !== 0) throw new HresultError(reply.hresult);
      return { status: 0, body: new Uint8Array(Buffer.from(reply.response ?? '', 'hex')) };
    };
  }

  /** Ends `serve --com` (Ctrl-C) and the Wine process; returns the 'served' report. */
  async finish(): Promise<{ served: Message; run: WineRun }> {
    await this.request('exit');
    const served = await this.next('served');
    const run = await this.process;
    this.socket.destroy();
    this.server.close();
    return { served, run };
  }

  /** Waits for `serve --com` to end by itself (idle) and the process to exit. */
  async served(): Promise<{ served: Message; run: WineRun }> {
    const served = await this.next('served');
    const run = await this.process;
    this.socket.destroy();
    this.server.close();
    return { served, run };
  }
}
