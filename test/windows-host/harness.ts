/**
 * A Windows plugin host over a real vault, driven by the fake Windows, with a WebAuthn platform
 * that sends its CTAP requests through it (so @simplewebauthn/server judges what Windows would get).
 */
import { Authenticator } from '../../src/ctap/authenticator.js';
import { AAGUID } from '../../src/app/identity.js';
import { CLSID } from '../../src/app/identity.js';
import { WebAuthnPlatform } from '../../src/app/webauthnClient.js';
import { CredentialCache } from '../../src/transports/windows/credentialCache.js';
import type { ChoiceRequest, ChoiceVerdict, CredentialChooser } from '../../src/transports/windows/credentialChoice.js';
import { HRESULT, describeHresult } from '../../src/transports/windows/hresult.js';
import type { PluginOperation, PluginReply } from '../../src/transports/windows/native.js';
import { PluginHost } from '../../src/transports/windows/pluginHost.js';
import type { Vault } from '../../src/vault/vault.js';
import { tempVaultDir, type TempVaultDir } from '../vault/helpers.js';
import { FakeWindows, type KeyType } from './fakeWindows.js';
import { ORIGIN } from '../support/relyingParty.js';

/** A chooser that records what it was shown and answers as told. */
export class ScriptedChooser implements CredentialChooser {
  readonly shown: ChoiceRequest[] = [];
  answer: (request: ChoiceRequest) => ChoiceVerdict | Promise<ChoiceVerdict> = () => ({ ok: true, index: 0 });
  async choose(request: ChoiceRequest): Promise<ChoiceVerdict> {
    this.shown.push(request);
    return this.answer(request);
  }
}

export class HResultError extends Error {
  constructor(readonly hresult: number) {
    super(`Windows got ${describeHresult(hresult)}`);
    this.name = 'HResultError';
  }
}

export interface Harness {
  readonly windows: FakeWindows;
  readonly vault: Vault;
  readonly authenticator: Authenticator;
  readonly host: PluginHost;
  readonly chooser: ScriptedChooser;
  readonly logs: string[];
  locked: boolean;
  /** A WebAuthn client whose requests go through Windows (signed) to the host. */
  readonly platform: WebAuthnPlatform;
  /** Options for how the platform's next requests are sent. */
  send: { commandByte: boolean };
  cleanup(): void;
}

export function harness(options: { opKey?: KeyType; uvKey?: KeyType; timeoutMs?: number } = {}): Harness {
  const dir: TempVaultDir = tempVaultDir();
  const vault = dir.open();
  const windows = new FakeWindows(options.opKey ?? 'ecdsa', options.uvKey ?? 'ecdsa');
  const authenticator = new Authenticator({ store: vault, aaguid: AAGUID });
  const chooser = new ScriptedChooser();
  const logs: string[] = [];
  const state = { locked: false };
  const host = new PluginHost({
    addon: windows,
    clsid: CLSID,
    authenticator,
    chooser,
    cache: new CredentialCache(windows, CLSID),
    isLocked: () => state.locked,
    operationTimeoutMs: options.timeoutMs,
    log: (line) => logs.push(line),
  });
  host.start();
  const send = { commandByte: false };
  const platform = new WebAuthnPlatform(async (command, params) => {
    if (command === 0x04) return { status: 0, body: authenticator.getInfoBytes() };
    const kind: PluginOperation['kind'] = command === 0x01 ? 'makeCredential' : 'getAssertion';
    const bytes = send.commandByte ? Uint8Array.from([command, ...params]) : params;
    const reply: PluginReply = await windows.call(kind, bytes);
    if (reply.hresult !== HRESULT.S_OK) throw new HResultError(reply.hresult);
    return { status: 0, body: reply.response };
  }, ORIGIN);
  return {
    windows,
    vault,
    authenticator,
    host,
    chooser,
    logs,
    get locked() {
      return state.locked;
    },
    set locked(value: boolean) {
      state.locked = value;
    },
    platform,
    send,
    cleanup() {
      host.stop();
      vault.close();
      dir.cleanup();
    },
  };
}
