import { describe, expect, it } from 'vitest';
import type { CborMap, CborValue } from '../../src/cbor/index.js';
import { classifyPrfInput, planPrf } from '../../src/transports/windows/prfInputs.js';

const m = (entries: [CborValue, CborValue][]): CborMap => new Map(entries);
const salt = new Uint8Array(32).fill(1);

describe('PRF / hmac-secret inputs from Windows', () => {
  it('classifies the known shapes and never throws on others', () => {
    expect(classifyPrfInput('hmac-secret', true, 'makeCredential')).toEqual({ kind: 'create' });
    expect(classifyPrfInput('prf', m([]), 'makeCredential')).toEqual({ kind: 'create' });
    expect(classifyPrfInput('hmac-secret', m([[1, m([])], [2, salt], [3, salt]]), 'getAssertion')).toEqual({ kind: 'encrypted-salts' });
    expect(classifyPrfInput('prf', m([['eval', m([['first', salt], ['second', salt]])]]), 'getAssertion')).toEqual({
      kind: 'clear-salts',
      first: salt,
      second: salt,
    });
    expect(classifyPrfInput('prf', m([['first', salt]]), 'getAssertion')).toMatchObject({ kind: 'clear-salts' });
    for (const odd of [undefined, null, 7, 'x', new Uint8Array(3), [salt], m([['first', new Uint8Array(31)]]), m([['first', salt], ['second', 1]])]) {
      expect(classifyPrfInput('prf', odd as CborValue, 'getAssertion')).toEqual({ kind: 'unknown' });
    }
  });

  it('keeps hmac-secret at creation and removes every input it cannot use', () => {
    expect(planPrf(m([['hmac-secret', true], ['credProtect', 2]]), 'makeCredential').remove).toEqual([]);
    expect(planPrf(m([['hmac-secret-mc', m([])], ['prf', m([])]]), 'makeCredential').remove).toEqual(['hmac-secret-mc', 'prf']);
    const plan = planPrf(m([['hmac-secret', m([[1, m([])], [2, salt], [3, salt]])], ['credBlob', true]]), 'getAssertion');
    expect(plan.remove).toEqual(['hmac-secret']);
    expect(plan.notes.join()).not.toMatch(/0101/); // no salt bytes in the log
    expect(planPrf(undefined, 'getAssertion')).toEqual({ remove: [], notes: [] });
  });
});
