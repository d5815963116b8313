/**
 * Needs Wine and MinGW-w64 (CI installs them with .ci/setup-windows.sh; elsewhere the suite is
 * skipped with the reason printed, and with CI=true a missing tool fails it).
 *
 * The MinGW-built addon inside Windows node.exe under Wine, against the webauthn.dll double that
 * plays Windows: registration, state, keys, the credential cache, DPAPI, and the COM object called
 * through the class factory registered with CoRegisterClassObject, with a minimal JavaScript handler
 * (test/windows/wine/plumbing.mjs) in place of the TypeScript host.
 */
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLSID } from '../../src/app/identity.js';
import { buildAuthenticator } from '../../src/app/main.js';
import { parseCngPublicKey } from '../../src/transports/windows/cngPublicKey.js';
import { HRESULT } from '../../src/transports/windows/hresult.js';
import { verifySignedBytes } from '../../src/transports/windows/requestSignature.js';
import { importedDlls } from '../../native/scripts/mingw.mjs';
import { encode, makeCredentialParams } from '../support/ctapHelpers.js';
import { MemoryStore } from '../support/memoryStore.js';
import {
  REPO,
  buildTestBinaries,
  ensureDistBuilt,
  readDoubleLog,
  removeWinePrefix,
  renamedWindowsNodeExe,
  runWindowsNode,
  windowsPath,
  winePrefix,
  wineSkipReason,
  type TestBinaries,
} from './support/wineEnv.js';

const skip = wineSkipReason();
const GET_INFO = buildAuthenticator(new MemoryStore()).getInfoBytes();
const REQUEST = encode(makeCredentialParams());
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const REGDB_E_CLASSNOTREG = 0x80040154;

interface Call {
  transactionId: string;
  hresult: number;
  response: string | null;
  ms: number;
}
// The Wine side's report is loosely typed JSON.
type Report = Record<string, any>;

interface Run {
  report: Report;
  log: Record<string, unknown>[];
  stderr: string;
}

let work: string;
let binaries: TestBinaries;
let prefix: string;
const prefixes: string[] = [];

async function runPlumbing(key: 'ecdsa' | 'rsa-pkcs1' | 'rsa-pss', options: { v2?: 'notimpl'; quick?: boolean; exe?: string } = {}): Promise<Run> {
  const dir = mkdtempSync(join(work, `${key}-`));
  const paths = { input: join(dir, 'input.json'), result: join(dir, 'result.json'), log: join(dir, 'double.jsonl') };
  writeFileSync(paths.input, JSON.stringify({ clsid: CLSID, getInfoHex: hex(GET_INFO), requestHex: hex(REQUEST) }));
  const run = await runWindowsNode(prefix, join(REPO, 'test', 'windows', 'wine', 'plumbing.mjs'), {
    env: {
      LATCHKEY_ROOT: windowsPath(REPO),
      LATCHKEY_DRIVER: windowsPath(binaries.driver),
      LATCHKEY_COM_CLIENT: windowsPath(binaries.comClient),
      LATCHKEY_INPUT: windowsPath(paths.input),
      LATCHKEY_RESULT: windowsPath(paths.result),
      LATCHKEY_DOUBLE_LOG: windowsPath(paths.log),
      LATCHKEY_DOUBLE_KEY: key,
      LATCHKEY_DOUBLE_V2: options.v2 ?? 'implemented',
      LATCHKEY_PLUMBING_QUICK: options.quick ? '1' : '0',
    },
    ...(options.exe !== undefined ? { exe: options.exe } : {}),
  });
  if (run.code !== 0) throw new Error(`plumbing.mjs exited ${run.code}\n${run.stdout}\n${run.stderr}`);
  return { report: JSON.parse(readFileSync(paths.result, 'utf8')) as Report, log: readDoubleLog(paths.log), stderr: run.stderr };
}

const calls = (log: Record<string, unknown>[], fn: string) => log.filter((entry) => entry['fn'] === fn);

describe.skipIf(skip !== undefined)('Windows addon under Wine: COM and plugin-API plumbing (needs Wine)', () => {
  let ecdsa: Run;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'latchkey-wine-'));
    ensureDistBuilt();
    binaries = await buildTestBinaries();
    prefix = await winePrefix('plumbing', binaries.double, { proxyStub: binaries.proxyStub });
    prefixes.push(prefix);
    ecdsa = await runPlumbing('ecdsa');
  }, 600_000);

  afterAll(() => {
    for (const each of prefixes) removeWinePrefix(each);
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('imports only system DLLs at load time: webauthn.dll never, node.exe delay-loaded', () => {
    const imports = importedDlls(binaries.addon).map((dll) => dll.toLowerCase());
    expect(imports).not.toContain('webauthn.dll');
    expect(imports).not.toContain('node.exe');
    expect(imports.filter((dll) => !['kernel32.dll', 'user32.dll', 'ole32.dll', 'crypt32.dll', 'msvcrt.dll'].includes(dll))).toEqual([]);
    expect(readFileSync(binaries.addon).includes(Buffer.from('node.exe\0', 'latin1'))).toBe(true);
  });

  it('loads in Windows node.exe and resolves the v2 functions the double exports', () => {
    expect(ecdsa.report['pluginApiAtLoad']).toEqual({ available: true, addAuthenticator: 2, updateAuthenticatorDetails: 2, performUserVerification: 2 });
  });

  it('registers with our CLSID, name, logos and getInfo byte-exact, and hands back the operation-signing key', () => {
    const [add] = calls(ecdsa.log, 'WebAuthNPluginAddAuthenticator2');
    expect(add).toMatchObject({ version: 2, name: 'Latchkey', clsid: CLSID, pluginRpId: null, supportedRpIds: 0, hresult: 0 });
    expect(add!['authenticatorInfo']).toBe(hex(GET_INFO));
    expect(Buffer.from(String(add!['lightThemeLogoSvg']), 'base64').toString()).toContain('<svg');
    const key = parseCngPublicKey(fromHex(ecdsa.report['opKeyFromAdd']));
    expect(key.kind).toBe('ecdsa-p256');
    expect(ecdsa.report['opKey']).toBe(ecdsa.report['opKeyFromAdd']);
    // Windows' answers come through as thrown Errors with the HRESULT.
    expect(ecdsa.report['addAgain'].error.hresult).toBe(HRESULT.NTE_EXISTS);
    expect(ecdsa.report['badClsid'].error.message).toMatch(/clsid/);
    const [update] = calls(ecdsa.log, 'WebAuthNPluginUpdateAuthenticatorDetails2');
    expect(update).toMatchObject({ name: 'Latchkey (renamed)', clsid: CLSID, clsidNew: CLSID, authenticatorInfo: hex(GET_INFO), hresult: 0 });
  });

  it('reports state from not-registered through disabled to enabled, with the status callback on the JS thread', () => {
    const r = ecdsa.report;
    expect([r['stateBeforeAdd'], r['stateAfterAdd'], r['stateAfterEnable']]).toEqual(['not-registered', 'disabled', 'enabled']);
    expect(r['statusCalls']).toBe(1);
    expect(r['statusCallsAfterUnsubscribe']).toBe(1);
    expect(calls(ecdsa.log, 'WebAuthNPluginUnregisterStatusChangeCallback')).toHaveLength(1);
  });

  it('keeps the credential cache with every field, and reads an empty cache (ERROR_FILE_NOT_FOUND) as []', () => {
    const r = ecdsa.report;
    expect(r['cacheEmpty']).toEqual([]);
    expect(r['cacheTwo']).toHaveLength(2);
    expect(r['cacheTwo'][0]).toEqual({
      credentialId: '0102030405060708090a0b0c0d0e0f10',
      rpId: 'example.com',
      rpName: 'Example',
      userId: 'a1a2a3a4',
      userName: 'alice@example.com',
      userDisplayName: 'Alice Ä. Example',
    });
    expect(r['cacheOne'].map((c: Report) => c['userName'])).toEqual(['bob']);
    expect(r['cacheCleared']).toEqual([]);
    expect(r['cacheBadArgument'].error.message).toMatch(/credentialId must be a Uint8Array/);
    const [added] = calls(ecdsa.log, 'WebAuthNPluginAuthenticatorAddCredentials');
    expect(added!['credentials']).toEqual([r['cacheTwo'][0], r['cacheTwo'][1]]);
    expect(calls(ecdsa.log, 'WebAuthNPluginAuthenticatorRemoveCredentials')[0]!['credentials']).toEqual([r['cacheTwo'][0]]);
  });

  it('seals with DPAPI and refuses what it did not seal', () => {
    expect(ecdsa.report['dpapi']).toEqual({ sealedLength: expect.any(Number), differs: true, roundTrip: true });
    expect(ecdsa.report['dpapiGarbage'].error.hresult).toBeGreaterThan(0x80000000);
  });

  it('hands each operation to JavaScript with the exact bytes, signature, transaction id and window, and returns the reply as a CoTaskMem buffer', () => {
    const r = ecdsa.report;
    expect(r['echoMake']).toMatchObject({ hresult: 0, response: hex(REQUEST.slice().reverse()) });
    const first = r['seen'][0];
    expect(first).toMatchObject({ kind: 'makeCredential', hwnd: String(0x10042), transactionId: r['echoMake'].transactionId, request: hex(REQUEST) });
    const opKey = parseCngPublicKey(fromHex(r['opKey']));
    expect(verifySignedBytes(opKey, REQUEST, fromHex(first.requestSignature))).toBe('ecdsa-p1363');
    // What the double sent as forged, missing and signed-over-other-bytes arrives as such.
    const byTransaction = (call: Call) => r['seen'].find((op: Report) => op['transactionId'] === call.transactionId);
    expect(byTransaction(r['echoGet']).kind).toBe('getAssertion');
    expect(verifySignedBytes(opKey, REQUEST, fromHex(byTransaction(r['echoGet']).requestSignature))).toBeUndefined();
    expect(byTransaction(r['missingSignature']).requestSignature).toBe('');
    expect(verifySignedBytes(opKey, REQUEST, fromHex(byTransaction(r['otherBytes']).requestSignature))).toBeUndefined();
  });

  it("passes the handler's HRESULTs through, and turns a throwing handler or a malformed reply into E_FAIL without killing the server", () => {
    const r = ecdsa.report;
    expect(r['refused'].hresult).toBe(HRESULT.NTE_BAD_SIGNATURE);
    expect(r['thrown'].hresult).toBe(HRESULT.E_FAIL);
    expect(ecdsa.stderr).toContain('COM operation handler threw: a bug in the host');
    expect(r['afterThrow']).toMatchObject({ hresult: 0, response: hex(REQUEST.slice().reverse()) });
    expect(r['badReply'].hresult).toBe(HRESULT.E_FAIL);
    expect(r['badReplyError'].message).toMatch(/non-empty Uint8Array/);
    expect(r['concurrent'].map((c: Call) => c.hresult)).toEqual([0, 0, 0]);
  });

  it('answers GetLockStatus from setLockStatus, also while an operation waits, and CancelOperation ends a pending operation at once', () => {
    const r = ecdsa.report;
    expect(r['lock']).toEqual({
      initial: { hresult: 0, status: 'locked' },
      afterUnlock: { hresult: 0, status: 'unlocked' },
      afterLock: { hresult: 0, status: 'locked' },
    });
    expect(r['lockWhilePending']).toEqual({ hresult: 0, status: 'locked' });
    expect(r['cancelHresult']).toBe(0);
    expect(r['cancelled'].hresult).toBe(HRESULT.NTE_USER_CANCELLED);
    expect(r['cancelledAfterMs']).toBeLessThan(4000); // the handler holds it forever otherwise
    expect(r['cancels']).toContain(r['cancelled'].transactionId);
  });

  it("asks Windows for user verification with the operation's window and transaction, and the signature verifies with the UV key over SHA-256 of the request", () => {
    const r = ecdsa.report;
    expect(r['uvAccepted'].hresult).toBe(0);
    const uvKey = parseCngPublicKey(fromHex(r['uvKey']));
    expect(verifySignedBytes(uvKey, REQUEST, fromHex(r['uvAccepted'].response))).toBe('ecdsa-p1363');
    const uvCalls = calls(ecdsa.log, 'WebAuthNPluginPerformUserVerification2');
    expect(uvCalls[0]).toMatchObject({
      version: 2,
      hwnd: 0x10042,
      transactionId: r['uvAccepted'].transactionId,
      userName: 'alice@example.com',
      displayHint: 'Sign in to example.com',
      bufferToSign: '',
      mode: 'accept',
      hresult: 0,
    });
    expect(r['uvDeclined'].hresult).toBe(HRESULT.NTE_USER_CANCELLED);
    expect(r['uvOutsideOperation'].hresult).toBe(HRESULT.NTE_NOT_FOUND);
    expect(r['uvBadArgument'].message).toMatch(/hwnd must be a bigint/);
  });

  it('ends an operation promptly when Windows cancels it during a slow Hello prompt', () => {
    const r = ecdsa.report;
    expect(r['uvSlowCancelled'].hresult).toBe(HRESULT.NTE_USER_CANCELLED);
    // Well before the 8 s Hello prompt would have answered.
    expect(r['uvSlowCancelledAfterMs']).toBeLessThan(4000);
  });

  it('answers HRESULT_FROM_WIN32(ERROR_TIMEOUT) when JavaScript never replies, and serves the next call', () => {
    const r = ecdsa.report;
    expect(r['neverAnswered'].hresult).toBe(HRESULT.TIMEOUT);
    expect(r['neverAnswered'].ms).toBeGreaterThanOrEqual(2400);
    expect(r['afterTimeout'].hresult).toBe(0);
  });

  it('revokes the class on stopComServer and serves again after a restart; every buffer Windows handed out was freed', () => {
    const r = ecdsa.report;
    expect(r['startTwice'].error.message).toMatch(/already running/);
    expect(r['afterStop'].hresult).toBe(REGDB_E_CLASSNOTREG);
    expect(r['afterRestart'].hresult).toBe(0);
    expect(r['outstandingBuffers']).toBe(0);
  });

  it('serves another process through CoCreateInstance: marshalled requests and replies, E_FAIL for a throwing handler, GetLockStatus and CancelOperation on RPC threads while a call waits', () => {
    const remote = ecdsa.report['remote'];
    expect(remote.lock).toEqual({ hresult: 0, status: 'locked' });
    expect(remote.echo).toMatchObject({ hresult: 0, response: hex(REQUEST.slice().reverse()) });
    const arrived = ecdsa.report['seen'].find((op: Report) => op['transactionId'] === remote.echo.transactionId);
    expect(arrived).toMatchObject({ kind: 'makeCredential', hwnd: String(0x30042), request: hex(REQUEST), requestSignature: '' });
    expect(remote.thrown.hresult).toBe(HRESULT.E_FAIL);
    expect(remote.lockWhilePending).toEqual({ hresult: 0, status: 'unlocked' });
    expect(remote.cancel).toEqual({ hresult: 0 });
    expect(remote.held.hresult).toBe(HRESULT.NTE_USER_CANCELLED);
    expect(remote.heldEndedAfterMs).toBeLessThan(4000);
    expect(remote.afterAll.hresult).toBe(0);
  });

  it('verifies RSA operation signatures with PKCS#1 v1.5 and PSS, and falls back to v1 where v2 answers E_NOTIMPL', async () => {
    // This run's host is node.exe renamed to latchkey.exe: the delay-load hook finds N-API in it.
    const pkcs1 = await runPlumbing('rsa-pkcs1', { quick: true, exe: await renamedWindowsNodeExe() });
    expect(pkcs1.report['host']).toMatch(/\\latchkey\.exe$/);
    const pss = await runPlumbing('rsa-pss', { quick: true, v2: 'notimpl' });
    for (const [run, scheme] of [
      [pkcs1, 'rsa-pkcs1'],
      [pss, 'rsa-pss'],
    ] as const) {
      const opKey = parseCngPublicKey(fromHex(run.report['opKey']));
      expect(opKey.kind).toBe('rsa');
      expect(verifySignedBytes(opKey, REQUEST, fromHex(run.report['seen'][0].requestSignature))).toBe(scheme);
      const uvKey = parseCngPublicKey(fromHex(run.report['uvKey']));
      expect(verifySignedBytes(uvKey, REQUEST, fromHex(run.report['uvAccepted'].response))).toBe(scheme);
      expect(run.report['outstandingBuffers']).toBe(0);
    }
    expect(pkcs1.report['pluginApiAtEnd']).toMatchObject({ addAuthenticator: 2, performUserVerification: 2 });
    // v2 exported but E_NOTIMPL: each tried once, then v1 for good.
    expect(pss.report['pluginApiAtLoad']).toMatchObject({ addAuthenticator: 2, updateAuthenticatorDetails: 2, performUserVerification: 2 });
    expect(pss.report['pluginApiAtEnd']).toMatchObject({ addAuthenticator: 1, updateAuthenticatorDetails: 1, performUserVerification: 1 });
    const fns = pss.log.map((entry) => entry['fn']);
    expect(fns.filter((fn) => fn === 'WebAuthNPluginAddAuthenticator2')).toHaveLength(1);
    expect(fns.indexOf('WebAuthNPluginAddAuthenticator')).toBeGreaterThan(fns.indexOf('WebAuthNPluginAddAuthenticator2'));
    expect(fns.filter((fn) => fn === 'WebAuthNPluginPerformUserVerification2')).toHaveLength(1);
    const [v1] = calls(pss.log, 'WebAuthNPluginAddAuthenticator');
    expect(v1).toMatchObject({ version: 1, name: 'Latchkey', clsid: CLSID, authenticatorInfo: hex(GET_INFO), hresult: 0 });
  }, 240_000);

  it('on a Windows without the plugin API: loads, says which Windows it needs, and refuses plugin calls with an HRESULT', async () => {
    const older = await winePrefix('without-plugin-api', binaries.doubleWithoutPluginApi);
    prefixes.push(older);
    const result = join(work, 'probe.json');
    const run = await runWindowsNode(older, join(REPO, 'test', 'windows', 'wine', 'pluginApiProbe.mjs'), {
      env: { LATCHKEY_ROOT: windowsPath(REPO), LATCHKEY_RESULT: windowsPath(result) },
    });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(result, 'utf8')) as Report;
    expect(report['pluginApi']).toEqual({ available: false, reason: 'needs Windows 11 24H2/25H2 build 26100.6725 or later' });
    const ERROR_PROC_NOT_FOUND = 0x8007007f;
    for (const refusal of [report['getAuthenticatorState'], report['addAuthenticator'], report['performUserVerification']]) {
      expect(refusal).toMatchObject({ hresult: ERROR_PROC_NOT_FOUND, message: expect.stringContaining('26100.6725') });
    }
    expect(report['getAuthenticatorState'].message).toContain('webauthn.dll has no WebAuthNPlugin');
    expect(report['dpapi']).toBe('070707');
    expect(report['comServer']).toBe('started and stopped');
  }, 240_000);
});
