/**
 * authenticatorGetAssertion (CTAP 2.2 §6.2.2) and authenticatorGetNextAssertion (§6.3).
 * Step comments paraphrase the spec's algorithm.
 * @module
 */
import type { CborValue } from '../cbor/index.js';
import { loadPinUvAuthCiphers } from '../crypto/pinUvAuthProtocol.js';
import { concatBytes, wipe } from '../crypto/bytes.js';
import { isAlgorithmReady, prepareAlgorithm, signMessage } from '../crypto/signing.js';
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
    // Step 6: built-in user verification (with presence when "up" is wanted).
    let evidence: Evidence = NO_EVIDENCE;
    if (uv) {
      evidence = await askUser(ctx, { presence: up, verification: true, rpId: request.rpId, reason: 'getAssertion' });
    }

    // Step 7: locate the credentials bound to this rpId that credProtect lets us use.
    const candidates = findCandidates(config, request, evidence.uv);
    for (const { alg } of candidates) {
      if (!isAlgorithmReady(alg)) await prepareAlgorithm(alg);
    }
    const first = candidates[0];
    if (first === undefined) throw new CtapError(Status.NO_CREDENTIALS, 'no usable credential for this rpId');

    // Step 9: user presence, unless it was collected with UV or the platform asked for a silent assertion.
    if (up && !evidence.up) {
      const userName = candidates.length === 1 ? first.userName : undefined;
      const presence = await askUser(ctx, { presence: true, verification: false, rpId: request.rpId, userName, reason: 'getAssertion' });
      evidence = { up: presence.up, uv: evidence.uv };
    }

    // Steps 10–12: sign with the first credential; more discoverable ones wait for getNextAssertion.
    const response = signAssertion(config, first, request.clientDataHash, evidence, wantsCredBlob, hmacSecret);
    if (candidates.length === 1) return { response };
    handedOver = true;
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
  } finally {
    if (!handedOver) wipeHmacSecretSalts(hmacSecret);
  }
}

/** Neither presence nor verification collected yet. */
const NO_EVIDENCE: Evidence = Object.freeze({ up: false, uv: false });

/** Step 7: the credentials bound to the request's rpId that credProtect lets answer. */
function findCandidates(config: ResolvedConfig, request: GetAssertionRequest, userVerified: boolean): CredentialRecord[] {
  const candidates: CredentialRecord[] = [];
  const allowList = request.allowList;
  if (allowList !== undefined && allowList.length > 0) {
    for (const descriptor of allowList) {
      if (descriptor.type !== 'public-key' || descriptor.id.length > MAX_CREDENTIAL_ID_LENGTH) continue;
      const record = boundTo(request.rpId, config.store.findById(request.rpId, descriptor.id));
      if (record !== undefined && credProtectAllows(record.credProtect, userVerified, true)) {
        // With an allowList any applicable credential may answer: the first one found does.
        candidates.push(record);
        break;
      }
    }
  } else {
    for (const record of config.store.findDiscoverable(request.rpId)) {
      if (boundTo(request.rpId, record) !== undefined && credProtectAllows(record.credProtect, userVerified, false)) {
        candidates.push(record);
      }
    }
  }
  return candidates;
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
  const response = signAssertion(config, record, pending.clientDataHash, pending.evidence, pending.wantsCredBlob, pending.hmacSecret);
  // Step 7: restart the timer.
  pending.lastCallAt = config.clock.now();
  return response;
}

/** Drop continuation state, wiping what it holds. */
export function discardPending(pending: PendingAssertions | undefined): void {
  wipeHmacSecretSalts(pending?.hmacSecret);
}

/**
 * The message an assertion signs (authenticatorData ‖ clientDataHash) is assembled here: signing is
 * synchronous, so one buffer serves every assertion and the path allocates no backing store for it
 * (V8 puts typed arrays over 64 bytes outside the heap, and this message is 69 bytes or more).
 * Nothing secret passes through it.
 */
const messageScratch = new Uint8Array(1024);

/** authData ‖ clientDataHash, in the scratch buffer when it fits (the view is valid until the next call). */
function assertionMessage(authData: Uint8Array, clientDataHash: Uint8Array): Uint8Array {
  const length = authData.length + clientDataHash.length;
  if (length > messageScratch.length) return concatBytes(authData, clientDataHash);
  messageScratch.set(authData, 0);
  messageScratch.set(clientDataHash, authData.length);
  return messageScratch.subarray(0, length);
}

function signAssertion(
  config: ResolvedConfig,
  record: CredentialRecord,
  clientDataHash: Uint8Array,
  evidence: Evidence,
  wantsCredBlob: boolean,
  hmacSecret: HmacSecretSalts | undefined,
): GetAssertionResponse {
  // Extension outputs; most assertions have none, and then no map is made.
  let extensions: Map<string, CborValue> | undefined;
  if (wantsCredBlob) extensions = new Map([[CRED_BLOB, record.credBlob ?? new Uint8Array(0)]]);

  // Unseal first, so a tampered blob fails before the counter moves; the counter is then advanced
  // durably before the response that carries it exists.
  const secrets = config.store.openSecrets(record);
  let signature: Uint8Array;
  let authData: Uint8Array;
  try {
    // hmac-secret: the CredRandom chosen by whether the user was verified (§12.5); a credential
    // created without hmac-secret has none and answers no output.
    if (hmacSecret !== undefined) {
      const output = hmacSecretOutput(hmacSecret, secrets, evidence.uv, config.random);
      if (output !== undefined) (extensions ??= new Map()).set(HMAC_SECRET, output);
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
    signature = signMessage(record.alg, secrets.privateKey, assertionMessage(authData, clientDataHash));
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
