/**
 * A WebAuthn client that plays the platform's part (WebAuthn §5.1.3 and §5.1.4): it builds
 * clientDataJSON, hashes it, builds the CTAP2 request a platform sends, sends it as bytes, and
 * turns the authenticator's CBOR answer into the JSON a relying party verifies. The demo and the
 * end-to-end tests drive the authenticator through it, so an independent relying party library
 * judges exactly the bytes a platform would see.
 * @module
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { decodeStrict, encodeCanonical, type CborMap, type CborValue } from '../cbor/index.js';
import { fromBase64Url, toBase64Url, utf8 } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { Command } from '../ctap/commands.js';
import { Status, statusName } from '../ctap/status.js';

/** Sends one CTAP2 command with its CBOR parameters and returns the status and body. */
export type CtapSend = (command: number, params: Uint8Array) => Promise<{ status: number; body?: Uint8Array | undefined }>;

export class CtapStatusError extends Error {
  constructor(readonly status: number, readonly command: number) {
    super(`the authenticator answered ${statusName(status)} to command 0x${command.toString(16).padStart(2, '0')}`);
    this.name = 'CtapStatusError';
  }
}

export interface CreateOptions {
  /** CTAP extension inputs to pass through as they are (e.g. credProtect, credBlob). */
  readonly ctapExtensions?: ReadonlyMap<string, CborValue>;
}

export interface GetOptions {
  readonly ctapExtensions?: ReadonlyMap<string, CborValue>;
  /** Picks one account when several discoverable credentials answer (default: the first). */
  readonly chooseAccount?: (accounts: readonly AccountChoice[]) => number;
  /** Ask for a silent assertion (up=false). */
  readonly silent?: boolean;
}

export interface AccountChoice {
  readonly credentialId: Uint8Array;
  readonly userHandle?: Uint8Array | undefined;
  readonly userName?: string | undefined;
  readonly response: AuthenticationResponseJSON;
  readonly authenticatorData: Uint8Array;
}

export interface RegistrationResult {
  readonly json: RegistrationResponseJSON;
  readonly authenticatorData: Uint8Array;
  readonly fmt: string;
}

export class WebAuthnPlatform {
  private info: CborMap | undefined;

  constructor(
    private readonly send: CtapSend,
    readonly origin: string,
  ) {}

  private async call(command: number, params: CborMap | undefined): Promise<CborMap> {
    const reply = await this.send(command, params === undefined ? new Uint8Array(0) : encodeCanonical(params));
    if (reply.status !== Status.OK) throw new CtapStatusError(reply.status, command);
    const body = decodeStrict(reply.body ?? new Uint8Array(0));
    if (!(body instanceof Map)) throw new Error('the authenticator answered something other than a CBOR map');
    return body;
  }

  async getInfo(): Promise<CborMap> {
    this.info ??= await this.call(Command.GetInfo, undefined);
    return this.info;
  }

  private async supportsUv(): Promise<boolean> {
    const options = (await this.getInfo()).get(0x04);
    return options instanceof Map && options.get('uv') === true;
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string): { json: Uint8Array; hash: Uint8Array } {
    const json = utf8(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
    return { json, hash: sha256(json) };
  }

  /** navigator.credentials.create() against this authenticator. */
  async create(options: PublicKeyCredentialCreationOptionsJSON, extra: CreateOptions = {}): Promise<RegistrationResult> {
    const clientData = this.clientData('webauthn.create', options.challenge);
    const selection = options.authenticatorSelection ?? {};
    const rk = selection.residentKey === 'required' || selection.residentKey === 'preferred' || selection.requireResidentKey === true;
    const uv = await this.wantsUv(selection.userVerification);

    const rp = new Map<string, CborValue>([['id', options.rp.id ?? new URL(this.origin).hostname], ['name', options.rp.name]]);
    const user = new Map<string, CborValue>([
      ['id', fromBase64Url(options.user.id)],
      ['name', options.user.name],
      ['displayName', options.user.displayName],
    ]);
    const params = new Map<number, CborValue>([
      [0x01, clientData.hash],
      [0x02, rp],
      [0x03, user],
      [0x04, options.pubKeyCredParams.map((p) => new Map<string, CborValue>([['alg', p.alg], ['type', p.type]]))],
    ]);
    if (options.excludeCredentials !== undefined && options.excludeCredentials.length > 0) {
      params.set(0x05, options.excludeCredentials.map((c) => descriptor(c.id)));
    }
    if (extra.ctapExtensions !== undefined && extra.ctapExtensions.size > 0) params.set(0x06, new Map(extra.ctapExtensions));
    const ctapOptions = new Map<string, CborValue>();
    if (rk) ctapOptions.set('rk', true);
    if (uv) ctapOptions.set('uv', true);
    if (ctapOptions.size > 0) params.set(0x07, ctapOptions);

    const reply = await this.call(Command.MakeCredential, params);
    const fmt = reply.get(0x01);
    const authData = reply.get(0x02);
    const attStmt = reply.get(0x03);
    if (typeof fmt !== 'string' || !(authData instanceof Uint8Array) || !(attStmt instanceof Map)) {
      throw new Error('malformed makeCredential response');
    }
    const credentialId = attestedCredentialId(authData);
    const attestationObject = encodeCanonical(
      new Map<string, CborValue>([['fmt', fmt], ['attStmt', attStmt], ['authData', authData]]),
    );
    const id = toBase64Url(credentialId);
    return {
      fmt,
      authenticatorData: authData,
      json: {
        id,
        rawId: id,
        type: 'public-key',
        response: {
          clientDataJSON: toBase64Url(clientData.json),
          attestationObject: toBase64Url(attestationObject),
          transports: ['internal'],
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      },
    };
  }

  /** navigator.credentials.get() against this authenticator. */
  async get(options: PublicKeyCredentialRequestOptionsJSON, extra: GetOptions = {}): Promise<AccountChoice> {
    const clientData = this.clientData('webauthn.get', options.challenge);
    const uv = await this.wantsUv(options.userVerification);
    const params = new Map<number, CborValue>([
      [0x01, options.rpId ?? new URL(this.origin).hostname],
      [0x02, clientData.hash],
    ]);
    if (options.allowCredentials !== undefined && options.allowCredentials.length > 0) {
      params.set(0x03, options.allowCredentials.map((c) => descriptor(c.id)));
    }
    if (extra.ctapExtensions !== undefined && extra.ctapExtensions.size > 0) params.set(0x04, new Map(extra.ctapExtensions));
    const ctapOptions = new Map<string, CborValue>();
    if (extra.silent === true) ctapOptions.set('up', false);
    if (uv) ctapOptions.set('uv', true);
    if (ctapOptions.size > 0) params.set(0x05, ctapOptions);

    const first = await this.call(Command.GetAssertion, params);
    const replies = [first];
    const count = first.get(0x05);
    if (typeof count === 'number') {
      for (let i = 1; i < count; i++) replies.push(await this.call(Command.GetNextAssertion, undefined));
    }
    const accounts = replies.map((reply) => toAccount(reply, clientData.json));
    const index = extra.chooseAccount?.(accounts) ?? 0;
    const chosen = accounts[index];
    if (chosen === undefined) throw new Error('no such account');
    return chosen;
  }

  private async wantsUv(requirement: string | undefined): Promise<boolean> {
    if (requirement === 'required') return true;
    if (requirement === 'discouraged') return false;
    return this.supportsUv(); // "preferred" is the WebAuthn default
  }
}

function descriptor(id: string): CborMap {
  return new Map<CborValue, CborValue>([['id', fromBase64Url(id)], ['type', 'public-key']]);
}

/** The credential id inside attested credential data (WebAuthn §6.5.1). */
export function attestedCredentialId(authData: Uint8Array): Uint8Array {
  if (authData.length < 55 || ((authData[32] as number) & 0x40) === 0) throw new Error('no attested credential data');
  const length = ((authData[53] as number) << 8) | (authData[54] as number);
  return authData.slice(55, 55 + length);
}

function toAccount(reply: CborMap, clientDataJson: Uint8Array): AccountChoice {
  const credential = reply.get(0x01);
  const authData = reply.get(0x02);
  const signature = reply.get(0x03);
  const user = reply.get(0x04);
  if (!(credential instanceof Map) || !(authData instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new Error('malformed getAssertion response');
  }
  const credentialId = credential.get('id');
  if (!(credentialId instanceof Uint8Array)) throw new Error('malformed credential descriptor');
  const userHandle = user instanceof Map ? user.get('id') : undefined;
  const userName = user instanceof Map ? user.get('name') : undefined;
  const id = toBase64Url(credentialId);
  return {
    credentialId,
    userHandle: userHandle instanceof Uint8Array ? userHandle : undefined,
    userName: typeof userName === 'string' ? userName : undefined,
    authenticatorData: authData,
    response: {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: toBase64Url(clientDataJson),
        authenticatorData: toBase64Url(authData),
        signature: toBase64Url(signature),
        ...(userHandle instanceof Uint8Array ? { userHandle: toBase64Url(userHandle) } : {}),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    },
  };
}
