/**
 * A raw CTAPHID client for protocol tests, written here independently of src/: it builds and
 * reads 64-byte reports byte by byte, so the server's framing is checked against a second
 * reading of CTAP 2.2 §11.2 rather than against itself. It sends exactly what a test asks,
 * malformed or not, and records every report it receives.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export const BROADCAST = 0xffffffff;
export const CMD = { PING: 0x01, MSG: 0x03, LOCK: 0x04, INIT: 0x06, WINK: 0x08, CBOR: 0x10, CANCEL: 0x11, KEEPALIVE: 0x3b, ERROR: 0x3f } as const;
export const ERR = {
  INVALID_CMD: 0x01,
  INVALID_PAR: 0x02,
  INVALID_LEN: 0x03,
  INVALID_SEQ: 0x04,
  MSG_TIMEOUT: 0x05,
  CHANNEL_BUSY: 0x06,
  INVALID_CHANNEL: 0x0b,
  OTHER: 0x7f,
} as const;

/** One received report, decoded just enough to route it. */
export interface Report {
  readonly cid: number;
  /** Initialization packets: the command (without bit 7) and BCNT. */
  readonly cmd?: number;
  readonly bcnt?: number;
  /** Continuation packets: the sequence number. */
  readonly seq?: number;
  readonly data: Uint8Array;
}

export interface Message {
  readonly cid: number;
  readonly cmd: number;
  readonly payload: Uint8Array;
}

/** An initialization packet, zero-padded to 64 bytes. `bcnt` defaults to the data length. */
export function initPacket(cid: number, cmd: number, data: Uint8Array = new Uint8Array(0), bcnt = data.length): Uint8Array {
  const report = new Uint8Array(64);
  new DataView(report.buffer).setUint32(0, cid);
  report[4] = 0x80 | cmd;
  new DataView(report.buffer).setUint16(5, bcnt);
  report.set(data.subarray(0, 57), 7);
  return report;
}

export function contPacket(cid: number, seq: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const report = new Uint8Array(64);
  new DataView(report.buffer).setUint32(0, cid);
  report[4] = seq;
  report.set(data.subarray(0, 59), 5);
  return report;
}

/** A whole message as a list of reports. */
export function messagePackets(cid: number, cmd: number, payload: Uint8Array): Uint8Array[] {
  const packets = [initPacket(cid, cmd, payload.subarray(0, 57), payload.length)];
  for (let offset = 57, seq = 0; offset < payload.length; offset += 59, seq++) {
    packets.push(contPacket(cid, seq, payload.subarray(offset, offset + 59)));
  }
  return packets;
}

export class HidClient {
  /** Every report received, in order (never consumed by reads). */
  readonly log: Report[] = [];
  private readonly queue: Report[] = [];
  private buffered = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 64) {
        const raw = new Uint8Array(this.buffered.subarray(0, 64));
        this.buffered = this.buffered.subarray(64);
        const cid = new DataView(raw.buffer).getUint32(0);
        const report: Report =
          (raw[4]! & 0x80) !== 0
            ? { cid, cmd: raw[4]! & 0x7f, bcnt: (raw[5]! << 8) | raw[6]!, data: raw.slice(7) }
            : { cid, seq: raw[4]!, data: raw.slice(5) };
        this.log.push(report);
        this.queue.push(report);
      }
      this.wakeAll();
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        this.wakeAll();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
  }

  static connect(target: number | string): Promise<HidClient> {
    return new Promise((resolve, reject) => {
      const socket = typeof target === 'number' ? connect({ host: '127.0.0.1', port: target }) : connect({ path: target });
      socket.setNoDelay(true);
      socket.once('connect', () => resolve(new HidClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Forgets the reports received but not read yet (they stay in `log`). */
  discardUnread(): void {
    this.queue.length = 0;
  }

  private wakeAll(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  write(...reports: Uint8Array[]): void {
    for (const report of reports) {
      if (report.length !== 64) throw new Error('a report is 64 bytes');
      this.socket.write(report);
    }
  }

  send(cid: number, cmd: number, payload: Uint8Array = new Uint8Array(0)): void {
    this.write(...messagePackets(cid, cmd, payload));
  }

  /**
   * The next report, or the next one on channel `cid` when given (waits up to `timeoutMs`, a
   * safety net only: tests never depend on timing).
   */
  async next(cid?: number, timeoutMs = 10_000): Promise<Report> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = cid === undefined ? 0 : this.queue.findIndex((r) => r.cid === cid);
      const report = index >= 0 ? this.queue.splice(index, 1)[0] : undefined;
      if (report !== undefined) return report;
      if (this.ended) throw new Error('the server closed the connection');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no report arrived');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        const previous = this.waiter;
        this.waiter = () => {
          clearTimeout(timer);
          previous?.();
          resolve();
        };
      });
    }
  }

  /**
   * The next whole message (on channel `cid` when given); KEEPALIVE messages are skipped (and
   * collected in `keepalives`) unless asked for.
   */
  async message(options: { cid?: number; keepalives?: number[]; includeKeepalive?: boolean } = {}): Promise<Message> {
    for (;;) {
      const first = await this.next(options.cid);
      if (first.cmd === undefined) throw new Error(`expected an initialization packet, got continuation ${first.seq}`);
      const payload = new Uint8Array(first.bcnt!);
      let filled = Math.min(payload.length, 57);
      payload.set(first.data.subarray(0, filled));
      for (let seq = 0; filled < payload.length; seq++) {
        const cont = await this.next(first.cid);
        if (cont.seq !== seq || cont.cid !== first.cid) throw new Error(`continuation out of order: ${cont.seq} on ${cont.cid}`);
        const take = Math.min(59, payload.length - filled);
        payload.set(cont.data.subarray(0, take), filled);
        filled += take;
      }
      if (first.cmd === CMD.KEEPALIVE && options.includeKeepalive !== true) {
        options.keepalives?.push(payload[0]!);
        continue;
      }
      return { cid: first.cid, cmd: first.cmd, payload };
    }
  }

  /** Allocates a channel on the broadcast channel; returns its id. */
  async init(): Promise<number> {
    const nonce = new Uint8Array(randomBytes(8));
    this.send(BROADCAST, CMD.INIT, nonce);
    const reply = await this.message();
    if (reply.cmd !== CMD.INIT || reply.cid !== BROADCAST) throw new Error('not an INIT reply');
    if (!reply.payload.subarray(0, 8).every((b, i) => b === nonce[i])) throw new Error('wrong nonce');
    return new DataView(reply.payload.buffer).getUint32(8);
  }

  /** A CTAPHID_CBOR exchange, retrying while the device is busy with another channel. */
  async cbor(cid: number, command: number, params: Uint8Array = new Uint8Array(0)): Promise<{ status: number; body: Uint8Array }> {
    const request = new Uint8Array(params.length + 1);
    request[0] = command;
    request.set(params, 1);
    for (let attempt = 0; ; attempt++) {
      this.send(cid, CMD.CBOR, request);
      const reply = await this.message({ cid });
      if (reply.cid !== cid) throw new Error(`an answer on channel ${reply.cid.toString(16)}, not ${cid.toString(16)}`);
      if (reply.cmd === CMD.ERROR && reply.payload[0] === ERR.CHANNEL_BUSY && attempt < 500) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        continue;
      }
      if (reply.cmd !== CMD.CBOR) throw new Error(`CTAPHID command 0x${reply.cmd.toString(16)} (${reply.payload[0]}) in answer to CBOR`);
      return { status: reply.payload[0]!, body: reply.payload.slice(1) };
    }
  }

  /** A PING that retries while busy; resolves with the echo. */
  async ping(cid: number, data: Uint8Array): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      this.send(cid, CMD.PING, data);
      const reply = await this.message({ cid });
      if (reply.cmd === CMD.ERROR && reply.payload[0] === ERR.CHANNEL_BUSY && attempt < 500) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        continue;
      }
      if (reply.cmd !== CMD.PING || reply.cid !== cid) throw new Error(`not a PING answer: 0x${reply.cmd.toString(16)}`);
      return reply.payload;
    }
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}

/** Expects an ERROR message on `cid` and returns its code. */
export function errorCode(message: Message): number {
  if (message.cmd !== CMD.ERROR) throw new Error(`expected CTAPHID_ERROR, got command 0x${message.cmd.toString(16)}`);
  return message.payload[0]!;
}
