/**
 * CTAPHID constants (CTAP 2.2 §11.2): report geometry, command and error codes, capability flags
 * and keepalive statuses. The numbers only; what they mean to a connection lives in device.ts.
 * @module
 */

/** Every report on the wire is exactly this long (no report-ID byte over a socket). */
export const REPORT_SIZE = 64;
/** Payload bytes in an initialization packet: CID(4) CMD(1) BCNT(2) leave 57. */
export const INIT_DATA_SIZE = REPORT_SIZE - 7;
/** Payload bytes in a continuation packet: CID(4) SEQ(1) leave 59. */
export const CONT_DATA_SIZE = REPORT_SIZE - 5;
/** Continuation sequence numbers run 0..127. */
export const MAX_SEQ = 0x7f;
/** The largest message one initialization and 128 continuation packets can carry: 7609 bytes. */
export const MAX_MESSAGE_SIZE = INIT_DATA_SIZE + (MAX_SEQ + 1) * CONT_DATA_SIZE;

/** The broadcast channel: only CTAPHID_INIT may use it, to ask for a channel of its own. */
export const BROADCAST_CID = 0xffffffff;
/** Channel 0 is reserved and never allocated. */
export const RESERVED_CID = 0;

/** Bit 7 of byte 4 marks an initialization packet; the low 7 bits are the command. */
export const TYPE_INIT = 0x80;

export const CtaphidCommand = {
  Ping: 0x01,
  Msg: 0x03,
  Lock: 0x04,
  Init: 0x06,
  Wink: 0x08,
  Cbor: 0x10,
  Cancel: 0x11,
  Keepalive: 0x3b,
  Error: 0x3f,
} as const;

export const CtaphidError = {
  InvalidCommand: 0x01,
  InvalidParameter: 0x02,
  InvalidLength: 0x03,
  InvalidSeq: 0x04,
  MessageTimeout: 0x05,
  ChannelBusy: 0x06,
  InvalidChannel: 0x0b,
  Other: 0x7f,
} as const;
export type CtaphidErrorCode = (typeof CtaphidError)[keyof typeof CtaphidError];

/** CTAPHID_INIT capability flags. No CTAP1/U2F messages here, hence NMSG. */
export const Capability = {
  Wink: 0x01,
  Cbor: 0x04,
  Nmsg: 0x08,
} as const;

export const KeepaliveStatus = {
  Processing: 0x01,
  UserPresenceNeeded: 0x02,
} as const;
export type KeepaliveStatusCode = (typeof KeepaliveStatus)[keyof typeof KeepaliveStatus];

/** CTAPHID protocol version reported by CTAPHID_INIT. */
export const PROTOCOL_VERSION = 2;
/** CTAPHID_INIT nonces are 8 bytes. */
export const INIT_NONCE_SIZE = 8;
/** CTAPHID_LOCK may hold the device for at most this many seconds. */
export const MAX_LOCK_SECONDS = 10;
