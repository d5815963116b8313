/**
 * The channel table: channel ids handed out by CTAPHID_INIT, unique across every connection of
 * the server, each owned by the connection that asked for it. Another connection's channel is
 * as unknown as one never allocated.
 * @module
 */
import { BROADCAST_CID, RESERVED_CID } from './protocol.js';

/** Who is at the other end of a connection, for the app to choose a user verifier. */
export interface PeerInfo {
  /** Server-unique connection number. */
  readonly connection: number;
  readonly transport: 'tcp' | 'unix';
  /** TCP only: the client's address and port as the server sees them. */
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

/** One client connection as the device sees it: where its replies go. */
export interface Link {
  readonly peer: PeerInfo;
  /** Queues whole packets (a multiple of 64 bytes) for this connection, in order. */
  send(packets: Uint8Array): void;
}

export class Channel {
  /** After a rejected or aborted message, its remaining continuation packets are dropped silently. */
  skipping = false;
  constructor(
    readonly cid: number,
    readonly link: Link,
  ) {}
}

/** Channels a connection may hold before its least recently used idle one is recycled. */
export const DEFAULT_CHANNELS_PER_CONNECTION = 16;

export class ChannelTable {
  private readonly byCid = new Map<number, Channel>();
  /** Per connection, in least-recently-used order (a Set keeps insertion order). */
  private readonly byLink = new Map<Link, Set<Channel>>();
  private nextCid = 1;

  constructor(private readonly perConnection = DEFAULT_CHANNELS_PER_CONNECTION) {}

  /**
   * A new channel for `link`. When the connection already holds its share, its least recently used
   * channel that `inUse` does not claim is recycled and returned as `recycled` for the caller to
   * clean up.
   */
  allocate(link: Link, inUse: (channel: Channel) => boolean): { channel: Channel; recycled?: Channel | undefined } {
    let owned = this.byLink.get(link);
    if (owned === undefined) {
      owned = new Set();
      this.byLink.set(link, owned);
    }
    let recycled: Channel | undefined;
    if (owned.size >= this.perConnection) {
      for (const candidate of owned) {
        if (!inUse(candidate)) {
          recycled = candidate;
          break;
        }
      }
      if (recycled !== undefined) this.remove(recycled);
    }
    const channel = new Channel(this.freshCid(), link);
    this.byCid.set(channel.cid, channel);
    owned.add(channel);
    return { channel, recycled };
  }

  /** The channel `cid` if `link` owns it (and marks it recently used). */
  owned(link: Link, cid: number): Channel | undefined {
    const channel = this.byCid.get(cid);
    if (channel === undefined || channel.link !== link) return undefined;
    const owned = this.byLink.get(link)!;
    owned.delete(channel);
    owned.add(channel);
    return channel;
  }

  /** Forgets every channel of a connection that went away and returns them. */
  releaseLink(link: Link): Channel[] {
    const owned = [...(this.byLink.get(link) ?? [])];
    for (const channel of owned) this.byCid.delete(channel.cid);
    this.byLink.delete(link);
    return owned;
  }

  get size(): number {
    return this.byCid.size;
  }

  private remove(channel: Channel): void {
    this.byCid.delete(channel.cid);
    this.byLink.get(channel.link)?.delete(channel);
  }

  /** Counts up from 1, skipping the reserved and broadcast ids and any still in use. */
  private freshCid(): number {
    for (;;) {
      const cid = this.nextCid;
      this.nextCid = cid >= BROADCAST_CID - 1 ? 1 : cid + 1;
      if (cid !== RESERVED_CID && cid !== BROADCAST_CID && !this.byCid.has(cid)) return cid;
    }
  }
}
