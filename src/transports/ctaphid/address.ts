/**
 * Where a CTAPHID server listens: `host:port` (TCP; IPv6 as `[::1]:port`) or a UNIX socket path
 * (anything with a `/` in it), and whether a TCP address is a loopback one.
 * @module
 */
import { BlockList, isIP } from 'node:net';

export type ListenAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

export function parseListenAddress(text: string): ListenAddress {
  if (text.includes('/')) return { kind: 'unix', path: text };
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (match === null) {
    throw new AddressError(
      `${JSON.stringify(text)} is neither host:port (e.g. 127.0.0.1:8765, [::1]:8765) nor a socket path (one with a "/", e.g. ./latchkey.sock)`,
    );
  }
  const host = match[1]!;
  const port = Number(match[2]);
  if (port > 65535) throw new AddressError(`port ${port} is out of range (0-65535)`);
  if (text.startsWith('[') && isIP(host) !== 6) throw new AddressError(`${JSON.stringify(host)} is not an IPv6 address`);
  return { kind: 'tcp', host, port };
}

/** How people write an address: `127.0.0.1:8765`, `[::1]:8765`, or the path. */
export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return address.path;
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether an IP address (v4, v6, or v4-mapped v6) is a loopback address. Host names are not. */
export function isLoopbackAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const plain = mapped?.[1] ?? ip;
  const family = isIP(plain);
  if (family === 0) return false;
  return LOOPBACK.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}
