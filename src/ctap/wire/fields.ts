/**
 * Typed reads of decoded CBOR request fields. A present field of the wrong type answers
 * CTAP2_ERR_CBOR_UNEXPECTED_TYPE; a missing required one CTAP2_ERR_MISSING_PARAMETER.
 * @module
 */
import type { CborMap, CborValue } from '../../cbor/index.js';
import { CtapError, Status } from '../status.js';

export type Key = number | string;

function unexpected(what: string): CtapError {
  return new CtapError(Status.CBOR_UNEXPECTED_TYPE, `${what} has an unexpected CBOR type`);
}

function missing(what: string): CtapError {
  return new CtapError(Status.MISSING_PARAMETER, `${what} is missing`);
}

export function isMap(value: CborValue | undefined): value is CborMap {
  return value instanceof Map;
}

/** The request's top-level parameters must be a map. */
export function requestMap(value: CborValue): CborMap {
  if (!isMap(value)) throw unexpected('the request parameters');
  return value;
}

function label(key: Key, what?: string): string {
  return what ?? `field ${typeof key === 'number' ? `0x${key.toString(16).padStart(2, '0')}` : JSON.stringify(key)}`;
}

export function optionalBytes(map: CborMap, key: Key, what?: string): Uint8Array | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  if (!(value instanceof Uint8Array)) throw unexpected(label(key, what));
  return value;
}

export function requireBytes(map: CborMap, key: Key, what?: string): Uint8Array {
  const value = optionalBytes(map, key, what);
  if (value === undefined) throw missing(label(key, what));
  return value;
}

export function optionalText(map: CborMap, key: Key, what?: string): string | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw unexpected(label(key, what));
  return value;
}

export function requireText(map: CborMap, key: Key, what?: string): string {
  const value = optionalText(map, key, what);
  if (value === undefined) throw missing(label(key, what));
  return value;
}

export function optionalMap(map: CborMap, key: Key, what?: string): CborMap | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  if (!isMap(value)) throw unexpected(label(key, what));
  return value;
}

export function requireMap(map: CborMap, key: Key, what?: string): CborMap {
  const value = optionalMap(map, key, what);
  if (value === undefined) throw missing(label(key, what));
  return value;
}

export function optionalArray(map: CborMap, key: Key, what?: string): CborValue[] | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw unexpected(label(key, what));
  return value;
}

export function requireArray(map: CborMap, key: Key, what?: string): CborValue[] {
  const value = optionalArray(map, key, what);
  if (value === undefined) throw missing(label(key, what));
  return value;
}

/** An unsigned integer field (bigints beyond 2^53 are still integers, so they are accepted as numbers clamped to Infinity). */
export function optionalUint(map: CborMap, key: Key, what?: string): number | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  if (typeof value === 'bigint' && value > 0n) return Number.POSITIVE_INFINITY;
  if (typeof value !== 'number' || value < 0) throw unexpected(label(key, what));
  return value;
}

/** Any integer field (signed). Out-of-safe-range integers come back as ±Infinity. */
export function optionalInt(map: CborMap, key: Key, what?: string): number | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  if (typeof value === 'bigint') return value > 0n ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  if (typeof value !== 'number') throw unexpected(label(key, what));
  return value;
}

export function requireInt(map: CborMap, key: Key, what?: string): number {
  const value = optionalInt(map, key, what);
  if (value === undefined) throw missing(label(key, what));
  return value;
}

export function optionalBool(map: CborMap, key: Key, what?: string): boolean | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw unexpected(label(key, what));
  return value;
}

/** A PublicKeyCredentialDescriptor: `type` and `id` required; `transports` an array if present. */
export interface CredentialDescriptor {
  readonly type: string;
  readonly id: Uint8Array;
}

export function parseDescriptorList(list: CborValue[], what: string): CredentialDescriptor[] {
  const out: CredentialDescriptor[] = [];
  for (const item of list) {
    if (!isMap(item)) throw unexpected(`an entry of ${what}`);
    const type = requireText(item, 'type', `${what}[].type`);
    const id = requireBytes(item, 'id', `${what}[].id`);
    optionalArray(item, 'transports', `${what}[].transports`);
    out.push({ type, id });
  }
  return out;
}

/** The `options` map: known options must be booleans; unknown ones are ignored whatever their type. */
export function parseOptions(map: CborMap | undefined, known: readonly string[]): Map<string, boolean> {
  const out = new Map<string, boolean>();
  if (map === undefined) return out;
  for (const name of known) {
    const value = optionalBool(map, name, `option "${name}"`);
    if (value !== undefined) out.set(name, value);
  }
  return out;
}
