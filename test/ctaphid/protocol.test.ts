/**
 * CTAPHID over the socket (CTAP 2.2 §11.2), driven by a raw client that builds every report by
 * hand: channel allocation, every ERROR code, sequencing, lengths, timeouts, the one busy
 * transaction, CANCEL, KEEPALIVE, WINK, LOCK, and disconnects that leave the server healthy.
 * Nothing here depends on timing: waits are for events, and deadlines are safety nets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Command, type CtapResponse } from '../../src/ctap/index.js';
import { encode, getAssertionParams, makeCredentialParams, options } from '../support/ctapHelpers.js';
import { BROADCAST, CMD, contPacket, ERR, errorCode, HidClient, initPacket, messagePackets } from './hidClient.js';
import { GatedUser, startServer, type Harness } from './harness.js';

let harness: Harness | undefined;
const clients: HidClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await harness?.close();
  harness = undefined;
});

async function serve(options: Parameters<typeof startServer>[0] = {}): Promise<Harness> {
  harness = await startServer(options);
  return harness;
}

async function client(h: Harness): Promise<HidClient> {
  const c = await HidClient.connect(h.port);
  clients.push(c);
  return c;
}

/** A server and one client with a channel of its own. */
async function oneClient(options: Parameters<typeof startServer>[0] = {}) {
  const h = await serve(options);
  const c = await client(h);
  return { h, c, cid: await c.init() };
}

/** A server and two clients, each with a channel of its own. */
async function twoClients(options: Parameters<typeof startServer>[0] = {}) {
  const h = await serve(options);
  const [a, b] = [await client(h), await client(h)];
  return { h, a, b, ca: await a.init(), cb: await b.init() };
}

/** Sends a makeCredential and waits until it is asking the gated user. */
async function pendingOnUser(c: HidClient, cid: number, user: GatedUser): Promise<void> {
  c.send(cid, CMD.CBOR, Uint8Array.of(Command.MakeCredential, ...encode(makeCredentialParams())));
  await user.asked();
}

/**
 * Sends the first packet of an unfinished message and returns once the server has taken it in: a
 * PING on a second channel of the same connection, which arrives after it, is refused as busy.
 */
async function assembling(c: HidClient, first: Uint8Array): Promise<void> {
  const probe = await c.init();
  c.write(first);
  c.send(probe, CMD.PING, bytes(1));
  expect(errorCode(await c.message({ cid: probe }))).toBe(ERR.CHANNEL_BUSY);
}

const bytes = (length: number, seed = 1) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

describe('CTAPHID_INIT', () => {
  it('allocates a channel on the broadcast channel, echoing the nonce, with version and capabilities', async () => {
    const h = await serve();
    const c = await client(h);
    const nonce = bytes(8, 7);
    c.send(BROADCAST, CMD.INIT, nonce);
    const reply = await c.message();
    expect(reply.cid).toBe(BROADCAST);
    expect(reply.cmd).toBe(CMD.INIT);
    expect(reply.payload.length).toBe(17);
    expect(reply.payload.subarray(0, 8)).toEqual(nonce);
    const cid = new DataView(reply.payload.buffer).getUint32(8);
    expect(cid).not.toBe(0);
    expect(cid).not.toBe(BROADCAST);
    expect([...reply.payload.subarray(12)]).toEqual([2, 1, 2, 3, 0x01 | 0x04 | 0x08]); // version 2, 1.2.3, WINK|CBOR|NMSG
  });

  it('hands out channel ids that are unique across connections', async () => {
    const h = await serve();
    const [a, b] = [await client(h), await client(h)];
    const ids = [await a.init(), await b.init(), await a.init(), await b.init()];
    expect(new Set(ids).size).toBe(4);
  });

  it('re-syncs an existing channel: same id back, and the message being assembled is gone', async () => {
    const { c, cid } = await oneClient();
    c.write(initPacket(cid, CMD.PING, bytes(57), 100)); // a PING that needs one more packet
    const nonce = bytes(8, 99);
    c.send(cid, CMD.INIT, nonce);
    const reply = await c.message();
    expect(reply.cid).toBe(cid);
    expect(reply.cmd).toBe(CMD.INIT);
    expect(reply.payload.subarray(0, 8)).toEqual(nonce);
    expect(new DataView(reply.payload.buffer).getUint32(8)).toBe(cid);
    c.write(contPacket(cid, 0, bytes(43))); // the rest of the abandoned PING: nothing to continue
    expect(errorCode(await c.message())).toBe(ERR.INVALID_SEQ);
    expect(await c.ping(cid, bytes(5))).toEqual(bytes(5));
  });

  it('re-syncs a channel with a pending request: the request is aborted and its answer never sent', async () => {
    const user = new GatedUser();
    const { h, c, cid } = await oneClient({ user });
    await pendingOnUser(c, cid, user);
    c.send(cid, CMD.INIT, bytes(8));
    const reply = await c.message();
    expect(reply.cmd).toBe(CMD.INIT);
    expect(user.prompts[0]!.signal?.aborted).toBe(true);
    expect(await c.ping(cid, bytes(3))).toEqual(bytes(3));
    expect(c.log.some((r) => r.cmd === CMD.CBOR)).toBe(false);
    expect(h.store.count()).toBe(0);
  });

  it('answers ERR_INVALID_LEN to a nonce that is not 8 bytes', async () => {
    const h = await serve();
    const c = await client(h);
    c.send(BROADCAST, CMD.INIT, bytes(7));
    const reply = await c.message();
    expect(reply.cid).toBe(BROADCAST);
    expect(errorCode(reply)).toBe(ERR.INVALID_LEN);
  });

  it('recycles the least recently used channel of a connection that allocates too many', async () => {
    const h = await serve();
    const c = await client(h);
    const first = await c.init();
    const rest = [];
    for (let i = 0; i < 16; i++) rest.push(await c.init());
    c.send(first, CMD.PING, bytes(1));
    expect(errorCode(await c.message())).toBe(ERR.INVALID_CHANNEL);
    expect(await c.ping(rest[15]!, bytes(2))).toEqual(bytes(2));
  });
});

describe('CTAPHID_PING and CTAPHID_WINK', () => {
  it('echoes messages of every size up to the 7609-byte maximum (128 continuation packets)', async () => {
    const { c, cid } = await oneClient();
    for (const size of [0, 1, 57, 58, 116, 117, 1000, 7609]) {
      const data = bytes(size, size);
      expect(await c.ping(cid, data), `${size} bytes`).toEqual(data);
    }
    const packets = messagePackets(cid, CMD.PING, bytes(7609));
    expect(packets.length).toBe(129);
  });

  it('accepts a message split across writes at any byte (reports do not follow stream chunks)', async () => {
    const { c, cid } = await oneClient();
    const data = bytes(300, 3);
    const stream = Buffer.concat(messagePackets(cid, CMD.PING, data));
    for (let offset = 0; offset < stream.length; offset += 37) {
      c.socket.write(stream.subarray(offset, offset + 37));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const reply = await c.message();
    expect(reply.cmd).toBe(CMD.PING);
    expect(reply.payload).toEqual(data);
  });

  it('answers WINK with an empty WINK, and WINK with data with ERR_INVALID_LEN', async () => {
    const { c, cid } = await oneClient();
    c.send(cid, CMD.WINK);
    const wink = await c.message();
    expect(wink).toMatchObject({ cid, cmd: CMD.WINK });
    expect(wink.payload.length).toBe(0);
    c.send(cid, CMD.WINK, bytes(1));
    expect(errorCode(await c.message())).toBe(ERR.INVALID_LEN);
  });
});

describe('CTAPHID_ERROR codes', () => {
  it('0x01 ERR_INVALID_CMD: an unknown command, and CTAPHID_MSG (no CTAP1 here)', async () => {
    const { c, cid } = await oneClient();
    for (const cmd of [0x33, CMD.MSG, CMD.KEEPALIVE, 0x41]) {
      c.send(cid, cmd, bytes(4));
      const reply = await c.message();
      expect(reply.cid).toBe(cid);
      expect(errorCode(reply), `command 0x${cmd.toString(16)}`).toBe(ERR.INVALID_CMD);
    }
  });

  it('0x02 ERR_INVALID_PAR: CTAPHID_LOCK for more than 10 seconds', async () => {
    const { c, cid } = await oneClient();
    c.send(cid, CMD.LOCK, Uint8Array.of(11));
    expect(errorCode(await c.message())).toBe(ERR.INVALID_PAR);
  });

  it('0x03 ERR_INVALID_LEN: a message longer than 7609 bytes, whose continuation packets are then ignored', async () => {
    const { c, cid } = await oneClient();
    const packets = messagePackets(cid, CMD.PING, bytes(7610 - 59)); // real packets, then claim 7610 bytes
    packets[0] = initPacket(cid, CMD.PING, bytes(57), 7610);
    c.write(...packets);
    expect(errorCode(await c.message())).toBe(ERR.INVALID_LEN);
    expect(await c.ping(cid, bytes(9))).toEqual(bytes(9));
    expect(c.log.filter((r) => r.cmd === CMD.ERROR)).toHaveLength(1);
    c.send(cid, CMD.CBOR); // no command byte
    expect(errorCode(await c.message())).toBe(ERR.INVALID_LEN);
  });

  it('0x04 ERR_INVALID_SEQ: continuation packets out of order', async () => {
    const { c, cid } = await oneClient();
    const [first, second, third] = messagePackets(cid, CMD.PING, bytes(150));
    c.write(first!, third!, second!);
    expect(errorCode(await c.message())).toBe(ERR.INVALID_SEQ);
    expect(await c.ping(cid, bytes(150))).toEqual(bytes(150));
    expect(c.log.filter((r) => r.cmd === CMD.ERROR)).toHaveLength(1);
  });

  it('0x04 ERR_INVALID_SEQ: a continuation packet without an initialization packet', async () => {
    const { c, cid } = await oneClient();
    c.write(contPacket(cid, 0, bytes(59)));
    const reply = await c.message();
    expect(reply.cid).toBe(cid);
    expect(errorCode(reply)).toBe(ERR.INVALID_SEQ);
  });

  it('0x04 ERR_INVALID_SEQ: a new initialization packet on a channel still assembling a message', async () => {
    const { c, cid } = await oneClient();
    c.write(initPacket(cid, CMD.PING, bytes(57), 200), initPacket(cid, CMD.PING, bytes(3), 3));
    expect(errorCode(await c.message())).toBe(ERR.INVALID_SEQ);
    expect(await c.ping(cid, bytes(4))).toEqual(bytes(4));
  });

  it('0x05 ERR_MSG_TIMEOUT: a message left unfinished is dropped and the device is free again', async () => {
    const { a, b, ca, cb } = await twoClients({ messageTimeoutMs: 50 });
    a.write(initPacket(ca, CMD.PING, bytes(57), 100));
    const reply = await a.message();
    expect(reply.cid).toBe(ca);
    expect(errorCode(reply)).toBe(ERR.MSG_TIMEOUT);
    a.write(contPacket(ca, 0, bytes(43))); // too late: dropped quietly with the rest of its message
    expect(await b.ping(cb, bytes(2))).toEqual(bytes(2));
    expect(await a.ping(ca, bytes(2))).toEqual(bytes(2));
    expect(a.log.filter((r) => r.cmd === CMD.ERROR)).toHaveLength(1);
  });

  it('0x06 ERR_CHANNEL_BUSY: another client while a request waits for the user, then it is served', async () => {
    const user = new GatedUser();
    const { a, b, ca, cb } = await twoClients({ user });
    await pendingOnUser(a, ca, user);
    b.send(cb, CMD.PING, bytes(100)); // two packets: the second must be dropped, not answered
    expect(errorCode(await b.message())).toBe(ERR.CHANNEL_BUSY);
    b.send(cb, CMD.CBOR, Uint8Array.of(Command.GetInfo));
    expect(errorCode(await b.message())).toBe(ERR.CHANNEL_BUSY);
    a.send(ca, CMD.PING, bytes(1)); // the busy channel itself may not start another transaction either
    expect(errorCode(await a.message())).toBe(ERR.CHANNEL_BUSY);
    b.send(cb, CMD.INIT, bytes(8)); // INIT is never refused
    expect((await b.message()).cmd).toBe(CMD.INIT);
    user.approve();
    const done = await a.message();
    expect(done).toMatchObject({ cid: ca, cmd: CMD.CBOR });
    expect(done.payload[0]).toBe(0x00);
    expect((await b.cbor(cb, Command.GetInfo)).status).toBe(0x00);
    expect(b.log.filter((r) => r.cmd === CMD.ERROR)).toHaveLength(2);
  });

  it('0x06 ERR_CHANNEL_BUSY: another channel while a message is still being assembled', async () => {
    const { a, b, ca, cb } = await twoClients();
    const [first, second] = messagePackets(ca, CMD.PING, bytes(100));
    await assembling(a, first!);
    b.send(cb, CMD.PING, bytes(1));
    expect(errorCode(await b.message())).toBe(ERR.CHANNEL_BUSY);
    a.write(second!);
    expect((await a.message()).payload).toEqual(bytes(100));
    expect(await b.ping(cb, bytes(1))).toEqual(bytes(1));
  });

  it('0x06 ERR_CHANNEL_BUSY: a channel holding CTAPHID_LOCK keeps the others out until it lets go', async () => {
    const { a, b, ca, cb } = await twoClients();
    a.send(ca, CMD.LOCK, Uint8Array.of(10));
    const locked = await a.message();
    expect(locked).toMatchObject({ cid: ca, cmd: CMD.LOCK });
    b.send(cb, CMD.PING, bytes(1));
    expect(errorCode(await b.message())).toBe(ERR.CHANNEL_BUSY);
    expect(await a.ping(ca, bytes(6))).toEqual(bytes(6));
    a.send(ca, CMD.LOCK, Uint8Array.of(0));
    expect((await a.message()).cmd).toBe(CMD.LOCK);
    expect(await b.ping(cb, bytes(1))).toEqual(bytes(1));
  });

  it('0x0b ERR_INVALID_CHANNEL: channel 0, the broadcast channel, an unallocated channel, another connection’s channel', async () => {
    const h = await serve();
    const [a, b] = [await client(h), await client(h)];
    const ca = await a.init();
    await b.init();
    for (const cid of [0, BROADCAST, 0x12345678, ca]) {
      b.send(cid, CMD.PING, bytes(1));
      const reply = await b.message();
      expect(reply.cid).toBe(cid);
      expect(errorCode(reply), `channel ${cid.toString(16)}`).toBe(ERR.INVALID_CHANNEL);
    }
    b.write(contPacket(ca, 0, bytes(59)));
    expect(errorCode(await b.message())).toBe(ERR.INVALID_CHANNEL);
    b.send(ca, CMD.INIT, bytes(8));
    expect(errorCode(await b.message())).toBe(ERR.INVALID_CHANNEL);
    expect(a.log).toHaveLength(1); // only its INIT answer: nothing of b's reached a
  });

  it('0x7f ERR_OTHER: the authenticator failed in a way it should never', async () => {
    const h = await serve({ handler: { handle: () => Promise.reject(new Error('broken')) } });
    const c = await client(h);
    const cid = await c.init();
    c.send(cid, CMD.CBOR, Uint8Array.of(Command.GetInfo));
    expect(errorCode(await c.message())).toBe(ERR.OTHER);
    expect(h.logs.join('\n')).toMatch(/broken/);
    expect(await c.ping(cid, bytes(1))).toEqual(bytes(1));
  });
});

describe('CTAPHID_CBOR, CANCEL and KEEPALIVE', () => {
  it('answers the status byte and CBOR body of the core', async () => {
    const { h, c, cid } = await oneClient();
    const info = await c.cbor(cid, Command.GetInfo);
    expect(info.status).toBe(0);
    expect(info.body).toEqual(h.authenticator.getInfoBytes());
    const bad = await c.cbor(cid, Command.MakeCredential, Uint8Array.of(0xbf, 0xff));
    expect(bad.status).toBe(0x12); // CTAP2_ERR_INVALID_CBOR, still a CBOR answer
    expect(bad.body.length).toBe(0);
  });

  it('CANCEL aborts the pending request, which answers CTAP2_ERR_KEEPALIVE_CANCEL; CANCEL itself is never answered', async () => {
    const user = new GatedUser();
    const { h, c, cid } = await oneClient({ user });
    await pendingOnUser(c, cid, user);
    c.send(cid, CMD.CANCEL);
    const reply = await c.message();
    expect(reply).toMatchObject({ cid, cmd: CMD.CBOR });
    expect([...reply.payload]).toEqual([0x2d]);
    expect(user.prompts[0]!.signal?.aborted).toBe(true);
    expect(h.store.count()).toBe(0);
    c.send(cid, CMD.CANCEL); // nothing pending: ignored, no answer
    expect(await c.ping(cid, bytes(2))).toEqual(bytes(2));
    expect(c.log.filter((r) => r.cmd === CMD.CANCEL || r.cmd === CMD.ERROR)).toHaveLength(0);
  });

  it('CANCEL from another channel does not touch the pending request, and is not answered either', async () => {
    const user = new GatedUser();
    const { h, a, b, ca, cb } = await twoClients({ user });
    await pendingOnUser(a, ca, user);
    b.send(cb, CMD.CANCEL);
    b.send(cb, CMD.WINK);
    expect(errorCode(await b.message())).toBe(ERR.CHANNEL_BUSY); // the WINK; the CANCEL got nothing
    user.approve();
    expect((await a.message()).payload[0]).toBe(0x00);
    expect(h.store.count()).toBe(1);
    expect(b.log.map((r) => r.cmd)).toEqual([CMD.INIT, CMD.ERROR]);
  });

  it('sends KEEPALIVE UPNEEDED while the user is asked, on the request’s channel only', async () => {
    const user = new GatedUser();
    const h = await serve({ user, keepaliveIntervalMs: 5 });
    const [a, b] = [await client(h), await client(h)];
    const [ca] = [await a.init(), await b.init()];
    await pendingOnUser(a, ca, user);
    a.discardUnread(); // from here on the user is being asked, so every keepalive must say so
    const keepalives = [];
    for (let i = 0; i < 3; i++) {
      const ka = await a.message({ includeKeepalive: true });
      expect(ka).toMatchObject({ cid: ca, cmd: CMD.KEEPALIVE });
      keepalives.push(...ka.payload);
    }
    expect(keepalives).toEqual([0x02, 0x02, 0x02]);
    user.approve();
    expect((await a.message()).cmd).toBe(CMD.CBOR);
    expect(b.log).toHaveLength(1); // b's INIT answer only
  });

  it('sends KEEPALIVE PROCESSING while the core works without asking the user', async () => {
    let finish: (() => void) | undefined;
    const handler = { handle: () => new Promise<CtapResponse>((resolve) => (finish = () => resolve({ status: 0 }))) };
    const { c, cid } = await oneClient({ handler, keepaliveIntervalMs: 5 });
    c.send(cid, CMD.CBOR, Uint8Array.of(Command.GetInfo));
    const ka = await c.message({ includeKeepalive: true });
    expect(ka).toMatchObject({ cid, cmd: CMD.KEEPALIVE });
    expect([...ka.payload]).toEqual([0x01]);
    finish!();
    const keepalives: number[] = [];
    const reply = await c.message({ keepalives });
    expect(reply.cmd).toBe(CMD.CBOR);
    expect(keepalives.filter((status) => status !== 0x01)).toEqual([]);
  });

  it('a request waiting past the transaction timeout answers CTAP2_ERR_USER_ACTION_TIMEOUT', async () => {
    const user = new GatedUser(); // never answers
    const { c, cid } = await oneClient({ user, transactionTimeoutMs: 30 });
    const reply = await c.cbor(cid, Command.MakeCredential, encode(makeCredentialParams()));
    expect(reply.status).toBe(0x2f);
    expect(await c.ping(cid, bytes(1))).toEqual(bytes(1));
  });

  it('getNextAssertion continues only on the channel whose getAssertion started it', async () => {
    const { a, b, ca, cb } = await twoClients();
    for (const name of ['one', 'two', 'three']) {
      const params = makeCredentialParams({ userId: new TextEncoder().encode(name), userName: name }).set(0x07, options({ rk: true }));
      expect((await a.cbor(ca, Command.MakeCredential, encode(params))).status).toBe(0);
    }
    const first = await a.cbor(ca, Command.GetAssertion, encode(getAssertionParams()));
    expect(first.status).toBe(0);
    expect((await b.cbor(cb, Command.GetNextAssertion)).status).toBe(0x30); // CTAP2_ERR_NOT_ALLOWED
    expect((await a.cbor(ca, Command.GetNextAssertion)).status).toBe(0);
    expect((await a.cbor(ca, Command.GetNextAssertion)).status).toBe(0);
  });
});

describe('connections that go away', () => {
  it('a client disconnecting mid-message leaves the device free for the next', async () => {
    const h = await serve({ messageTimeoutMs: 600_000 }); // only the disconnect can free the device here
    const a = await client(h);
    await assembling(a, initPacket(await a.init(), CMD.PING, bytes(57), 1000));
    const b = await client(h);
    const cb = await b.init();
    b.send(cb, CMD.PING, bytes(1));
    expect(errorCode(await b.message())).toBe(ERR.CHANNEL_BUSY);
    await a.close();
    expect(await b.ping(cb, bytes(10))).toEqual(bytes(10)); // retried while the server learns of the close
  });

  it('a client disconnecting mid-transaction has its request aborted, and the next client is served', async () => {
    const user = new GatedUser();
    const { h, c: a, cid: ca } = await oneClient({ user });
    await pendingOnUser(a, ca, user);
    await a.close();
    const b = await client(h);
    const cb = await b.init();
    const info = await b.cbor(cb, Command.GetInfo);
    expect(info.status).toBe(0);
    expect(user.prompts[0]!.signal?.aborted).toBe(true);
    expect(h.store.count()).toBe(0);
    expect(b.log.every((r) => r.cid === cb || r.cid === BROADCAST)).toBe(true);
  });

  it('closing the server aborts a pending request and closes every connection', async () => {
    const user = new GatedUser();
    const { h, c: a, cid: ca } = await oneClient({ user });
    await pendingOnUser(a, ca, user);
    await h.close();
    await a.closed;
    expect(user.prompts[0]!.signal?.aborted).toBe(true);
    expect(a.log.some((r) => r.cmd === CMD.CBOR)).toBe(false);
    harness = undefined;
  });
});
