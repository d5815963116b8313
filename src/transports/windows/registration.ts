/**
 * Registering Latchkey with Windows as a passkey plugin: add it when Windows does not know it,
 * update it otherwise (an update keeps Windows' operation-signing key; remove-and-add would
 * rotate it), and unregister (the credential cache is cleared first: whether removal clears it is
 * not documented).
 * @module
 */
import { HRESULT, hresultOfAddonError } from './hresult.js';
import type { AuthenticatorRegistration, AuthenticatorState, Guid, WindowsAddon } from './native.js';

type RegistrationAddon = Pick<WindowsAddon, 'getAuthenticatorState' | 'addAuthenticator' | 'updateAuthenticator'>;

/** UTF-16(base64(UTF-8(svg))) is what Windows takes; JavaScript strings are UTF-16 already. */
export function encodeLogo(svg: string): string {
  return Buffer.from(svg, 'utf8').toString('base64');
}

export interface RegistrationOutcome {
  readonly action: 'added' | 'updated';
  /** The state after registering: a newly added plugin starts disabled until the user enables it. */
  readonly state: AuthenticatorState;
}

export function registerPlugin(addon: RegistrationAddon, registration: AuthenticatorRegistration): RegistrationOutcome {
  const before = addon.getAuthenticatorState(registration.clsid);
  if (before === 'not-registered') addon.addAuthenticator(registration);
  else addon.updateAuthenticator(registration);
  return { action: before === 'not-registered' ? 'added' : 'updated', state: addon.getAuthenticatorState(registration.clsid) };
}

/** Remove the plugin; false when Windows did not know it. */
export function unregisterPlugin(addon: Pick<WindowsAddon, 'removeAllCredentials' | 'removeAuthenticator'>, clsid: Guid): boolean {
  try {
    addon.removeAllCredentials(clsid);
  } catch (error) {
    const hresult = hresultOfAddonError(error);
    if (hresult !== HRESULT.FILE_NOT_FOUND && hresult !== HRESULT.NTE_NOT_FOUND) throw error;
  }
  try {
    addon.removeAuthenticator(clsid);
    return true;
  } catch (error) {
    if (hresultOfAddonError(error) === HRESULT.NTE_NOT_FOUND) return false;
    throw error;
  }
}
