/**
 * A small CTAPHID client over a socket: what a FIDO client library does with a HID device,
 * enough for `latchkey start`'s demo ceremony and the benchmarks to go through the real
 * transport. It allocates a channel with CTAPHID_INIT, sends CTAPHID_CBOR requests, skips
 * KEEPALIVEs, and retries while another client keeps the device busy.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { ListenAddress } from '../transports/ctaphid/address.js';
import { encodeMessage, parsePacket } from '../transports/ctaphid/packets.js';
import { BROADCAST_CID, CtaphidCommand, CtaphidError, INIT_NONCE_SIZE, REPORT_SIZE } from '../transports/ctaphid/protocol.js';

export class CtaphidClientError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'CtaphidClientError';
  }
}

export interface CtaphidClientOptions {
  /** How long to wait for any one answer (default 60 s). */
  readonly replyTimeoutMs?: number;
  /** How long to keep retrying while the device is busy with another client (default 10 s). */
  readonly busyRetryMs?: number;
}

export class CtaphidClient {
  private readonly reports: Uint8Array[] = [];
  private pending: Uint8Array = new Uint8Array(0);
  private wake: (() => void) | undefined;
  private ended = false;
  private cid = BROADCAST_CID;

  private constructor(
    private readonly socket: Socket,
    private readonly options: CtaphidClientOptions,
  ) {
    socket.on('data', (chunk: Buffer) => {
      const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      let offset = 0;
      for (; bytes.length - offset >= REPORT_SIZE; offset += REPORT_SIZE) this.reports.push(bytes.subarray(offset, offset + REPORT_SIZE));
      this.pending = bytes.subarray(offset);
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  /** Connects and allocates a channel. */
  static async connect(address: ListenAddress, options: CtaphidClientOptions = {}): Promise<CtaphidClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = address.kind === 'tcp' ? connect({ host: address.host, port: address.port, noDelay: true }) : connect({ path: address.path });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    const client = new CtaphidClient(socket, options);
    try {
      await client.init();
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** The channel this client was given. */
  get channel(): number {
    return this.cid;
  }

  /** This end of a TCP connection, as the server sees the peer. */
  get localEndpoint(): { readonly address: string; readonly port: number } | undefined {
    const { localAddress, localPort } = this.socket;
    return localAddress !== undefined && localPort !== undefined ? { address: localAddress, port: localPort } : undefined;
  }

  /** One CTAP2 command through CTAPHID_CBOR: the status byte and CBOR body of the answer. */
  async send(command: number, params: Uint8Array): Promise<{ status: number; body: Uint8Array }> {
    const request = new Uint8Array(params.length + 1);
    request[0] = command;
    request.set(params, 1);
    const reply = await this.transact(CtaphidCommand.Cbor, request);
    if (reply.length === 0) throw new CtaphidClientError('an empty CTAPHID_CBOR answer');
    return { status: reply[0]!, body: reply.subarray(1) };
  }

  /** CTAPHID_PING: the device echoes `data`. */
  ping(data: Uint8Array): Promise<Uint8Array> {
    return this.transact(CtaphidCommand.Ping, data);
  }

  close(): void {
    this.socket.destroy();
  }

  private async init(): Promise<void> {
    const nonce = new Uint8Array(randomBytes(INIT_NONCE_SIZE));
    const reply = await this.exchange(CtaphidCommand.Init, nonce);
    if (reply.length < 17 || !nonce.every((byte, i) => reply[i] === byte)) throw new CtaphidClientError('CTAPHID_INIT answered a different nonce');
    this.cid = new DataView(reply.buffer, reply.byteOffset).getUint32(INIT_NONCE_SIZE, false);
  }

  /** A request and its response, trying again while the device is busy with another channel. */
  private async transact(cmd: number, payload: Uint8Array): Promise<Uint8Array> {
    const giveUp = Date.now() + (this.options.busyRetryMs ?? 10_000);
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      try {
        return await this.exchange(cmd, payload);
      } catch (error) {
        if (!(error instanceof CtaphidClientError) || error.code !== CtaphidError.ChannelBusy || Date.now() > giveUp) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  private async exchange(cmd: number, payload: Uint8Array): Promise<Uint8Array> {
    this.socket.write(encodeMessage(this.cid, cmd, payload));
    for (;;) {
      const first = parsePacket(await this.nextReport());
      if (first.kind !== 'init' || first.cid !== this.cid || first.cmd === CtaphidCommand.Keepalive) continue;
      if (first.cmd === CtaphidCommand.Error) {
        const code = first.data[0]!;
        throw new CtaphidClientError(`CTAPHID_ERROR 0x${code.toString(16).padStart(2, '0')}`, code);
      }
      if (first.cmd !== cmd) throw new CtaphidClientError(`answer to command 0x${first.cmd.toString(16)}, expected 0x${cmd.toString(16)}`);
      const message = new Uint8Array(first.length);
      let filled = Math.min(first.length, first.data.length);
      message.set(first.data.subarray(0, filled));
      for (let seq = 0; filled < first.length; seq++) {
        const next = parsePacket(await this.nextReport());
        if (next.kind !== 'cont' || next.cid !== this.cid || next.seq !== seq) throw new CtaphidClientError('answer packets out of sequence');
        const take = Math.min(first.length - filled, next.data.length);
        message.set(next.data.subarray(0, take), filled);
        filled += take;
      }
      return message;
    }
  }

  private async nextReport(): Promise<Uint8Array> {
    const timeoutMs = this.options.replyTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    try {
      for (;;) {
        const report = this.reports.shift();
        if (report !== undefined) return report;
        if (this.ended) throw new CtaphidClientError('the connection closed');
        if (timedOut) throw new CtaphidClientError(`no answer within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          timer ??= setTimeout(() => {
            timedOut = true;
            this.wake?.();
          }, timeoutMs);
        });
        this.wake = undefined;
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
