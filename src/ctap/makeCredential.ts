/**
 * authenticatorMakeCredential (CTAP 2.2 §6.1.2). Step comments paraphrase the spec's algorithm.
 * @module
 */
import type { CborValue } from '../cbor/index.js';
import { loadPinUvAuthCiphers } from '../crypto/pinUvAuthProtocol.js';
import { concatBytes, wipe } from '../crypto/bytes.js';
import { generateKeyPair, isSupportedAlgorithm, prepareAlgorithm, signMessage, type SigningAlgorithm } from '../crypto/signing.js';
import { encodeAuthData, rpIdHash } from './authData.js';
import { MAX_CREDENTIAL_ID_LENGTH, NEW_CREDENTIAL_ID_LENGTH, type ResolvedConfig } from './config.js';
import { CRED_BLOB, MAX_CRED_BLOB_LENGTH, readCredBlobCreateInput } from './extensions/credBlob.js';
import { CRED_PROTECT, credProtectAllows, readCredProtectInput } from './extensions/credProtect.js';
import {
  HMAC_SECRET,
  HMAC_SECRET_MC,
  hmacSecretOutput,
  openHmacSecretSalts,
  readHmacSecretCreateInput,
  readHmacSecretGetInput,
  wipeHmacSecretSalts,
  type HmacSecretSalts,
} from './extensions/hmacSecret.js';
import { createPrfSecrets } from './extensions/prf.js';
import { boundTo } from './getAssertion.js';
import { checkPinUvAuthParams, verifyPinUvAuthParam, type KeyAgreementKeys } from './pinUvAuth.js';
import type { CredentialRecord, CredentialSecrets, CredProtectLevel, RequestContext } from './ports.js';
import { CtapError, Status } from './status.js';
import { askUser, type Evidence } from './userPresence.js';
import {
  validateMakeCredentialRequest,
  type MakeCredentialRequest,
  type MakeCredentialResponse,
} from './wire/makeCredential.js';

export interface MakeCredentialResult extends MakeCredentialResponse {
  readonly record: CredentialRecord;
}

/** The first algorithm in the RP's order that we support; entries of unknown type are skipped. */
export function chooseAlgorithm(request: MakeCredentialRequest): SigningAlgorithm {
  for (const param of request.pubKeyCredParams) {
    if (param.type === 'public-key' && isSupportedAlgorithm(param.alg)) return param.alg;
  }
  throw new CtapError(Status.UNSUPPORTED_ALGORITHM, 'no supported algorithm in pubKeyCredParams');
}

export async function makeCredential(
  config: ResolvedConfig,
  request: MakeCredentialRequest,
  ctx: RequestContext,
  keys: KeyAgreementKeys,
): Promise<MakeCredentialResult> {
  validateMakeCredentialRequest(request);

  // Steps 1–2: a zero-length pinUvAuthParam (touch, then PIN_NOT_SET), else its protocol.
  await checkPinUvAuthParams(config, ctx, request.rp.id, request.pinUvAuthParam, request.pinUvAuthProtocol);

  // Step 3: the first supported algorithm in the RP's order of preference.
  const alg = chooseAlgorithm(request);
  await prepareAlgorithm(alg);

  // Steps 4–5: options. Unknown options were ignored by the parser; up=false is not allowed here,
  // and uv needs a built-in verification method.
  const { rk = false, up = true, uv = false } = request.options;
  if (!up) throw new CtapError(Status.INVALID_OPTION, 'the "up" option cannot be false for makeCredential');
  if (uv && !ctx.user.canVerify) throw new CtapError(Status.INVALID_OPTION, 'user verification is not available');

  // Step 6: enterprise attestation is not offered.
  if (request.enterpriseAttestation !== undefined) {
    throw new CtapError(Status.INVALID_PARAMETER, 'enterprise attestation is not supported');
  }

  // Extension inputs (processed at step 15) are read before anyone is asked, so a malformed one
  // costs no prompt, whether for UV (step 11) or for an excludeList hit (step 12).
  const credProtect = readCredProtectInput(request.extensions?.get(CRED_PROTECT));
  const credBlobInput = readCredBlobCreateInput(request.extensions?.get(CRED_BLOB));
  const hmacSecret = readHmacSecretCreateInput(request.extensions?.get(HMAC_SECRET));
  const hmacSecretMcInput = readHmacSecretGetInput(request.extensions?.get(HMAC_SECRET_MC), HMAC_SECRET_MC);
  // hmac-secret-mc evaluates the secrets hmac-secret creates: it comes with "hmac-secret": true.
  if (hmacSecretMcInput !== undefined && !hmacSecret) {
    throw new CtapError(Status.MISSING_PARAMETER, 'hmac-secret-mc needs "hmac-secret": true');
  }

  // Step 11, with a pinUvAuthParam: it must verify against the pinUvAuthToken (none exists).
  verifyPinUvAuthParam(request.pinUvAuthParam);

  // hmac-secret-mc's key agreement, saltAuth and salts are checked before any prompt.
  if (hmacSecretMcInput !== undefined) await loadPinUvAuthCiphers();
  const mcSalts = hmacSecretMcInput === undefined ? undefined : openHmacSecretSalts(keys, hmacSecretMcInput);
  try {
    return await createAfterChecks(config, request, ctx, { alg, rk, uv, credProtect, credBlobInput, hmacSecret, mcSalts });
  } finally {
    wipeHmacSecretSalts(mcSalts);
  }
}

interface CreationChoices {
  readonly alg: SigningAlgorithm;
  readonly rk: boolean;
  readonly uv: boolean;
  readonly credProtect: CredProtectLevel | undefined;
  readonly credBlobInput: Uint8Array | undefined;
  readonly hmacSecret: boolean;
  readonly mcSalts: HmacSecretSalts | undefined;
}

/** Steps 11–18 once every input has been accepted. */
async function createAfterChecks(
  config: ResolvedConfig,
  request: MakeCredentialRequest,
  ctx: RequestContext,
  { alg, rk, uv, credProtect, credBlobInput, hmacSecret, mcSalts }: CreationChoices,
): Promise<MakeCredentialResult> {
  // Step 11: built-in user verification (which is also evidence of presence).
  let evidence: Evidence = { up: false, uv: false };
  if (uv) {
    evidence = await askUser(ctx, {
      presence: true,
      verification: true,
      rpId: request.rp.id,
      userName: request.user.name,
      reason: 'makeCredential',
    });
  }

  // Step 12: the exclude list. A credential protected at level 3 counts only after UV, so its
  // existence is not revealed to an unverified caller. A hit needs the user's presence first.
  if (request.excludeList !== undefined) {
    for (const descriptor of request.excludeList) {
      if (descriptor.type !== 'public-key' || descriptor.id.length > MAX_CREDENTIAL_ID_LENGTH) continue;
      const existing = boundTo(request.rp.id, config.store.findById(request.rp.id, descriptor.id));
      if (existing === undefined || !credProtectAllows(existing.credProtect, evidence.uv, true)) continue;
      if (!evidence.up) {
        await askUser(ctx, { presence: true, verification: false, rpId: request.rp.id, reason: 'excluded' });
      }
      throw new CtapError(Status.CREDENTIAL_EXCLUDED, 'a credential in the exclude list exists');
    }
  }

  // Step 14: user presence, unless UV already gave it.
  if (!evidence.up) {
    evidence = {
      ...(await askUser(ctx, {
        presence: true,
        verification: false,
        rpId: request.rp.id,
        userName: request.user.name,
        reason: 'makeCredential',
      })),
      uv: evidence.uv,
    };
  }

  // Step 15: a new key pair and credential id (and hmac-secret's two CredRandoms).
  const keyPair = newKeyPair(config, alg);
  const secrets: CredentialSecrets = {
    privateKey: keyPair.privateKey,
    ...(hmacSecret ? createPrfSecrets(config.random) : {}),
  };
  const credentialId = config.random.bytes(NEW_CREDENTIAL_ID_LENGTH);
  const backupEligible = config.backupEligible;
  const credBlobStored = credBlobInput !== undefined && credBlobInput.length <= MAX_CRED_BLOB_LENGTH;

  const record: CredentialRecord = {
    id: credentialId,
    rpId: request.rp.id,
    rpName: request.rp.name,
    userId: request.user.id.slice(),
    userName: request.user.name,
    userDisplayName: request.user.displayName,
    alg,
    publicKey: keyPair.coseKey,
    discoverable: rk,
    credProtect: credProtect ?? 1,
    backupEligible,
    backupState: backupEligible,
    counterMode: backupEligible ? 'zero' : 'increment',
    signCount: 0,
    credBlob: credBlobStored ? credBlobInput.slice() : undefined,
    createdAt: config.clock.now(),
    origin: 'created',
  };

  try {
    // Steps 16–17: store it (a discoverable one replaces the RP's old one for the same user),
    // durably, before anything that depends on it leaves.
    config.store.create(record, secrets);

    // Step 18: extension outputs, authenticator data and attestation.
    const extensionOutputs = new Map<string, CborValue>();
    if (credProtect !== undefined) extensionOutputs.set(CRED_PROTECT, credProtect);
    if (credBlobInput !== undefined) extensionOutputs.set(CRED_BLOB, credBlobStored);
    if (hmacSecret) extensionOutputs.set(HMAC_SECRET, true);
    if (mcSalts !== undefined) {
      const output = hmacSecretOutput(mcSalts, secrets, evidence.uv, config.random);
      if (output !== undefined) extensionOutputs.set(HMAC_SECRET_MC, output);
    }

    const authData = encodeAuthData({
      rpIdHash: rpIdHash(request.rp.id),
      userPresent: evidence.up,
      userVerified: evidence.uv,
      backupEligible,
      backupState: backupEligible,
      signCount: 0,
      attestedCredential: { aaguid: config.aaguid, credentialId, coseKey: keyPair.coseKey },
      extensions: extensionOutputs,
    });

    if (config.attestation === 'packed-self') {
      const message = concatBytes(authData, request.clientDataHash);
      const sig = signMessage(alg, keyPair.privateKey, message);
      return {
        fmt: 'packed',
        authData,
        attStmt: new Map<CborValue, CborValue>([['alg', alg], ['sig', sig]]),
        record,
      };
    }
    return { fmt: 'none', authData, attStmt: new Map(), record };
  } finally {
    wipe(keyPair.privateKey, secrets.hmacSecretWithUv, secrets.hmacSecretWithoutUv);
  }
}

function newKeyPair(config: ResolvedConfig, alg: SigningAlgorithm) {
  // A random 32-byte string is out of range for P-256 with probability ~2^-32: draw again.
  for (let attempt = 0; attempt < 8; attempt++) {
    const seed = config.random.bytes(32);
    try {
      return generateKeyPair(alg, seed);
    } catch {
      continue;
    } finally {
      wipe(seed);
    }
  }
  throw new CtapError(Status.OTHER, 'could not generate a key pair');
}
