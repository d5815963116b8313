/**
 * The exact surface of Latchkey's Windows addon (native/), and its loader. The addon knows COM,
 * threads, buffers, HRESULTs and Win32 calls; it never parses CBOR and never sees a key. Every
 * argument check and every decision lives in TypeScript.
 *
 * GUIDs cross the boundary as canonical lower-case strings "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
 * (the GUID's fields, as Windows' StringFromGUID2 prints them, without braces). Window handles
 * cross as bigint. Byte buffers cross as Uint8Array copies (the addon copies Windows' memory
 * before returning to JavaScript). A failing Win32/COM call throws an Error whose `hresult`
 * property holds the HRESULT as an unsigned 32-bit number.
 * @module
 */

export type Guid = string;

/** One MakeCredential or GetAssertion call that Windows made on IPluginAuthenticator. */
export interface PluginOperation {
  readonly kind: 'makeCredential' | 'getAssertion';
  readonly hwnd: bigint;
  readonly transactionId: Guid;
  /** WEBAUTHN_PLUGIN_OPERATION_REQUEST.pbRequestSignature, copied. */
  readonly requestSignature: Uint8Array;
  /** WEBAUTHN_PLUGIN_OPERATION_REQUEST.pbEncodedRequest, copied (the bytes Windows signed). */
  readonly request: Uint8Array;
}

/** How TypeScript answers an operation: S_OK with the bare CBOR response map, or a failure HRESULT. */
export type PluginReply =
  | { readonly hresult: 0; readonly response: Uint8Array }
  | { readonly hresult: number; readonly response?: undefined };

export interface ComServerHandlers {
  /** Called on the JS thread for each operation; `reply` must be called exactly once. */
  onOperation(operation: PluginOperation, reply: (answer: PluginReply) => void): void;
  /** CancelOperation(transactionId); answered S_OK by the addon without waiting on JavaScript. */
  onCancel(transactionId: Guid): void;
}

export interface ComServerOptions {
  /** How long a COM call waits for JavaScript before answering HRESULT_FROM_WIN32(ERROR_TIMEOUT). */
  readonly timeoutMs: number;
}

export interface AuthenticatorRegistration {
  readonly name: string;
  readonly clsid: Guid;
  /** Plugin RP ID for nested WebAuthn calls (optional). */
  readonly pluginRpId?: string | undefined;
  /** base64(UTF-8 SVG), as Windows expects. */
  readonly lightThemeLogoSvg?: string | undefined;
  readonly darkThemeLogoSvg?: string | undefined;
  /** authenticatorGetInfo response: the bare CBOR map, no status byte. */
  readonly authenticatorInfo: Uint8Array;
}

export interface CredentialDetails {
  readonly credentialId: Uint8Array;
  readonly rpId: string;
  readonly rpName: string;
  readonly userId: Uint8Array;
  readonly userName: string;
  readonly userDisplayName: string;
}

export interface UserVerificationRequest {
  readonly hwnd: bigint;
  readonly transactionId: Guid;
  readonly userName: string;
  readonly displayHint?: string | undefined;
}

export type AuthenticatorState = 'enabled' | 'disabled' | 'not-registered';

/** One line of a credential choice dialog. */
export interface CredentialChoiceItem {
  /** The account, e.g. the user name. */
  readonly label: string;
  /** A second line, e.g. the display name and when it was last used. */
  readonly detail?: string | undefined;
}

/** A small dialog that lets the user pick one of several passkeys for a site. */
export interface CredentialChoiceRequest {
  /** Owner window: the caller's top-level window from the operation request. */
  readonly hwnd: bigint;
  readonly title: string;
  readonly message: string;
  /** Two or more. */
  readonly items: readonly CredentialChoiceItem[];
}

/** Which generation of each plugin function the addon resolved from webauthn.dll. */
export interface PluginApiInfo {
  /** false when webauthn.dll lacks the plugin API (Windows older than 26100.6725). */
  readonly available: boolean;
  /** Why not, when unavailable: for the user. */
  readonly reason?: string | undefined;
  readonly addAuthenticator?: 1 | 2 | undefined;
  readonly updateAuthenticatorDetails?: 1 | 2 | undefined;
  readonly performUserVerification?: 1 | 2 | undefined;
}

export interface WindowsAddon {
  pluginApi(): PluginApiInfo;

  // COM server (IPluginAuthenticator on a dedicated thread, CoRegisterClassObject local server, multiple use).
  startComServer(clsid: Guid, handlers: ComServerHandlers, options: ComServerOptions): void;
  /** GetLockStatus is answered from this state, without waiting on the event loop. */
  setLockStatus(locked: boolean): void;
  /** Revokes the class registration and ends the COM thread. Idempotent. */
  stopComServer(): void;

  // Registration and state.
  addAuthenticator(registration: AuthenticatorRegistration): Uint8Array;
  updateAuthenticator(registration: AuthenticatorRegistration): void;
  removeAuthenticator(clsid: Guid): void;
  getAuthenticatorState(clsid: Guid): AuthenticatorState;
  onStatusChange(clsid: Guid, callback: () => void): () => void;

  // Keys Windows holds for us (CNG public key blobs: RSA1 or ECS1).
  getOperationSigningPublicKey(clsid: Guid): Uint8Array;
  getUserVerificationPublicKey(clsid: Guid): Uint8Array;
  /** Windows Hello for this operation; resolves with the signature, rejects with an hresult (NTE_USER_CANCELLED …). */
  performUserVerification(request: UserVerificationRequest): Promise<Uint8Array>;

  // The credential metadata cache (autofill and the Windows picker).
  addCredentials(clsid: Guid, credentials: readonly CredentialDetails[]): void;
  removeCredentials(clsid: Guid, credentials: readonly CredentialDetails[]): void;
  removeAllCredentials(clsid: Guid): void;
  getAllCredentials(clsid: Guid): CredentialDetails[];

  /**
   * OPTIONAL (added after the first contract; an addon without it is complete, and the host then
   * refuses to guess between several credentials): show a modal dialog owned by `hwnd` (for
   * example TaskDialogIndirect with one command link per item) and resolve with the chosen index,
   * or reject with an Error whose hresult is NTE_USER_CANCELLED when the user dismisses it.
   */
  chooseCredential?(request: CredentialChoiceRequest): Promise<number>;

  // DPAPI for the vault key (current Windows user).
  protectData(data: Uint8Array): Uint8Array;
  unprotectData(data: Uint8Array): Uint8Array;
}
