import { describe, expect, it } from 'vitest';
import { ALG_EDDSA, ALG_ES256, generateKeyPair, isAlgorithmReady, prepareAlgorithm, signMessage } from '../../src/crypto/signing.js';

// Each test file runs in a fresh module graph, so Ed25519 starts unloaded here.
describe('isAlgorithmReady', () => {
  it('is true for ES256 from the start, and for EdDSA only once prepareAlgorithm has resolved', async () => {
    expect(isAlgorithmReady(ALG_ES256)).toBe(true);
    expect(isAlgorithmReady(ALG_EDDSA)).toBe(false);
    await prepareAlgorithm(ALG_EDDSA);
    expect(isAlgorithmReady(ALG_EDDSA)).toBe(true);
    // Ready means the sync functions work without another await.
    const { privateKey } = generateKeyPair(ALG_EDDSA, new Uint8Array(32).fill(1));
    expect(signMessage(ALG_EDDSA, privateKey, new Uint8Array([1, 2, 3]))).toHaveLength(64);
  });
});
