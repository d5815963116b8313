/**
 * authenticatorGetAssertion (0x02) and authenticatorGetNextAssertion (0x08): request parsing
 * and response encoding (CTAP 2.2 §6.2, §6.3).
 * @module
 */
import { encodeCanonical, type CborValue } from '../../cbor/index.js';
import type { CborMap } from '../../cbor/index.js';
import { CtapError, Status } from '../status.js';
import {
  optionalArray,
  optionalBytes,
  optionalMap,
  optionalUint,
  parseDescriptorList,
  parseOptions,
  requireBytes,
  requireText,
  type CredentialDescriptor,
} from './fields.js';
import { parseExtensions } from './makeCredential.js';

export const GetAssertionKey = {
  RpId: 0x01,
  ClientDataHash: 0x02,
  AllowList: 0x03,
  Extensions: 0x04,
  Options: 0x05,
  PinUvAuthParam: 0x06,
  PinUvAuthProtocol: 0x07,
} as const;

export const GetAssertionResponseKey = {
  Credential: 0x01,
  AuthData: 0x02,
  Signature: 0x03,
  User: 0x04,
  NumberOfCredentials: 0x05,
  UserSelected: 0x06,
} as const;

export interface GetAssertionRequest {
  readonly rpId: string;
  readonly clientDataHash: Uint8Array;
  readonly allowList?: readonly CredentialDescriptor[] | undefined;
  readonly extensions?: ReadonlyMap<string, CborValue> | undefined;
  readonly options: { readonly rk?: boolean; readonly up?: boolean; readonly uv?: boolean };
  readonly pinUvAuthParam?: Uint8Array | undefined;
  readonly pinUvAuthProtocol?: number | undefined;
}

export interface AssertionUser {
  readonly id: Uint8Array;
  readonly name?: string | undefined;
  readonly displayName?: string | undefined;
}

export interface GetAssertionResponse {
  readonly credentialId: Uint8Array;
  readonly authData: Uint8Array;
  readonly signature: Uint8Array;
  readonly user?: AssertionUser | undefined;
  readonly numberOfCredentials?: number | undefined;
}

export function parseGetAssertionRequest(params: CborMap): GetAssertionRequest {
  const K = GetAssertionKey;
  const rpId = requireText(params, K.RpId, 'rpId');
  const clientDataHash = requireBytes(params, K.ClientDataHash, 'clientDataHash');
  const allowArray = optionalArray(params, K.AllowList, 'allowList');
  const allowList = allowArray === undefined ? undefined : parseDescriptorList(allowArray, 'allowList');
  const extensions = parseExtensions(optionalMap(params, K.Extensions, 'extensions'));
  const optionsMap = optionalMap(params, K.Options, 'options');
  // Most requests carry no options: then no intermediate map.
  const options = optionsMap === undefined ? {} : Object.fromEntries(parseOptions(optionsMap, ['rk', 'up', 'uv']));
  const pinUvAuthParam = optionalBytes(params, K.PinUvAuthParam, 'pinUvAuthParam');
  const pinUvAuthProtocol = optionalUint(params, K.PinUvAuthProtocol, 'pinUvAuthProtocol');
  return { rpId, clientDataHash, allowList, extensions, options, pinUvAuthParam, pinUvAuthProtocol };
}

export function validateGetAssertionRequest(request: GetAssertionRequest): void {
  if (request.clientDataHash.length !== 32) {
    throw new CtapError(Status.INVALID_LENGTH, 'clientDataHash must be 32 bytes');
  }
  if (request.rpId.length === 0) throw new CtapError(Status.INVALID_PARAMETER, 'rpId is empty');
}

export function encodeGetAssertionResponse(response: GetAssertionResponse): Uint8Array {
  const K = GetAssertionResponseKey;
  const map = new Map<number, CborValue>([
    [K.Credential, new Map<string, CborValue>([['id', response.credentialId], ['type', 'public-key']])],
    [K.AuthData, response.authData],
    [K.Signature, response.signature],
  ]);
  if (response.user !== undefined) {
    const user = new Map<string, CborValue>([['id', response.user.id]]);
    if (response.user.name !== undefined) user.set('name', response.user.name);
    if (response.user.displayName !== undefined) user.set('displayName', response.user.displayName);
    map.set(K.User, user);
  }
  if (response.numberOfCredentials !== undefined) map.set(K.NumberOfCredentials, response.numberOfCredentials);
  return encodeCanonical(map);
}
