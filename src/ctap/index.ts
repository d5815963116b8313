/**
 * The authenticator core's public surface.
 * @module
 */
export { Authenticator, statusOf, type CtapResponse } from './authenticator.js';
export { Command, type CommandCode } from './commands.js';
export type { AuthenticatorOptions, AttestationMode } from './config.js';
export * from './ports.js';
export { CtapError, Status, SPEC_STATUSES, statusName, type StatusCode } from './status.js';
export type { MakeCredentialRequest } from './wire/makeCredential.js';
export type { GetAssertionRequest, GetAssertionResponse } from './wire/getAssertion.js';
export type { AuthenticatorInfo } from './wire/getInfo.js';
export { createPrfSecrets, evaluatePrf, webAuthnPrfSalt, type PrfOutputs } from './extensions/prf.js';
