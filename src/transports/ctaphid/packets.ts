/**
 * One CTAPHID packet on the wire, and a whole message cut into packets (CTAP 2.2 §11.2.4):
 *
 *   initialization  CID(4, big-endian) | 0x80|CMD(1) | BCNT(2, big-endian) | DATA(57)
 *   continuation    CID(4, big-endian) | SEQ(1, 0..127) | DATA(59)
 *
 * Unused bytes at the end of the last packet are zero.
 * @module
 */
import { CONT_DATA_SIZE, INIT_DATA_SIZE, MAX_MESSAGE_SIZE, REPORT_SIZE, TYPE_INIT } from './protocol.js';

export type Packet =
  | { readonly kind: 'init'; readonly cid: number; readonly cmd: number; readonly length: number; readonly data: Uint8Array }
  | { readonly kind: 'cont'; readonly cid: number; readonly seq: number; readonly data: Uint8Array };

/** Reads one 64-byte report. `data` is a view into `report`: copy it before the report is reused. */
export function parsePacket(report: Uint8Array): Packet {
  if (report.length !== REPORT_SIZE) throw new RangeError(`a CTAPHID report is ${REPORT_SIZE} bytes, not ${report.length}`);
  const cid = ((report[0]! << 24) | (report[1]! << 16) | (report[2]! << 8) | report[3]!) >>> 0;
  const type = report[4]!;
  if ((type & TYPE_INIT) !== 0) {
    return { kind: 'init', cid, cmd: type & 0x7f, length: (report[5]! << 8) | report[6]!, data: report.subarray(7) };
  }
  return { kind: 'cont', cid, seq: type, data: report.subarray(5) };
}

/** How many packets a message of `length` bytes takes. */
export function packetCount(length: number): number {
  return length <= INIT_DATA_SIZE ? 1 : 1 + Math.ceil((length - INIT_DATA_SIZE) / CONT_DATA_SIZE);
}

/** Cuts a message into its packets, laid end to end (a multiple of 64 bytes, ready for one write). */
export function encodeMessage(cid: number, cmd: number, payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_MESSAGE_SIZE) throw new RangeError(`a CTAPHID message carries at most ${MAX_MESSAGE_SIZE} bytes`);
  const count = packetCount(payload.length);
  const out = new Uint8Array(count * REPORT_SIZE);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const base = i * REPORT_SIZE;
    out[base] = cid >>> 24;
    out[base + 1] = (cid >>> 16) & 0xff;
    out[base + 2] = (cid >>> 8) & 0xff;
    out[base + 3] = cid & 0xff;
    let header: number;
    if (i === 0) {
      out[base + 4] = TYPE_INIT | cmd;
      out[base + 5] = payload.length >>> 8;
      out[base + 6] = payload.length & 0xff;
      header = 7;
    } else {
      out[base + 4] = i - 1;
      header = 5;
    }
    const chunk = payload.subarray(offset, offset + REPORT_SIZE - header);
    out.set(chunk, base + header);
    offset += chunk.length;
  }
  return out;
}
