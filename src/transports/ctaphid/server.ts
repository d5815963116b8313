/**
 * The socket server: CTAPHID reports, exactly 64 bytes each with no report-ID byte, over TCP
 * (loopback only unless the caller allows otherwise) or a UNIX socket. It cuts each connection's
 * byte stream into reports for the device and writes the device's packets back.
 * @module
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, isIP, type Server, type Socket } from 'node:net';
import { formatListenAddress, isLoopbackAddress, type ListenAddress } from './address.js';
import type { Link, PeerInfo } from './channels.js';
import { CtaphidDevice, type CtaphidDeviceOptions } from './device.js';
import { REPORT_SIZE } from './protocol.js';

export interface CtaphidServerOptions extends CtaphidDeviceOptions {
  /**
   * Listen on a TCP address that is not a loopback one. Off by default: the socket authenticates
   * nobody, so anyone who can reach it can ask this authenticator for signatures.
   */
  readonly allowRemote?: boolean | undefined;
}

export interface CtaphidServer {
  /** Where it listens, with the port actually bound (port 0 asks for a free one). */
  readonly address: ListenAddress;
  /** The same, written as people write it: `127.0.0.1:8765`, `[::1]:8765` or the socket path. */
  readonly displayAddress: string;
  /** Open client connections. */
  readonly connections: number;
  /** Stops listening, aborts pending requests, closes every connection; resolves when all is let go. */
  close(): Promise<void>;
}

export type ListenErrorCode = 'not-loopback' | 'in-use' | 'not-a-socket';

export class ListenError extends Error {
  constructor(
    readonly code: ListenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/** A client that queues this much unread output is not reading its answers; it is disconnected. */
const MAX_QUEUED_OUTPUT = 1 << 20;

export async function listenCtaphid(address: ListenAddress, options: CtaphidServerOptions): Promise<CtaphidServer> {
  const target = address.kind === 'tcp' ? { ...address, host: await resolveHost(address.host, options.allowRemote === true) } : address;
  if (target.kind === 'unix') await clearStaleSocket(target.path);

  const device = new CtaphidDevice(options);
  const sockets = new Set<Socket>();
  let nextConnection = 1;
  let closing = false;
  const server = createServer({ noDelay: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    const peer: PeerInfo = {
      connection: nextConnection++,
      transport: target.kind,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
    };
    serveConnection(socket, peer, device, () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(new ListenError('in-use', `${formatListenAddress(target)} is already in use (is another Latchkey serving there?)`));
      } else reject(error);
    };
    server.once('error', failed);
    const ready = () => {
      server.off('error', failed);
      resolve();
    };
    if (target.kind === 'tcp') server.listen({ host: target.host, port: target.port, exclusive: true }, ready);
    else server.listen({ path: target.path, exclusive: true }, ready);
  });
  server.on('error', (error) => options.log?.(`server error: ${error.message}`));

  let bound: ListenAddress = target;
  if (target.kind === 'tcp') {
    const info = server.address();
    if (info !== null && typeof info === 'object') bound = { kind: 'tcp', host: target.host, port: info.port };
  } else {
    chmodSync(target.path, 0o600); // only this user may connect
  }

  let closed: Promise<void> | undefined;
  return {
    address: bound,
    displayAddress: formatListenAddress(bound),
    get connections() {
      return sockets.size;
    },
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await device.close();
        for (const socket of sockets) socket.destroy();
        await stopped;
      })();
      return closed;
    },
  };
}

function serveConnection(socket: Socket, peer: PeerInfo, device: CtaphidDevice, forget: () => void): void {
  const link: Link = {
    peer,
    send(packets) {
      if (socket.destroyed || !socket.writable) return;
      socket.write(packets);
      if (socket.writableLength > MAX_QUEUED_OUTPUT) socket.destroy();
    },
  };
  // Stream chunks carry no report boundaries: keep the tail of a report until the rest arrives.
  const partial = new Uint8Array(REPORT_SIZE);
  let held = 0;
  socket.on('data', (chunk: Buffer) => {
    let offset = 0;
    if (held > 0) {
      const take = Math.min(REPORT_SIZE - held, chunk.length);
      partial.set(chunk.subarray(0, take), held);
      held += take;
      offset = take;
      if (held < REPORT_SIZE) return;
      held = 0;
      device.receive(link, partial);
    }
    for (; chunk.length - offset >= REPORT_SIZE; offset += REPORT_SIZE) {
      device.receive(link, chunk.subarray(offset, offset + REPORT_SIZE));
    }
    if (offset < chunk.length) {
      partial.set(chunk.subarray(offset), 0);
      held = chunk.length - offset;
    }
  });
  socket.on('error', () => undefined); // 'close' follows, and that is where the connection is let go
  socket.once('close', () => {
    forget();
    device.disconnect(link);
  });
}

/** The IP address to bind for `host`, refused unless it is a loopback one or `allowRemote`. */
async function resolveHost(host: string, allowRemote: boolean): Promise<string> {
  const ip = isIP(host) !== 0 ? host : (await (await import('node:dns/promises')).lookup(host)).address; // names are rare: load DNS only for them
  if (!allowRemote && !isLoopbackAddress(ip)) {
    const shown = ip === host ? host : `${host} (${ip})`;
    throw new ListenError(
      'not-loopback',
      `refusing to listen on ${shown}: it is not a loopback address, and the CTAPHID socket authenticates nobody — ` +
        'anyone who can reach it could ask this authenticator for signatures',
    );
  }
  return ip;
}

/**
 * A socket file left behind by a server that is gone is removed; a live one, or anything that is
 * not a socket, is left alone.
 */
async function clearStaleSocket(path: string): Promise<void> {
  let stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) {
    throw new ListenError('not-a-socket', `${path} exists and is not a socket; not touching it`);
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect({ path }, () => {
      probe.destroy();
      resolve(true);
    });
    probe.on('error', () => resolve(false));
  });
  if (live) throw new ListenError('in-use', `${path} is in use: another server is listening on it`);
  unlinkSync(path);
}
