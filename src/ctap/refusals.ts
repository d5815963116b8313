/**
 * The one table that maps port failures (the user's refusals, the store's errors) to CTAP statuses.
 * @module
 */
import type { UserRefusal } from './ports.js';
import type { StoreError } from './ports.js';
import { Status, type StatusCode } from './status.js';

export const REFUSAL_STATUS: Readonly<Record<UserRefusal, StatusCode>> = {
  declined: Status.OPERATION_DENIED,
  timeout: Status.USER_ACTION_TIMEOUT,
  cancelled: Status.KEEPALIVE_CANCEL,
  unavailable: Status.OPERATION_DENIED,
};

export const STORE_ERROR_STATUS: Readonly<Record<StoreError['code'], StatusCode>> = {
  full: Status.KEY_STORE_FULL,
  locked: Status.OPERATION_DENIED,
  corrupt: Status.OTHER,
  tampered: Status.OTHER,
  io: Status.OTHER,
};
