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
  // A locked vault: "not authorized for the requested operation" until the user unlocks it.
  // Not CHANNEL_BUSY (clients retry that in a loop), not PUAT_REQUIRED / UV_BLOCKED (clients
  // would start PIN flows this authenticator does not have).
  locked: Status.OPERATION_DENIED,
  corrupt: Status.OTHER,
  tampered: Status.OTHER,
  io: Status.OTHER,
};
