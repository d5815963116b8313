// Runs inside Windows node.exe under Wine (see test/windows/plumbing.wine.test.ts): the addon's COM
// and plugin-API plumbing against the webauthn.dll double, with a minimal JavaScript handler in
// place of the TypeScript host. Writes what it saw as JSON to LATCHKEY_RESULT; the Linux side judges.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const env = process.env;
const { loadWindowsAddon } = await import(pathToFileURL(`${env.LATCHKEY_ROOT}\\dist\\transports\\windows\\loadAddon.js`).href);
const driver = createRequire(import.meta.url)(env.LATCHKEY_DRIVER);
const input = JSON.parse(readFileSync(env.LATCHKEY_INPUT, 'utf8'));
const quick = env.LATCHKEY_PLUMBING_QUICK === '1';
const { clsid } = input;

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const fromHex = (text) => new Uint8Array(Buffer.from(text, 'hex'));
const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const errorOf = (error) => ({ message: String(error?.message ?? error), hresult: error?.hresult ?? null });
const attempt = (fn) => {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: errorOf(error) };
  }
};
const credentialOut = (c) => ({ ...c, credentialId: hex(c.credentialId), userId: hex(c.userId) });

const HRESULT = { S_OK: 0, NTE_BAD_SIGNATURE: 0x80090006, NTE_USER_CANCELLED: 0x80090036 };
const results = { steps: [] };
const step = (name) => results.steps.push(name);

const addon = loadWindowsAddon();
results.pluginApiAtLoad = addon.pluginApi();

// Registration, state and keys.
const registration = {
  name: 'Latchkey',
  clsid,
  lightThemeLogoSvg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>').toString('base64'),
  darkThemeLogoSvg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" fill="#fff"/>').toString('base64'),
  authenticatorInfo: fromHex(input.getInfoHex),
};
results.stateBeforeAdd = addon.getAuthenticatorState(clsid);
results.opKeyFromAdd = hex(addon.addAuthenticator(registration));
results.addAgain = attempt(() => addon.addAuthenticator(registration));
addon.updateAuthenticator({ ...registration, name: 'Latchkey (renamed)' });
results.pluginApiAfterRegistration = addon.pluginApi();
results.stateAfterAdd = addon.getAuthenticatorState(clsid);
results.opKey = hex(addon.getOperationSigningPublicKey(clsid));
results.uvKey = hex(addon.getUserVerificationPublicKey(clsid));
results.badClsid = attempt(() => addon.getAuthenticatorState('not-a-guid'));
step('registration');

// Status change: the user enables Latchkey in Settings; the callback arrives on the JS thread.
let statusCalls = 0;
const unsubscribe = addon.onStatusChange(clsid, () => statusCalls++);
await driver.setAuthenticatorState(true);
for (let i = 0; i < 50 && statusCalls === 0; i++) await tick(20);
results.statusCalls = statusCalls;
results.stateAfterEnable = addon.getAuthenticatorState(clsid);
unsubscribe();
unsubscribe(); // idempotent
await driver.setAuthenticatorState(false);
await tick(100);
results.statusCallsAfterUnsubscribe = statusCalls;
step('status');

// The credential metadata cache.
const alice = {
  credentialId: fromHex('0102030405060708090a0b0c0d0e0f10'),
  rpId: 'example.com',
  rpName: 'Example',
  userId: fromHex('a1a2a3a4'),
  userName: 'alice@example.com',
  userDisplayName: 'Alice Ä. Example',
};
const bob = { ...alice, credentialId: fromHex('ff'.repeat(32)), userId: fromHex('b1'), userName: 'bob', userDisplayName: 'Bob' };
results.cacheEmpty = addon.getAllCredentials(clsid);
addon.addCredentials(clsid, [alice, bob]);
results.cacheTwo = addon.getAllCredentials(clsid).map(credentialOut);
addon.removeCredentials(clsid, [alice]);
results.cacheOne = addon.getAllCredentials(clsid).map(credentialOut);
addon.removeAllCredentials(clsid);
results.cacheCleared = addon.getAllCredentials(clsid);
results.cacheBadArgument = attempt(() => addon.addCredentials(clsid, [{ ...alice, credentialId: 'nope' }]));
step('cache');

// DPAPI.
const secret = fromHex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
const sealed = addon.protectData(secret);
results.dpapi = { sealedLength: sealed.length, differs: hex(sealed) !== hex(secret), roundTrip: hex(addon.unprotectData(sealed)) === hex(secret) };
results.dpapiGarbage = attempt(() => addon.unprotectData(fromHex('0102030405')));
step('dpapi');

// The COM server with a minimal handler whose behaviour each call names.
let behaviour = 'echo';
const seen = [];
const held = new Map();
const cancels = [];
const handlers = {
  onOperation(op, reply) {
    seen.push({
      kind: op.kind,
      hwnd: op.hwnd.toString(),
      transactionId: op.transactionId,
      requestSignature: hex(op.requestSignature),
      request: hex(op.request),
    });
    switch (behaviour) {
      case 'echo':
        return reply({ hresult: 0, response: Uint8Array.from([...op.request].reverse()) });
      case 'refuse':
        return reply({ hresult: HRESULT.NTE_BAD_SIGNATURE });
      case 'throw':
        throw new Error('a bug in the host');
      case 'never':
        return undefined;
      case 'bad-reply':
        try {
          reply({ hresult: 0 });
        } catch (error) {
          results.badReplyError = errorOf(error);
        }
        return reply({ hresult: 0, response: Uint8Array.of(1) }); // too late: the first answer stands
      case 'hold':
        held.set(op.transactionId, reply);
        return undefined;
      case 'uv':
        held.set(op.transactionId, reply);
        addon
          .performUserVerification({ hwnd: op.hwnd, transactionId: op.transactionId, userName: 'alice@example.com', displayHint: 'Sign in to example.com' })
          .then(
            (signature) => held.get(op.transactionId)?.({ hresult: 0, response: signature.length > 0 ? signature : Uint8Array.of(0) }),
            (error) => held.get(op.transactionId)?.({ hresult: error.hresult ?? 0x80004005 }),
          )
          .finally(() => held.delete(op.transactionId));
        return undefined;
      default:
        throw new Error(`unknown behaviour ${behaviour}`);
    }
  },
  onCancel(transactionId) {
    cancels.push(transactionId);
    const reply = held.get(transactionId);
    held.delete(transactionId);
    reply?.({ hresult: HRESULT.NTE_USER_CANCELLED });
  },
};

let counter = 0;
const newTransaction = () => `${(0x1000 + ++counter).toString(16).padStart(8, '0')}-0000-4000-8000-00000000cafe`;
async function call(kind, request, signature = 'valid', transactionId = newTransaction()) {
  const started = Date.now();
  const outcome = await driver.invoke(kind, request, { transactionId, hwnd: 0x10042n, signature });
  return { transactionId, hresult: outcome.hresult, response: outcome.response ? hex(outcome.response) : null, ms: Date.now() - started };
}

const timeoutMs = quick ? 10_000 : 2_500;
addon.startComServer(clsid, handlers, { timeoutMs });
results.startTwice = attempt(() => addon.startComServer(clsid, handlers, { timeoutMs }));
results.lock = { initial: driver.lockStatus() };
addon.setLockStatus(false);
results.lock.afterUnlock = driver.lockStatus();
addon.setLockStatus(true);
results.lock.afterLock = driver.lockStatus();
step('server');

const request = fromHex(input.requestHex);
results.echoMake = await call('makeCredential', request);
results.echoGet = await call('getAssertion', request, 'forged');
results.missingSignature = await call('getAssertion', request, 'missing');
results.otherBytes = await call('getAssertion', request, 'other-bytes');
behaviour = 'refuse';
results.refused = await call('makeCredential', request);
behaviour = 'throw';
results.thrown = await call('makeCredential', request);
behaviour = 'echo';
results.afterThrow = await call('makeCredential', request);
behaviour = 'bad-reply';
results.badReply = await call('makeCredential', request);
behaviour = 'echo';
results.concurrent = await Promise.all([call('makeCredential', request), call('getAssertion', request), call('makeCredential', request)]);
step('operations');

// Another process, as the WebAuthn service is: CoCreateInstance(CLSCTX_LOCAL_SERVER) through the
// test proxy/stub, so each call arrives marshalled on an RPC thread of this process.
const client = (...args) =>
  new Promise((resolve) =>
    execFile(env.LATCHKEY_COM_CLIENT, [clsid, ...args], { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve(stdout.trim() ? JSON.parse(stdout) : { error: String(error), stderr }),
    ),
  );
behaviour = 'echo';
const remote = {};
remote.lock = await client('lock');
remote.echo = { ...(await client('invoke', 'make', '00000001-0000-4000-8000-0000000c0de1', input.requestHex)), transactionId: '00000001-0000-4000-8000-0000000c0de1' };
behaviour = 'throw';
remote.thrown = await client('invoke', 'get', '00000002-0000-4000-8000-0000000c0de1', input.requestHex);
behaviour = 'hold';
const remoteHeld = client('invoke', 'get', '00000003-0000-4000-8000-0000000c0de1', input.requestHex);
for (let i = 0; i < 100 && !held.has('00000003-0000-4000-8000-0000000c0de1'); i++) await tick(50);
addon.setLockStatus(false);
remote.lockWhilePending = await client('lock');
addon.setLockStatus(true);
const remoteCancelAt = Date.now();
remote.cancel = await client('cancel', '00000003-0000-4000-8000-0000000c0de1');
remote.held = await remoteHeld;
remote.heldEndedAfterMs = Date.now() - remoteCancelAt;
behaviour = 'echo';
remote.afterAll = await client('invoke', 'make', '00000004-0000-4000-8000-0000000c0de1', input.requestHex);
results.remote = remote;
step('cross-process');

// GetLockStatus while an operation waits on JavaScript, then CancelOperation ends it.
behaviour = 'hold';
const heldTx = newTransaction();
const heldCall = call('makeCredential', request, 'valid', heldTx);
await tick(300);
results.lockWhilePending = driver.lockStatus();
const cancelAt = Date.now();
results.cancelHresult = (await driver.cancel(heldTx)).hresult;
results.cancelled = await heldCall;
results.cancelledAfterMs = Date.now() - cancelAt;
step('cancel');

// User verification through the double: accept, decline, and (full run) slow then cancelled.
behaviour = 'uv';
driver.setUserVerification('accept', 0);
results.uvAccepted = await call('getAssertion', request);
driver.setUserVerification('decline', 0);
results.uvDeclined = await call('getAssertion', request);
results.uvOutsideOperation = await addon
  .performUserVerification({ hwnd: 0n, transactionId: '00000000-0000-0000-0000-000000000000', userName: 'nobody' })
  .then(() => ({ resolved: true }), (error) => errorOf(error));
results.uvBadArgument = await addon.performUserVerification({ hwnd: 1, transactionId: 'x', userName: 'n' }).then(
  () => ({ resolved: true }),
  (error) => errorOf(error),
);
results.pluginApiAfterUv = addon.pluginApi();
if (!quick) {
  driver.setUserVerification('slow', 8_000);
  const slowTx = newTransaction();
  const slowCall = call('getAssertion', request, 'valid', slowTx);
  await tick(500);
  const at = Date.now();
  await driver.cancel(slowTx);
  results.uvSlowCancelled = await slowCall;
  results.uvSlowCancelledAfterMs = Date.now() - at;
  driver.setUserVerification('accept', 0);

  behaviour = 'never';
  results.neverAnswered = await call('makeCredential', request);
  behaviour = 'echo';
  results.afterTimeout = await call('makeCredential', request);
}
results.cancels = cancels;
step('uv');

// Stopping revokes the class: Windows can no longer reach the object; starting again serves again.
addon.stopComServer();
addon.stopComServer(); // idempotent
results.afterStop = await call('makeCredential', request);
addon.startComServer(clsid, handlers, { timeoutMs });
results.afterRestart = await call('makeCredential', request);
addon.stopComServer();
step('stop');

results.seen = seen;
results.host = process.execPath;
results.pluginApiAtEnd = addon.pluginApi();
// The slow UV may still be signing on its thread; every buffer the double handed out must come back.
for (let i = 0; i < 100 && driver.outstandingBuffers() !== 0; i++) await tick(100);
results.outstandingBuffers = driver.outstandingBuffers();
writeFileSync(env.LATCHKEY_RESULT, JSON.stringify(results, null, 1));
console.log('plumbing done');
