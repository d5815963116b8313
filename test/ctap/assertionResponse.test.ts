/** The getAssertion response body, byte for byte: canonical key order in the top map and in the user map. */
import { describe, expect, it } from 'vitest';
import { encodeGetAssertionResponse, type GetAssertionResponse } from '../../src/ctap/wire/getAssertion.js';

describe('encodeGetAssertionResponse', () => {
  it('writes the usual response (user with ASCII names) in canonical key order', () => {
    const r: GetAssertionResponse = {
      credentialId: new Uint8Array([1, 2]),
      authData: new Uint8Array(37),
      signature: new Uint8Array([9]),
      user: { id: new Uint8Array([7]), name: 'a', displayName: 'B' },
    };
    const hex = Buffer.from(encodeGetAssertionResponse(r)).toString('hex');
    expect(hex).toBe(
      'a4' +
        '01a262696442010264747970656a7075626c69632d6b6579' +
        '025825' + '00'.repeat(37) +
        '034109' +
        '04a36269644107646e616d6561616b646973706c61794e616d656142',
    );
  });
});
