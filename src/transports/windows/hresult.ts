/**
 * The one table from Latchkey's failures to the HRESULTs Windows expects from a plugin
 * authenticator. Windows turns some of them into the DOM error a relying party sees
 * (webauthn.h's WebAuthNGetErrorName): NTE_EXISTS → InvalidStateError; NTE_NOT_SUPPORTED →
 * ConstraintError; NTE_INVALID_PARAMETER → NotSupportedError; NTE_NOT_FOUND, NTE_USER_CANCELLED and
 * ERROR_TIMEOUT → NotAllowedError; everything else → UnknownError.
 *
 * Constants as in winerror.h (checked against it): the NTE_* values are facility 9 (security).
 * @module
 */
import { Status, type StatusCode } from '../../ctap/status.js';

/** HRESULT_FROM_WIN32: a Win32 error code as an unsigned 32-bit HRESULT. */
export function hresultFromWin32(code: number): number {
  return code <= 0 ? code >>> 0 : ((code & 0xffff) | 0x80070000) >>> 0;
}

export const HRESULT = {
  S_OK: 0,
  E_FAIL: 0x80004005,
  NTE_BAD_SIGNATURE: 0x80090006,
  NTE_EXISTS: 0x8009000f,
  NTE_NOT_FOUND: 0x80090011,
  NTE_INVALID_PARAMETER: 0x80090027,
  NTE_NOT_SUPPORTED: 0x80090029,
  NTE_USER_CANCELLED: 0x80090036,
  /** HRESULT_FROM_WIN32(ERROR_BUSY = 170) */
  BUSY: hresultFromWin32(170),
  /** HRESULT_FROM_WIN32(ERROR_TIMEOUT = 1460) */
  TIMEOUT: hresultFromWin32(1460),
  /** HRESULT_FROM_WIN32(ERROR_CANCELLED = 1223): what Windows reports for some cancelled prompts. */
  CANCELLED: hresultFromWin32(1223),
  /** HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND = 2): GetAllCredentials on an empty cache. */
  FILE_NOT_FOUND: hresultFromWin32(2),
} as const;

/** What went wrong, as the Windows host classifies it. */
export type HostFailure =
  | 'excluded'
  | 'no-credential'
  | 'cancelled'
  | 'declined'
  | 'unsupported'
  | 'malformed'
  | 'bad-signature'
  | 'busy'
  | 'timeout'
  | 'other';

/** The table of the brief: one row per failure kind. */
export const FAILURE_HRESULT: Readonly<Record<HostFailure, number>> = {
  excluded: HRESULT.NTE_EXISTS,
  'no-credential': HRESULT.NTE_NOT_FOUND,
  cancelled: HRESULT.NTE_USER_CANCELLED,
  declined: HRESULT.NTE_USER_CANCELLED,
  unsupported: HRESULT.NTE_NOT_SUPPORTED,
  malformed: HRESULT.NTE_INVALID_PARAMETER,
  'bad-signature': HRESULT.NTE_BAD_SIGNATURE,
  busy: HRESULT.BUSY,
  timeout: HRESULT.TIMEOUT,
  other: HRESULT.E_FAIL,
};

type ErrorStatus = Exclude<StatusCode, typeof Status.OK>;

/**
 * Every CTAP status the core can answer, classified. The core answers only statuses of the spec's
 * table (authenticator.ts), so this covers all it can say; a test checks no status is missing.
 */
export const STATUS_FAILURE: Readonly<Record<ErrorStatus, HostFailure>> = {
  // excluded
  [Status.CREDENTIAL_EXCLUDED]: 'excluded',
  // no credential
  [Status.NO_CREDENTIALS]: 'no-credential',
  [Status.INVALID_CREDENTIAL]: 'no-credential',
  // the user said no, or the operation was cancelled (the core's refusal table: declined and
  // unavailable → OPERATION_DENIED, cancelled → KEEPALIVE_CANCEL); a failed UV is a refusal too
  [Status.OPERATION_DENIED]: 'declined',
  [Status.KEEPALIVE_CANCEL]: 'cancelled',
  [Status.UV_INVALID]: 'declined',
  // unsupported algorithm, option, command or feature (Windows never sends PIN/UV auth: a request
  // that needs it asks for something this plugin does not do)
  [Status.UNSUPPORTED_ALGORITHM]: 'unsupported',
  [Status.UNSUPPORTED_OPTION]: 'unsupported',
  [Status.INVALID_OPTION]: 'unsupported',
  [Status.INVALID_COMMAND]: 'unsupported',
  [Status.INVALID_SUBCOMMAND]: 'unsupported',
  [Status.PUAT_REQUIRED]: 'unsupported',
  [Status.PIN_NOT_SET]: 'unsupported',
  [Status.UP_REQUIRED]: 'unsupported',
  [Status.UNAUTHORIZED_PERMISSION]: 'unsupported',
  // malformed request
  [Status.INVALID_PARAMETER]: 'malformed',
  [Status.INVALID_LENGTH]: 'malformed',
  [Status.INVALID_CBOR]: 'malformed',
  [Status.CBOR_UNEXPECTED_TYPE]: 'malformed',
  [Status.MISSING_PARAMETER]: 'malformed',
  [Status.LIMIT_EXCEEDED]: 'malformed',
  [Status.REQUEST_TOO_LARGE]: 'malformed',
  [Status.INVALID_SEQ]: 'malformed',
  // busy
  [Status.CHANNEL_BUSY]: 'busy',
  [Status.OPERATION_PENDING]: 'busy',
  [Status.USER_ACTION_PENDING]: 'busy',
  // timeout
  [Status.TIMEOUT]: 'timeout',
  [Status.USER_ACTION_TIMEOUT]: 'timeout',
  [Status.ACTION_TIMEOUT]: 'timeout',
  // everything else: E_FAIL
  [Status.LOCK_REQUIRED]: 'other',
  [Status.INVALID_CHANNEL]: 'other',
  [Status.FP_DATABASE_FULL]: 'other',
  [Status.LARGE_BLOB_STORAGE_FULL]: 'other',
  [Status.PROCESSING]: 'other',
  [Status.NO_OPERATIONS]: 'other',
  [Status.KEY_STORE_FULL]: 'other',
  [Status.NOT_ALLOWED]: 'other',
  [Status.PIN_INVALID]: 'other',
  [Status.PIN_BLOCKED]: 'other',
  [Status.PIN_AUTH_INVALID]: 'other',
  [Status.PIN_AUTH_BLOCKED]: 'other',
  [Status.PIN_POLICY_VIOLATION]: 'other',
  [Status.UV_BLOCKED]: 'other',
  [Status.INTEGRITY_FAILURE]: 'other',
  [Status.OTHER]: 'other',
};

/** The HRESULT for a failed CTAP status (E_FAIL for anything not in the table). */
export function hresultForStatus(status: number): number {
  const failure = (STATUS_FAILURE as Readonly<Record<number, HostFailure>>)[status];
  return FAILURE_HRESULT[failure ?? 'other'];
}

/** A failure the host itself detects (before or around the core), carrying its classification. */
export class PluginHostError extends Error {
  constructor(
    readonly failure: HostFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PluginHostError';
  }

  get hresult(): number {
    return FAILURE_HRESULT[this.failure];
  }
}

/** The HRESULT of an Error thrown by the addon (its `hresult` property), if it has one. */
export function hresultOfAddonError(error: unknown): number | undefined {
  const value = (error as { hresult?: unknown } | null | undefined)?.hresult;
  return typeof value === 'number' && Number.isInteger(value) ? value >>> 0 : undefined;
}

/** "0x80090036 (NTE_USER_CANCELLED)" for logs. */
export function describeHresult(hresult: number): string {
  const name = Object.entries(HRESULT).find(([, value]) => value === hresult >>> 0)?.[0];
  const hex = `0x${(hresult >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
  return name === undefined ? hex : `${hex} (${name})`;
}
