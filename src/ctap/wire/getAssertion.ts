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
  return encodeAssertionDirect(response) ?? encodeCanonical(assertionResponseMap(response));
}

/** The response as the generic canonical encoder takes it (the reference for the direct encoding). */
export function assertionResponseMap(response: GetAssertionResponse): Map<number, CborValue> {
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
  return map;
}

/** Length of a CBOR head (initial byte and argument) for argument `n`, in shortest form. */
function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x1_0000 ? 3 : 5;
}

/** Writes a shortest-form head for major type `mt` and argument `n` (< 2^32) at `at`; returns the next offset. */
function writeHead(out: Uint8Array, at: number, mt: number, n: number): number {
  const m = mt << 5;
  if (n < 24) {
    out[at] = m | n;
    return at + 1;
  }
  if (n < 0x100) {
    out[at] = m | 24;
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 0x1_0000) {
    out[at] = m | 25;
    out[at + 1] = n >>> 8;
    out[at + 2] = n & 0xff;
    return at + 3;
  }
  out[at] = m | 26;
  out[at + 1] = n >>> 24;
  out[at + 2] = (n >>> 16) & 0xff;
  out[at + 3] = (n >>> 8) & 0xff;
  out[at + 4] = n & 0xff;
  return at + 5;
}

function writeBytes(out: Uint8Array, at: number, bytes: Uint8Array): number {
  const p = writeHead(out, at, 2, bytes.length);
  out.set(bytes, p);
  return p + bytes.length;
}

/** Writes an ASCII string (checked by {@link isShortAscii}) as a text string. */
function writeAscii(out: Uint8Array, at: number, text: string): number {
  let p = writeHead(out, at, 3, text.length);
  for (let i = 0; i < text.length; i++) out[p++] = text.charCodeAt(i);
  return p;
}

/** Printable or not, every code unit below 0x80, and short enough that its length is its UTF-8 length. */
function isShortAscii(text: string): boolean {
  if (text.length >= 0x1_0000) return false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** `{"id": …, "type": "public-key"}` after the credential id's byte string. */
const ID_KEY = [0x62, 0x69, 0x64]; // "id"
const TYPE_PUBLIC_KEY = [0x64, 0x74, 0x79, 0x70, 0x65, 0x6a, ...Array.from('public-key', (c) => c.charCodeAt(0))];
const NAME_KEY = [0x64, 0x6e, 0x61, 0x6d, 0x65]; // "name"
const DISPLAY_NAME_KEY = [0x6b, ...Array.from('displayName', (c) => c.charCodeAt(0))];
const MAX_DIRECT_BYTES = 0xffff_ffff;

/**
 * The canonical encoding of the usual response (one credential, ASCII user names or none) written
 * straight into one buffer of its exact size: no maps, no key sorting, no scratch copy. The keys
 * are written in canonical order (1 < 2 < 3 < 4; "id" < "type"; "id" < "name" < "displayName"), and
 * the result is byte for byte what {@link encodeCanonical} makes of {@link assertionResponseMap}
 * (a property test holds them equal). Anything else (numberOfCredentials, non-ASCII names, whose
 * UTF-8 and lone-surrogate checks belong to the encoder) answers undefined and takes the general path.
 */
function encodeAssertionDirect(response: GetAssertionResponse): Uint8Array | undefined {
  if (response.numberOfCredentials !== undefined) return undefined;
  const { credentialId, authData, signature, user } = response;
  if (credentialId.length > MAX_DIRECT_BYTES || authData.length > MAX_DIRECT_BYTES || signature.length > MAX_DIRECT_BYTES) {
    return undefined;
  }
  let length =
    1 + // map head (3 or 4 entries)
    1 + 1 + ID_KEY.length + headLength(credentialId.length) + credentialId.length + TYPE_PUBLIC_KEY.length +
    1 + headLength(authData.length) + authData.length +
    1 + headLength(signature.length) + signature.length;
  let userEntries = 0;
  if (user !== undefined) {
    if (user.id.length > MAX_DIRECT_BYTES) return undefined;
    userEntries = 1;
    length += 1 + 1 + ID_KEY.length + headLength(user.id.length) + user.id.length;
    if (user.name !== undefined) {
      if (!isShortAscii(user.name)) return undefined;
      userEntries += 1;
      length += NAME_KEY.length + headLength(user.name.length) + user.name.length;
    }
    if (user.displayName !== undefined) {
      if (!isShortAscii(user.displayName)) return undefined;
      userEntries += 1;
      length += DISPLAY_NAME_KEY.length + headLength(user.displayName.length) + user.displayName.length;
    }
  }
  const out = new Uint8Array(length);
  const K = GetAssertionResponseKey;
  out[0] = 0xa0 | (user === undefined ? 3 : 4);
  out[1] = K.Credential;
  out[2] = 0xa2;
  out.set(ID_KEY, 3);
  let p = writeBytes(out, 3 + ID_KEY.length, credentialId);
  out.set(TYPE_PUBLIC_KEY, p);
  p += TYPE_PUBLIC_KEY.length;
  out[p++] = K.AuthData;
  p = writeBytes(out, p, authData);
  out[p++] = K.Signature;
  p = writeBytes(out, p, signature);
  if (user !== undefined) {
    out[p++] = K.User;
    out[p++] = 0xa0 | userEntries;
    out.set(ID_KEY, p);
    p = writeBytes(out, p + ID_KEY.length, user.id);
    if (user.name !== undefined) {
      out.set(NAME_KEY, p);
      p = writeAscii(out, p + NAME_KEY.length, user.name);
    }
    if (user.displayName !== undefined) {
      out.set(DISPLAY_NAME_KEY, p);
      p = writeAscii(out, p + DISPLAY_NAME_KEY.length, user.displayName);
    }
  }
  if (p !== length) throw new Error('getAssertion response: direct encoding miscounted');
  return out;
}
