/**
 * Reassembly of one request message from its initialization packet and continuation packets,
 * checking that continuations arrive in order (SEQ 0, 1, 2, …) and stop at BCNT bytes.
 * @module
 */
import { MAX_MESSAGE_SIZE } from './protocol.js';

export type AddResult = 'more' | 'complete' | 'out-of-order';

export class MessageAssembly {
  private readonly buffer: Uint8Array;
  private filled: number;
  private nextSeq = 0;

  /** `first` is the initialization packet's data; only the first `length` bytes of all data count. */
  constructor(
    readonly cmd: number,
    readonly length: number,
    first: Uint8Array,
  ) {
    if (length > MAX_MESSAGE_SIZE) throw new RangeError('message too long');
    this.buffer = new Uint8Array(length);
    this.filled = Math.min(length, first.length);
    this.buffer.set(first.subarray(0, this.filled));
  }

  get complete(): boolean {
    return this.filled === this.length;
  }

  /** Adds a continuation packet's data. */
  add(seq: number, data: Uint8Array): AddResult {
    if (seq !== this.nextSeq || this.complete) return 'out-of-order';
    this.nextSeq++;
    const take = Math.min(this.length - this.filled, data.length);
    this.buffer.set(data.subarray(0, take), this.filled);
    this.filled += take;
    return this.complete ? 'complete' : 'more';
  }

  /** The whole message (valid once complete). */
  payload(): Uint8Array {
    return this.buffer;
  }
}
