/**
 * The authenticator: typed operations, and the byte entry point that strictly decodes a request,
 * runs the operation and canonically encodes the response. This is the only place where an error
 * becomes a CTAP status, and `handle` never throws.
 * @module
 */
import { CborError, decodeStrict } from '../cbor/index.js';
import { loadPinUvAuthCiphers } from '../crypto/pinUvAuthProtocol.js';
import { resolveConfig, MAX_MSG_SIZE, type AuthenticatorOptions, type ResolvedConfig } from './config.js';
import { Command } from './commands.js';
import { clientPin } from './clientPin.js';
import { discardPending, getAssertion, getNextAssertion, type PendingAssertions } from './getAssertion.js';
import { getInfo } from './getInfo.js';
import { makeCredential, type MakeCredentialResult } from './makeCredential.js';
import { KeyAgreementKeys } from './pinUvAuth.js';
import { StoreError, type RequestContext } from './ports.js';
import { STORE_ERROR_STATUS } from './refusals.js';
import { CtapError, SPEC_STATUSES, Status, statusName, type StatusCode } from './status.js';
import { askUser } from './userPresence.js';
import { encodeClientPinResponse, parseClientPinRequest, type ClientPinRequest, type ClientPinResponse } from './wire/clientPin.js';
import { requestMap } from './wire/fields.js';
import { encodeGetAssertionResponse, parseGetAssertionRequest, type GetAssertionRequest, type GetAssertionResponse } from './wire/getAssertion.js';
import { encodeGetInfoResponse, type AuthenticatorInfo } from './wire/getInfo.js';
import { encodeMakeCredentialResponse, parseMakeCredentialRequest, type MakeCredentialRequest } from './wire/makeCredential.js';

export interface CtapResponse {
  readonly status: StatusCode;
  /** CBOR body, present on success for commands that answer one. */
  readonly body?: Uint8Array | undefined;
}

const EMPTY = new Uint8Array(0);

/** Commands that use credentials: refused while the store is locked, before anything else happens. */
const USES_CREDENTIALS: ReadonlySet<number> = new Set([Command.MakeCredential, Command.GetAssertion, Command.GetNextAssertion]);

export class Authenticator {
  readonly config: ResolvedConfig;
  private pendingAssertions: PendingAssertions | undefined;
  /** The command `handle` is working on (it may be waiting for the user), if any. */
  private operation: number | undefined;
  private readonly infoBytes: Uint8Array;
  /** The PIN/UV auth protocols' key agreement keys: one instance, one power-up. */
  private readonly keyAgreement: KeyAgreementKeys;

  constructor(options: AuthenticatorOptions) {
    this.config = resolveConfig(options);
    this.infoBytes = encodeGetInfoResponse(getInfo(this.config));
    this.keyAgreement = new KeyAgreementKeys(this.config.random);
  }

  /** Continuation state for getNextAssertion; replacing it wipes the secrets the old one held. */
  private get pending(): PendingAssertions | undefined {
    return this.pendingAssertions;
  }

  private set pending(next: PendingAssertions | undefined) {
    if (this.pendingAssertions !== next) discardPending(this.pendingAssertions);
    this.pendingAssertions = next;
  }

  getInfo(): AuthenticatorInfo {
    return getInfo(this.config);
  }

  /** The canonical getInfo response body (what platforms receive, and what Windows registration carries). */
  getInfoBytes(): Uint8Array {
    return this.infoBytes.slice();
  }

  makeCredential(request: MakeCredentialRequest, ctx: RequestContext): Promise<MakeCredentialResult> {
    return makeCredential(this.config, request, ctx, this.keyAgreement);
  }

  async getAssertion(request: GetAssertionRequest, ctx: RequestContext): Promise<GetAssertionResponse> {
    this.pending = undefined;
    const result = await getAssertion(this.config, request, ctx, this.keyAgreement);
    this.pending = result.pending;
    return result.response;
  }

  async getNextAssertion(): Promise<GetAssertionResponse> {
    const pending = this.pending;
    try {
      return getNextAssertion(this.config, pending);
    } catch (error) {
      // A refused continuation (too late, nothing left, credential gone) ends the sequence.
      this.pending = undefined;
      throw error;
    } finally {
      if (pending?.remaining.length === 0) this.pending = undefined;
    }
  }

  /** authenticatorClientPIN (CTAP 2.2 §6.5): key agreement for hmac-secret; no PIN is ever set. */
  async clientPin(request: ClientPinRequest): Promise<ClientPinResponse> {
    // setPin decrypts with AES, which loads on first use.
    await loadPinUvAuthCiphers();
    return clientPin(this.keyAgreement, request);
  }

  /** authenticatorSelection (CTAP 2.2 §6.9): the user touches to pick this authenticator. */
  async selection(ctx: RequestContext): Promise<void> {
    await askUser(ctx, { presence: true, verification: false, rpId: '', reason: 'selection' });
  }

  /**
   * The byte entry point: `command` and its CBOR parameters in, a status and CBOR body out.
   * Never throws; never answers a status outside the spec's table.
   *
   * One operation at a time: while a command is in progress (makeCredential, getAssertion and
   * selection may wait minutes for the user), every other command but getInfo answers
   * CTAP1_ERR_CHANNEL_BUSY at once and changes nothing: not the operation in progress, not its
   * user prompt, not the getNextAssertion state. Transports that already serialise (CTAPHID, the
   * Windows host, stdio) never see it; it protects an authenticator shared between transports.
   *
   * While the store is locked, commands that use credentials answer CTAP2_ERR_OPERATION_DENIED
   * before any prompt, key generation or store access (the same status as the store's 'locked').
   */
  async handle(command: number, params: Uint8Array, ctx: RequestContext): Promise<CtapResponse> {
    if (this.operation !== undefined && command !== Command.GetInfo) {
      const busy = new CtapError(Status.CHANNEL_BUSY, `busy with command 0x${this.operation.toString(16).padStart(2, '0')}`);
      this.logFailure(command, Status.CHANNEL_BUSY, busy);
      return { status: Status.CHANNEL_BUSY };
    }
    const holds = command !== Command.GetInfo;
    if (holds) this.operation = command;
    try {
      // Continuation state survives only until the next command that is not getNextAssertion.
      if (command !== Command.GetNextAssertion) this.pending = undefined;
      if (USES_CREDENTIALS.has(command) && this.config.store.isLocked?.() === true) {
        this.pending = undefined;
        throw new StoreError('locked', 'the vault is locked');
      }
      if (params.length + 1 > MAX_MSG_SIZE) throw new CtapError(Status.REQUEST_TOO_LARGE, 'request too large');
      switch (command) {
        case Command.GetInfo:
          return { status: Status.OK, body: this.infoBytes.slice() };
        case Command.MakeCredential: {
          const request = parseMakeCredentialRequest(requestMap(decodeStrict(params)));
          const result = await this.makeCredential(request, ctx);
          return { status: Status.OK, body: encodeMakeCredentialResponse(result) };
        }
        case Command.GetAssertion: {
          const request = parseGetAssertionRequest(requestMap(decodeStrict(params)));
          return { status: Status.OK, body: encodeGetAssertionResponse(await this.getAssertion(request, ctx)) };
        }
        case Command.GetNextAssertion:
          return { status: Status.OK, body: encodeGetAssertionResponse(await this.getNextAssertion()) };
        case Command.ClientPin: {
          const request = parseClientPinRequest(requestMap(decodeStrict(params)));
          return { status: Status.OK, body: encodeClientPinResponse(await this.clientPin(request)) };
        }
        case Command.Selection:
          await this.selection(ctx);
          return { status: Status.OK, body: EMPTY };
        default:
          throw new CtapError(Status.INVALID_COMMAND, 'unsupported command');
      }
    } catch (error) {
      const status = statusOf(error);
      this.logFailure(command, status, error);
      return { status };
    } finally {
      if (holds) this.operation = undefined;
    }
  }

  private logFailure(command: number, status: number, error: unknown): void {
    try {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'non-error thrown';
      this.config.log(`command 0x${command.toString(16).padStart(2, '0')} → ${statusName(status)} (${reason})`);
    } catch {
      // Logging must never turn an answer into a throw.
    }
  }
}

/** The one mapping from an error to a CTAP status. */
export function statusOf(error: unknown): StatusCode {
  if (error instanceof CtapError && SPEC_STATUSES.has(error.status) && error.status !== Status.OK) return error.status;
  if (error instanceof CborError) return Status.INVALID_CBOR;
  if (error instanceof StoreError) return STORE_ERROR_STATUS[error.code] ?? Status.OTHER;
  return Status.OTHER;
}
