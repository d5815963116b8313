/**
 * Finds and loads Latchkey's Windows addon (native/): the MinGW cross build in
 * prebuilds/win32-x64/ first (`npm run build:win`), then the MSVC build in native/build/Release/
 * (`npx node-gyp rebuild -C native` on Windows). A failure names every path tried and why each failed.
 * @module
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WindowsAddon } from './native.js';

export const ADDON_FILE_NAME = 'latchkey_windows.node';

/** Every function of the WindowsAddon contract: a binary without one of them is stale or foreign. */
const CONTRACT_FUNCTIONS: readonly (keyof WindowsAddon)[] = [
  'pluginApi',
  'startComServer',
  'setLockStatus',
  'stopComServer',
  'addAuthenticator',
  'updateAuthenticator',
  'removeAuthenticator',
  'getAuthenticatorState',
  'onStatusChange',
  'getOperationSigningPublicKey',
  'getUserVerificationPublicKey',
  'performUserVerification',
  'addCredentials',
  'removeCredentials',
  'removeAllCredentials',
  'getAllCredentials',
  'protectData',
  'unprotectData',
];

/**
 * The checkout or package root: the nearest directory above this module with a package.json
 * (src/transports/windows/ and dist/transports/windows/ are three levels down, the bundle in
 * dist/bundle/ two).
 */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(here, '..', '..', '..');
  }
}

/** Where the addon may be, in the order they are tried. */
export function addonCandidates(root: string = packageRoot()): string[] {
  return [join(root, 'prebuilds', 'win32-x64', ADDON_FILE_NAME), join(root, 'native', 'build', 'Release', ADDON_FILE_NAME)];
}

export class AddonLoadError extends Error {
  constructor(
    message: string,
    /** Each path tried, with why it failed. */
    readonly tried: readonly { readonly path: string; readonly reason: string }[],
  ) {
    super(message);
    this.name = 'AddonLoadError';
  }
}

let loaded: WindowsAddon | undefined;

/** Loads the addon once per process; throws an AddonLoadError naming every path it tried. */
export function loadWindowsAddon(): WindowsAddon {
  if (loaded !== undefined) return loaded;
  const tried: { path: string; reason: string }[] = [];
  for (const path of addonCandidates()) {
    if (!existsSync(path)) {
      tried.push({ path, reason: 'not found' });
      continue;
    }
    try {
      const loadedModule = { exports: {} };
      process.dlopen(loadedModule, path);
      const addon = loadedModule.exports as Partial<Record<keyof WindowsAddon, unknown>>;
      const missing = CONTRACT_FUNCTIONS.filter((name) => typeof addon[name] !== 'function');
      if (missing.length > 0) {
        tried.push({ path, reason: `lacks ${missing.join(', ')} (a stale build?)` });
        continue;
      }
      loaded = addon as WindowsAddon;
      return loaded;
    } catch (error) {
      tried.push({ path, reason: error instanceof Error ? error.message.split('\n')[0]! : String(error) });
    }
  }
  const platform = process.platform === 'win32' ? '' : ` It is a Windows DLL and this is ${process.platform}.`;
  throw new AddonLoadError(
    `Latchkey's Windows addon could not be loaded.${platform} Tried:\n` +
      tried.map(({ path, reason }) => `  ${path}: ${reason}`).join('\n') +
      '\nBuild it with `npm run build:win` (MinGW-w64 cross build) or, on Windows, `npx node-gyp rebuild -C native`.',
    tried,
  );
}
