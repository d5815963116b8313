/**
 * pinUvAuthParam handling shared by makeCredential and getAssertion (CTAP 2.2 §6.1.2 steps 1–2,
 * §6.2.2 steps 1–2). No PIN/UV auth protocol is supported yet, so a present pinUvAuthParam is
 * refused the way the spec prescribes for an unsupported protocol.
 * @module
 */
import { CtapError, Status } from './status.js';

export const SUPPORTED_PIN_UV_AUTH_PROTOCOLS: readonly number[] = [];

export function checkPinUvAuthParams(pinUvAuthParam: Uint8Array | undefined, protocol: number | undefined): void {
  if (pinUvAuthParam === undefined) return;
  if (protocol === undefined) throw new CtapError(Status.MISSING_PARAMETER, 'pinUvAuthProtocol is missing');
  if (!SUPPORTED_PIN_UV_AUTH_PROTOCOLS.includes(protocol)) {
    throw new CtapError(Status.INVALID_PARAMETER, 'unsupported pinUvAuthProtocol');
  }
}
