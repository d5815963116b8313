import { describe, expect, it } from 'vitest';
import { REFUSAL_STATUS } from '../../src/ctap/refusals.js';
import { SPEC_STATUSES, Status, statusName } from '../../src/ctap/status.js';
import {
  FAILURE_HRESULT,
  HRESULT,
  STATUS_FAILURE,
  describeHresult,
  hresultForStatus,
  hresultFromWin32,
  type HostFailure,
} from '../../src/transports/windows/hresult.js';

describe('HRESULT constants (winerror.h)', () => {
  it.each([
    ['S_OK', HRESULT.S_OK, 0x00000000],
    ['E_FAIL', HRESULT.E_FAIL, 0x80004005],
    ['NTE_BAD_SIGNATURE', HRESULT.NTE_BAD_SIGNATURE, 0x80090006],
    ['NTE_EXISTS', HRESULT.NTE_EXISTS, 0x8009000f],
    ['NTE_NOT_FOUND', HRESULT.NTE_NOT_FOUND, 0x80090011],
    ['NTE_INVALID_PARAMETER', HRESULT.NTE_INVALID_PARAMETER, 0x80090027],
    ['NTE_NOT_SUPPORTED', HRESULT.NTE_NOT_SUPPORTED, 0x80090029],
    ['NTE_USER_CANCELLED', HRESULT.NTE_USER_CANCELLED, 0x80090036],
    ['HRESULT_FROM_WIN32(ERROR_BUSY)', HRESULT.BUSY, 0x800700aa],
    ['HRESULT_FROM_WIN32(ERROR_TIMEOUT)', HRESULT.TIMEOUT, 0x800705b4],
    ['HRESULT_FROM_WIN32(ERROR_CANCELLED)', HRESULT.CANCELLED, 0x800704c7],
    ['HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)', HRESULT.FILE_NOT_FOUND, 0x80070002],
  ])('%s = 0x%s', (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('HRESULT_FROM_WIN32 leaves 0 alone and sets facility 7', () => {
    expect(hresultFromWin32(0)).toBe(0);
    expect(hresultFromWin32(170)).toBe(0x800700aa);
    expect(describeHresult(0x80090036)).toBe('0x80090036 (NTE_USER_CANCELLED)');
    expect(describeHresult(0x8000ffff)).toBe('0x8000FFFF');
  });
});

describe('the failure table, row by row', () => {
  it.each<[HostFailure, number]>([
    ['excluded', 0x8009000f],
    ['no-credential', 0x80090011],
    ['cancelled', 0x80090036],
    ['declined', 0x80090036],
    ['unsupported', 0x80090029],
    ['malformed', 0x80090027],
    ['bad-signature', 0x80090006],
    ['busy', 0x800700aa],
    ['timeout', 0x800705b4],
    ['other', 0x80004005],
  ])('%s → 0x%s', (failure, hresult) => {
    expect(FAILURE_HRESULT[failure]).toBe(hresult);
  });

  it('has no other rows', () => {
    expect(Object.keys(FAILURE_HRESULT)).toHaveLength(10);
  });
});

describe('every CTAP status the core can answer maps to an HRESULT', () => {
  it('covers every error status of the spec table', () => {
    const mapped = new Set(Object.keys(STATUS_FAILURE).map(Number));
    const errors = [...SPEC_STATUSES].filter((s) => s !== Status.OK);
    expect(errors.filter((s) => !mapped.has(s)).map(statusName)).toEqual([]);
    expect([...mapped].filter((s) => !SPEC_STATUSES.has(s))).toEqual([]);
  });

  it.each([
    [Status.CREDENTIAL_EXCLUDED, HRESULT.NTE_EXISTS],
    [Status.NO_CREDENTIALS, HRESULT.NTE_NOT_FOUND],
    [Status.INVALID_CREDENTIAL, HRESULT.NTE_NOT_FOUND],
    [Status.OPERATION_DENIED, HRESULT.NTE_USER_CANCELLED],
    [Status.KEEPALIVE_CANCEL, HRESULT.NTE_USER_CANCELLED],
    [Status.UV_INVALID, HRESULT.NTE_USER_CANCELLED],
    [Status.UNSUPPORTED_ALGORITHM, HRESULT.NTE_NOT_SUPPORTED],
    [Status.UNSUPPORTED_OPTION, HRESULT.NTE_NOT_SUPPORTED],
    [Status.INVALID_OPTION, HRESULT.NTE_NOT_SUPPORTED],
    [Status.INVALID_COMMAND, HRESULT.NTE_NOT_SUPPORTED],
    [Status.PUAT_REQUIRED, HRESULT.NTE_NOT_SUPPORTED],
    [Status.INVALID_CBOR, HRESULT.NTE_INVALID_PARAMETER],
    [Status.CBOR_UNEXPECTED_TYPE, HRESULT.NTE_INVALID_PARAMETER],
    [Status.MISSING_PARAMETER, HRESULT.NTE_INVALID_PARAMETER],
    [Status.INVALID_PARAMETER, HRESULT.NTE_INVALID_PARAMETER],
    [Status.INVALID_LENGTH, HRESULT.NTE_INVALID_PARAMETER],
    [Status.REQUEST_TOO_LARGE, HRESULT.NTE_INVALID_PARAMETER],
    [Status.LIMIT_EXCEEDED, HRESULT.NTE_INVALID_PARAMETER],
    [Status.CHANNEL_BUSY, HRESULT.BUSY],
    [Status.USER_ACTION_PENDING, HRESULT.BUSY],
    [Status.USER_ACTION_TIMEOUT, HRESULT.TIMEOUT],
    [Status.ACTION_TIMEOUT, HRESULT.TIMEOUT],
    [Status.KEY_STORE_FULL, HRESULT.E_FAIL],
    [Status.NOT_ALLOWED, HRESULT.E_FAIL],
    [Status.OTHER, HRESULT.E_FAIL],
  ])('status 0x%s', (status, hresult) => {
    expect(hresultForStatus(status)).toBe(hresult);
  });

  it('answers E_FAIL for a status outside the table', () => {
    expect(hresultForStatus(0x99)).toBe(HRESULT.E_FAIL);
  });

  it("turns each of the user's refusals into what the issue asks for", () => {
    expect(hresultForStatus(REFUSAL_STATUS.declined)).toBe(HRESULT.NTE_USER_CANCELLED);
    expect(hresultForStatus(REFUSAL_STATUS.cancelled)).toBe(HRESULT.NTE_USER_CANCELLED);
    expect(hresultForStatus(REFUSAL_STATUS.timeout)).toBe(HRESULT.TIMEOUT);
    expect(hresultForStatus(REFUSAL_STATUS.unavailable)).toBe(HRESULT.NTE_USER_CANCELLED);
  });
});
