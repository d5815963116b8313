/**
 * An in-process TypeScript stand-in for the native addon (WindowsAddon) that plays Windows: it
 * holds an operation-signing key and a user-verification key (ECDSA P-256 or RSA, PKCS#1 or PSS),
 * signs each request it sends the way Windows does (over SHA-256 of the exact request bytes),
 * answers user verification (accept, decline, slow, or a bad signature), keeps a credential
 * metadata cache and records every call. Keys are encoded as CNG blobs by {@link cngBlob}.
 */
import { constants, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticatorRegistration,
  AuthenticatorState,
  ComServerHandlers,
  ComServerOptions,
  CredentialDetails,
  Guid,
  PluginApiInfo,
  PluginOperation,
  PluginReply,
  UserVerificationRequest,
  WindowsAddon,
} from '../../src/transports/windows/native.js';
import { concatBytes as concat } from '../../src/crypto/bytes.js';
import { HRESULT } from '../../src/transports/windows/hresult.js';

export type KeyType = 'ecdsa' | 'rsa-pkcs1' | 'rsa-pss';

export interface SigningKey {
  readonly type: KeyType;
  readonly privateKey: KeyObject;
  readonly blob: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

const fromB64url = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'));

/** Encode a public key as a CNG blob: ECS1 (P-256) or RSA1, as Windows' bcrypt.h lays them out. */
export function cngBlob(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty === 'EC') {
    const x = fromB64url(jwk.x!);
    const y = fromB64url(jwk.y!);
    return concat(u32le(0x31534345), u32le(32), x, y);
  }
  const n = fromB64url(jwk.n!);
  const e = fromB64url(jwk.e!);
  const bits = (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
  return concat(u32le(0x31415352), u32le(bits), u32le(e.length), u32le(n.length), u32le(0), u32le(0), e, n);
}

/** A fresh signing key of this type, with its CNG blob and Windows' signing scheme. */
export function signingKey(type: KeyType): SigningKey {
  if (type === 'ecdsa') {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return {
      type,
      privateKey,
      blob: cngBlob(publicKey),
      sign: (message) => new Uint8Array(sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
    };
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const padding =
    type === 'rsa-pss'
      ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : { padding: constants.RSA_PKCS1_PADDING };
  return {
    type,
    privateKey,
    blob: cngBlob(publicKey),
    sign: (message) => new Uint8Array(sign('sha256', message, { key: privateKey, ...padding })),
  };
}

export type UvMode = 'accept' | 'decline' | 'cancel-error' | 'slow' | 'bad-signature' | 'empty';

export interface AddonCall {
  readonly name: string;
  readonly args: readonly unknown[];
}

function hresultError(hresult: number, what: string): Error {
  return Object.assign(new Error(`${what} failed: 0x${hresult.toString(16)}`), { hresult });
}

/** The fake addon, plus the controls a test uses to play Windows. */
export class FakeWindows implements WindowsAddon {
  readonly calls: AddonCall[] = [];
  opSigningKey: SigningKey;
  uvKey: SigningKey;
  uvMode: UvMode = 'accept';
  /** How long a 'slow' UV takes, in ms. */
  slowUvMs = 60_000;
  readonly cache = new Map<string, CredentialDetails>();
  lockStatus: boolean[] = [];
  state: AuthenticatorState = 'not-registered';
  registration: AuthenticatorRegistration | undefined;
  private handlers: ComServerHandlers | undefined;
  comOptions: ComServerOptions | undefined;
  comRunning = false;
  uvRequests: UserVerificationRequest[] = [];
  /** Set to make getOperationSigningPublicKey fail. */
  opKeyUnavailable = false;

  constructor(opType: KeyType = 'ecdsa', uvType: KeyType = 'ecdsa') {
    this.opSigningKey = signingKey(opType);
    this.uvKey = signingKey(uvType);
  }

  private record(name: string, ...args: unknown[]): void {
    this.calls.push({ name, args });
  }

  callsTo(name: string): AddonCall[] {
    return this.calls.filter((c) => c.name === name);
  }

  // ---- playing Windows ------------------------------------------------------------------------

  /**
   * Send one operation the way Windows does: sign the bytes with the op-signing key (or use the
   * given signature), then call the COM object's handler and wait for its reply.
   */
  call(
    kind: PluginOperation['kind'],
    request: Uint8Array,
    options: { signature?: Uint8Array; transactionId?: Guid; hwnd?: bigint } = {},
  ): Promise<PluginReply> {
    const handlers = this.handlers;
    if (handlers === undefined || !this.comRunning) throw new Error('the COM server is not running');
    const operation: PluginOperation = {
      kind,
      hwnd: options.hwnd ?? 0x10010n,
      transactionId: options.transactionId ?? randomUUID(),
      requestSignature: options.signature ?? this.opSigningKey.sign(request),
      request: request.slice(),
    };
    this.pendingRequests.set(operation.transactionId, operation.request);
    return new Promise<PluginReply>((resolve, reject) => {
      let replies = 0;
      try {
        handlers.onOperation(operation, (answer) => {
          replies += 1;
          if (replies > 1) reject(new Error('reply called more than once'));
          else resolve(answer);
        });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  cancel(transactionId: Guid): void {
    this.handlers?.onCancel(transactionId);
  }

  // ---- WindowsAddon ---------------------------------------------------------------------------

  pluginApi(): PluginApiInfo {
    return { available: true, addAuthenticator: 1, updateAuthenticatorDetails: 1, performUserVerification: 1 };
  }

  startComServer(clsid: Guid, handlers: ComServerHandlers, options: ComServerOptions): void {
    this.record('startComServer', clsid, options);
    this.handlers = handlers;
    this.comOptions = options;
    this.comRunning = true;
  }

  setLockStatus(locked: boolean): void {
    this.record('setLockStatus', locked);
    this.lockStatus.push(locked);
  }

  stopComServer(): void {
    this.record('stopComServer');
    this.comRunning = false;
  }

  addAuthenticator(registration: AuthenticatorRegistration): Uint8Array {
    this.record('addAuthenticator', registration);
    if (this.state !== 'not-registered') throw hresultError(HRESULT.NTE_EXISTS, 'WebAuthNPluginAddAuthenticator');
    this.registration = registration;
    this.state = 'disabled';
    return this.opSigningKey.blob;
  }

  updateAuthenticator(registration: AuthenticatorRegistration): void {
    this.record('updateAuthenticator', registration);
    if (this.state === 'not-registered') throw hresultError(HRESULT.NTE_NOT_FOUND, 'WebAuthNPluginUpdateAuthenticatorDetails');
    this.registration = registration;
  }

  removeAuthenticator(clsid: Guid): void {
    this.record('removeAuthenticator', clsid);
    if (this.state === 'not-registered') throw hresultError(HRESULT.NTE_NOT_FOUND, 'WebAuthNPluginRemoveAuthenticator');
    this.state = 'not-registered';
    this.registration = undefined;
  }

  getAuthenticatorState(clsid: Guid): AuthenticatorState {
    this.record('getAuthenticatorState', clsid);
    return this.state;
  }

  onStatusChange(clsid: Guid, _callback: () => void): () => void {
    this.record('onStatusChange', clsid);
    return () => undefined;
  }

  getOperationSigningPublicKey(clsid: Guid): Uint8Array {
    this.record('getOperationSigningPublicKey', clsid);
    if (this.opKeyUnavailable) throw hresultError(HRESULT.NTE_NOT_FOUND, 'WebAuthNPluginGetOperationSigningPublicKey');
    return this.opSigningKey.blob.slice();
  }

  getUserVerificationPublicKey(clsid: Guid): Uint8Array {
    this.record('getUserVerificationPublicKey', clsid);
    return this.uvKey.blob.slice();
  }

  /** The request bytes of the operation with this transaction id (what Windows' UV key signs). */
  pendingRequests = new Map<string, Uint8Array>();

  async performUserVerification(request: UserVerificationRequest): Promise<Uint8Array> {
    this.record('performUserVerification', request);
    this.uvRequests.push(request);
    const bytes = this.pendingRequests.get(request.transactionId);
    switch (this.uvMode) {
      case 'decline':
        throw hresultError(HRESULT.NTE_USER_CANCELLED, 'WebAuthNPluginPerformUserVerification');
      case 'cancel-error':
        throw hresultError(HRESULT.CANCELLED, 'WebAuthNPluginPerformUserVerification');
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, this.slowUvMs));
        break;
      case 'bad-signature':
        return signingKey('ecdsa').sign(bytes ?? new Uint8Array(1));
      case 'empty':
        return new Uint8Array(0);
      case 'accept':
        break;
    }
    if (bytes === undefined) throw hresultError(HRESULT.NTE_NOT_FOUND, 'no operation with this transaction id');
    return this.uvKey.sign(bytes);
  }

  addCredentials(clsid: Guid, credentials: readonly CredentialDetails[]): void {
    this.record('addCredentials', clsid, credentials);
    for (const c of credentials) this.cache.set(Buffer.from(c.credentialId).toString('hex'), c);
  }

  removeCredentials(clsid: Guid, credentials: readonly CredentialDetails[]): void {
    this.record('removeCredentials', clsid, credentials);
    for (const c of credentials) this.cache.delete(Buffer.from(c.credentialId).toString('hex'));
  }

  removeAllCredentials(clsid: Guid): void {
    this.record('removeAllCredentials', clsid);
    this.cache.clear();
  }

  getAllCredentials(clsid: Guid): CredentialDetails[] {
    this.record('getAllCredentials', clsid);
    if (this.cache.size === 0) throw hresultError(HRESULT.FILE_NOT_FOUND, 'WebAuthNPluginAuthenticatorGetAllCredentials');
    return [...this.cache.values()];
  }

  protectData(data: Uint8Array): Uint8Array {
    this.record('protectData');
    return Uint8Array.from([0xd9, ...data.map((b) => b ^ 0x5a)]);
  }

  unprotectData(data: Uint8Array): Uint8Array {
    this.record('unprotectData');
    if (data[0] !== 0xd9) throw hresultError(0x8009000b, 'CryptUnprotectData');
    return Uint8Array.from(data.subarray(1).map((b) => b ^ 0x5a));
  }
}
