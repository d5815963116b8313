/**
 * The Windows composition in src/app with the fake Windows: register / unregister / status, the
 * COM server mode (resync on start, idle exit, revocation, a locked vault), the DPAPI protector on
 * a real vault, deletions following into Windows' cache, and the chooser dialog adapter.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AAGUID, CLSID } from '../../src/app/identity.js';
import { serveCom } from '../../src/app/windowsComServer.js';
import { choiceItem, windowsChooser } from '../../src/app/windowsChooser.js';
import { dpapiProtector, followWindowsCache, notWindows } from '../../src/app/windowsPlatform.js';
import { registerWithWindows, unregisterFromWindows, windowsAuthenticator, windowsStatus } from '../../src/app/windowsRegistration.js';
import { StoreError } from '../../src/ctap/ports.js';
import { CredentialCache } from '../../src/transports/windows/credentialCache.js';
import { HRESULT } from '../../src/transports/windows/hresult.js';
import type { CredentialChoiceRequest } from '../../src/transports/windows/native.js';
import type { Vault } from '../../src/vault/vault.js';
import { sampleRecord, sampleSecrets, tempVaultDir, type TempVaultDir } from '../vault/helpers.js';
import { FakeWindows } from './fakeWindows.js';

const REPO = resolve(import.meta.dirname, '..', '..');
let t: TempVaultDir | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

function vaultWith(count: number): { dir: TempVaultDir; vault: Vault } {
  t = tempVaultDir();
  const vault = t.open();
  for (let i = 0; i < count; i++) vault.create(sampleRecord({ userId: Uint8Array.of(i + 1), userName: `u${i}@example.com` }), sampleSecrets());
  return { dir: t, vault };
}

describe('latchkey register / unregister', () => {
  it('adds, then updates, with the exact getInfo bytes and our logos; resyncs the cache each time', () => {
    const { dir, vault } = vaultWith(2);
    vault.close();
    const windows = new FakeWindows();
    const first = registerWithWindows(windows, () => dir.open());
    expect(first).toMatchObject({ action: 'added', state: 'disabled', cache: { added: 2, removed: 0, unchanged: 0 } });
    const registration = windows.registration!;
    expect(registration.clsid).toBe(CLSID);
    expect(registration.name).toBe('Latchkey');
    expect(registration.authenticatorInfo).toStrictEqual(windowsAuthenticator(dir.open()).getInfoBytes());
    expect(registration.authenticatorInfo[0]).toBe(0xaa); // the bare map: no status byte
    expect(Buffer.from(registration.lightThemeLogoSvg!, 'base64').toString('utf8')).toBe(
      readFileSync(join(REPO, 'assets', 'latchkey-light.svg'), 'utf8'),
    );
    expect(Buffer.from(registration.darkThemeLogoSvg!, 'base64').toString('utf8')).toBe(readFileSync(join(REPO, 'assets', 'latchkey-dark.svg'), 'utf8'));
    expect(windows.cache.size).toBe(2);

    const second = registerWithWindows(windows, () => dir.open());
    expect(second).toMatchObject({ action: 'updated', cache: { added: 0, removed: 0, unchanged: 2 } });
    expect(windows.callsTo('addAuthenticator')).toHaveLength(1);
    expect(windows.callsTo('updateAuthenticator')).toHaveLength(1);
  });

  it('still registers when the vault does not open, and says why the cache was not updated', () => {
    const windows = new FakeWindows();
    const result = registerWithWindows(windows, () => {
      throw new StoreError('locked', 'vault X is locked: no passphrase');
    });
    expect(result).toMatchObject({ action: 'added', cache: undefined, cacheProblem: 'vault X is locked: no passphrase' });
    expect(windows.registration!.authenticatorInfo.length).toBeGreaterThan(10);
  });

  it('unregisters (cache first), and says when there was nothing to remove', () => {
    const windows = new FakeWindows();
    expect(unregisterFromWindows(windows)).toBe(false);
    windows.state = 'enabled';
    windows.cache.set('aa', {} as never);
    expect(unregisterFromWindows(windows)).toBe(true);
    const names = windows.calls.map((c) => c.name);
    expect(names.indexOf('removeAllCredentials')).toBeLessThan(names.lastIndexOf('removeAuthenticator'));
    expect(windows.state).toBe('not-registered');
  });
});

describe('latchkey status', () => {
  it('reports registration, enablement, key type, cache size and the vault', () => {
    const { dir, vault } = vaultWith(3);
    vault.close();
    const windows = new FakeWindows('rsa-pss');
    const open = () => dir.open();
    expect(windowsStatus(windows, { path: dir.vaultPath, open })).toMatchObject({
      state: 'not-registered',
      signingKey: 'none (not registered)',
      cachedCredentials: 0,
      vault: { locked: false, discoverable: 3 },
    });
    registerWithWindows(windows, open);
    windows.state = 'enabled';
    const status = windowsStatus(windows, { path: dir.vaultPath, open });
    expect(status).toMatchObject({ state: 'enabled', signingKey: 'RSA 2048', cachedCredentials: 3 });
    expect(status.vault.detail).toMatch(/unlocked \(keyfile protector, better-sqlite3|node:sqlite\)/);
    const locked = windowsStatus(windows, {
      path: dir.vaultPath,
      open: () => {
        throw new StoreError('locked', 'needs a passphrase');
      },
    });
    expect(locked.vault).toMatchObject({ locked: true, detail: expect.stringContaining('needs a passphrase') });
  });
});

describe('latchkey serve --com', () => {
  it('registers the class, resyncs the cache, serves, and revokes the registration when idle', async () => {
    const { dir, vault } = vaultWith(2);
    vault.close();
    const windows = new FakeWindows();
    const logs: string[] = [];
    const started = Date.now();
    const result = await serveCom({ addon: windows, openStore: () => dir.open(), idleTimeoutMs: 150, log: (l) => logs.push(l) });
    expect(result).toEqual({ reason: 'idle', locked: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(windows.callsTo('startComServer')[0]!.args[0]).toBe(CLSID);
    expect(windows.cache.size).toBe(2);
    expect(windows.lockStatus).toEqual([false]);
    expect(windows.comRunning).toBe(false);
    expect(windows.callsTo('stopComServer')).toHaveLength(1);
  });

  it('an operation restarts the idle timer; a stop signal ends it early', async () => {
    const { dir, vault } = vaultWith(0);
    vault.close();
    const windows = new FakeWindows();
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const serving = serveCom({ addon: windows, openStore: () => dir.open(), idleTimeoutMs: 60_000, log: () => undefined, stop: stopped });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(windows.comRunning).toBe(true);
    const reply = await windows.call('getAssertion', Uint8Array.of(0xa0));
    expect(reply.hresult).toBe(HRESULT.NTE_INVALID_PARAMETER); // served (and refused as malformed)
    stop();
    expect(await serving).toEqual({ reason: 'stopped', locked: false });
    expect(windows.comRunning).toBe(false);
  });

  it('runs locked when the vault cannot be unlocked, without asking anything', async () => {
    const windows = new FakeWindows();
    const result = await serveCom({
      addon: windows,
      openStore: () => {
        throw new StoreError('locked', 'passphrase needed');
      },
      idleTimeoutMs: 50,
      log: () => undefined,
    });
    expect(result).toEqual({ reason: 'idle', locked: true });
    expect(windows.lockStatus).toEqual([true]);
  });

  it('refuses to start where the plugin API is missing, saying what Windows it needs', async () => {
    const windows = new FakeWindows();
    windows.pluginApi = () => ({ available: false, reason: 'webauthn.dll has no WebAuthNPluginAddAuthenticator' });
    await expect(serveCom({ addon: windows, openStore: () => vaultWith(0).vault, idleTimeoutMs: 10, log: () => undefined })).rejects.toThrow(
      /WebAuthNPluginAddAuthenticator.*26100\.6725/,
    );
    expect(windows.comRunning).toBe(false);
  });
});

describe('the DPAPI protector on a real vault', () => {
  it('creates and reopens a vault with it, and a blob from another vault does not open', () => {
    t = tempVaultDir();
    const windows = new FakeWindows();
    const protector = dpapiProtector(windows);
    const record = sampleRecord();
    const secrets = sampleSecrets();
    let vault = t.open({ protector });
    expect(vault.info().protector).toBe('dpapi');
    vault.create(record, secrets);
    vault.close();
    expect(() => t!.open()).toThrow(/'dpapi'/);
    vault = t.open({ protector });
    expect(vault.openSecrets(vault.findById(record.rpId, record.id)!)).toStrictEqual(secrets);
    vault.close();
    expect(windows.callsTo('protectData')).toHaveLength(1);

    const other = t.open({ path: join(t.dir, 'other.db'), protector });
    other.close();
    // A DPAPI blob that Windows cannot open (another user) is reported as locked.
    const failing = dpapiProtector({ protectData: (d) => windows.protectData(d), unprotectData: () => { throw new Error('0x8009000B'); } });
    expect(() => t!.open({ protector: failing })).toThrow(StoreError);
    expect(() => t!.open({ protector: failing })).toThrow(/another Windows user/);
  });
});

describe('deletions outside the plugin host', () => {
  it('also leave Windows\' credential cache', () => {
    const { vault } = vaultWith(2);
    const windows = new FakeWindows();
    const [a, b] = vault.list();
    new CredentialCache(windows, CLSID).resync(vault.list());
    expect(windows.cache.size).toBe(2);
    const followed = followWindowsCache(vault, windows);
    expect(followed.delete(a!.id)).toBe(true);
    expect([...windows.cache.keys()]).toEqual([Buffer.from(b!.id).toString('hex')]);
    expect(followed.delete(a!.id)).toBe(false);
    expect(followed.count()).toBe(1);
    expect(followWindowsCache(vault, undefined)).toBe(vault);
    vault.close();
  });
});

describe('the chooser dialog adapter', () => {
  const request = {
    hwnd: 5n,
    transactionId: 'x',
    rpId: 'example.com',
    candidates: [
      { credentialId: Uint8Array.of(1), userName: 'a@example.com', userDisplayName: 'A', createdAt: 0 },
      { credentialId: Uint8Array.of(2), userDisplayName: 'B only', createdAt: 0, lastUsedAt: Date.UTC(2026, 0, 2) },
    ],
  };

  it('shows names (never ids) owned by the caller window, and maps the answer', async () => {
    const shown: CredentialChoiceRequest[] = [];
    const chooser = windowsChooser({ chooseCredential: async (r) => (shown.push(r), 1) });
    expect(await chooser.choose(request, new AbortController().signal)).toEqual({ ok: true, index: 1 });
    expect(shown[0]).toMatchObject({ hwnd: 5n, items: [{ label: 'a@example.com', detail: 'A · created 1970-01-01' }, { label: 'B only', detail: 'last used 2026-01-02' }] });
    expect(choiceItem({ credentialId: Uint8Array.of(1), createdAt: 0 }).label).toBe('passkey without a user name');
  });

  it('dismissed → cancelled; no dialog → unavailable; out of range → unavailable; abort → cancelled', async () => {
    const dismissed = windowsChooser({
      chooseCredential: async () => {
        throw Object.assign(new Error('x'), { hresult: HRESULT.NTE_USER_CANCELLED });
      },
    });
    expect(await dismissed.choose(request, new AbortController().signal)).toEqual({ ok: false, refusal: 'cancelled' });
    expect(await windowsChooser({}).choose(request, new AbortController().signal)).toEqual({ ok: false, refusal: 'unavailable' });
    expect(await windowsChooser({ chooseCredential: async () => 7 }).choose(request, new AbortController().signal)).toEqual({ ok: false, refusal: 'unavailable' });
    const controller = new AbortController();
    const pending = windowsChooser({ chooseCredential: () => new Promise<number>(() => undefined) }).choose(request, controller.signal);
    controller.abort();
    expect(await pending).toEqual({ ok: false, refusal: 'cancelled' });
  });
});

describe('Windows-only commands elsewhere', () => {
  it('say they need Windows, naming the build', () => {
    expect(notWindows('register', 'win32')).toBeUndefined();
    expect(notWindows('register', 'linux')).toMatch(/latchkey register needs Windows.*26100\.6725.*This is linux/);
    expect(AAGUID).toHaveLength(16);
  });
});
