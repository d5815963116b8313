import { describe, expect, it } from 'vitest';
import { WebAuthnPlatform } from '../../src/app/webauthnClient.js';
import { Authenticator } from '../../src/ctap/index.js';
import { MemoryStore } from '../support/memoryStore.js';
import { approving } from '../support/users.js';
import { authenticate, ORIGIN, register } from '../support/relyingParty.js';

describe('smoke', () => {
  it('registers and signs in', async () => {
    const authenticator = new Authenticator({ store: new MemoryStore(), aaguid: new Uint8Array(16) });
    const ctx = approving();
    const platform = new WebAuthnPlatform((c, p) => authenticator.handle(c, p, ctx), ORIGIN);
    const account = await register(platform);
    const { verification } = await authenticate(platform, [account]);
    expect(verification.verified).toBe(true);
  });
});
