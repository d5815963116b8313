/**
 * authenticatorGetInfo (0x04) response encoding (CTAP 2.2 §6.4).
 * @module
 */
import { encodeCanonical, type CborValue } from '../../cbor/index.js';

export const GetInfoKey = {
  Versions: 0x01,
  Extensions: 0x02,
  Aaguid: 0x03,
  Options: 0x04,
  MaxMsgSize: 0x05,
  PinUvAuthProtocols: 0x06,
  MaxCredentialCountInList: 0x07,
  MaxCredentialIdLength: 0x08,
  Transports: 0x09,
  Algorithms: 0x0a,
  MaxCredBlobLength: 0x0f,
} as const;

export interface AuthenticatorInfo {
  readonly versions: readonly string[];
  readonly extensions: readonly string[];
  readonly aaguid: Uint8Array;
  readonly options: Readonly<Record<string, boolean>>;
  readonly maxMsgSize: number;
  readonly pinUvAuthProtocols?: readonly number[] | undefined;
  readonly maxCredentialIdLength: number;
  readonly transports: readonly string[];
  readonly algorithms: readonly { readonly type: 'public-key'; readonly alg: number }[];
  readonly maxCredBlobLength: number;
}

export function encodeGetInfoResponse(info: AuthenticatorInfo): Uint8Array {
  const K = GetInfoKey;
  const map = new Map<number, CborValue>([
    [K.Versions, [...info.versions]],
    [K.Extensions, [...info.extensions]],
    [K.Aaguid, info.aaguid],
    [K.Options, new Map<string, CborValue>(Object.entries(info.options))],
    [K.MaxMsgSize, info.maxMsgSize],
  ]);
  if (info.pinUvAuthProtocols !== undefined && info.pinUvAuthProtocols.length > 0) {
    map.set(K.PinUvAuthProtocols, [...info.pinUvAuthProtocols]);
  }
  map.set(K.MaxCredentialIdLength, info.maxCredentialIdLength);
  map.set(K.Transports, [...info.transports]);
  map.set(
    K.Algorithms,
    info.algorithms.map((a) => new Map<string, CborValue>([['alg', a.alg], ['type', a.type]])),
  );
  map.set(K.MaxCredBlobLength, info.maxCredBlobLength);
  return encodeCanonical(map);
}
