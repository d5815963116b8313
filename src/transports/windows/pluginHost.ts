/**
 * The Windows plugin host: Windows' MakeCredential / GetAssertion calls (through the addon's COM
 * server) in, the core's bare CBOR response map or an HRESULT out.
 *
 * For each operation, in this order:
 * 1. One at a time: a second concurrent operation answers HRESULT_FROM_WIN32(ERROR_BUSY).
 * 2. Fetch Windows' operation-signing key live and verify the request signature over SHA-256 of
 *    the exact request bytes, BEFORE anything is decoded. Fail closed: NTE_BAD_SIGNATURE, nothing
 *    decoded, shown or stored.
 * 3. A locked vault answers E_FAIL without running the core (GetLockStatus already says Locked).
 * 4. Strip a leading command byte (0x01/0x02) if Windows sent one; remove PRF inputs this plugin
 *    cannot use (prfInputs.ts); for getAssertion, let the user choose among several credentials
 *    (credentialChoice.ts).
 * 5. Run the core through `authenticator.handle` with a Windows Hello verifier bound to this
 *    request, and an AbortSignal that CancelOperation (by transaction id) and the timeout fire.
 * 6. Success: the bare CBOR map (no status byte), and the credential cache follows the vault.
 *    Failure: the HRESULT from the one table (hresult.ts).
 * @module
 */
import { decodeStrict, encodeCanonical, isCborMap, type CborMap, type CborValue } from '../../cbor/index.js';
import type { Authenticator } from '../../ctap/authenticator.js';
import { Command } from '../../ctap/commands.js';
import type { CredentialRecord, UserRefusal } from '../../ctap/ports.js';
import { Status } from '../../ctap/status.js';
import type { CredentialCache } from './credentialCache.js';
import { assertionCandidates, narrowToCredential, noChooser, toCandidate, type CredentialChooser } from './credentialChoice.js';
import { FAILURE_HRESULT, HRESULT, describeHresult, hresultForStatus, type HostFailure } from './hresult.js';
import type { Guid, PluginOperation, PluginReply, WindowsAddon } from './native.js';
import { planPrf } from './prfInputs.js';
import { verifyRequestSignature } from './requestSignature.js';
import { windowsHelloVerifier } from './userVerification.js';

/** WebAuthn's longest timeout is 600 s; the host answers just before the addon gives up. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 590_000;
/** How much longer the addon waits for JavaScript than the host's own timeout. */
export const ADDON_TIMEOUT_GRACE_MS = 5_000;

export interface PluginHostOptions {
  readonly addon: WindowsAddon;
  readonly clsid: Guid;
  /** The ready authenticator (its store is the vault; the transport never opens one). */
  readonly authenticator: Authenticator;
  /** Asks the user when several credentials match (default: refuse rather than guess). */
  readonly chooser?: CredentialChooser | undefined;
  /** Windows' credential metadata cache, kept in step after each creation. */
  readonly cache?: CredentialCache | undefined;
  /** Whether the vault is locked now; GetLockStatus follows it. */
  readonly isLocked: () => boolean;
  readonly operationTimeoutMs?: number | undefined;
  /** One line per event; never secrets or full credential ids. */
  readonly log?: ((line: string) => void) | undefined;
  /** Called when an operation starts and when it ends (the idle timer of `serve --com`). */
  readonly onActivity?: (() => void) | undefined;
}

interface Current {
  readonly transactionId: string;
  readonly controller: AbortController;
}

const EXTENSIONS_KEY = { makeCredential: 0x06, getAssertion: 0x04 } as const;
const COMMAND_BYTE = { makeCredential: Command.MakeCredential, getAssertion: Command.GetAssertion } as const;

const REFUSAL_FAILURE: Readonly<Record<UserRefusal, HostFailure>> = {
  cancelled: 'cancelled',
  declined: 'declined',
  unavailable: 'declined',
  timeout: 'timeout',
};

const fail = (failure: HostFailure): PluginReply => ({ hresult: FAILURE_HRESULT[failure] });
const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
/** A credential id shortened for logs. */
const shortId = (id: Uint8Array) => `${hex(id.subarray(0, 4))}…`;

/** The CTAP parameters within Windows' request bytes: a leading command byte is tolerated. */
export function ctapParameters(request: Uint8Array, kind: PluginOperation['kind']): Uint8Array | undefined {
  const first = request[0];
  if (first === undefined) return undefined;
  if (first === Command.MakeCredential || first === Command.GetAssertion) {
    return first === COMMAND_BYTE[kind] ? request.subarray(1) : undefined;
  }
  // A CBOR map (major type 5) is what the core expects.
  return (first & 0xe0) === 0xa0 ? request : undefined;
}

export class PluginHost {
  private current: Current | undefined;
  private readonly log: (line: string) => void;
  private readonly timeoutMs: number;

  constructor(private readonly options: PluginHostOptions) {
    this.log = options.log ?? (() => undefined);
    this.timeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  }

  /** Whether an operation is in progress. */
  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Register the COM class and start answering Windows. */
  start(): void {
    this.options.addon.startComServer(
      this.options.clsid,
      {
        onOperation: (operation, reply) => {
          let replied = false;
          const once = (answer: PluginReply) => {
            if (replied) return;
            replied = true;
            try {
              reply(answer);
            } catch (error) {
              this.log(`could not hand the reply to the addon: ${String(error)}`);
            }
          };
          this.handleOperation(operation).then(once, (error: unknown) => {
            this.log(`operation failed unexpectedly: ${describeError(error)}`);
            once(fail('other'));
          });
        },
        onCancel: (transactionId) => this.cancel(transactionId),
      },
      { timeoutMs: this.timeoutMs + ADDON_TIMEOUT_GRACE_MS },
    );
    this.refreshLockStatus();
  }

  /** Revoke the class registration (idempotent) and abort what is pending. */
  stop(): void {
    this.current?.controller.abort('cancelled');
    this.options.addon.stopComServer();
  }

  /** Tell Windows whether the vault is locked (call after it changes). Never throws. */
  refreshLockStatus(): void {
    try {
      this.options.addon.setLockStatus(this.options.isLocked());
    } catch (error) {
      this.log(`could not update the lock status: ${describeError(error)}`);
    }
  }

  /** CancelOperation: aborts the pending operation if it has this transaction id. */
  cancel(transactionId: Guid): void {
    const current = this.current;
    if (current === undefined || current.transactionId !== transactionId.toLowerCase()) {
      this.log(`CancelOperation for ${transactionId}: no such operation in progress`);
      return;
    }
    this.log(`CancelOperation for ${transactionId}: cancelling`);
    current.controller.abort('cancelled');
  }

  /**
   * Answer one operation. Resolves with a reply, never rejects. Replies promptly on cancel or
   * timeout; the host stays busy until the core has actually finished.
   */
  handleOperation(operation: PluginOperation): Promise<PluginReply> {
    if (this.current !== undefined) {
      this.log(`${operation.kind} ${operation.transactionId}: busy with ${this.current.transactionId}: ${describeHresult(HRESULT.BUSY)}`);
      return Promise.resolve(fail('busy'));
    }
    const controller = new AbortController();
    const current: Current = { transactionId: String(operation.transactionId).toLowerCase(), controller };
    this.current = current;
    this.activity();

    const work = this.run(operation, controller.signal)
      .catch((error: unknown): PluginReply => {
        this.log(`${operation.kind} ${operation.transactionId}: unexpected error: ${describeError(error)}`);
        return fail('other');
      })
      .finally(() => {
        if (this.current === current) this.current = undefined;
        this.refreshLockStatus();
        this.activity();
      });
    const timer = setTimeout(() => controller.abort('timeout'), this.timeoutMs);
    const aborted = new Promise<PluginReply>((resolve) => {
      controller.signal.addEventListener('abort', () => resolve(fail(controller.signal.reason === 'timeout' ? 'timeout' : 'cancelled')), {
        once: true,
      });
    });
    return Promise.race([work, aborted]).then((reply) => {
      clearTimeout(timer);
      this.log(`${operation.kind} ${operation.transactionId}: ${reply.hresult === 0 ? 'S_OK' : describeHresult(reply.hresult)}`);
      return reply;
    });
  }

  private activity(): void {
    try {
      this.options.onActivity?.();
    } catch {
      // The idle timer must never break an operation.
    }
  }

  private async run(operation: PluginOperation, signal: AbortSignal): Promise<PluginReply> {
    const { addon, clsid, authenticator } = this.options;
    const tag = `${operation.kind} ${operation.transactionId}`;
    if (operation.kind !== 'makeCredential' && operation.kind !== 'getAssertion') return fail('unsupported');

    // 2. The signature first; nothing is decoded before it verifies.
    let keyBlob: Uint8Array;
    try {
      keyBlob = addon.getOperationSigningPublicKey(clsid);
    } catch (error) {
      this.log(`${tag}: REFUSED: Windows' operation-signing key is not available (${describeError(error)})`);
      return fail('bad-signature');
    }
    const check = verifyRequestSignature(keyBlob, operation.request, operation.requestSignature);
    if (!check.ok) {
      this.log(`${tag}: REFUSED: request signature check failed: ${check.reason}. If every request fails this way, Windows may have changed how it signs requests.`);
      return fail('bad-signature');
    }

    // 3. Locked vault.
    if (this.options.isLocked()) {
      this.log(`${tag}: the vault is locked`);
      return fail('other');
    }

    // 4. The CTAP parameters, PRF inputs, and the credential choice.
    let params = ctapParameters(operation.request, operation.kind);
    if (params === undefined) {
      this.log(`${tag}: the request is neither a CBOR map nor a ${operation.kind} command`);
      return fail('malformed');
    }
    params = this.withoutUnusablePrf(params, operation.kind, tag);

    const store = authenticator.config.store;
    if (operation.kind === 'getAssertion') {
      const choice = assertionCandidates(store, params);
      if (choice.kind === 'ask') {
        const chooser = this.options.chooser ?? noChooser;
        const verdict = await chooser.choose(
          { hwnd: operation.hwnd, transactionId: operation.transactionId, rpId: choice.rpId, candidates: choice.candidates.map(toCandidate) },
          signal,
        );
        if (signal.aborted) return fail(signal.reason === 'timeout' ? 'timeout' : 'cancelled');
        if (!verdict.ok) {
          this.log(`${tag}: ${choice.candidates.length} credentials match; no choice was made (${verdict.refusal})`);
          return fail(REFUSAL_FAILURE[verdict.refusal]);
        }
        const chosen = choice.candidates[verdict.index];
        if (chosen === undefined) throw new RangeError(`the chooser answered ${verdict.index} of ${choice.candidates.length}`);
        this.log(`${tag}: the user chose credential ${shortId(chosen.id)} of ${choice.candidates.length}`);
        params = narrowToCredential(choice.params, chosen.id);
      }
    }
    const rpId = operation.kind === 'makeCredential' ? makeCredentialRpId(params) : undefined;
    const before = rpId === undefined ? [] : store.findDiscoverable(rpId);

    // 5. The core.
    const user = windowsHelloVerifier({
      addon,
      clsid,
      hwnd: operation.hwnd,
      transactionId: operation.transactionId,
      request: operation.request,
      log: (line) => this.log(`${tag}: ${line}`),
    });
    const response = await authenticator.handle(COMMAND_BYTE[operation.kind], params, { user, signal });
    if (signal.aborted) return fail(signal.reason === 'timeout' ? 'timeout' : 'cancelled');

    // 6. The answer.
    if (response.status !== Status.OK || response.body === undefined) {
      if (user.badSignature) return fail('bad-signature');
      return { hresult: hresultForStatus(response.status) };
    }
    if (rpId !== undefined) this.followCreation(rpId, before, tag);
    return { hresult: 0, response: response.body };
  }

  /** Remove PRF/hmac-secret inputs this plugin cannot use (see prfInputs.ts); bytes unchanged otherwise. */
  private withoutUnusablePrf(params: Uint8Array, kind: PluginOperation['kind'], tag: string): Uint8Array {
    let map: CborMap;
    try {
      const decoded = decodeStrict(params);
      if (!isCborMap(decoded)) return params;
      map = decoded;
    } catch {
      return params; // the core answers the malformed request itself
    }
    const extensions = map.get(EXTENSIONS_KEY[kind]);
    if (!isCborMap(extensions)) return params;
    const plan = planPrf(extensions, kind);
    for (const note of plan.notes) this.log(`${tag}: ${note}`);
    if (plan.remove.length === 0) return params;
    const kept = new Map<CborValue, CborValue>([...extensions].filter(([name]) => !plan.remove.includes(name as string)));
    const next = new Map<CborValue, CborValue>(map);
    if (kept.size === 0) next.delete(EXTENSIONS_KEY[kind]);
    else next.set(EXTENSIONS_KEY[kind], kept);
    return encodeCanonical(next);
  }

  /** After a creation: add the new credential to Windows' cache, remove the one it replaced. */
  private followCreation(rpId: string, before: readonly CredentialRecord[], tag: string): void {
    const cache = this.options.cache;
    if (cache === undefined) return;
    try {
      const after = this.options.authenticator.config.store.findDiscoverable(rpId);
      const afterIds = new Set(after.map((r) => hex(r.id)));
      const beforeIds = new Set(before.map((r) => hex(r.id)));
      const removed = cache.remove(before.filter((r) => !afterIds.has(hex(r.id))));
      const added = cache.add(after.filter((r) => !beforeIds.has(hex(r.id))));
      this.log(`${tag}: credential cache: ${added} added, ${removed} removed`);
    } catch (error) {
      // The credential exists; the picker learns of it at the next resync.
      this.log(`${tag}: could not update Windows' credential cache: ${describeError(error)}`);
    }
  }
}

function makeCredentialRpId(params: Uint8Array): string | undefined {
  try {
    const map = decodeStrict(params);
    const rp = isCborMap(map) ? map.get(0x02) : undefined;
    const id = isCborMap(rp) ? rp.get('id') : undefined;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
