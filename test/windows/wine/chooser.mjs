// Runs inside Windows node.exe under Wine on an X server (see test/windows/chooser.wine.test.ts):
// the addon's passkey chooser dialog, answered by the driver playing the user.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const env = process.env;
const { loadWindowsAddon } = await import(pathToFileURL(`${env.LATCHKEY_ROOT}\\dist\\transports\\windows\\loadAddon.js`).href);
const driver = createRequire(import.meta.url)(env.LATCHKEY_DRIVER);
const addon = loadWindowsAddon();
const outcome = (promise) => promise.then((value) => ({ value }), (error) => ({ error: { message: error.message, hresult: error.hresult ?? null } }));

const request = (title) => ({
  hwnd: 0n,
  title,
  message: 'Choose the passkey to sign in to example.com',
  items: [{ label: 'alice@example.com', detail: 'Alice · last used 2026-11-20' }, { label: 'bob@example.com' }],
});
const results = {};
[results.picked, results.pickedUser] = await Promise.all([outcome(addon.chooseCredential(request('Latchkey chooser one'))), driver.answerChoice('Latchkey chooser one', 1)]);
[results.cancelled, results.cancelledUser] = await Promise.all([outcome(addon.chooseCredential(request('Latchkey chooser two'))), driver.answerChoice('Latchkey chooser two', -1)]);
results.noItems = await outcome(addon.chooseCredential({ ...request('x'), items: [] }));
writeFileSync(env.LATCHKEY_RESULT, JSON.stringify(results, null, 1));
