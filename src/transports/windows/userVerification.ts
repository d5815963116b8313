/**
 * User verification through Windows Hello, for one plugin operation: the plugin API's
 * PerformUserVerification with the request's window handle, transaction id and the user's name.
 * Windows answers with a signature by its user-verification key over SHA-256 of the request bytes;
 * UV is reported only once that signature verifies with the UV public key (fetched live).
 * @module
 */
import type { UserPrompt, UserRefusal, UserVerdict, UserVerifier } from '../../ctap/ports.js';
import { HRESULT, describeHresult, hresultOfAddonError } from './hresult.js';
import type { Guid, WindowsAddon } from './native.js';
import { verifyRequestSignature } from './requestSignature.js';

export interface HelloVerifierOptions {
  readonly addon: Pick<WindowsAddon, 'performUserVerification' | 'getUserVerificationPublicKey'>;
  readonly clsid: Guid;
  readonly hwnd: bigint;
  readonly transactionId: Guid;
  /** The request bytes exactly as Windows sent them (what the UV key signs). */
  readonly request: Uint8Array;
  readonly log?: ((line: string) => void) | undefined;
}

/** What happened, for the host to turn into the right HRESULT. */
export interface HelloVerifier extends UserVerifier {
  /** Set when Windows' UV signature did not verify (the host answers NTE_BAD_SIGNATURE). */
  readonly badSignature: boolean;
}

function refusalOf(hresult: number | undefined): UserRefusal {
  if (hresult === HRESULT.NTE_USER_CANCELLED || hresult === HRESULT.CANCELLED) return 'cancelled';
  if (hresult === HRESULT.TIMEOUT) return 'timeout';
  return 'unavailable';
}

function hintFor(prompt: UserPrompt): string {
  switch (prompt.reason) {
    case 'makeCredential':
      return `Create a passkey for ${prompt.rpId} in Latchkey`;
    case 'excluded':
      return `${prompt.rpId}: you already have a passkey here`;
    default:
      return `Sign in to ${prompt.rpId} with Latchkey`;
  }
}

/**
 * A UserVerifier bound to one operation. One successful Hello prompt serves the whole operation
 * (a later prompt in the same operation is answered from it), so the user is asked once.
 */
export function windowsHelloVerifier(options: HelloVerifierOptions): HelloVerifier {
  const log = options.log ?? (() => undefined);
  let verified = false;
  let badSignature = false;

  async function verifyOnce(prompt: UserPrompt, signal: AbortSignal | undefined): Promise<UserVerdict> {
    if (signal?.aborted) return { ok: false, refusal: 'cancelled' };
    const call = options.addon.performUserVerification({
      hwnd: options.hwnd,
      transactionId: options.transactionId,
      userName: prompt.userName ?? prompt.rpId,
      displayHint: hintFor(prompt),
    });
    // Windows' prompt cannot be withdrawn from here; a cancelled operation stops waiting for it.
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    let signature: Uint8Array;
    try {
      const outcome = await Promise.race([call, aborted]);
      if (outcome === 'aborted') {
        call.catch(() => undefined);
        return { ok: false, refusal: 'cancelled' };
      }
      signature = outcome;
    } catch (error) {
      const hresult = hresultOfAddonError(error);
      log(`Windows Hello did not verify the user: ${hresult === undefined ? String(error) : describeHresult(hresult)}`);
      return { ok: false, refusal: refusalOf(hresult) };
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }

    let keyBlob: Uint8Array;
    try {
      keyBlob = options.addon.getUserVerificationPublicKey(options.clsid);
    } catch (error) {
      badSignature = true;
      log(`user verification refused: the UV public key is not available (${String(error)})`);
      return { ok: false, refusal: 'unavailable' };
    }
    const check = verifyRequestSignature(keyBlob, options.request, signature);
    if (!check.ok) {
      badSignature = true;
      log(`user verification refused: ${check.reason.replace('request carries no signature', 'UV response is empty')}`);
      return { ok: false, refusal: 'unavailable' };
    }
    verified = true;
    return { ok: true, up: true, uv: true };
  }

  return {
    canVerify: true,
    get badSignature() {
      return badSignature;
    },
    async confirm(prompt, signal) {
      // A verified Hello gesture proves presence as well; the core sets UV only where it asked.
      if (verified) return { ok: true, up: prompt.presence, uv: prompt.verification };
      const verdict = await verifyOnce(prompt, signal);
      return verdict.ok ? { ok: true, up: prompt.presence, uv: prompt.verification } : verdict;
    },
  };
}
