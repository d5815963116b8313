/**
 * encodeGetAssertionResponse writes the usual response straight into one buffer instead of going
 * through encodeCanonical. It must stay byte for byte the canonical encoding of the same response
 * as a map, for every shape (lengths at each head-size boundary, names ASCII or not, lone
 * surrogates, with and without user and numberOfCredentials).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CborError, encodeCanonical } from '../../src/cbor/index.js';
import {
  assertionResponseMap,
  encodeGetAssertionResponse,
  type GetAssertionResponse,
} from '../../src/ctap/wire/getAssertion.js';

/** Byte strings whose lengths hit the 1-, 2- and 3-byte head boundaries (23/24, 255/256). */
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom(23, 24, 255, 256, 300).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
);
const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(23, 24, 255, 256).map((n) => 'a'.repeat(n)),
  fc.constant('\ud800'),
);
const response: fc.Arbitrary<GetAssertionResponse> = fc.record(
  {
    credentialId: bytes,
    authData: bytes,
    signature: bytes,
    user: fc.option(
      fc.record({ id: bytes, name: fc.option(text, { nil: undefined }), displayName: fc.option(text, { nil: undefined }) }, { requiredKeys: ['id'] }),
      { nil: undefined },
    ),
    numberOfCredentials: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
  },
  { requiredKeys: ['credentialId', 'authData', 'signature'] },
);

function outcome(encode: () => Uint8Array): Uint8Array | string {
  try {
    return encode();
  } catch (error) {
    return error instanceof CborError ? `CborError ${error.reason}` : `other error ${String(error)}`;
  }
}

describe('encodeGetAssertionResponse', () => {
  it('is exactly encodeCanonical of the response map', () => {
    fc.assert(
      fc.property(response, (r) => {
        expect(outcome(() => encodeGetAssertionResponse(r))).toEqual(outcome(() => encodeCanonical(assertionResponseMap(r))));
      }),
      { numRuns: 2000 },
    );
  });

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
