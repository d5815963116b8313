/**
 * What the app does differently on Windows, in one place: the addon (loaded once, lazily), the
 * DPAPI key protector as the default for new vaults, and Windows' credential cache following
 * deletions made outside the plugin host (`latchkey delete`).
 * @module
 */
import { CLSID } from './identity.js';
import { CredentialCache } from '../transports/windows/credentialCache.js';
import { loadWindowsAddon } from '../transports/windows/loadAddon.js';
import type { WindowsAddon } from '../transports/windows/native.js';
import { createDpapiProtector } from '../vault/keyProtectors/dpapi.js';
import type { KeyProtector } from '../vault/keyProtectors/keyProtector.js';
import type { Vault } from '../vault/vault.js';

/** Said by every Windows-only command elsewhere, and when the plugin API is missing. */
export const WINDOWS_REQUIREMENT = 'Windows 11 24H2 or 25H2, build 26100.6725 or later (November 2025 update), with a TPM and a Windows Hello PIN';

/** Why a Windows-only command cannot run here, or undefined on Windows. */
export function notWindows(command: string, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'win32') return undefined;
  return `latchkey ${command} needs Windows: it talks to Windows' passkey plugin API (${WINDOWS_REQUIREMENT}). This is ${platform}.`;
}

/** The addon on Windows, or why not (never throws). */
export function windowsAddon(): { addon: WindowsAddon; reason?: undefined } | { addon?: undefined; reason: string } {
  if (process.platform !== 'win32') return { reason: `this is ${process.platform}, not Windows` };
  try {
    return { addon: loadWindowsAddon() };
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
}

/** The DPAPI protector over the addon's two functions (the vault never sees the addon). */
export function dpapiProtector(addon: Pick<WindowsAddon, 'protectData' | 'unprotectData'>): KeyProtector {
  return createDpapiProtector({ protect: (data) => addon.protectData(data), unprotect: (data) => addon.unprotectData(data) });
}

/** The key protector this OS uses by default: DPAPI on Windows (when the addon loads), else none (the vault's key file). */
export function platformProtector(): KeyProtector | undefined {
  const { addon } = windowsAddon();
  return addon === undefined ? undefined : dpapiProtector(addon);
}

/**
 * The vault, with deletions also removed from Windows' credential cache (best effort: the next
 * `serve --com` start or `latchkey register` resyncs anyway). Elsewhere the vault as it is.
 */
export function followWindowsCache(vault: Vault, addon: WindowsAddon | undefined = windowsAddon().addon): Vault {
  if (addon === undefined) return vault;
  const cache = new CredentialCache(addon, CLSID);
  const remove = (id: Uint8Array): boolean => {
    const hexId = Buffer.from(id).toString('hex');
    const record = vault.list().find((r) => Buffer.from(r.id).toString('hex') === hexId);
    const removed = vault.delete(id);
    if (removed && record !== undefined) {
      try {
        cache.remove([record]);
      } catch {
        // Windows' picker shows it until the next resync; the vault no longer has it either way.
      }
    }
    return removed;
  };
  return new Proxy(vault, {
    get(target, property, receiver) {
      if (property === 'delete') return remove;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * The addon for a Windows-only command, or the message to print (exit 1): not Windows, the addon
 * does not load, or (unless `allowMissingApi`) this Windows has no plugin API.
 */
export function addonForCommand(
  command: string,
  options: { readonly allowMissingApi?: boolean } = {},
): { addon: WindowsAddon; message?: undefined } | { addon?: undefined; message: string } {
  const why = notWindows(command);
  if (why !== undefined) return { message: why };
  const loaded = windowsAddon();
  if (loaded.addon === undefined) return { message: `latchkey ${command}: ${loaded.reason}` };
  if (options.allowMissingApi !== true) {
    const api = loaded.addon.pluginApi();
    if (!api.available) {
      return { message: `latchkey ${command}: Windows' passkey plugin API is not available (${api.reason ?? 'unknown reason'}); Latchkey needs ${WINDOWS_REQUIREMENT}.` };
    }
  }
  return { addon: loaded.addon };
}
