/**
 * Helpers shared by the reliability, security and fuzz tests: independent checks of what the
 * authenticator answered (node:crypto verifies, not our own signing code), users that answer late,
 * and file fingerprints for "nothing was written".
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { decodeStrict, type CborMap } from '../../src/cbor/index.js';
import { parseAuthData } from '../support/ctapHelpers.js';
import { StoreError, type RequestContext, type UserPrompt, type UserVerdict, type UserVerifier } from '../../src/ctap/ports.js';

/** A COSE_Key (ES256 EC2 P-256 or EdDSA OKP Ed25519) as a node:crypto public key. */
export function coseKeyObject(cose: Uint8Array): KeyObject {
  const map = decodeStrict(cose);
  if (!(map instanceof Map)) throw new Error('a COSE key is a map');
  const b64 = (label: number) => {
    const value = map.get(label);
    if (!(value instanceof Uint8Array)) throw new Error(`COSE key parameter ${label} is missing`);
    return Buffer.from(value).toString('base64url');
  };
  if (map.get(1) === 2) return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(-2), y: b64(-3) }, format: 'jwk' });
  if (map.get(1) === 1) return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64(-2) }, format: 'jwk' });
  throw new Error(`unsupported COSE key type ${String(map.get(1))}`);
}

/**
 * Whether a raw private key (32-byte P-256 scalar or Ed25519 seed) belongs to the COSE public key:
 * node:crypto signs `message` with it and verifies with the public key (an oracle apart from our code).
 */
export function privateKeyMatches(cose: Uint8Array, privateKey: Uint8Array, message: Uint8Array): boolean {
  const publicKey = coseKeyObject(cose);
  try {
    if (publicKey.asymmetricKeyType === 'ed25519') {
      const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), privateKey]);
      const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      return verify(null, message, publicKey, sign(null, message, key));
    }
    const jwk = publicKey.export({ format: 'jwk' });
    const key = createPrivateKey({ key: { ...jwk, d: Buffer.from(privateKey).toString('base64url') }, format: 'jwk' });
    return verify('sha256', message, publicKey, sign('sha256', message, key));
  } catch {
    return false;
  }
}

/** Whether `signature` over authData ‖ clientDataHash verifies with the COSE public key (WebAuthn §6.3.3). */
export function assertionVerifies(cose: Uint8Array, authData: Uint8Array, clientDataHash: Uint8Array, signature: Uint8Array): boolean {
  const key = coseKeyObject(cose);
  const message = Buffer.concat([authData, clientDataHash]);
  return key.asymmetricKeyType === 'ed25519' ? verify(null, message, key, signature) : verify('sha256', message, key, signature);
}

/** Decodes a CBOR body that must be a map. */
export function cborMap(body: Uint8Array | undefined): CborMap {
  const value = decodeStrict(body ?? new Uint8Array(0));
  if (!(value instanceof Map)) throw new Error('the body is not a CBOR map');
  return value;
}

/** A user who approves everything after `delayMs()` milliseconds (or at once), and counts prompts. */
export class LateUser implements UserVerifier {
  readonly canVerify = true;
  readonly prompts: UserPrompt[] = [];
  constructor(private readonly delayMs: () => number = () => 0) {}
  async confirm(prompt: UserPrompt, signal?: AbortSignal): Promise<UserVerdict> {
    this.prompts.push(prompt);
    const ms = this.delayMs();
    if (ms > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (signal?.aborted) return { ok: false, refusal: 'cancelled' };
    return { ok: true, up: prompt.presence, uv: prompt.verification };
  }
}

/** A user whose answers the test releases one by one. */
export class GateUser implements UserVerifier {
  readonly canVerify = true;
  readonly prompts: UserPrompt[] = [];
  private readonly waiting: ((verdict: UserVerdict) => void)[] = [];
  private arrived: (() => void) | undefined;

  confirm(prompt: UserPrompt): Promise<UserVerdict> {
    this.prompts.push(prompt);
    this.arrived?.();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Resolves once `count` prompts have been shown in all. */
  async shown(count = 1): Promise<void> {
    while (this.prompts.length < count) await new Promise<void>((resolve) => (this.arrived = resolve));
  }

  approve(): void {
    const prompt = this.prompts[this.prompts.length - this.waiting.length];
    this.waiting.shift()?.({ ok: true, up: prompt?.presence ?? true, uv: prompt?.verification ?? false });
  }
}

export function contextOf(user: UserVerifier, signal?: AbortSignal): RequestContext {
  return { user, signal };
}

/**
 * SHA-256 of each of the vault's files that exist (main, -wal, -journal, and -shm unless `shm` is
 * false): equal fingerprints, nothing written. A reader in WAL mode updates its read mark in
 * -shm (the shared-memory index, rebuilt from the WAL after a crash, never content), so tests
 * of operations that read leave it out.
 */
export function vaultFingerprint(path: string, options: { shm?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const suffixes = options.shm === false ? ['', '-wal', '-journal'] : ['', '-wal', '-shm', '-journal'];
  for (const suffix of suffixes) {
    if (existsSync(path + suffix)) out[suffix || 'db'] = createHash('sha256').update(readFileSync(path + suffix)).digest('hex');
  }
  return out;
}

/** A small deterministic PRNG (mulberry32) for tests that must replay from a printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The StoreError `fn` throws (anything else fails the test). */
export function storeError(fn: () => unknown): StoreError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (thrown instanceof StoreError) return thrown;
  throw new Error(`expected a StoreError, got ${String(thrown)}`);
}

/** A credential as the checks below know it: from a makeCredential answer. */
export interface AnsweredCredential {
  readonly id: Uint8Array;
  readonly rpId: string;
  readonly cose: Uint8Array;
}

function rpIdHash(rpId: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(rpId).digest());
}

function authDataCredential(authData: Uint8Array): { id: Uint8Array; cose: Uint8Array } | undefined {
  const parsed = parseAuthData(authData);
  return parsed.credentialId === undefined || parsed.coseKey === undefined ? undefined : { id: parsed.credentialId, cose: parsed.coseKey };
}

/** Checks a makeCredential response body is the answer to a request for `rpId`; returns the credential. */
export function checkMakeCredentialAnswer(body: Uint8Array | undefined, rpId: string): AnsweredCredential {
  const map = cborMap(body);
  const authData = map.get(0x02);
  if (!(authData instanceof Uint8Array)) throw new Error('makeCredential answer without authData');
  if (!Buffer.from(authData.subarray(0, 32)).equals(Buffer.from(rpIdHash(rpId)))) throw new Error(`an answer for another RP than ${rpId}`);
  const credential = authDataCredential(authData);
  if (credential === undefined) throw new Error('makeCredential answer without an attested credential');
  coseKeyObject(credential.cose); // a usable public key
  return { ...credential, rpId };
}

/**
 * Checks a getAssertion response body answers THIS request: the credential asked for, its RP, and
 * a signature over this request's client data hash that verifies with that credential's key.
 * Returns the signature counter.
 */
export function checkAssertionAnswer(body: Uint8Array | undefined, credential: AnsweredCredential, clientDataHash: Uint8Array): number {
  const map = cborMap(body);
  const id = (map.get(0x01) as Map<string, unknown> | undefined)?.get('id');
  const authData = map.get(0x02);
  const signature = map.get(0x03);
  if (!(authData instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw new Error('incomplete getAssertion answer');
  if (!(id instanceof Uint8Array) || !Buffer.from(id).equals(Buffer.from(credential.id))) throw new Error('an answer from another credential');
  if (!Buffer.from(authData.subarray(0, 32)).equals(Buffer.from(rpIdHash(credential.rpId)))) throw new Error('an answer for another RP');
  if (!assertionVerifies(credential.cose, authData, clientDataHash, signature)) throw new Error('a signature over another request');
  return new DataView(authData.buffer, authData.byteOffset + 33, 4).getUint32(0);
}
