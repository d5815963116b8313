/**
 * Needs Wine and MinGW-w64 (CI installs them with .ci/setup-windows.sh; elsewhere the suite is
 * skipped with the reason printed, and with CI=true a missing tool fails it).
 *
 * Latchkey end to end as Windows runs it: inside Windows node.exe under Wine, `latchkey register`
 * and `latchkey serve --com` from the built dist/ over the real vault on node:sqlite, with the
 * webauthn.dll double playing the WebAuthn service (signed requests, Windows Hello, the credential
 * cache) and calling the COM object `serve --com` registered. This side plays browser and relying
 * party: @simplewebauthn/server judges every registration and sign-in.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { WebAuthnPlatform } from '../../src/app/webauthnClient.js';
import { CLSID, COM_ACTIVATION_ARGUMENT } from '../../src/app/identity.js';
import { lockedStore, windowsAuthenticator } from '../../src/app/windowsRegistration.js';
import { HRESULT } from '../../src/transports/windows/hresult.js';
import { CLI } from '../support/cli.js';
import { authenticate, ORIGIN, register, RP_ID, type Account } from '../support/relyingParty.js';
import { HresultError, WindowsSide, type Message } from './support/windowsSide.js';
import {
  REPO,
  buildTestBinaries,
  ensureDistBuilt,
  readDoubleLog,
  registerLocalServer,
  removeWinePrefix,
  runWine,
  windowsNodeExe,
  windowsPath,
  winePrefix,
  wineSkipReason,
  type TestBinaries,
} from './support/wineEnv.js';

const REGDB_E_CLASSNOTREG = 0x80040154;
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromBase64Url = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));

const skip = wineSkipReason();

/** What Latchkey registers: the core's getInfo as the Windows composition configures it. */
function windowsGetInfo(): Uint8Array {
  return windowsAuthenticator(lockedStore('registration only')).getInfoBytes();
}

async function expectHresult(promise: Promise<unknown>, hresult: number): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HresultError);
  expect((error as HresultError).hresult.toString(16)).toBe(hresult.toString(16));
}

const calls = (log: Record<string, unknown>[], fn: string) => log.filter((entry) => entry['fn'] === fn);

describe.skipIf(skip !== undefined)('Latchkey on Windows under Wine: register, serve --com, WebAuthn through the COM object (needs Wine)', () => {
  let work: string;
  let binaries: TestBinaries;
  let prefix: string;
  let getInfo: Uint8Array;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'latchkey-wine-e2e-'));
    ensureDistBuilt();
    binaries = await buildTestBinaries();
    prefix = await winePrefix('e2e', binaries.double);
    getInfo = windowsGetInfo();
  }, 600_000);

  afterAll(() => {
    if (prefix !== undefined) removeWinePrefix(prefix);
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  function launch(name: string, env: Record<string, string>): { side: Promise<WindowsSide>; log: string; vault: string } {
    const log = join(work, `${name}.jsonl`);
    const vault = env['LATCHKEY_VAULT_LINUX'] ?? join(work, `${name}.db`);
    const side = WindowsSide.launch(prefix, {
      LATCHKEY_DRIVER: windowsPath(binaries.driver),
      LATCHKEY_DOUBLE_LOG: windowsPath(log),
      LATCHKEY_VAULT: windowsPath(vault),
      ...env,
    });
    return { side, log, vault };
  }

  describe('with an ECDSA operation-signing key and a new vault (DPAPI)', () => {
    let side: WindowsSide;
    let log: string;
    let account: Account;
    const platform = (options: Parameters<WindowsSide['ctapSend']>[1] = {}) => new WebAuthnPlatform(side.ctapSend(getInfo, options), ORIGIN);
    const stored = async (): Promise<number> => {
      const list = await side.request('list');
      expect(list['code'], list['err']).toBe(0);
      return (JSON.parse(list['out']) as unknown[]).length;
    };

    beforeAll(async () => {
      const launched = launch('ecdsa', { LATCHKEY_DOUBLE_KEY: 'ecdsa' });
      side = await launched.side;
      log = launched.log;
    }, 180_000);

    it('registers with our name, CLSID, logos and the core getInfo byte-exact, and serves unlocked', () => {
      expect(side.ready['register'].code, JSON.stringify(side.ready['register'])).toBe(0);
      const added = [...calls(readDoubleLog(log), 'WebAuthNPluginAddAuthenticator2'), ...calls(readDoubleLog(log), 'WebAuthNPluginAddAuthenticator')];
      expect(added).toHaveLength(1);
      expect(added[0]).toMatchObject({ name: 'Latchkey', clsid: CLSID, hresult: 0 });
      expect(added[0]!['authenticatorInfo']).toBe(hex(getInfo));
      expect(Buffer.from(String(added[0]!['lightThemeLogoSvg']), 'base64').toString()).toContain('<svg');
      expect(Buffer.from(String(added[0]!['darkThemeLogoSvg']), 'base64').toString()).toContain('<svg');
      expect(side.ready['lockStatus']).toEqual({ hresult: 0, status: 'unlocked' });
    });

    it('creates a passkey through MakeCredential that @simplewebauthn/server verifies, and adds it to Windows\' cache with its fields', async () => {
      const before = calls(readDoubleLog(log), 'WebAuthNPluginAuthenticatorAddCredentials').length;
      account = await register(platform(), { userName: 'alice@example.com', displayName: 'Alice', userVerification: 'required' });
      expect(account.userVerified).toBe(true);
      expect(account.fmt).toBe('none');
      expect(await stored()).toBe(1);
      const adds = calls(readDoubleLog(log), 'WebAuthNPluginAuthenticatorAddCredentials').slice(before);
      expect(adds.flatMap((entry) => entry['credentials'] as unknown[])).toContainEqual({
        credentialId: hex(fromBase64Url(account.credential.id)),
        rpId: RP_ID,
        rpName: 'Example',
        userId: hex(account.userId),
        userName: 'alice@example.com',
        userDisplayName: 'Alice',
      });
      // Windows Hello was asked for this operation, and its signature was checked with the UV key.
      const uv = calls(readDoubleLog(log), 'WebAuthNPluginPerformUserVerification2').at(-1);
      expect(uv).toMatchObject({ hwnd: 0x20042, hresult: 0, mode: 'accept' });
      expect(calls(readDoubleLog(log), 'WebAuthNPluginGetUserVerificationPublicKey').length).toBeGreaterThan(0);
      const cache = await side.request('cache');
      expect(cache['credentials'].map((c: Message) => c['credentialId'])).toContain(hex(fromBase64Url(account.credential.id)));
    }, 60_000);

    it('signs in through GetAssertion, with the allowList and discoverably, verified by @simplewebauthn/server', async () => {
      const listed = await authenticate(platform(), [account], { userVerification: 'required' });
      expect(listed.verification.verified).toBe(true);
      expect(listed.verification.authenticationInfo.userVerified).toBe(true);
      const discovered = await authenticate(platform(), [account], { allow: false, userVerification: 'required' });
      expect(discovered.verification.verified).toBe(true);
    }, 60_000);

    it('answers a forged, missing or misplaced request signature with NTE_BAD_SIGNATURE, before any prompt, and stores nothing', async () => {
      const uvBefore = calls(readDoubleLog(log), 'WebAuthNPluginPerformUserVerification2').length;
      const addsBefore = calls(readDoubleLog(log), 'WebAuthNPluginAuthenticatorAddCredentials').length;
      for (const signature of ['forged', 'missing', 'other-bytes'] as const) {
        await expectHresult(register(platform({ signature }), { userName: `mallory-${signature}`, userVerification: 'required' }), HRESULT.NTE_BAD_SIGNATURE);
        await expectHresult(authenticate(platform({ signature }), [account], { userVerification: 'required' }), HRESULT.NTE_BAD_SIGNATURE);
      }
      expect(await stored()).toBe(1);
      expect(calls(readDoubleLog(log), 'WebAuthNPluginPerformUserVerification2')).toHaveLength(uvBefore);
      expect(calls(readDoubleLog(log), 'WebAuthNPluginAuthenticatorAddCredentials')).toHaveLength(addsBefore);
    }, 60_000);

    it('answers NTE_USER_CANCELLED when the user declines Windows Hello, and stores nothing', async () => {
      await side.request('setUserVerification', { mode: 'decline' });
      await expectHresult(register(platform(), { userName: 'bob@example.com', userVerification: 'required' }), HRESULT.NTE_USER_CANCELLED);
      await expectHresult(authenticate(platform(), [account], { userVerification: 'required' }), HRESULT.NTE_USER_CANCELLED);
      await side.request('setUserVerification', { mode: 'accept' });
      expect(await stored()).toBe(1);
    }, 60_000);

    it('ends the operation promptly when Windows cancels it while Windows Hello is slow', async () => {
      await side.request('setUserVerification', { mode: 'slow', delayMs: 8_000 });
      let cancelledAt = 0;
      const cancelling = platform({
        onInvoke: (transactionId) => {
          setTimeout(() => {
            cancelledAt = Date.now();
            void side.request('cancel', { transactionId });
          }, 700);
        },
      });
      await expectHresult(authenticate(cancelling, [account], { userVerification: 'required' }), HRESULT.NTE_USER_CANCELLED);
      expect(cancelledAt).toBeGreaterThan(0);
      // Well before the 8 s Hello prompt would have answered.
      expect(Date.now() - cancelledAt).toBeLessThan(4_000);
      await side.request('setUserVerification', { mode: 'accept' });
    }, 60_000);

    it('turns an exception inside TypeScript into E_FAIL, and the next call still works', async () => {
      await side.request('fault', { what: 'uv-throws' });
      await expectHresult(authenticate(platform(), [account], { userVerification: 'required' }), HRESULT.E_FAIL);
      await side.request('fault', { what: 'none' });
      const next = await authenticate(platform(), [account], { userVerification: 'required' });
      expect(next.verification.verified).toBe(true);
    }, 60_000);

    it('answers GetLockStatus while serving, and revokes the class when serve --com ends', async () => {
      expect(await side.request('lockStatus')).toEqual({ id: expect.any(Number), hresult: 0, status: 'unlocked' });
      const { served, run } = await side.finish();
      expect(served['served']).toEqual({ code: 0 });
      expect(served['lockStatusAfter'].hresult).toBe(REGDB_E_CLASSNOTREG);
      expect(JSON.parse(served['list'].out)).toHaveLength(1);
      expect(run.code, run.stderr).toBe(0);
    }, 60_000);
  });

  it('is started by COM itself when a client activates the class: the LocalServer32 command line ends in the manifest\'s activation argument, serves, and exits when idle', async () => {
    // What installing the package's com:ExeServer amounts to: COM knows how to start Latchkey.
    // A prefix of its own: with the class registered for launch, every activation in it would start Latchkey.
    const launching = await winePrefix('e2e-launch', binaries.double, { proxyStub: binaries.proxyStub });
    onTestFinished(() => removeWinePrefix(launching));
    const vault = join(work, 'launched.db');
    const log = join(work, 'launched.log');
    const command = [await windowsNodeExe(), CLI].map((p) => `"${windowsPath(p)}"`).join(' ');
    await registerLocalServer(launching, CLSID, `${command} ${COM_ACTIVATION_ARGUMENT} --vault "${windowsPath(vault)}" --idle-timeout 3 --log "${windowsPath(log)}"`);
    const client = async (...args: string[]) => {
      const run = await runWine(launching, [binaries.comClient, CLSID, ...args]);
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as Message;
    };
    // No process serves the class: COM launches `serve --com -Embedding`, which opens (creates) the vault.
    expect(await client('lock')).toEqual({ hresult: 0, status: 'unlocked' });
    // A fresh Windows process of the double has no registration, so no operation-signing key: refused, fail closed.
    expect((await client('invoke', 'make', '00000005-0000-4000-8000-0000000c0de1', 'a0')).hresult).toBe(HRESULT.NTE_BAD_SIGNATURE);
    const served = readFileSync(log, 'utf8');
    expect(served).toContain(`COM server for ${CLSID} started`);
    expect(served).toContain('NTE_BAD_SIGNATURE');
    // After 3 s without an operation it revokes the class and exits; the next activation launches it again.
    for (let i = 0; i < 100 && !readFileSync(log, 'utf8').includes('exited (idle)'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(log, 'utf8')).toContain('exited (idle)');
    expect(await client('lock')).toEqual({ hresult: 0, status: 'unlocked' });
    expect(readFileSync(log, 'utf8').match(/ started;/g)).toHaveLength(2);
  }, 120_000);

  describe('with an RSA operation-signing key and a passphrase vault made on Linux (better-sqlite3)', () => {
    let vault: string;

    beforeAll(() => {
      // A vault created by the Linux build, opened by Windows node's node:sqlite: one file format.
      vault = join(work, 'passphrase.db');
      const env = { ...process.env, LATCHKEY_KEY_DIR: join(work, 'keys'), LATCHKEY_NEW_PASSPHRASE: 'correct horse' };
      for (const args of [['demo', '--vault', vault], ['passphrase', 'set', '--vault', vault]]) {
        const made = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
        expect(made.status, made.stderr).toBe(0);
      }
    });

    it('serves unlocked with the passphrase: RSA-PSS signed requests verify, sign-up and sign-in pass @simplewebauthn/server', async () => {
      const launched = launch('rsa-pss', { LATCHKEY_DOUBLE_KEY: 'rsa-pss', LATCHKEY_VAULT_LINUX: vault, LATCHKEY_PASSPHRASE: 'correct horse' });
      const side = await launched.side;
      expect(side.ready['lockStatus']).toEqual({ hresult: 0, status: 'unlocked' });
      const platform = new WebAuthnPlatform(side.ctapSend(getInfo), ORIGIN);
      const account = await register(platform, { userName: 'carol@example.com', userVerification: 'required' });
      const signIn = await authenticate(platform, [account], { userVerification: 'required' });
      expect(signIn.verification.verified).toBe(true);
      // The resync at start put the vault's earlier passkey into Windows' cache.
      const cache = await side.request('cache');
      expect(cache['credentials'].map((c: Message) => c['rpId']).sort()).toEqual(['demo.latchkey.test', RP_ID]);
      const { served } = await side.finish();
      expect(JSON.parse(served['list'].out)).toHaveLength(2);
    }, 120_000);

    it('serves locked without it: GetLockStatus says locked, operations are refused and nothing is stored, and it exits when idle', async () => {
      const launched = launch('rsa-pkcs1-locked', { LATCHKEY_DOUBLE_KEY: 'rsa-pkcs1', LATCHKEY_VAULT_LINUX: vault, LATCHKEY_IDLE: '3' });
      const side = await launched.side;
      expect(side.ready['lockStatus']).toEqual({ hresult: 0, status: 'locked' });
      const platform = new WebAuthnPlatform(side.ctapSend(getInfo), ORIGIN);
      const refused = await register(platform, { userName: 'dave@example.com', userVerification: 'required' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(HresultError);
      expect(calls(readDoubleLog(launched.log), 'WebAuthNPluginAuthenticatorAddCredentials')).toHaveLength(0);
      const { served, run } = await side.served();
      expect(served['served']).toEqual({ code: 0 });
      expect(served['lockStatusAfter'].hresult).toBe(REGDB_E_CLASSNOTREG);
      expect(run.code, run.stderr).toBe(0);
      const listed = spawnSync(process.execPath, [CLI, 'list', '--json', '--vault', vault], {
        env: { ...process.env, LATCHKEY_PASSPHRASE: 'correct horse' },
        encoding: 'utf8',
      });
      expect(JSON.parse(listed.stdout)).toHaveLength(2);
    }, 120_000);
  });
});
