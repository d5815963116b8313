/**
 * `latchkey serve --com`: the process Windows starts through the manifest's com:ExeServer (and
 * that also runs from a plain command line). It registers Latchkey's COM class, resyncs Windows'
 * credential cache, answers operations, and exits after an idle period, revoking its class
 * registration on the way out. It never asks for input: a vault it cannot unlock is served as
 * locked (GetLockStatus says so; operations are refused).
 * @module
 */
import type { CredentialStore } from '../ctap/ports.js';
import { CredentialCache } from '../transports/windows/credentialCache.js';
import type { WindowsAddon } from '../transports/windows/native.js';
import { PluginHost } from '../transports/windows/pluginHost.js';
import { CLSID } from './identity.js';
import { windowsChooser } from './windowsChooser.js';
import { WINDOWS_REQUIREMENT } from './windowsPlatform.js';
import { lockedStore, windowsAuthenticator } from './windowsRegistration.js';

/** KeePassPasskey's choice, and long enough for a browser's follow-up request to reuse the process. */
export const DEFAULT_IDLE_TIMEOUT_S = 150;

export interface ComServeOptions {
  readonly addon: WindowsAddon;
  /** Opens the vault; a throw (locked, missing key) makes the server run locked. */
  readonly openStore: () => CredentialStore & { close(): void };
  readonly idleTimeoutMs: number;
  readonly log: (line: string) => void;
  /** Settles to stop before the idle timeout (SIGINT, SIGTERM). */
  readonly stop?: Promise<unknown> | undefined;
  readonly operationTimeoutMs?: number | undefined;
}

export interface ComServeResult {
  readonly reason: 'idle' | 'stopped';
  readonly locked: boolean;
}

export async function serveCom(options: ComServeOptions): Promise<ComServeResult> {
  const { addon, log } = options;
  const api = addon.pluginApi();
  if (!api.available) {
    throw new Error(`Windows' passkey plugin API is not available here: ${api.reason ?? 'unknown reason'}. Latchkey needs ${WINDOWS_REQUIREMENT}.`);
  }

  let store: (CredentialStore & { close(): void }) | undefined;
  let lockReason = '';
  try {
    store = options.openStore();
  } catch (error) {
    lockReason = error instanceof Error ? error.message : String(error);
    log(`serving with the vault locked: ${lockReason}`);
  }

  const authenticator = windowsAuthenticator(store ?? lockedStore(lockReason), log);
  const cache = new CredentialCache(addon, CLSID, log);
  if (store !== undefined) {
    try {
      cache.resync(store.list());
    } catch (error) {
      log(`could not resync Windows' credential cache: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  let touch = () => undefined as void;
  const host = new PluginHost({
    addon,
    clsid: CLSID,
    authenticator,
    chooser: windowsChooser(addon, log),
    cache,
    isLocked: () => store === undefined,
    operationTimeoutMs: options.operationTimeoutMs,
    log,
    onActivity: () => touch(),
  });

  let timer: NodeJS.Timeout | undefined;
  try {
    host.start();
    log(`COM server for ${CLSID} started; exits after ${Math.round(options.idleTimeoutMs / 1000)} s without an operation`);
    const reason = await new Promise<ComServeResult['reason']>((resolve) => {
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => (host.busy ? arm() : resolve('idle')), options.idleTimeoutMs);
      };
      touch = arm;
      arm();
      options.stop?.then(
        () => resolve('stopped'),
        () => resolve('stopped'),
      );
    });
    log(reason === 'idle' ? 'idle: revoking the class registration and exiting' : 'stopping: revoking the class registration');
    return { reason, locked: store === undefined };
  } finally {
    clearTimeout(timer);
    touch = () => undefined;
    host.stop();
    store?.close();
  }
}
