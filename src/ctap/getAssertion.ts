/**
 * authenticatorGetAssertion (CTAP 2.2 §6.2.2) and authenticatorGetNextAssertion (§6.3).
 * Step comments paraphrase the spec's algorithm.
 * @module
 */
import type { CborValue } from '../cbor/index.js';
import { loadPinUvAuthCiphers } from '../crypto/pinUvAuthProtocol.js';
import { concatBytes, wipe } from '../crypto/bytes.js';
import { prepareAlgorithm, signMessage } from '../crypto/signing.js';
import { encodeAuthData, rpIdHash } from './authData.js';
import { MAX_CREDENTIAL_ID_LENGTH, NEXT_ASSERTION_TIMEOUT_MS, type ResolvedConfig } from './config.js';
import { CRED_BLOB, readCredBlobGetInput } from './extensions/credBlob.js';
import { credProtectAllows } from './extensions/credProtect.js';
import {
  HMAC_SECRET,
  hmacSecretOutput,
  openHmacSecretSalts,
  readHmacSecretGetInput,
  wipeHmacSecretSalts,
  type HmacSecretSalts,
} from './extensions/hmacSecret.js';
import { checkPinUvAuthParams, verifyPinUvAuthParam, type KeyAgreementKeys } from './pinUvAuth.js';
import type { CredentialRecord, RequestContext } from './ports.js';
import { CtapError, Status } from './status.js';
import { askUser, type Evidence } from './userPresence.js';
import {
  validateGetAssertionRequest,
  type GetAssertionRequest,
  type GetAssertionResponse,
} from './wire/getAssertion.js';

/** What getNextAssertion needs to continue where getAssertion stopped. */
export interface PendingAssertions {
  readonly rpId: string;
  readonly clientDataHash: Uint8Array;
  readonly evidence: Evidence;
  readonly wantsCredBlob: boolean;
  /** hmac-secret's verified salts and shared secret; the holder wipes them when the sequence ends. */
  readonly hmacSecret?: HmacSecretSalts | undefined;
  /** Credential ids still to answer, in order. */
  readonly remaining: Uint8Array[];
  /** When the last getAssertion/getNextAssertion of this sequence answered (the 30 s timer restarts on each). */
  lastCallAt: number;
}

export interface GetAssertionResult {
  readonly response: GetAssertionResponse;
  readonly pending?: PendingAssertions | undefined;
}

export async function getAssertion(
  config: ResolvedConfig,
  request: GetAssertionRequest,
  ctx: RequestContext,
  keys: KeyAgreementKeys,
): Promise<GetAssertionResult> {
  validateGetAssertionRequest(request);

  // Steps 1–2: a zero-length pinUvAuthParam (touch, then PIN_NOT_SET), else its protocol.
  if (request.pinUvAuthParam !== undefined) {
    await checkPinUvAuthParams(config, ctx, request.rpId, request.pinUvAuthParam, request.pinUvAuthProtocol);
  }

  // Step 3: options. "rk" has no meaning here; "up" defaults to true; "uv" needs a method.
  if (request.options.rk !== undefined) {
    throw new CtapError(Status.UNSUPPORTED_OPTION, 'the "rk" option is not valid for getAssertion');
  }
  const { up = true, uv = false } = request.options;
  if (uv && !ctx.user.canVerify) throw new CtapError(Status.INVALID_OPTION, 'user verification is not available');

  // Extension inputs are read before anyone is asked, so a malformed one costs no prompt.
  const wantsCredBlob = readCredBlobGetInput(request.extensions?.get(CRED_BLOB));
  const hmacSecretInput = readHmacSecretGetInput(request.extensions?.get(HMAC_SECRET));
  // hmac-secret outputs are keys (a disk unlock, an E2E vault): never for a silent assertion.
  if (hmacSecretInput !== undefined && !up) {
    throw new CtapError(Status.UNSUPPORTED_OPTION, 'hmac-secret needs user presence');
  }

  // Step 6, with a pinUvAuthParam: it must verify against the pinUvAuthToken (none exists).
  verifyPinUvAuthParam(request.pinUvAuthParam);

  // hmac-secret's key agreement, saltAuth and salts are checked now, before any prompt (§12.5).
  if (hmacSecretInput !== undefined) await loadPinUvAuthCiphers();
  const hmacSecret = hmacSecretInput === undefined ? undefined : openHmacSecretSalts(keys, hmacSecretInput);
  let handedOver = false;
  try {
    const result = await assert(config, request, ctx, { up, uv, wantsCredBlob, hmacSecret });
    handedOver = result.pending !== undefined;
    return result;
  } finally {
    if (!handedOver) wipeHmacSecretSalts(hmacSecret);
  }
}

/** Algorithms whose signing code is loaded (it stays loaded): no await for them on the next assertion. */
const preparedAlgorithms = new Set<number>();

interface AssertionChoices {
  readonly up: boolean;
  readonly uv: boolean;
  readonly wantsCredBlob: boolean;
  readonly hmacSecret: HmacSecretSalts | undefined;
}

/** Steps 6–12 once every input has been accepted. */
async function assert(
  config: ResolvedConfig,
  request: GetAssertionRequest,
  ctx: RequestContext,
  { up, uv, wantsCredBlob, hmacSecret }: AssertionChoices,
): Promise<GetAssertionResult> {
  // Step 6: built-in user verification (with presence when "up" is wanted).
  let evidence: Evidence = { up: false, uv: false };
  if (uv) {
    evidence = await askUser(ctx, { presence: up, verification: true, rpId: request.rpId, reason: 'getAssertion' });
  }

  // Step 7: locate the credentials bound to this rpId that credProtect lets us use.
  const viaAllowList = request.allowList !== undefined && request.allowList.length > 0;
  const candidates: CredentialRecord[] = [];
  if (viaAllowList) {
    for (const descriptor of request.allowList ?? []) {
      if (descriptor.type !== 'public-key' || descriptor.id.length > MAX_CREDENTIAL_ID_LENGTH) continue;
      const record = boundTo(request.rpId, config.store.findById(request.rpId, descriptor.id));
      if (record !== undefined && credProtectAllows(record.credProtect, evidence.uv, true)) {
        // With an allowList any applicable credential may answer: the first one found does.
        candidates.push(record);
        break;
      }
    }
  } else {
    for (const record of config.store.findDiscoverable(request.rpId)) {
      if (boundTo(request.rpId, record) !== undefined && credProtectAllows(record.credProtect, evidence.uv, false)) {
        candidates.push(record);
      }
    }
  }
  for (const { alg } of candidates) {
    if (preparedAlgorithms.has(alg)) continue;
    await prepareAlgorithm(alg);
    preparedAlgorithms.add(alg);
  }
  const first = candidates[0];
  if (first === undefined) throw new CtapError(Status.NO_CREDENTIALS, 'no usable credential for this rpId');

  // Step 9: user presence, unless it was collected with UV or the platform asked for a silent assertion.
  if (up && !evidence.up) {
    const single = candidates.length === 1 ? first : undefined;
    evidence = {
      up: (await askUser(ctx, {
        presence: true,
        verification: false,
        rpId: request.rpId,
        userName: single?.userName,
        reason: 'getAssertion',
      })).up,
      uv: evidence.uv,
    };
  }

  // Steps 10–12: sign with the first credential; more discoverable ones wait for getNextAssertion.
  const response = signAssertion(config, first, request.clientDataHash, evidence, { wantsCredBlob, hmacSecret });
  if (candidates.length > 1) {
    return {
      response: { ...response, numberOfCredentials: candidates.length },
      pending: {
        rpId: request.rpId,
        clientDataHash: request.clientDataHash.slice(),
        evidence,
        wantsCredBlob,
        hmacSecret,
        remaining: candidates.slice(1).map((c) => c.id),
        lastCallAt: config.clock.now(),
      },
    };
  }
  return { response };
}

/** Next credential of a pending multi-credential assertion. The caller drops `pending` when it is spent. */
export function getNextAssertion(config: ResolvedConfig, pending: PendingAssertions | undefined): GetAssertionResponse {
  // Steps 1–3: there must be state, it must be fresh, and it must have a credential left.
  if (pending === undefined) throw new CtapError(Status.NOT_ALLOWED, 'no getAssertion to continue');
  if (config.clock.now() - pending.lastCallAt > NEXT_ASSERTION_TIMEOUT_MS) {
    throw new CtapError(Status.NOT_ALLOWED, 'getNextAssertion came too late');
  }
  const id = pending.remaining.shift();
  if (id === undefined) throw new CtapError(Status.NOT_ALLOWED, 'no more credentials');
  // The credential may have been deleted in between: then it cannot answer.
  const record = boundTo(pending.rpId, config.store.findById(pending.rpId, id));
  if (record === undefined) throw new CtapError(Status.NO_CREDENTIALS, 'the credential is gone');
  const response = signAssertion(config, record, pending.clientDataHash, pending.evidence, pending);
  // Step 7: restart the timer.
  pending.lastCallAt = config.clock.now();
  return response;
}

/** The extensions a sequence asked for, answered per credential. */
interface RequestedExtensions {
  readonly wantsCredBlob: boolean;
  readonly hmacSecret?: HmacSecretSalts | undefined;
}

/** Drop continuation state, wiping what it holds. */
export function discardPending(pending: PendingAssertions | undefined): void {
  wipeHmacSecretSalts(pending?.hmacSecret);
}

function signAssertion(
  config: ResolvedConfig,
  record: CredentialRecord,
  clientDataHash: Uint8Array,
  evidence: Evidence,
  requested: RequestedExtensions,
): GetAssertionResponse {
  const extensions = new Map<string, CborValue>();
  if (requested.wantsCredBlob) extensions.set(CRED_BLOB, record.credBlob ?? new Uint8Array(0));

  // Unseal first, so a tampered blob fails before the counter moves; the counter is then advanced
  // durably before the response that carries it exists.
  const secrets = config.store.openSecrets(record);
  let signature: Uint8Array;
  let authData: Uint8Array;
  try {
    // hmac-secret: the CredRandom chosen by whether the user was verified (§12.5); a credential
    // created without hmac-secret has none and answers no output.
    if (requested.hmacSecret !== undefined) {
      const output = hmacSecretOutput(requested.hmacSecret, secrets, evidence.uv, config.random);
      if (output !== undefined) extensions.set(HMAC_SECRET, output);
    }
    const signCount = config.store.recordUse(record, config.clock.now());
    authData = encodeAuthData({
      rpIdHash: rpIdHash(record.rpId),
      userPresent: evidence.up,
      userVerified: evidence.uv,
      backupEligible: record.backupEligible,
      backupState: record.backupState,
      signCount,
      extensions,
    });
    const message = concatBytes(authData, clientDataHash);
    signature = signMessage(record.alg, secrets.privateKey, message);
  } finally {
    wipe(secrets.privateKey, secrets.hmacSecretWithUv, secrets.hmacSecretWithoutUv);
  }

  // The user entity goes back for discoverable credentials; names only after user verification.
  const user = record.discoverable
    ? {
        id: record.userId,
        name: evidence.uv ? record.userName : undefined,
        displayName: evidence.uv ? record.userDisplayName : undefined,
      }
    : undefined;
  return { credentialId: record.id, authData, signature, user };
}

/**
 * The store promises to bind ids to their rpId; the core checks it again on every use, so a faulty
 * store can never make one relying party's credential answer another (the solo1#306 failure).
 */
export function boundTo(rpId: string, record: CredentialRecord | undefined): CredentialRecord | undefined {
  return record !== undefined && record.rpId === rpId ? record : undefined;
}
