/** rpIdHash (authData.ts): SHA-256 of the rpId's UTF-8, remembered for recent rpIds, a fresh copy each time. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rpIdHash } from '../../src/ctap/authData.js';

const reference = (rpId: string) => new Uint8Array(createHash('sha256').update(rpId, 'utf8').digest());

describe('rpIdHash', () => {
  it('is SHA-256 of the UTF-8 rpId, for more rpIds than it remembers, asked again after they were forgotten', () => {
    const rpIds = ['example.com', 'bücher.example', 'xn--bcher-kva.example', 'a', ...Array.from({ length: 150 }, (_, i) => `rp${i}.example`)];
    for (let pass = 0; pass < 2; pass++) {
      for (const rpId of rpIds) expect(rpIdHash(rpId)).toStrictEqual(reference(rpId));
    }
  });

  it('hands out its own copy: changing one changes no later answer', () => {
    const first = rpIdHash('example.com');
    first.fill(0);
    expect(rpIdHash('example.com')).toStrictEqual(reference('example.com'));
  });
});
