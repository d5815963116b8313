/**
 * authenticatorGetInfo (CTAP 2.2 §6.4): what this authenticator supports, stated truthfully.
 * @module
 */
import { SUPPORTED_ALGORITHMS } from '../crypto/signing.js';
import { MAX_CREDENTIAL_ID_LENGTH, MAX_MSG_SIZE, type ResolvedConfig } from './config.js';
import { CRED_BLOB, MAX_CRED_BLOB_LENGTH } from './extensions/credBlob.js';
import { CRED_PROTECT } from './extensions/credProtect.js';
import { HMAC_SECRET, HMAC_SECRET_MC } from './extensions/hmacSecret.js';
import { offersClientPin, SUPPORTED_PIN_UV_AUTH_PROTOCOLS } from './pinUvAuth.js';
import type { AuthenticatorInfo } from './wire/getInfo.js';

export function getInfo(config: ResolvedConfig): AuthenticatorInfo {
  return {
    versions: ['FIDO_2_0', 'FIDO_2_1'],
    extensions: [CRED_BLOB, CRED_PROTECT, HMAC_SECRET, HMAC_SECRET_MC],
    aaguid: config.aaguid,
    // Discoverable credentials and user presence always; "uv" only where the transport has a
    // built-in verification method (Windows Hello, a test approver): absent means "not capable".
    // Non-discoverable credentials never need UV at creation (makeCredUvNotRqd).
    // "clientPin": false (supported, no PIN set) goes with "uv": the clientPIN command is there for
    // hmac-secret's key agreement, platforms verify with "uv" and never ask for a PIN, and
    // python-fido2 0.9 runs hmac-secret only when clientPin is present. Without "uv" it is left
    // out: a platform that wants UV would then ask the user to set a PIN, which Latchkey refuses.
    options: {
      rk: true,
      up: true,
      ...(config.userVerification ? { uv: true } : {}),
      ...(offersClientPin(config) ? { clientPin: false } : {}),
      ...(config.userVerification ? { makeCredUvNotRqd: true } : {}),
    },
    maxMsgSize: MAX_MSG_SIZE,
    pinUvAuthProtocols: SUPPORTED_PIN_UV_AUTH_PROTOCOLS,
    maxCredentialIdLength: MAX_CREDENTIAL_ID_LENGTH,
    transports: config.transports,
    algorithms: SUPPORTED_ALGORITHMS.map((alg) => ({ type: 'public-key' as const, alg })),
    maxCredBlobLength: MAX_CRED_BLOB_LENGTH,
  };
}
