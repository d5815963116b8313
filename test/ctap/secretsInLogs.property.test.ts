/**
 * Property: whatever mix of good and bad hmac-secret requests arrives (bad saltAuth, wrong
 * lengths, foreign keys, unsupported protocols, silent assertions, failing stores), the log never
 * contains a CredRandom, a salt, an hmac-secret output or a shared secret, in any usual rendering.
 *
 * Runs: LATCHKEY_PROPERTY_RUNS (default 300, here a tenth of it: each run is a whole sequence).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CborMap, CborValue } from '../../src/cbor/index.js';
import { Authenticator, Command, StoreError, type CredentialRecord } from '../../src/ctap/index.js';
import { MemoryStore } from '../support/memoryStore.js';
import { approving } from '../support/users.js';
import { AAGUID, bodyMap, createCredential, encode, getAssertionParams, makeCredentialParams, options, parseAuthData, textMap } from '../support/ctapHelpers.js';
import { concat, Platform, type ProtocolVersion } from './platformPin.js';

const RUNS = Math.max(10, Math.floor(Number(process.env['LATCHKEY_PROPERTY_RUNS'] ?? 300) / 10));

/** A store that can be told to fail the next use, with a message that names the credential. */
class FlakyStore extends MemoryStore {
  failNext = false;
  override recordUse(record: CredentialRecord, usedAt: number): number {
    if (this.failNext) {
      this.failNext = false;
      throw new StoreError('io', `could not record a use of a credential of ${record.rpId}`);
    }
    return super.recordUse(record, usedAt);
  }
}

/** Every rendering of a secret a careless log line might contain. */
function renderings(secret: Uint8Array): string[] {
  const buffer = Buffer.from(secret);
  return [
    buffer.toString('hex'),
    buffer.toString('hex').toUpperCase(),
    buffer.toString('base64').replace(/=+$/, ''),
    buffer.toString('base64url'),
    buffer.toString('latin1'),
    Array.from(secret).join(','),
  ].map((r) => r.slice(0, 24)); // a 16-byte prefix is already a leak
}

type Tamper = 'none' | 'auth' | 'saltLength' | 'protocol' | 'foreignKey' | 'silent' | 'storeFails' | 'notOnCurve';

const step = fc.record({
  credential: fc.nat(2),
  protocol: fc.constantFrom<ProtocolVersion>(1, 2),
  salts: fc.uint8Array({ minLength: 32, maxLength: 32 }).chain((a) => fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }).map((b) => [a, b] as const)),
  uv: fc.boolean(),
  tamper: fc.constantFrom<Tamper>('none', 'none', 'auth', 'saltLength', 'protocol', 'foreignKey', 'silent', 'storeFails', 'notOnCurve'),
});

describe('secrets never reach the log', () => {
  it('holds for random sequences of hmac-secret assertions, good and bad', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const lines: string[] = [];
        const store = new FlakyStore();
        const authenticator = new Authenticator({ store, aaguid: AAGUID, log: (line) => lines.push(line) });
        const ids: Uint8Array[] = [];
        for (let n = 0; n < 3; n++) {
          const params = makeCredentialParams({ userId: Uint8Array.of(n + 1) }).set(0x06, textMap({ 'hmac-secret': true }));
          ids.push((await createCredential(authenticator, approving(), params)).id);
        }
        const secrets: Uint8Array[] = [];
        for (const id of ids) {
          const s = store.openSecrets(store.findById('example.com', id)!);
          secrets.push(s.hmacSecretWithUv!, s.hmacSecretWithoutUv!);
        }

        for (const { credential, protocol, salts, uv, tamper } of steps) {
          const platform = await Platform.agree(authenticator, protocol);
          const saltBytes = salts[1] === undefined ? salts[0] : concat(salts[0], salts[1]);
          secrets.push(platform.sharedSecret, salts[0], ...(salts[1] === undefined ? [] : [salts[1]]));
          const input = platform.hmacSecretInput(tamper === 'saltLength' ? saltBytes.subarray(0, 16) : saltBytes);
          if (tamper === 'auth') input.set(3, new Uint8Array(platform.protocol === 1 ? 16 : 32));
          if (tamper === 'protocol') input.set(4, 7);
          if (tamper === 'foreignKey') input.set(1, Platform.withKey(platform.keyAgreement, protocol).keyAgreement);
          if (tamper === 'notOnCurve') input.set(1, new Map(input.get(1) as CborMap).set(-3, new Uint8Array(32).fill(9)));
          if (tamper === 'storeFails') store.failNext = true;
          const params = getAssertionParams({ allow: [ids[credential]!] }).set(0x04, textMap({ 'hmac-secret': input as CborValue }));
          if (uv || tamper === 'silent') params.set(0x05, options({ ...(uv ? { uv: true } : {}), ...(tamper === 'silent' ? { up: false } : {}) }));
          const response = await authenticator.handle(Command.GetAssertion, encode(params), approving());
          if (response.status === 0) {
            const enc = parseAuthData(bodyMap(response).get(0x02) as Uint8Array).extensions?.get('hmac-secret') as Uint8Array;
            const output = platform.decrypt(enc);
            secrets.push(output.subarray(0, 32), ...(output.length > 32 ? [output.subarray(32)] : []));
          } else {
            expect(tamper).not.toBe('none');
          }
        }
        store.failNext = false;

        const log = lines.join('\n');
        for (const secret of secrets) {
          for (const rendering of renderings(secret)) expect(log.includes(rendering)).toBe(false);
        }
        // Failures were logged (so the property is not vacuous when something went wrong).
        if (steps.some((s) => s.tamper !== 'none')) expect(lines.length).toBeGreaterThan(0);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
