/**
 * The CTAPHID socket service as the app composes it: the transport, handed a ready authenticator
 * and a request-context factory that picks each connection's user verifier. One connection of
 * this very process (the demo ceremony's) can be approved without asking; every other
 * connection gets the verifier the user chose.
 * @module
 */
import type { Authenticator, UserVerifier } from '../ctap/index.js';
import type { ListenAddress } from '../transports/ctaphid/address.js';
import type { PeerInfo } from '../transports/ctaphid/channels.js';
import type { DeviceVersion } from '../transports/ctaphid/device.js';
import { listenCtaphid, type CtaphidServer } from '../transports/ctaphid/server.js';
import { approveAll } from './userVerifiers.js';

export interface CtaphidServiceOptions {
  readonly authenticator: Authenticator;
  readonly address: ListenAddress;
  /** The verifier for every client's requests. */
  readonly user: UserVerifier;
  readonly allowRemote?: boolean | undefined;
  readonly version?: DeviceVersion | undefined;
  readonly log?: ((message: string) => void) | undefined;
  /** For tests: shorter transport timeouts. */
  readonly transactionTimeoutMs?: number | undefined;
}

export interface CtaphidService {
  readonly server: CtaphidServer;
  /**
   * Approves every request of the one TCP connection whose client end, in this process, is
   * `endpoint`, until the returned function is called (call it before closing that connection,
   * so its port cannot be reused by someone else meanwhile).
   */
  approveOwnConnection(endpoint: { readonly address: string; readonly port: number }): () => void;
}

export async function startCtaphidService(options: CtaphidServiceOptions): Promise<CtaphidService> {
  const approved = new Set<string>();
  const server = await listenCtaphid(options.address, {
    authenticator: options.authenticator,
    allowRemote: options.allowRemote,
    version: options.version,
    log: options.log,
    transactionTimeoutMs: options.transactionTimeoutMs,
    context: (peer) => ({ user: approved.has(peerKey(peer)) ? approveAll : options.user }),
  });
  return {
    server,
    approveOwnConnection(endpoint) {
      if (server.address.kind !== 'tcp') throw new Error('only a TCP connection can be told apart from the others');
      const key = endpointKey(endpoint.address, endpoint.port);
      approved.add(key);
      return () => void approved.delete(key);
    },
  };
}

function peerKey(peer: PeerInfo): string {
  return peer.transport === 'tcp' && peer.remoteAddress !== undefined && peer.remotePort !== undefined
    ? endpointKey(peer.remoteAddress, peer.remotePort)
    : '';
}

function endpointKey(address: string, port: number): string {
  return `${address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '')}|${port}`;
}
