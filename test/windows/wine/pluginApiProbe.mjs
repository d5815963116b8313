// Runs inside Windows node.exe under Wine with a webauthn.dll that predates the plugin API (or
// none): the addon must load, say why the API is unavailable, and refuse calls with an Error.
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const env = process.env;
const { loadWindowsAddon } = await import(pathToFileURL(`${env.LATCHKEY_ROOT}\\dist\\transports\\windows\\loadAddon.js`).href);
const addon = loadWindowsAddon();
const clsid = '0584e84a-fbf4-49c0-bdc5-11a0b9d3f843';
const refusal = (fn) => {
  try {
    fn();
    return null;
  } catch (error) {
    return { message: error.message, hresult: error.hresult ?? null };
  }
};
const results = {
  pluginApi: addon.pluginApi(),
  getAuthenticatorState: refusal(() => addon.getAuthenticatorState(clsid)),
  addAuthenticator: refusal(() => addon.addAuthenticator({ name: 'Latchkey', clsid, authenticatorInfo: new Uint8Array([0xa0]) })),
  performUserVerification: await addon
    .performUserVerification({ hwnd: 0n, transactionId: clsid, userName: 'x' })
    .then(() => null, (error) => ({ message: error.message, hresult: error.hresult ?? null })),
  // What does not need the plugin API still works.
  dpapi: Buffer.from(addon.unprotectData(addon.protectData(new Uint8Array([7, 7, 7])))).toString('hex'),
};
addon.startComServer(clsid, { onOperation() {}, onCancel() {} }, { timeoutMs: 1000 });
addon.stopComServer();
results.comServer = 'started and stopped';
writeFileSync(env.LATCHKEY_RESULT, JSON.stringify(results, null, 1));
