import { describe, expect, it } from 'vitest';
import { AddressError, formatListenAddress, isLoopbackAddress, parseListenAddress } from '../../src/transports/ctaphid/address.js';
import { ListenError, listenCtaphid } from '../../src/transports/ctaphid/server.js';
import { setup } from '../support/ctapHelpers.js';
import { ScriptedUser } from '../support/users.js';

describe('listen addresses', () => {
  it('reads host:port, [IPv6]:port and socket paths, and writes them back the same way', () => {
    const cases: [string, ReturnType<typeof parseListenAddress>][] = [
      ['127.0.0.1:8765', { kind: 'tcp', host: '127.0.0.1', port: 8765 }],
      ['localhost:0', { kind: 'tcp', host: 'localhost', port: 0 }],
      ['[::1]:65535', { kind: 'tcp', host: '::1', port: 65535 }],
      ['/run/user/1000/latchkey.sock', { kind: 'unix', path: '/run/user/1000/latchkey.sock' }],
      ['./latchkey.sock', { kind: 'unix', path: './latchkey.sock' }],
    ];
    for (const [text, expected] of cases) {
      expect(parseListenAddress(text)).toEqual(expected);
      expect(formatListenAddress(expected)).toBe(text);
    }
  });

  it('rejects what is neither, with a message that shows both forms', () => {
    for (const text of ['8765', '127.0.0.1', '::1:8765', '[nothost]:1', 'host:65536', 'host:', '', 'latchkey.sock']) {
      expect(() => parseListenAddress(text), text).toThrow(AddressError);
    }
    expect(() => parseListenAddress('8765')).toThrow(/host:port .* socket path/);
  });

  it('knows loopback addresses from the rest', () => {
    for (const ip of ['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(ip), ip).toBe(true);
    for (const ip of ['0.0.0.0', '::', '192.0.2.1', '10.0.0.1', '::ffff:192.0.2.1', '128.0.0.1', 'localhost', 'fe80::1']) {
      expect(isLoopbackAddress(ip), ip).toBe(false);
    }
  });

  it('refuses a non-loopback address before binding anything, unless told otherwise', async () => {
    const { authenticator } = setup();
    const options = { authenticator, context: () => ({ user: new ScriptedUser() }) };
    for (const host of ['0.0.0.0', '192.0.2.1', '::']) {
      const error = await listenCtaphid({ kind: 'tcp', host, port: 0 }, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ListenError);
      expect((error as ListenError).code).toBe('not-loopback');
      expect((error as Error).message).toMatch(/not a loopback address/);
    }
  });
});
