/**
 * authenticatorClientPIN (0x06) request parsing and response encoding (CTAP 2.2 §6.5.5).
 * @module
 */
import { encodeCanonical, type CborMap, type CborValue } from '../../cbor/index.js';
import { optionalBytes, optionalMap, optionalText, optionalUint } from './fields.js';
import { CtapError, Status } from '../status.js';

export const ClientPinKey = {
  PinUvAuthProtocol: 0x01,
  SubCommand: 0x02,
  KeyAgreement: 0x03,
  PinUvAuthParam: 0x04,
  NewPinEnc: 0x05,
  PinHashEnc: 0x06,
  Permissions: 0x09,
  RpId: 0x0a,
} as const;

export const ClientPinResponseKey = {
  KeyAgreement: 0x01,
  PinUvAuthToken: 0x02,
  PinRetries: 0x03,
  PowerCycleState: 0x04,
  UvRetries: 0x05,
} as const;

export const ClientPinSubCommand = {
  GetPinRetries: 0x01,
  GetKeyAgreement: 0x02,
  SetPin: 0x03,
  ChangePin: 0x04,
  GetPinToken: 0x05,
  GetPinUvAuthTokenUsingUvWithPermissions: 0x06,
  GetUvRetries: 0x07,
  GetPinUvAuthTokenUsingPinWithPermissions: 0x09,
} as const;

export interface ClientPinRequest {
  readonly pinUvAuthProtocol?: number | undefined;
  readonly subCommand: number;
  /** The platform's COSE_Key, as decoded (the protocol's decapsulate checks it). */
  readonly keyAgreement?: CborMap | undefined;
  readonly pinUvAuthParam?: Uint8Array | undefined;
  readonly newPinEnc?: Uint8Array | undefined;
  readonly pinHashEnc?: Uint8Array | undefined;
  readonly permissions?: number | undefined;
  readonly rpId?: string | undefined;
}

export interface ClientPinResponse {
  readonly keyAgreement?: CborMap | undefined;
  readonly pinRetries?: number | undefined;
}

/** Every known field is type-checked (CBOR_UNEXPECTED_TYPE); only subCommand is required here. */
export function parseClientPinRequest(params: CborMap): ClientPinRequest {
  const K = ClientPinKey;
  const pinUvAuthProtocol = optionalUint(params, K.PinUvAuthProtocol, 'pinUvAuthProtocol');
  const subCommand = optionalUint(params, K.SubCommand, 'subCommand');
  const keyAgreement = optionalMap(params, K.KeyAgreement, 'keyAgreement');
  const pinUvAuthParam = optionalBytes(params, K.PinUvAuthParam, 'pinUvAuthParam');
  const newPinEnc = optionalBytes(params, K.NewPinEnc, 'newPinEnc');
  const pinHashEnc = optionalBytes(params, K.PinHashEnc, 'pinHashEnc');
  const permissions = optionalUint(params, K.Permissions, 'permissions');
  const rpId = optionalText(params, K.RpId, 'rpId');
  if (subCommand === undefined) throw new CtapError(Status.MISSING_PARAMETER, 'subCommand is missing');
  return { pinUvAuthProtocol, subCommand, keyAgreement, pinUvAuthParam, newPinEnc, pinHashEnc, permissions, rpId };
}

export function encodeClientPinResponse(response: ClientPinResponse): Uint8Array {
  const K = ClientPinResponseKey;
  const map = new Map<number, CborValue>();
  if (response.keyAgreement !== undefined) map.set(K.KeyAgreement, response.keyAgreement);
  if (response.pinRetries !== undefined) map.set(K.PinRetries, response.pinRetries);
  // A subcommand with nothing to say answers an empty body, not an empty map.
  return map.size === 0 ? new Uint8Array(0) : encodeCanonical(map);
}
