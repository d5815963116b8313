/**
 * Many requests at once through each transport (SECURITY.md, "Concurrency"): every answer is either
 * the correct answer to its own request (its RP, its credential, a signature over its own client
 * data hash that node:crypto verifies) or the transport's busy refusal; nothing is mixed up, and
 * the vault passes SQLite's integrity check afterwards with every answered credential in it.
 *
 * - stdio (`latchkey ctap --stdio`, a child process): 60 requests written at once, answered in order.
 * - the CTAPHID socket: 4 connections × 2 channels sending without waiting for each other;
 *   answers or ERR_CHANNEL_BUSY.
 * - the Windows plugin host (in-process fake addon): overlapping operations, as Windows can send
 *   them; answers or HRESULT_FROM_WIN32(ERROR_BUSY).
 * - one authenticator behind all three at once: the core's own CHANNEL_BUSY reaches each client
 *   in its transport's form.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Authenticator, Command, Status } from '../../src/ctap/index.js';
import { CLSID } from '../../src/app/identity.js';
import { HRESULT } from '../../src/transports/windows/hresult.js';
import { PluginHost } from '../../src/transports/windows/pluginHost.js';
import { listenCtaphid, type CtaphidServer } from '../../src/transports/ctaphid/server.js';
import { openVault, type Vault } from '../../src/vault/vault.js';
import { sandbox } from '../support/cli.js';
import { concat, frame } from '../support/frames.js';
import { StdioClient } from '../support/stdioClient.js';
import { AAGUID, clientDataHash, encode, getAssertionParams, makeCredentialParams, options } from '../support/ctapHelpers.js';
import { CMD, ERR, HidClient } from '../ctaphid/hidClient.js';
import { FakeWindows } from '../windows-host/fakeWindows.js';
import { tempVaultDir, type TempVaultDir } from '../vault/helpers.js';
import { checkAssertionAnswer, checkMakeCredentialAnswer, LateUser, prng, type AnsweredCredential } from './support.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface Request {
  readonly command: number;
  readonly params: Uint8Array;
  /** Throws unless `body` is this request's correct answer. */
  check(body: Uint8Array | undefined): void;
}

/** A makeCredential or getAssertion (of one of `known`) with its own check; new credentials join `known`. */
function requestMaker(known: AnsweredCredential[], random: () => number) {
  let n = 0;
  return (): Request => {
    n++;
    if (known.length === 0 || random() < 0.35) {
      const rpId = `rp${n % 7}.example`;
      const params = makeCredentialParams({ rpId, userId: Uint8Array.of(n & 0xff, n >> 8, 7) });
      params.set(0x07, options({ rk: true }));
      return {
        command: Command.MakeCredential,
        params: encode(params),
        check: (body) => void known.push(checkMakeCredentialAnswer(body, rpId)),
      };
    }
    const credential = known[Math.floor(random() * known.length)]!;
    const hash = clientDataHash();
    const params = getAssertionParams({ rpId: credential.rpId, allow: [credential.id] });
    params.set(0x02, hash);
    return { command: Command.GetAssertion, params: encode(params), check: (body) => void checkAssertionAnswer(body, credential, hash) };
  };
}

function vaultHolds(vault: Vault, credentials: readonly AnsweredCredential[]): void {
  expect(vault.checkIntegrity()).toEqual([]);
  for (const c of credentials) expect(vault.findById(c.rpId, c.id), `credential of ${c.rpId}`).toBeDefined();
}

function openTemp(): { dir: TempVaultDir; vault: Vault } {
  const dir = tempVaultDir();
  const vault = dir.open();
  cleanups.push(() => dir.cleanup(), () => vault.close());
  return { dir, vault };
}

async function ctaphidServer(authenticator: Authenticator, user: LateUser): Promise<CtaphidServer & { port: number }> {
  const server = await listenCtaphid({ kind: 'tcp', host: '127.0.0.1', port: 0 }, { authenticator, context: () => ({ user }) });
  cleanups.push(() => server.close());
  return Object.assign(server, { port: server.address.kind === 'tcp' ? server.address.port : 0 });
}

/** One CTAPHID_CBOR exchange without retrying: the reply message as it came. */
async function cborOnce(client: HidClient, cid: number, request: Request) {
  client.send(cid, CMD.CBOR, concat(Uint8Array.of(request.command), request.params));
  const reply = await client.message({ cid });
  expect(reply.cid).toBe(cid);
  return reply;
}

describe('many requests at once', () => {
  it('stdio: 60 requests written at once are answered in order, each its own', async () => {
    const box = sandbox();
    cleanups.push(() => box.cleanup());
    const client = new StdioClient(['--approve-all'], box.env);
    const known: AnsweredCredential[] = [];
    const next = requestMaker(known, prng(61));
    for (let i = 0; i < 3; i++) {
      const first = next();
      const reply = await client.send(first.command, first.params);
      expect(reply.status).toBe(0);
      first.check(reply.body);
    }
    const batch = Array.from({ length: 60 }, (_, i) =>
      i % 10 === 9
        ? { command: Command.MakeCredential, params: Uint8Array.of(0xa1, 0x01), check: () => undefined, bad: true }
        : { ...next(), bad: false },
    );
    client.write(concat(...batch.map((r) => frame(r.command, r.params))));
    for (const request of batch) {
      const reply = await client.next();
      if (request.bad) expect(reply.status).toBe(Status.INVALID_CBOR);
      else {
        expect(reply.status).toBe(0);
        request.check(reply.body);
      }
    }
    expect(await client.close()).toBe(0);
    const vault = openVault({ path: box.vault, keyDir: join(box.env['XDG_CONFIG_HOME']!, 'latchkey', 'keys'), create: false });
    try {
      vaultHolds(vault, known);
    } finally {
      vault.close();
    }
  });

  it('the CTAPHID socket: 4 connections × 2 channels without waiting: each reply is its own answer or ERR_CHANNEL_BUSY', async () => {
    const { vault } = openTemp();
    const random = prng(62);
    const authenticator = new Authenticator({ store: vault, aaguid: AAGUID, backupEligible: false });
    const server = await ctaphidServer(authenticator, new LateUser(() => 2 + Math.floor(random() * 10)));
    const known: AnsweredCredential[] = [];
    const next = requestMaker(known, random);
    const clients = await Promise.all(Array.from({ length: 4 }, () => HidClient.connect(server.port)));
    cleanups.push(() => Promise.all(clients.map((c) => c.close())));
    const tally = { served: 0, busy: 0 };
    await Promise.all(
      clients.map(async (client) => {
        const cids = [await client.init(), await client.init()];
        await Promise.all(
          cids.map(async (cid) => {
            for (let i = 0; i < 12; i++) {
              const request = next();
              const reply = await cborOnce(client, cid, request);
              if (reply.cmd === CMD.ERROR) {
                expect(reply.payload[0]).toBe(ERR.CHANNEL_BUSY);
                tally.busy++;
                await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 15)));
                continue;
              }
              expect(reply.cmd).toBe(CMD.CBOR);
              expect(reply.payload[0]).toBe(Status.OK);
              request.check(reply.payload.slice(1));
              tally.served++;
            }
          }),
        );
      }),
    );
    expect(tally.served + tally.busy).toBe(4 * 2 * 12);
    expect(tally.served).toBeGreaterThan(4);
    expect(tally.busy).toBeGreaterThan(4);
    vaultHolds(vault, known);
  });

  it('the Windows plugin host: overlapping operations are each answered correctly or refused with ERROR_BUSY', async () => {
    const { vault } = openTemp();
    const windows = new FakeWindows();
    const authenticator = new Authenticator({ store: vault, aaguid: AAGUID });
    const host = new PluginHost({ addon: windows, clsid: CLSID, authenticator, isLocked: () => vault.isLocked() });
    host.start();
    cleanups.push(() => host.stop());
    const random = prng(63);
    const known: AnsweredCredential[] = [];
    const next = requestMaker(known, random);
    windows.uvMode = 'slow';
    windows.slowUvMs = 15;
    const tally = { served: 0, busy: 0 };
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 400)));
        const request = next();
        const kind = request.command === Command.MakeCredential ? 'makeCredential' : 'getAssertion';
        const reply = await windows.call(kind, request.params);
        if (reply.hresult === HRESULT.BUSY) return void tally.busy++;
        expect(reply.hresult).toBe(HRESULT.S_OK);
        request.check(reply.response);
        tally.served++;
      }),
    );
    expect(tally.served).toBeGreaterThan(3);
    expect(tally.busy).toBeGreaterThan(3);
    vaultHolds(vault, known);
  });

  it('one authenticator behind CTAPHID, the Windows host and the byte entry point at once: served or busy, each in its own form', async () => {
    const { vault } = openTemp();
    const authenticator = new Authenticator({ store: vault, aaguid: AAGUID });
    const random = prng(64);
    const slow = new LateUser(() => 5 + Math.floor(random() * 20));
    const server = await ctaphidServer(authenticator, slow);
    const windows = new FakeWindows();
    windows.uvMode = 'slow';
    windows.slowUvMs = 15;
    const host = new PluginHost({ addon: windows, clsid: CLSID, authenticator, isLocked: () => false });
    host.start();
    cleanups.push(() => host.stop());
    const client = await HidClient.connect(server.port);
    cleanups.push(() => client.close());
    const cid = await client.init();
    const known: AnsweredCredential[] = [];
    const next = requestMaker(known, random);
    const tally = { served: 0, busy: 0, ctaphidBusy: 0, windowsBusy: 0, directBusy: 0 };
    for (let round = 0; round < 24; round++) {
      await Promise.all([
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 10)));
          const request = next();
          const reply = await cborOnce(client, cid, request);
          expect(reply.cmd).toBe(CMD.CBOR); // the device itself is idle: a busy core answers inside CBOR
          if (reply.payload[0] === Status.CHANNEL_BUSY) return void (tally.busy++, tally.ctaphidBusy++);
          expect(reply.payload[0]).toBe(Status.OK);
          request.check(reply.payload.slice(1));
          tally.served++;
        })(),
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 10)));
          const request = next();
          const reply = await windows.call(request.command === Command.MakeCredential ? 'makeCredential' : 'getAssertion', request.params);
          if (reply.hresult === HRESULT.BUSY) return void (tally.busy++, tally.windowsBusy++);
          expect(reply.hresult).toBe(HRESULT.S_OK);
          request.check(reply.response);
          tally.served++;
        })(),
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 10)));
          const request = next();
          const reply = await authenticator.handle(request.command, request.params, { user: slow });
          if (reply.status === Status.CHANNEL_BUSY) return void (tally.busy++, tally.directBusy++);
          expect(reply.status).toBe(Status.OK);
          request.check(reply.body);
          tally.served++;
        })(),
      ]);
    }
    expect(tally.served).toBeGreaterThanOrEqual(24);
    expect(tally.served + tally.busy).toBe(72);
    // Each transport met the core's refusal at least once (the order of arrival is random).
    expect(Math.min(tally.ctaphidBusy, tally.windowsBusy, tally.directBusy), JSON.stringify(tally)).toBeGreaterThan(0);
    vaultHolds(vault, known);
  });
});
