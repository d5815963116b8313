/**
 * Several connections, several channels each, all at once: every answer reaches the channel that
 * asked, and belongs to the request that was asked (the signature covers that request's own
 * client data hash).
 */
import { createPublicKey, verify } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeStrict, type CborMap } from '../../src/cbor/index.js';
import { Command } from '../../src/ctap/index.js';
import { clientDataHash, concat, encode, makeCredentialParams, parseAuthData, sha256, textMap } from '../support/ctapHelpers.js';
import { BROADCAST, HidClient } from './hidClient.js';
import { startServer, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const CONNECTIONS = 4;
const CHANNELS_PER_CONNECTION = 2;
const OPS_PER_CHANNEL = 10;

function map(body: Uint8Array): CborMap {
  const value = decodeStrict(body);
  if (!(value instanceof Map)) throw new Error('not a map');
  return value;
}

function publicKeyOf(coseKey: Uint8Array) {
  const cose = map(coseKey);
  const b64 = (key: number) => Buffer.from(cose.get(key) as Uint8Array).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(-2), y: b64(-3) }, format: 'jwk' });
}

/** One channel's run: makeCredential, getAssertion, getInfo in turn, each answer checked against its request. */
async function runChannel(client: HidClient, cid: number, rpId: string, infoBytes: Uint8Array): Promise<number> {
  const credentials: { id: Uint8Array; key: ReturnType<typeof publicKeyOf> }[] = [];
  let checked = 0;
  for (let i = 0; i < OPS_PER_CHANNEL; i++) {
    switch (i % 3) {
      case 0: {
        const params = makeCredentialParams({ rpId, userId: Uint8Array.of(cid & 0xff, i), userName: `user${i}@${rpId}` });
        const reply = await client.cbor(cid, Command.MakeCredential, encode(params));
        expect(reply.status).toBe(0);
        const authData = parseAuthData(map(reply.body).get(0x02) as Uint8Array);
        expect(authData.rpIdHash).toEqual(sha256(rpId));
        credentials.push({ id: authData.credentialId!, key: publicKeyOf(authData.coseKey!) });
        break;
      }
      case 1: {
        const mine = credentials[credentials.length - 1]!;
        const hash = clientDataHash();
        const params = new Map<number, unknown>([
          [0x01, rpId],
          [0x02, hash],
          [0x03, [textMap({ id: mine.id, type: 'public-key' })]],
        ]);
        const reply = await client.cbor(cid, Command.GetAssertion, encode(params as CborMap));
        expect(reply.status).toBe(0);
        const body = map(reply.body);
        const authData = body.get(0x02) as Uint8Array;
        expect(parseAuthData(authData).rpIdHash).toEqual(sha256(rpId));
        expect((body.get(0x01) as CborMap).get('id')).toEqual(mine.id);
        expect(verify('sha256', concat(authData, hash), mine.key, body.get(0x03) as Uint8Array)).toBe(true);
        break;
      }
      default: {
        const reply = await client.cbor(cid, Command.GetInfo);
        expect(reply.status).toBe(0);
        expect(reply.body).toEqual(infoBytes);
      }
    }
    checked++;
  }
  return checked;
}

describe('interleaved channels and connections', () => {
  it(`${CONNECTIONS} connections × ${CHANNELS_PER_CONNECTION} channels × ${OPS_PER_CHANNEL} requests at once: every answer is its request’s`, async () => {
    harness = await startServer();
    const infoBytes = harness.authenticator.getInfoBytes();
    const connections = await Promise.all(Array.from({ length: CONNECTIONS }, () => HidClient.connect(harness!.port)));
    try {
      const channels = await Promise.all(
        connections.map(async (client) => {
          const cids = [];
          for (let k = 0; k < CHANNELS_PER_CONNECTION; k++) cids.push(await client.init());
          return cids;
        }),
      );
      const runs = connections.flatMap((client, c) =>
        channels[c]!.map((cid, k) => runChannel(client, cid, `rp${c}-${k}.example`, infoBytes)),
      );
      const counts = await Promise.all(runs);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(CONNECTIONS * CHANNELS_PER_CONNECTION * OPS_PER_CHANNEL);
      // Each connection saw only its own channels (and the broadcast channel for its INITs).
      connections.forEach((client, c) => {
        const own = new Set([...channels[c]!, BROADCAST]);
        expect(client.log.filter((r) => !own.has(r.cid))).toEqual([]);
      });
      expect(harness.store.count()).toBe(CONNECTIONS * CHANNELS_PER_CONNECTION * Math.ceil(OPS_PER_CHANNEL / 3));
    } finally {
      await Promise.all(connections.map((c) => c.close()));
    }
  });
});
