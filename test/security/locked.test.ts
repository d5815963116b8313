/**
 * A locked vault (SECURITY.md, "Locked vault"): no key is used, every operation that needs a
 * credential answers CTAP2_ERR_OPERATION_DENIED before anyone is asked (through the byte entry
 * point and the CTAPHID socket), Windows is told the plugin is locked (GetLockStatus, through the
 * plugin host's lock-status hook) and its operations are refused without running the core, and
 * nothing is written: the vault's files (main, -wal and -shm) are byte for byte what they were.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Authenticator, Command, Status, statusName } from '../../src/ctap/index.js';
import { CLSID } from '../../src/app/identity.js';
import { HRESULT } from '../../src/transports/windows/hresult.js';
import { PluginHost } from '../../src/transports/windows/pluginHost.js';
import { listenCtaphid } from '../../src/transports/ctaphid/server.js';
import type { Vault } from '../../src/vault/vault.js';
import { AAGUID, encode, getAssertionParams, makeCredentialParams, options, parseAuthData } from '../support/ctapHelpers.js';
import { ScriptedUser } from '../support/users.js';
import { HidClient } from '../ctaphid/hidClient.js';
import { FakeWindows } from '../windows-host/fakeWindows.js';
import { sampleRecord, sampleSecrets, tempVaultDir, type TempVaultDir } from '../vault/helpers.js';
import { cborMap, storeError, vaultFingerprint } from '../reliability/support.js';

let dir: TempVaultDir | undefined;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  dir?.cleanup();
  dir = undefined;
});

function open(passphrase?: string): Vault {
  dir = tempVaultDir();
  const vault = dir.open(passphrase === undefined ? {} : { passphrase });
  cleanups.push(() => vault.close());
  return vault;
}

function mc(userId: number, rk = true): Uint8Array {
  const params = makeCredentialParams({ userId: Uint8Array.of(userId) });
  if (rk) params.set(0x07, options({ rk: true, uv: true }));
  return encode(params);
}

/** Every method of the store that reads or writes, tried while locked. */
function everyStoreCall(vault: Vault, record = sampleRecord()): (() => unknown)[] {
  return [
    () => vault.findById(record.rpId, record.id),
    () => vault.findDiscoverable(record.rpId),
    () => vault.create(sampleRecord(), sampleSecrets()),
    () => vault.openSecrets(record),
    () => vault.recordUse(record, Date.now()),
    () => vault.delete(record.id),
    () => vault.list(),
    () => vault.count(),
    () => vault.info(),
    () => vault.checkIntegrity(),
    () => vault.setPassphrase('a new passphrase'),
  ];
}

describe('the vault, locked', () => {
  it('refuses every read, write and unseal with StoreError(locked) and writes nothing; unlock brings it back', () => {
    const vault = open();
    const record = sampleRecord({ counterMode: 'increment', backupEligible: false, backupState: false });
    const secrets = sampleSecrets();
    vault.create(record, secrets);
    vault.recordUse(record, Date.now());
    vault.lock();
    expect(vault.isLocked()).toBe(true);
    const before = vaultFingerprint(dir!.vaultPath);
    expect(Object.keys(before)).toEqual(['db', '-wal', '-shm']);
    for (const call of everyStoreCall(vault, record)) {
      const error = storeError(call);
      expect(error.code).toBe('locked');
      expect(error.message).toMatch(/is locked/);
    }
    expect(vaultFingerprint(dir!.vaultPath)).toEqual(before);

    vault.unlock();
    expect(vault.isLocked()).toBe(false);
    expect(vault.openSecrets(vault.findById(record.rpId, record.id)!)).toStrictEqual(secrets);
    expect(vault.findById(record.rpId, record.id)!.signCount).toBe(1);
  });

  it('a passphrase vault stays locked, unchanged, on a missing or wrong passphrase; it does not keep the passphrase', () => {
    const passphrase = 'correct horse battery staple';
    const vault = open(passphrase);
    const record = sampleRecord();
    vault.create(record, sampleSecrets());
    const held = JSON.stringify(vault, (_key, value: unknown) => (value instanceof Uint8Array ? undefined : value));
    expect(held).not.toContain(passphrase);
    vault.lock();
    // An unlock attempt reads the meta row (a reader's mark in -shm moves): db and WAL must not.
    const before = vaultFingerprint(dir!.vaultPath, { shm: false });
    expect(storeError(() => vault.unlock()).message).toMatch(/protected by a passphrase, and none was given/);
    expect(storeError(() => vault.unlock({ passphrase: 'correct horse battery stapler' })).message).toMatch(/wrong passphrase/);
    expect(vault.isLocked()).toBe(true);
    expect(vaultFingerprint(dir!.vaultPath, { shm: false })).toEqual(before);
    vault.unlock({ passphrase });
    expect(vault.findById(record.rpId, record.id)).toBeDefined();
  });

  it('a closed vault cannot be unlocked', () => {
    const vault = open();
    vault.close();
    expect(storeError(() => vault.unlock()).message).toMatch(/is closed/);
  });
});

describe('the authenticator over a locked vault', () => {
  it('answers OPERATION_DENIED to makeCredential, getAssertion and getNextAssertion before anyone is asked, and writes nothing', async () => {
    const vault = open();
    const authenticator = new Authenticator({ store: vault, aaguid: AAGUID, backupEligible: false });
    const ctx = { user: new ScriptedUser() };
    for (const id of [1, 2]) expect((await authenticator.handle(Command.MakeCredential, mc(id), ctx)).status).toBe(Status.OK);
    // A getAssertion with a continuation pending when the lock comes.
    const first = await authenticator.handle(Command.GetAssertion, encode(getAssertionParams()), ctx);
    expect(cborMap(first.body).get(0x05)).toBe(2);
    const counterBefore = vault.list().map((r) => r.signCount);
    const promptsBefore = ctx.user.prompts.length;
    vault.lock();
    const before = vaultFingerprint(dir!.vaultPath);
    const spies = (['findById', 'findDiscoverable', 'create', 'openSecrets', 'recordUse'] as const).map((m) => vi.spyOn(vault, m));

    const denied = statusName(Status.OPERATION_DENIED);
    expect(statusName((await authenticator.handle(Command.GetNextAssertion, new Uint8Array(0), ctx)).status)).toBe(denied);
    expect(statusName((await authenticator.handle(Command.MakeCredential, mc(3), ctx)).status)).toBe(denied);
    expect(statusName((await authenticator.handle(Command.MakeCredential, mc(4, false), ctx)).status)).toBe(denied);
    expect(statusName((await authenticator.handle(Command.GetAssertion, encode(getAssertionParams()), ctx)).status)).toBe(denied);
    const uvAssertion = getAssertionParams();
    uvAssertion.set(0x05, options({ uv: true }));
    expect(statusName((await authenticator.handle(Command.GetAssertion, encode(uvAssertion), ctx)).status)).toBe(denied);
    expect(ctx.user.prompts).toHaveLength(promptsBefore); // nobody was asked
    for (const spy of spies) expect(spy).not.toHaveBeenCalled(); // no key, no row touched
    // What needs no credential is still answered.
    expect((await authenticator.handle(Command.GetInfo, new Uint8Array(0), ctx)).status).toBe(Status.OK);
    expect((await authenticator.handle(Command.ClientPin, encode(new Map([[0x01, 2], [0x02, 0x02]])), ctx)).status).toBe(Status.OK);
    expect(vaultFingerprint(dir!.vaultPath)).toEqual(before);
    for (const spy of spies) spy.mockRestore();

    vault.unlock();
    // The continuation did not survive the lock; counters are where they were.
    expect(statusName((await authenticator.handle(Command.GetNextAssertion, new Uint8Array(0), ctx)).status)).toBe(statusName(Status.NOT_ALLOWED));
    expect(vault.list().map((r) => r.signCount)).toEqual(counterBefore);
    expect((await authenticator.handle(Command.GetAssertion, encode(getAssertionParams()), ctx)).status).toBe(Status.OK);
  });

  it('answers OPERATION_DENIED through the CTAPHID socket', async () => {
    const vault = open();
    const authenticator = new Authenticator({ store: vault, aaguid: AAGUID });
    const server = await listenCtaphid({ kind: 'tcp', host: '127.0.0.1', port: 0 }, { authenticator, context: () => ({ user: new ScriptedUser() }) });
    cleanups.push(() => server.close());
    const client = await HidClient.connect(server.address.kind === 'tcp' ? server.address.port : 0);
    cleanups.push(() => client.close());
    const cid = await client.init();
    expect((await client.cbor(cid, Command.MakeCredential, mc(1))).status).toBe(Status.OK);
    vault.lock();
    const before = vaultFingerprint(dir!.vaultPath);
    expect((await client.cbor(cid, Command.MakeCredential, mc(2))).status).toBe(Status.OPERATION_DENIED);
    expect((await client.cbor(cid, Command.GetAssertion, encode(getAssertionParams()))).status).toBe(Status.OPERATION_DENIED);
    expect((await client.cbor(cid, Command.GetInfo)).status).toBe(Status.OK);
    expect(vaultFingerprint(dir!.vaultPath)).toEqual(before);
  });
});

describe('Windows, locked', () => {
  function windowsHost(vault: Vault, isLocked: () => boolean) {
    const windows = new FakeWindows();
    const authenticator = new Authenticator({ store: vault, aaguid: AAGUID });
    const logs: string[] = [];
    const host = new PluginHost({ addon: windows, clsid: CLSID, authenticator, isLocked, log: (l) => logs.push(l) });
    host.start();
    cleanups.push(() => host.stop());
    return { windows, authenticator, host, logs };
  }

  it('GetLockStatus reports locked through the host hook; operations are refused without running the core; nothing is written', async () => {
    const vault = open();
    const { windows, authenticator, host } = windowsHost(vault, () => vault.isLocked());
    expect(windows.lockStatus).toEqual([false]);
    const created = await windows.call('makeCredential', mc(1));
    expect(created.hresult).toBe(0);
    const id = parseAuthData(cborMap(created.response).get(0x02) as Uint8Array).credentialId!;

    vault.lock();
    host.refreshLockStatus();
    expect(windows.lockStatus.at(-1)).toBe(true);
    const before = vaultFingerprint(dir!.vaultPath);
    const handle = vi.spyOn(authenticator, 'handle');
    const prompts = windows.uvRequests.length;
    expect((await windows.call('makeCredential', mc(2))).hresult).toBe(HRESULT.E_FAIL);
    expect((await windows.call('getAssertion', encode(getAssertionParams({ allow: [id] })))).hresult).toBe(HRESULT.E_FAIL);
    expect(handle).not.toHaveBeenCalled();
    expect(windows.uvRequests).toHaveLength(prompts); // no Windows Hello prompt
    expect(windows.lockStatus.at(-1)).toBe(true); // still reported after each refused operation
    expect(vaultFingerprint(dir!.vaultPath)).toEqual(before);

    vault.unlock();
    host.refreshLockStatus();
    expect(windows.lockStatus.at(-1)).toBe(false);
    expect((await windows.call('getAssertion', encode(getAssertionParams({ allow: [id] })))).hresult).toBe(0);
  });

  it('if the host were not told, the core still refuses (defence in depth), asks nobody and writes nothing', async () => {
    const vault = open();
    const { windows } = windowsHost(vault, () => false);
    expect((await windows.call('makeCredential', mc(1))).hresult).toBe(0);
    vault.lock();
    const before = vaultFingerprint(dir!.vaultPath);
    const prompts = windows.uvRequests.length;
    const reply = await windows.call('makeCredential', mc(2));
    expect(reply.hresult).not.toBe(0);
    expect(windows.uvRequests).toHaveLength(prompts);
    expect(vaultFingerprint(dir!.vaultPath)).toEqual(before);
  });
});
