/**
 * authenticatorGetInfo (CTAP 2.2 §6.4): what this authenticator supports, stated truthfully.
 * @module
 */
import { SUPPORTED_ALGORITHMS } from '../crypto/signing.js';
import { MAX_CREDENTIAL_ID_LENGTH, MAX_MSG_SIZE, type ResolvedConfig } from './config.js';
import { CRED_BLOB, MAX_CRED_BLOB_LENGTH } from './extensions/credBlob.js';
import { CRED_PROTECT } from './extensions/credProtect.js';
import { SUPPORTED_PIN_UV_AUTH_PROTOCOLS } from './pinUvAuth.js';
import type { AuthenticatorInfo } from './wire/getInfo.js';

export function getInfo(config: ResolvedConfig): AuthenticatorInfo {
  return {
    versions: ['FIDO_2_0', 'FIDO_2_1'],
    extensions: [CRED_BLOB, CRED_PROTECT],
    aaguid: config.aaguid,
    // Discoverable credentials and user presence always; "uv" only where the transport has a
    // built-in verification method (Windows Hello, a test approver): absent means "not capable".
    // Non-discoverable credentials never need UV at creation (makeCredUvNotRqd).
    options: config.userVerification ? { rk: true, up: true, uv: true, makeCredUvNotRqd: true } : { rk: true, up: true },
    maxMsgSize: MAX_MSG_SIZE,
    pinUvAuthProtocols: SUPPORTED_PIN_UV_AUTH_PROTOCOLS,
    maxCredentialIdLength: MAX_CREDENTIAL_ID_LENGTH,
    transports: config.transports,
    algorithms: SUPPORTED_ALGORITHMS.map((alg) => ({ type: 'public-key' as const, alg })),
    maxCredBlobLength: MAX_CRED_BLOB_LENGTH,
  };
}
