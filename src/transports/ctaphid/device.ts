/**
 * The CTAPHID device: what a FIDO security key does with the packets its clients send
 * (CTAP 2.2 §11.2), here for many socket connections at once.
 *
 * - One transaction at a time across the whole authenticator. The channel whose initialization
 *   packet arrives while the device is idle holds it until its response has gone out (or its
 *   message is abandoned); any other channel that sends a request meanwhile gets ERR_CHANNEL_BUSY.
 *   CTAPHID_INIT and CTAPHID_CANCEL are never refused for being busy.
 * - Channels belong to the connection that allocated them; responses go only to that connection,
 *   each message written whole, so two channels' packets never interleave.
 * - CBOR requests run in the authenticator core with a request context whose AbortSignal CANCEL,
 *   a re-sync, a disconnect or the transaction timeout fire, and whose user verifier drives
 *   KEEPALIVE (see pendingRequest.ts).
 * @module
 */
import { Command, Status, type Authenticator, type CtapResponse, type RequestContext } from '../../ctap/index.js';
import { MessageAssembly } from './assembly.js';
import { ChannelTable, type Channel, type Link, type PeerInfo } from './channels.js';
import { encodeMessage, parsePacket } from './packets.js';
import { PendingRequest } from './pendingRequest.js';
import {
  BROADCAST_CID,
  Capability,
  CtaphidCommand,
  CtaphidError,
  INIT_NONCE_SIZE,
  MAX_LOCK_SECONDS,
  MAX_MESSAGE_SIZE,
  PROTOCOL_VERSION,
  type CtaphidErrorCode,
} from './protocol.js';

/** What the device needs of the authenticator: its byte entry point. */
export type CtapHandler = Pick<Authenticator, 'handle'>;

export interface DeviceVersion {
  readonly major: number;
  readonly minor: number;
  readonly build: number;
}

export interface CtaphidDeviceOptions {
  readonly authenticator: CtapHandler;
  /** The request context (its user verifier) for a CBOR request from this peer. Called once per request. */
  readonly context: (peer: PeerInfo) => RequestContext;
  /** Reported by CTAPHID_INIT (default 0.0.0). */
  readonly version?: DeviceVersion | undefined;
  /** An unfinished message is abandoned with ERR_MSG_TIMEOUT this long after its first packet (default 1 s). */
  readonly messageTimeoutMs?: number | undefined;
  /** A CBOR request still waiting this long is aborted and answers USER_ACTION_TIMEOUT (default 120 s). */
  readonly transactionTimeoutMs?: number | undefined;
  /** KEEPALIVE period while a CBOR request is pending (default 100 ms). */
  readonly keepaliveIntervalMs?: number | undefined;
  /** Channels one connection may hold before its least recently used idle one is recycled (default 16). */
  readonly channelsPerConnection?: number | undefined;
  /** One line per protocol error or failure worth knowing about. Never payloads. */
  readonly log?: ((message: string) => void) | undefined;
}

export const DEFAULT_MESSAGE_TIMEOUT_MS = 1_000;
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 120_000;
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 100;

type Busy =
  | { readonly phase: 'assembling'; readonly channel: Channel; readonly assembly: MessageAssembly; readonly timer: NodeJS.Timeout }
  | { readonly phase: 'processing'; readonly channel: Channel; readonly request: PendingRequest };

const EMPTY = new Uint8Array(0);

export class CtaphidDevice {
  private readonly channels: ChannelTable;
  private readonly messageTimeoutMs: number;
  private readonly transactionTimeoutMs: number;
  private readonly keepaliveIntervalMs: number;
  private readonly version: DeviceVersion;
  private readonly log: (message: string) => void;
  /** The one transaction in progress, from its first packet to its response. */
  private busy: Busy | undefined;
  /** A channel holding the device with CTAPHID_LOCK. */
  private lock: { readonly channel: Channel; readonly timer: NodeJS.Timeout } | undefined;
  /** The channel whose CBOR command ran last: only it may continue with getNextAssertion. */
  private lastCborChannel: Channel | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: CtaphidDeviceOptions) {
    this.channels = new ChannelTable(options.channelsPerConnection);
    this.messageTimeoutMs = options.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS;
    this.transactionTimeoutMs = options.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS;
    this.keepaliveIntervalMs = options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
    this.version = options.version ?? { major: 0, minor: 0, build: 0 };
    this.log = options.log ?? (() => undefined);
  }

  /** One 64-byte report from a connection. */
  receive(link: Link, report: Uint8Array): void {
    if (this.closed) return;
    const packet = parsePacket(report);
    if (packet.kind === 'init') this.onInitPacket(link, packet.cid, packet.cmd, packet.length, packet.data);
    else this.onContinuation(link, packet.cid, packet.seq, packet.data);
  }

  /** A connection went away: its channels are forgotten and whatever they had going is abandoned. */
  disconnect(link: Link): void {
    for (const channel of this.channels.releaseLink(link)) this.abandon(channel, 'disconnect');
  }

  /** Stops taking packets, aborts what is pending, and resolves once the core has let go. */
  async close(): Promise<void> {
    this.closed = true;
    const busy = this.busy;
    if (busy?.phase === 'assembling') this.endAssembly();
    if (busy?.phase === 'processing') busy.request.abort('shutdown');
    this.releaseLock();
    await Promise.allSettled([...this.inFlight]);
  }

  private onInitPacket(link: Link, cid: number, cmd: number, length: number, data: Uint8Array): void {
    if (cmd === CtaphidCommand.Init) {
      this.init(link, cid, length, data);
      return;
    }
    const channel = this.channels.owned(link, cid);
    if (channel === undefined) {
      this.error(link, cid, CtaphidError.InvalidChannel, 'a request on a channel this connection does not own');
      return;
    }
    channel.skipping = false;
    if (cmd === CtaphidCommand.Cancel) {
      this.cancel(channel);
      return;
    }
    const busy = this.busy;
    if (busy?.channel === channel && busy.phase === 'assembling') {
      // A new message before the last one was complete: both are void.
      this.endAssembly();
      this.reject(channel, CtaphidError.InvalidSeq, 'an initialization packet in the middle of a message');
      return;
    }
    if (busy !== undefined || (this.lock !== undefined && this.lock.channel !== channel)) {
      this.reject(channel, CtaphidError.ChannelBusy);
      return;
    }
    if (length > MAX_MESSAGE_SIZE) {
      this.reject(channel, CtaphidError.InvalidLength, `a ${length}-byte message`);
      return;
    }
    const assembly = new MessageAssembly(cmd, length, data);
    if (assembly.complete) {
      this.dispatch(channel, assembly);
      return;
    }
    const timer = setTimeout(() => this.messageTimedOut(channel), this.messageTimeoutMs);
    this.busy = { phase: 'assembling', channel, assembly, timer };
  }

  private onContinuation(link: Link, cid: number, seq: number, data: Uint8Array): void {
    const channel = this.channels.owned(link, cid);
    if (channel === undefined) {
      this.error(link, cid, CtaphidError.InvalidChannel, 'a continuation packet on a channel this connection does not own');
      return;
    }
    const busy = this.busy;
    if (busy?.phase === 'assembling' && busy.channel === channel) {
      const result = busy.assembly.add(seq, data);
      if (result === 'more') return;
      this.endAssembly();
      if (result === 'complete') this.dispatch(channel, busy.assembly);
      else this.reject(channel, CtaphidError.InvalidSeq, `continuation packet ${seq} out of order`);
      return;
    }
    if (channel.skipping) return; // the rest of a message already answered with an error
    this.error(link, cid, CtaphidError.InvalidSeq, 'a continuation packet without an initialization packet');
  }

  /** CTAPHID_INIT: a new channel (on the broadcast channel), or a re-sync of an existing one. */
  private init(link: Link, cid: number, length: number, data: Uint8Array): void {
    let channel: Channel | undefined;
    if (cid === BROADCAST_CID) {
      if (length !== INIT_NONCE_SIZE) {
        this.error(link, cid, CtaphidError.InvalidLength, `CTAPHID_INIT with ${length} bytes`);
        return;
      }
      const allocated = this.channels.allocate(link, (c) => this.busy?.channel === c || this.lock?.channel === c);
      if (allocated.recycled !== undefined) this.abandon(allocated.recycled, 'resync');
      channel = allocated.channel;
    } else {
      channel = this.channels.owned(link, cid);
      if (channel === undefined) {
        this.error(link, cid, CtaphidError.InvalidChannel, 'CTAPHID_INIT on a channel this connection does not own');
        return;
      }
      if (length !== INIT_NONCE_SIZE) {
        this.reject(channel, CtaphidError.InvalidLength, `CTAPHID_INIT with ${length} bytes`);
        return;
      }
      this.abandon(channel, 'resync');
    }
    const reply = new Uint8Array(INIT_NONCE_SIZE + 9);
    reply.set(data.subarray(0, INIT_NONCE_SIZE), 0);
    new DataView(reply.buffer).setUint32(INIT_NONCE_SIZE, channel.cid, false);
    reply[12] = PROTOCOL_VERSION;
    reply[13] = this.version.major;
    reply[14] = this.version.minor;
    reply[15] = this.version.build;
    reply[16] = Capability.Wink | Capability.Cbor | Capability.Nmsg;
    link.send(encodeMessage(cid, CtaphidCommand.Init, reply));
  }

  /** CTAPHID_CANCEL: aborts the channel's message or request, if it has one. Never answered itself. */
  private cancel(channel: Channel): void {
    const busy = this.busy;
    if (busy?.channel !== channel) return;
    if (busy.phase === 'assembling') {
      this.endAssembly();
      channel.skipping = true;
    } else {
      busy.request.abort('cancel');
    }
  }

  /** A complete request message. */
  private dispatch(channel: Channel, assembly: MessageAssembly): void {
    const payload = assembly.payload();
    const { link, cid } = channel;
    switch (assembly.cmd) {
      case CtaphidCommand.Ping:
        link.send(encodeMessage(cid, CtaphidCommand.Ping, payload));
        return;
      case CtaphidCommand.Wink:
        if (payload.length !== 0) this.error(link, cid, CtaphidError.InvalidLength, 'CTAPHID_WINK with data');
        else link.send(encodeMessage(cid, CtaphidCommand.Wink, EMPTY));
        return;
      case CtaphidCommand.Lock:
        this.lockCommand(channel, payload);
        return;
      case CtaphidCommand.Cbor:
        if (payload.length === 0) this.error(link, cid, CtaphidError.InvalidLength, 'CTAPHID_CBOR without a command byte');
        else this.startCbor(channel, payload);
        return;
      default:
        // CTAPHID_MSG (no CTAP1/U2F here), vendor commands, and device-to-host commands.
        this.error(link, cid, CtaphidError.InvalidCommand, `command 0x${assembly.cmd.toString(16)}`);
    }
  }

  /** CTAPHID_LOCK: hold the device for this channel for 1..10 s; 0 lets go. */
  private lockCommand(channel: Channel, payload: Uint8Array): void {
    if (payload.length !== 1) {
      this.error(channel.link, channel.cid, CtaphidError.InvalidLength, 'CTAPHID_LOCK takes one byte');
      return;
    }
    const seconds = payload[0]!;
    if (seconds > MAX_LOCK_SECONDS) {
      this.error(channel.link, channel.cid, CtaphidError.InvalidParameter, `CTAPHID_LOCK for ${seconds} s`);
      return;
    }
    this.releaseLock(); // only this channel's own lock can be held here: another's would have made it busy
    if (seconds > 0) this.lock = { channel, timer: setTimeout(() => this.releaseLock(), seconds * 1000) };
    channel.link.send(encodeMessage(channel.cid, CtaphidCommand.Lock, EMPTY));
  }

  private startCbor(channel: Channel, payload: Uint8Array): void {
    const { link, cid } = channel;
    const request = new PendingRequest({
      keepaliveIntervalMs: this.keepaliveIntervalMs,
      timeoutMs: this.transactionTimeoutMs,
      sendKeepalive: (status) => link.send(encodeMessage(cid, CtaphidCommand.Keepalive, Uint8Array.of(status))),
    });
    this.busy = { phase: 'processing', channel, request };
    const command = payload[0]!;
    const params = payload.subarray(1);
    // getNextAssertion continues the getAssertion of the channel that asked for it, never another client's.
    const foreignContinuation = command === Command.GetNextAssertion && this.lastCborChannel !== channel;
    if (!foreignContinuation) this.lastCborChannel = channel;

    const run = async (): Promise<CtapResponse> => {
      if (foreignContinuation) return { status: Status.NOT_ALLOWED };
      const base = this.options.context(link.peer);
      const signal = base.signal === undefined ? request.signal : AbortSignal.any([base.signal, request.signal]);
      return this.options.authenticator.handle(command, params, { user: request.watch(base.user), signal });
    };
    const answer = (response: CtapResponse) => {
      const body = response.body ?? EMPTY;
      if (body.length + 1 > MAX_MESSAGE_SIZE) {
        this.error(link, cid, CtaphidError.Other, `a ${body.length + 1}-byte response does not fit in a message`);
        return;
      }
      const message = new Uint8Array(body.length + 1);
      message[0] = response.status;
      message.set(body, 1);
      link.send(encodeMessage(cid, CtaphidCommand.Cbor, message));
    };
    const done: Promise<void> = run()
      .then(
        (response) => {
          request.finish();
          if (request.answerable) answer(response);
        },
        (error: unknown) => {
          request.finish();
          this.log(`CTAP command 0x${command.toString(16)} failed: ${error instanceof Error ? error.message : String(error)}`);
          if (request.answerable) this.error(link, cid, CtaphidError.Other);
        },
      )
      .finally(() => {
        if (this.busy?.phase === 'processing' && this.busy.request === request) this.busy = undefined;
        this.inFlight.delete(done);
      });
    this.inFlight.add(done);
  }

  private messageTimedOut(channel: Channel): void {
    if (this.busy?.phase !== 'assembling' || this.busy.channel !== channel) return;
    this.endAssembly();
    this.reject(channel, CtaphidError.MessageTimeout, 'a message left unfinished');
  }

  /** Drops what a channel has going: its message, its request's answer, its lock. */
  private abandon(channel: Channel, cause: 'resync' | 'disconnect'): void {
    channel.skipping = false;
    const busy = this.busy;
    if (busy?.channel === channel) {
      if (busy.phase === 'assembling') this.endAssembly();
      else busy.request.abort(cause); // the device stays busy until the core lets go
    }
    if (this.lock?.channel === channel) this.releaseLock();
    if (cause === 'disconnect' && this.lastCborChannel === channel) this.lastCborChannel = undefined;
  }

  private endAssembly(): void {
    if (this.busy?.phase === 'assembling') {
      clearTimeout(this.busy.timer);
      this.busy = undefined;
    }
  }

  private releaseLock(): void {
    if (this.lock !== undefined) clearTimeout(this.lock.timer);
    this.lock = undefined;
  }

  /** An error for this channel's message; continuation packets still on their way are dropped quietly. */
  private reject(channel: Channel, code: CtaphidErrorCode, why?: string): void {
    channel.skipping = true;
    this.error(channel.link, channel.cid, code, why);
  }

  private error(link: Link, cid: number, code: CtaphidErrorCode, why?: string): void {
    if (why !== undefined) {
      this.log(`connection ${link.peer.connection}, channel 0x${cid.toString(16).padStart(8, '0')}: ERROR 0x${code.toString(16).padStart(2, '0')} (${why})`);
    }
    link.send(encodeMessage(cid, CtaphidCommand.Error, Uint8Array.of(code)));
  }
}
