/**
 * One CBOR request while the authenticator core works on it: the AbortSignal that CANCEL,
 * a channel re-sync, a disconnect, the transaction timeout or shutdown fires; KEEPALIVE every
 * interval (UPNEEDED while the user is being asked, PROCESSING otherwise); and the wrapper around
 * the request's UserVerifier that knows when the user is being asked and gives up the moment the
 * request is aborted, whatever the wrapped verifier does.
 * @module
 */
import type { UserPrompt, UserRefusal, UserVerdict, UserVerifier } from '../../ctap/index.js';
import { KeepaliveStatus, type KeepaliveStatusCode } from './protocol.js';

/**
 * Why a request was aborted. `cancel` and `timeout` still answer (KEEPALIVE_CANCEL, USER_ACTION_TIMEOUT);
 * the others drop the answer, because nobody is left to receive it or the client asked to start over.
 */
export type AbortCause = 'cancel' | 'timeout' | 'resync' | 'disconnect' | 'shutdown';

export interface PendingRequestOptions {
  readonly keepaliveIntervalMs: number;
  readonly timeoutMs: number;
  readonly sendKeepalive: (status: KeepaliveStatusCode) => void;
}

export class PendingRequest {
  private readonly controller = new AbortController();
  private asking = 0;
  private dropped = false;
  private readonly ticker: NodeJS.Timeout;
  private readonly deadline: NodeJS.Timeout;

  constructor(options: PendingRequestOptions) {
    this.ticker = setInterval(() => {
      if (!this.dropped) options.sendKeepalive(this.status);
    }, options.keepaliveIntervalMs);
    this.deadline = setTimeout(() => this.abort('timeout'), options.timeoutMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** What a KEEPALIVE says right now. */
  get status(): KeepaliveStatusCode {
    return this.asking > 0 ? KeepaliveStatus.UserPresenceNeeded : KeepaliveStatus.Processing;
  }

  /** Whether the answer may still be sent. */
  get answerable(): boolean {
    return !this.dropped;
  }

  abort(cause: AbortCause): void {
    if (cause !== 'cancel' && cause !== 'timeout') this.dropped = true;
    if (!this.controller.signal.aborted) this.controller.abort(cause);
  }

  /** Stops the keepalives and the deadline; call once the core has answered. */
  finish(): void {
    clearInterval(this.ticker);
    clearTimeout(this.deadline);
  }

  /** `user`, seen through this request: counted while asking, and refusing as soon as the request is aborted. */
  watch(user: UserVerifier): UserVerifier {
    return { canVerify: user.canVerify, confirm: (prompt, signal) => this.confirm(user, prompt, signal ?? this.signal) };
  }

  private async confirm(user: UserVerifier, prompt: UserPrompt, signal: AbortSignal): Promise<UserVerdict> {
    const asksUser = prompt.presence || prompt.verification;
    if (asksUser) this.asking++;
    try {
      return await new Promise<UserVerdict>((resolve) => {
        const refuse = () => resolve({ ok: false, refusal: this.refusal() });
        if (signal.aborted) {
          refuse();
          return;
        }
        signal.addEventListener('abort', refuse, { once: true });
        user
          .confirm(prompt, signal)
          .then(
            (verdict) => resolve(signal.aborted ? { ok: false, refusal: this.refusal() } : verdict),
            () => resolve({ ok: false, refusal: 'unavailable' }),
          )
          .finally(() => signal.removeEventListener('abort', refuse));
      });
    } finally {
      if (asksUser) this.asking--;
    }
  }

  private refusal(): UserRefusal {
    return this.controller.signal.reason === 'timeout' ? 'timeout' : 'cancelled';
  }
}
