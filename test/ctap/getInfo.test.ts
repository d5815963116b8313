/**
 * authenticatorGetInfo (0x04): the documented fields, and a byte-exact canonical encoding.
 */
import { describe, expect, it } from 'vitest';
import { decodeStrict, encodeCanonical, type CborMap } from '../../src/cbor/index.js';
import { Authenticator, Command, Status } from '../../src/ctap/index.js';
import { MemoryStore } from '../support/memoryStore.js';
import { approving } from '../support/users.js';
import { concat, hex } from '../support/ctapHelpers.js';

const AAGUID = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 11) & 0xff);
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (s: string) => {
  const b = utf8(s);
  if (b.length >= 24) throw new Error('short strings only');
  return concat(Uint8Array.of(0x60 | b.length), b);
};

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

async function infoBytes(options: Partial<ConstructorParameters<typeof Authenticator>[0]> = {}): Promise<Uint8Array> {
  const authenticator = new Authenticator({ store: new MemoryStore(), aaguid: AAGUID, ...options });
  const response = await authenticator.handle(Command.GetInfo, new Uint8Array(0), approving());
  expect(response.status).toBe(Status.OK);
  expect(response.body).toBeInstanceOf(Uint8Array);
  return response.body!;
}

describe('getInfo', () => {
  it('decodes to the documented fields', async () => {
    const info = decodeStrict(await infoBytes()) as CborMap;
    expect(info).toBeInstanceOf(Map);
    expect(info.get(0x01)).toEqual(['FIDO_2_0', 'FIDO_2_1']);
    expect(info.get(0x02)).toEqual(['credBlob', 'credProtect', 'hmac-secret', 'hmac-secret-mc']);
    expect(info.get(0x03)).toEqual(AAGUID);
    const options = info.get(0x04) as CborMap;
    expect(options.get('rk')).toBe(true);
    expect(options.get('up')).toBe(true);
    expect(options.get('uv')).toBe(true);
    expect(options.get('makeCredUvNotRqd')).toBe(true);
    // clientPIN is there for hmac-secret's key agreement, and no PIN is set (clientPin.test.ts).
    expect(options.get('clientPin')).toBe(false);
    // Nothing the core does not implement is claimed.
    for (const absent of ['plat', 'pinUvAuthToken', 'credMgmt', 'bioEnroll', 'largeBlobs', 'ep', 'alwaysUv', 'authnrCfg']) {
      expect(options.has(absent), absent).toBe(false);
    }
    expect(info.get(0x05)).toBe(7609); // maxMsgSize: the CTAPHID maximum
    expect(info.get(0x06)).toEqual([2, 1]); // pinUvAuthProtocols, preferred first
    expect(info.get(0x08)).toBe(1023); // maxCredentialIdLength
    expect(info.get(0x09)).toEqual(['internal']);
    const algorithms = info.get(0x0a) as CborMap[];
    expect(algorithms.map((a) => [a.get('alg'), a.get('type')])).toEqual([
      [-7, 'public-key'],
      [-8, 'public-key'],
    ]);
    expect(info.get(0x0f)).toBe(32); // maxCredBlobLength
    expect([...info.keys()]).toEqual([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0a, 0x0f]);
  });

  it('carries the AAGUID and transports it was configured with', async () => {
    const aaguid = Uint8Array.from({ length: 16 }, (_, i) => 255 - i);
    const info = decodeStrict(await infoBytes({ aaguid, transports: ['usb', 'internal', 'hybrid'] })) as CborMap;
    expect(info.get(0x03)).toEqual(aaguid);
    expect(info.get(0x09)).toEqual(['usb', 'internal', 'hybrid']);
  });

  it('leaves uv (and makeCredUvNotRqd) out where the transport cannot verify the user', async () => {
    const options = (decodeStrict(await infoBytes({ userVerification: false })) as CborMap).get(0x04) as CborMap;
    expect([...options.entries()]).toEqual([
      ['rk', true],
      ['up', true],
    ]);
  });

  it('is byte-exact canonical CBOR: re-encoding the decoded value gives the same bytes', async () => {
    for (const options of [{}, { userVerification: false }, { transports: ['usb', 'nfc'] }]) {
      const bytes = await infoBytes(options);
      expect(encodeCanonical(decodeStrict(bytes))).toEqual(bytes);
    }
  });

  it('sorts the options map canonically on the wire: rk, up, uv, clientPin, then makeCredUvNotRqd', async () => {
    const bytes = await infoBytes();
    const expected = concat(
      hex('04 a5'),
      text('rk'), hex('f5'),
      text('up'), hex('f5'),
      text('uv'), hex('f5'),
      text('clientPin'), hex('f4'),
      hex('70'), utf8('makeCredUvNotRqd'), hex('f5'),
    );
    expect(indexOf(bytes, expected)).toBeGreaterThan(0);
  });

  it('sorts each algorithms entry canonically: "alg" before "type", ES256 then EdDSA', async () => {
    const bytes = await infoBytes();
    const entry = (alg: number) => concat(hex('a2'), text('alg'), Uint8Array.of(alg), text('type'), hex('6a'), utf8('public-key'));
    const expected = concat(hex('0a 82'), entry(0x26), entry(0x27));
    expect(indexOf(bytes, expected)).toBeGreaterThan(0);
  });

  it('starts with key 0x01 and ends with maxCredBlobLength 32 (keys in ascending order)', async () => {
    const bytes = await infoBytes();
    expect(Array.from(bytes.subarray(0, 3))).toEqual([0xaa, 0x01, 0x82]);
    expect(Array.from(bytes.subarray(-3))).toEqual([0x0f, 0x18, 0x20]);
  });

  it('answers the same bytes as getInfoBytes(), and a copy each time', async () => {
    const authenticator = new Authenticator({ store: new MemoryStore(), aaguid: AAGUID });
    const first = await authenticator.handle(Command.GetInfo, new Uint8Array(0), approving());
    first.body!.fill(0);
    const second = await authenticator.handle(Command.GetInfo, new Uint8Array(0), approving());
    expect(second.body).toEqual(authenticator.getInfoBytes());
    expect(decodeStrict(second.body!)).toBeInstanceOf(Map);
  });
});
