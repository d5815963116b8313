/**
 * The credential chooser Latchkey uses on Windows: the addon's dialog (owned by the caller's
 * window) when the addon has one, otherwise none: the host then refuses rather than guesses, and
 * the user picks the account in Windows' own passkey list, which sends exactly one credential.
 * @module
 */
import type { CredentialCandidate, CredentialChooser } from '../transports/windows/credentialChoice.js';
import { noChooser } from '../transports/windows/credentialChoice.js';
import { HRESULT, hresultOfAddonError } from '../transports/windows/hresult.js';
import type { CredentialChoiceItem, WindowsAddon } from '../transports/windows/native.js';

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** What one candidate looks like in the dialog (names only; never a credential id). */
export function choiceItem(candidate: CredentialCandidate): CredentialChoiceItem {
  const label = candidate.userName ?? candidate.userDisplayName ?? 'passkey without a user name';
  const when = candidate.lastUsedAt !== undefined ? `last used ${day(candidate.lastUsedAt)}` : `created ${day(candidate.createdAt)}`;
  const name = candidate.userDisplayName !== undefined && candidate.userDisplayName !== label ? `${candidate.userDisplayName} · ` : '';
  return { label, detail: `${name}${when}` };
}

export function windowsChooser(addon: Pick<WindowsAddon, 'chooseCredential'>, log: (line: string) => void = () => undefined): CredentialChooser {
  const show = addon.chooseCredential?.bind(addon);
  if (show === undefined) {
    return {
      choose(request, signal) {
        log(`${request.candidates.length} passkeys match ${request.rpId} and this addon has no chooser dialog: pick the account in Windows' passkey list instead`);
        return noChooser.choose(request, signal);
      },
    };
  }
  return {
    async choose(request, signal) {
      if (signal.aborted) return { ok: false, refusal: 'cancelled' };
      const shown = show({
        hwnd: request.hwnd,
        title: 'Latchkey',
        message: `Choose the passkey to sign in to ${request.rpId}`,
        items: request.candidates.map(choiceItem),
      });
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<'aborted'>((resolve) => {
        onAbort = () => resolve('aborted');
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        const index = await Promise.race([shown, aborted]);
        if (index === 'aborted') {
          shown.catch(() => undefined);
          return { ok: false, refusal: 'cancelled' };
        }
        if (!Number.isInteger(index) || index < 0 || index >= request.candidates.length) {
          log(`the chooser dialog answered ${String(index)} for ${request.candidates.length} passkeys`);
          return { ok: false, refusal: 'unavailable' };
        }
        return { ok: true, index };
      } catch (error) {
        const hresult = hresultOfAddonError(error);
        if (hresult === HRESULT.NTE_USER_CANCELLED || hresult === HRESULT.CANCELLED) return { ok: false, refusal: 'cancelled' };
        log(`the chooser dialog failed: ${error instanceof Error ? error.message : String(error)}`);
        return { ok: false, refusal: 'unavailable' };
      } finally {
        if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
      }
    },
  };
}
