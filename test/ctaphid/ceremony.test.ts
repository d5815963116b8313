/**
 * Whole ceremonies through the CTAPHID socket, judged by @simplewebauthn/server; the app's
 * service approving exactly one connection of its own; and `latchkey start`'s demo ceremony
 * cleaning up after itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CtaphidClient } from '../../src/app/ctaphidClient.js';
import { startCtaphidService, type CtaphidService } from '../../src/app/ctaphidService.js';
import { DEMO_RP_ID } from '../../src/app/demoCeremony.js';
import { removeDemoPasskeys, runSocketDemo, SOCKET_DEMO_USER } from '../../src/app/socketDemo.js';
import { nobodyThere } from '../../src/app/userVerifiers.js';
import { CtapStatusError, WebAuthnPlatform } from '../../src/app/webauthnClient.js';
import { Command } from '../../src/ctap/index.js';
import { encode, makeCredentialParams, options, setup } from '../support/ctapHelpers.js';
import { HidClient } from './hidClient.js';
import { authenticate, ORIGIN, register } from '../support/relyingParty.js';
import { startServer, type Harness } from './harness.js';

let harness: Harness | undefined;
let service: CtaphidService | undefined;
const closers: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await harness?.close();
  await service?.server.close();
  harness = undefined;
  service = undefined;
});

describe('ceremonies through the socket', () => {
  it('registers and signs in (discoverable and with an allow list), verified by @simplewebauthn/server', async () => {
    harness = await startServer();
    const client = await HidClient.connect(harness.port);
    closers.push(() => client.close());
    const cid = await client.init();
    const platform = new WebAuthnPlatform((command, params) => client.cbor(cid, command, params), ORIGIN);
    const alice = await register(platform, { userName: 'alice@example.com', userVerification: 'required' });
    const bob = await register(platform, { userName: 'bob@example.com', residentKey: 'discouraged' });
    expect(alice.userVerified).toBe(true);
    const signIn = await authenticate(platform, [alice], { allow: false, userVerification: 'required' });
    expect(signIn.verification.verified).toBe(true);
    expect(signIn.verification.authenticationInfo.userVerified).toBe(true);
    const second = await authenticate(platform, [bob], { userVerification: 'discouraged' });
    expect(second.verification.verified).toBe(true);
    expect(second.chosen.response.id).toBe(bob.credential.id);
  });
});

describe('the app’s CTAPHID service', () => {
  it('approves only the connection it was told about, and only until told to stop', async () => {
    const core = setup();
    service = await startCtaphidService({ authenticator: core.authenticator, address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, user: nobodyThere });
    const port = service.server.address.kind === 'tcp' ? service.server.address.port : 0;
    const own = await CtaphidClient.connect(service.server.address);
    closers.push(() => own.close());
    const other = await HidClient.connect(port);
    closers.push(() => other.close());
    const otherCid = await other.init();

    const stop = service.approveOwnConnection(own.localEndpoint!);
    const ownPlatform = new WebAuthnPlatform((c, p) => own.send(c, p), ORIGIN);
    const account = await register(ownPlatform, { userVerification: 'required' });
    expect(account.userVerified).toBe(true);
    const denied = await other.cbor(otherCid, Command.MakeCredential, encode(makeCredentialParams()));
    expect(denied.status).toBe(0x27); // CTAP2_ERR_OPERATION_DENIED: nobody there to ask
    stop();
    const after = await register(ownPlatform).catch((error: unknown) => error);
    expect(after).toBeInstanceOf(CtapStatusError);
    expect((after as CtapStatusError).status).toBe(0x27);
    expect(core.store.count()).toBe(1);
  });

  it('runs the start demo through the socket and leaves no demo passkey behind, and nothing else touched', async () => {
    const core = setup();
    service = await startCtaphidService({ authenticator: core.authenticator, address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, user: nobodyThere });
    const approveAll = { user: { canVerify: true, confirm: async () => ({ ok: true as const, up: true, uv: true }) } };
    const theirs = makeCredentialParams({ rpId: DEMO_RP_ID, userName: 'someone@demo.latchkey.test' }).set(0x07, options({ rk: true }));
    await core.authenticator.handle(Command.MakeCredential, encode(theirs), approveAll);
    const leftover = makeCredentialParams({ rpId: DEMO_RP_ID, userName: SOCKET_DEMO_USER, userId: Uint8Array.of(9) }).set(0x07, options({ rk: true }));
    await core.authenticator.handle(Command.MakeCredential, encode(leftover), approveAll);
    expect(core.store.count()).toBe(2);

    const lines: string[] = [];
    const accepted = await runSocketDemo({ service, store: core.store, say: (line) => lines.push(line), userVerification: 'required' });
    expect(accepted).toBe(true);
    expect(lines.join('\n').match(/relying party: ACCEPTED/g)).toHaveLength(2);
    expect(core.store.list().map((r) => r.userName)).toEqual(['someone@demo.latchkey.test']);
    expect(removeDemoPasskeys(core.store)).toBe(0);
  });
});
