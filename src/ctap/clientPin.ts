/**
 * authenticatorClientPIN (CTAP 2.2 §6.5), as far as an authenticator without a PIN needs it:
 * getKeyAgreement for the platform's key agreement (hmac-secret rides on it), getPinRetries, and
 * the spec's answers for the PIN subcommands. Latchkey verifies users through the platform
 * (Windows Hello, an approver), never with a CTAP PIN, so no PIN can be set and no
 * pinUvAuthToken is ever issued.
 * @module
 */
import { wipe } from '../crypto/bytes.js';
import { supportedProtocol, type KeyAgreementKeys } from './pinUvAuth.js';
import { CtapError, Status } from './status.js';
import { ClientPinSubCommand as Sub, type ClientPinRequest, type ClientPinResponse } from './wire/clientPin.js';

/** What getPinRetries reports: the spec's maximum, as for an authenticator whose PIN was never tried. */
export const PIN_RETRIES = 8;

/** Length of a padded newPin (CTAP 2.2 §6.5.5.5: 64 bytes). */
const PADDED_PIN_LENGTH = 64;

function missing(what: string): CtapError {
  return new CtapError(Status.MISSING_PARAMETER, `${what} is missing`);
}

/** Step "mandatory parameters, then a supported protocol" that opens most subcommands. */
function requireProtocol(request: ClientPinRequest) {
  if (request.pinUvAuthProtocol === undefined) throw missing('pinUvAuthProtocol');
  return supportedProtocol(request.pinUvAuthProtocol);
}

export function clientPin(keyAgreement: KeyAgreementKeys, request: ClientPinRequest): ClientPinResponse {
  switch (request.subCommand) {
    case Sub.GetPinRetries:
      // The protocol is optional here; one that is given must still be supported.
      if (request.pinUvAuthProtocol !== undefined) supportedProtocol(request.pinUvAuthProtocol);
      return { pinRetries: PIN_RETRIES };

    case Sub.GetKeyAgreement: {
      // §6.5.5.4: a supported protocol, then that protocol's key agreement key.
      const protocol = requireProtocol(request);
      return { keyAgreement: keyAgreement.publicKey(protocol) };
    }

    case Sub.SetPin:
      setPin(keyAgreement, request);
      return {};

    case Sub.ChangePin: {
      // §6.5.5.6 steps 1–2: mandatory parameters and the protocol; then there is no PIN to change.
      if (request.keyAgreement === undefined) throw missing('keyAgreement');
      if (request.pinUvAuthParam === undefined) throw missing('pinUvAuthParam');
      if (request.newPinEnc === undefined) throw missing('newPinEnc');
      if (request.pinHashEnc === undefined) throw missing('pinHashEnc');
      requireProtocol(request);
      throw new CtapError(Status.PIN_NOT_SET, 'no PIN is set');
    }

    case Sub.GetPinToken: {
      // §6.5.5.7.1 (superseded getPinToken): parameters, protocol, no permissions; no PIN to check.
      if (request.keyAgreement === undefined) throw missing('keyAgreement');
      if (request.pinHashEnc === undefined) throw missing('pinHashEnc');
      requireProtocol(request);
      if (request.permissions !== undefined || request.rpId !== undefined) {
        throw new CtapError(Status.INVALID_PARAMETER, 'getPinToken takes no permissions');
      }
      throw new CtapError(Status.PIN_NOT_SET, 'no PIN is set');
    }

    case Sub.GetPinUvAuthTokenUsingPinWithPermissions: {
      // §6.5.5.7.2: parameters, protocol, non-zero permissions; no PIN to check.
      if (request.keyAgreement === undefined) throw missing('keyAgreement');
      if (request.pinHashEnc === undefined) throw missing('pinHashEnc');
      if (request.permissions === undefined) throw missing('permissions');
      requireProtocol(request);
      if (request.permissions === 0) throw new CtapError(Status.INVALID_PARAMETER, 'permissions must not be zero');
      throw new CtapError(Status.PIN_NOT_SET, 'no PIN is set');
    }

    // getPinUvAuthTokenUsingUvWithPermissions and getUVRetries belong to the pinUvAuthToken
    // feature, which getInfo does not claim: built-in UV is requested with the "uv" option.
    default:
      throw new CtapError(Status.INVALID_SUBCOMMAND, 'unsupported clientPIN subcommand');
  }
}

/**
 * setPin (§6.5.5.5), steps 1–6 as written, then the PIN policy: Latchkey accepts no PIN at all
 * (the platform verifies the user), so every well-formed, authenticated newPin violates it.
 */
function setPin(keyAgreement: KeyAgreementKeys, request: ClientPinRequest): never {
  // Step 1: mandatory parameters.
  if (request.keyAgreement === undefined) throw missing('keyAgreement');
  if (request.pinUvAuthParam === undefined) throw missing('pinUvAuthParam');
  if (request.newPinEnc === undefined) throw missing('newPinEnc');
  // Step 2: the protocol. (Step 3, "a PIN is already set", never applies.)
  const protocol = requireProtocol(request);
  // Step 4: decapsulate the platform's key.
  const shared = keyAgreement.decapsulate(protocol, request.keyAgreement);
  try {
    // Step 5: pinUvAuthParam authenticates newPinEnc.
    if (!protocol.verify(shared.secret, request.newPinEnc, request.pinUvAuthParam)) {
      throw new CtapError(Status.PIN_AUTH_INVALID, 'pinUvAuthParam does not authenticate newPinEnc');
    }
    // Step 6: the padded PIN is 64 bytes.
    let padded: Uint8Array;
    try {
      padded = protocol.decrypt(shared.secret, request.newPinEnc);
    } catch {
      throw new CtapError(Status.INVALID_PARAMETER, 'newPinEnc does not decrypt');
    }
    wipe(padded);
    if (padded.length !== PADDED_PIN_LENGTH) throw new CtapError(Status.INVALID_PARAMETER, 'the padded PIN must be 64 bytes');
    // Step 7: the PIN policy.
    throw new CtapError(Status.PIN_POLICY_VIOLATION, 'this authenticator does not take a PIN; the platform verifies the user');
  } finally {
    wipe(shared.secret);
  }
}
