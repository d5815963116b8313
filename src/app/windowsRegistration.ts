/**
 * `latchkey register`, `unregister` and `status` on Windows, composed: the registration Windows
 * gets (name, CLSID, logos, the core's getInfo bytes), the cache resync that follows, and the state
 * report. Each function takes the addon, so tests drive them with a fake one.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Authenticator } from '../ctap/authenticator.js';
import { StoreError, type CredentialStore } from '../ctap/ports.js';
import { parseCngPublicKey } from '../transports/windows/cngPublicKey.js';
import { CredentialCache, isCached, type ResyncResult } from '../transports/windows/credentialCache.js';
import type { AuthenticatorRegistration, AuthenticatorState, PluginApiInfo, WindowsAddon } from '../transports/windows/native.js';
import { encodeLogo, registerPlugin, unregisterPlugin, type RegistrationOutcome } from '../transports/windows/registration.js';
import { buildAuthenticator } from './main.js';
import { CLSID, PRODUCT_NAME } from './identity.js';

/** Where to turn Latchkey on once registered. */
export const ENABLE_INSTRUCTIONS = [
  'Turn Latchkey on in Settings → Accounts → Passkeys → Advanced options (Windows Hello asks you to confirm);',
  'the page opens with:  start ms-settings:passkeys-advancedoptions',
].join('\n');

/**
 * The authenticator the plugin serves, built the same way by `register` (whose getInfo bytes
 * Windows stores) and by `serve --com` (which answers Windows' requests), so the two always agree.
 */
export function windowsAuthenticator(store: CredentialStore, log?: (line: string) => void): Authenticator {
  return buildAuthenticator(store, { userVerification: true, transports: ['internal'], log });
}

/** Our two logos, from assets/ (two levels above src/app/ and dist/app/). */
export function readLogos(): { light: string; dark: string } {
  const read = (name: string) => readFileSync(new URL(`../../assets/${name}`, import.meta.url), 'utf8');
  return { light: read('latchkey-light.svg'), dark: read('latchkey-dark.svg') };
}

export function registrationFor(authenticator: Authenticator, logos = readLogos()): AuthenticatorRegistration {
  return {
    name: PRODUCT_NAME,
    clsid: CLSID,
    lightThemeLogoSvg: encodeLogo(logos.light),
    darkThemeLogoSvg: encodeLogo(logos.dark),
    authenticatorInfo: authenticator.getInfoBytes(),
  };
}

export interface RegisterResult extends RegistrationOutcome {
  readonly cache: ResyncResult | undefined;
  /** Why the cache could not be resynced (a locked vault, say), if it could not. */
  readonly cacheProblem?: string | undefined;
}

/** Add or update the registration, then make Windows' cache match the vault (when it opens). */
export function registerWithWindows(addon: WindowsAddon, openStore: () => (CredentialStore & { close(): void })): RegisterResult {
  let store: (CredentialStore & { close(): void }) | undefined;
  let problem: string | undefined;
  try {
    store = openStore();
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  try {
    // getInfo does not touch credentials: a locked vault still registers.
    const authenticator = windowsAuthenticator(store ?? lockedStore(problem ?? 'locked'));
    const outcome = registerPlugin(addon, registrationFor(authenticator));
    const cache = store === undefined ? undefined : new CredentialCache(addon, CLSID).resync(store.list());
    return { ...outcome, cache, cacheProblem: problem };
  } finally {
    store?.close();
  }
}

export function unregisterFromWindows(addon: WindowsAddon): boolean {
  return unregisterPlugin(addon, CLSID);
}

export interface WindowsStatus {
  readonly pluginApi: PluginApiInfo;
  readonly state: AuthenticatorState | 'unknown';
  readonly signingKey: string;
  readonly cachedCredentials: number | string;
  readonly vault: { readonly path: string; readonly locked: boolean; readonly detail: string; readonly discoverable?: number | undefined };
}

function describeKey(addon: WindowsAddon): string {
  try {
    const key = parseCngPublicKey(addon.getOperationSigningPublicKey(CLSID));
    return key.kind === 'rsa' ? `RSA ${key.bits}` : 'ECDSA P-256';
  } catch (error) {
    return `unavailable (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
}

/** What Windows and the vault say now. Never throws for a missing piece: it reports it. */
export function windowsStatus(
  addon: WindowsAddon,
  vault: { readonly path: string; open: () => CredentialStore & { close(): void; info(): { protector: string; driver: string } } },
): WindowsStatus {
  const pluginApi = addon.pluginApi();
  let state: WindowsStatus['state'] = 'unknown';
  let signingKey = 'unavailable (the plugin API is missing)';
  let cachedCredentials: number | string = 'unknown';
  if (pluginApi.available) {
    try {
      state = addon.getAuthenticatorState(CLSID);
    } catch {
      state = 'unknown';
    }
    signingKey = state === 'not-registered' ? 'none (not registered)' : describeKey(addon);
    try {
      cachedCredentials = new CredentialCache(addon, CLSID).current().length;
    } catch (error) {
      cachedCredentials = `unknown (${error instanceof Error ? error.message : String(error)})`;
    }
  }
  let report: WindowsStatus['vault'];
  try {
    const store = vault.open();
    try {
      const info = store.info();
      report = {
        path: vault.path,
        locked: false,
        detail: `unlocked (${info.protector} protector, ${info.driver})`,
        discoverable: store.list().filter(isCached).length,
      };
    } finally {
      store.close();
    }
  } catch (error) {
    report = { path: vault.path, locked: true, detail: `locked or unavailable: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { pluginApi, state, signingKey, cachedCredentials, vault: report };
}

/** A store for a vault that could not be opened: every use says so (the core answers a refusal). */
export function lockedStore(reason: string): CredentialStore {
  const locked = (): never => {
    throw new StoreError('locked', reason);
  };
  return {
    findById: locked,
    findDiscoverable: locked,
    create: locked,
    openSecrets: locked,
    recordUse: locked,
    delete: locked,
    list: locked,
    count: locked,
  };
}
