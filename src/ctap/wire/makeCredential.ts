/**
 * authenticatorMakeCredential (0x01) request parsing and response encoding (CTAP 2.2 §6.1).
 * @module
 */
import { encodeCanonical, type CborMap, type CborValue } from '../../cbor/index.js';
import { CtapError, Status } from '../status.js';
import {
  isMap,
  optionalArray,
  optionalBytes,
  optionalMap,
  optionalText,
  optionalUint,
  parseDescriptorList,
  parseOptions,
  requireArray,
  requireBytes,
  requireInt,
  requireMap,
  requireText,
  type CredentialDescriptor,
} from './fields.js';

export const MakeCredentialKey = {
  ClientDataHash: 0x01,
  Rp: 0x02,
  User: 0x03,
  PubKeyCredParams: 0x04,
  ExcludeList: 0x05,
  Extensions: 0x06,
  Options: 0x07,
  PinUvAuthParam: 0x08,
  PinUvAuthProtocol: 0x09,
  EnterpriseAttestation: 0x0a,
  AttestationFormatsPreference: 0x0b,
} as const;

export const MakeCredentialResponseKey = {
  Fmt: 0x01,
  AuthData: 0x02,
  AttStmt: 0x03,
} as const;

/** Longest user handle WebAuthn allows. */
export const MAX_USER_ID_LENGTH = 64;

export interface CredentialParameter {
  readonly type: string;
  readonly alg: number;
}

export interface MakeCredentialRequest {
  readonly clientDataHash: Uint8Array;
  readonly rp: { readonly id: string; readonly name?: string | undefined };
  readonly user: {
    readonly id: Uint8Array;
    readonly name?: string | undefined;
    readonly displayName?: string | undefined;
  };
  readonly pubKeyCredParams: readonly CredentialParameter[];
  readonly excludeList?: readonly CredentialDescriptor[] | undefined;
  /** Extension inputs by identifier, as decoded (each extension validates its own input). */
  readonly extensions?: ReadonlyMap<string, CborValue> | undefined;
  readonly options: { readonly rk?: boolean; readonly up?: boolean; readonly uv?: boolean };
  readonly pinUvAuthParam?: Uint8Array | undefined;
  readonly pinUvAuthProtocol?: number | undefined;
  readonly enterpriseAttestation?: number | undefined;
}

export interface MakeCredentialResponse {
  readonly fmt: string;
  readonly authData: Uint8Array;
  readonly attStmt: CborMap;
}

export function parseExtensions(map: CborMap | undefined): Map<string, CborValue> | undefined {
  if (map === undefined) return undefined;
  const out = new Map<string, CborValue>();
  for (const [key, value] of map) {
    if (typeof key !== 'string') throw new CtapError(Status.CBOR_UNEXPECTED_TYPE, 'extension identifiers are text');
    out.set(key, value);
  }
  return out;
}

export function parseMakeCredentialRequest(params: CborMap): MakeCredentialRequest {
  const K = MakeCredentialKey;
  const clientDataHash = requireBytes(params, K.ClientDataHash, 'clientDataHash');

  const rpMap = requireMap(params, K.Rp, 'rp');
  const rp = { id: requireText(rpMap, 'id', 'rp.id'), name: optionalText(rpMap, 'name', 'rp.name') };
  optionalText(rpMap, 'icon', 'rp.icon');

  const userMap = requireMap(params, K.User, 'user');
  const user = {
    id: requireBytes(userMap, 'id', 'user.id'),
    name: optionalText(userMap, 'name', 'user.name'),
    displayName: optionalText(userMap, 'displayName', 'user.displayName'),
  };
  optionalText(userMap, 'icon', 'user.icon');

  const pubKeyCredParams: CredentialParameter[] = [];
  for (const item of requireArray(params, K.PubKeyCredParams, 'pubKeyCredParams')) {
    if (!isMap(item)) throw new CtapError(Status.CBOR_UNEXPECTED_TYPE, 'an entry of pubKeyCredParams is not a map');
    pubKeyCredParams.push({
      type: requireText(item, 'type', 'pubKeyCredParams[].type'),
      alg: requireInt(item, 'alg', 'pubKeyCredParams[].alg'),
    });
  }

  const excludeArray = optionalArray(params, K.ExcludeList, 'excludeList');
  const excludeList = excludeArray === undefined ? undefined : parseDescriptorList(excludeArray, 'excludeList');
  const extensions = parseExtensions(optionalMap(params, K.Extensions, 'extensions'));
  const options = Object.fromEntries(parseOptions(optionalMap(params, K.Options, 'options'), ['rk', 'up', 'uv']));
  const pinUvAuthParam = optionalBytes(params, K.PinUvAuthParam, 'pinUvAuthParam');
  const pinUvAuthProtocol = optionalUint(params, K.PinUvAuthProtocol, 'pinUvAuthProtocol');
  const enterpriseAttestation = optionalUint(params, K.EnterpriseAttestation, 'enterpriseAttestation');
  optionalArray(params, K.AttestationFormatsPreference, 'attestationFormatsPreference');

  return {
    clientDataHash,
    rp,
    user,
    pubKeyCredParams,
    excludeList,
    extensions,
    options,
    pinUvAuthParam,
    pinUvAuthProtocol,
    enterpriseAttestation,
  };
}

/** Checks beyond types: lengths and non-empty identifiers. */
export function validateMakeCredentialRequest(request: MakeCredentialRequest): void {
  if (request.clientDataHash.length !== 32) {
    throw new CtapError(Status.INVALID_LENGTH, 'clientDataHash must be 32 bytes');
  }
  if (request.rp.id.length === 0) throw new CtapError(Status.INVALID_PARAMETER, 'rp.id is empty');
  if (request.user.id.length === 0 || request.user.id.length > MAX_USER_ID_LENGTH) {
    throw new CtapError(Status.INVALID_LENGTH, `user.id must be 1..${MAX_USER_ID_LENGTH} bytes`);
  }
}

export function encodeMakeCredentialResponse(response: MakeCredentialResponse): Uint8Array {
  return encodeCanonical(
    new Map<number, CborValue>([
      [MakeCredentialResponseKey.Fmt, response.fmt],
      [MakeCredentialResponseKey.AuthData, response.authData],
      [MakeCredentialResponseKey.AttStmt, response.attStmt],
    ]),
  );
}
