/**
 * Defence in depth: even a store that ignores the rpId when finding a credential (the solo1#306
 * failure, one layer down) cannot make one relying party's credential answer another.
 */
import { describe, expect, it } from 'vitest';
import type { CredentialRecord } from '../../src/ctap/ports.js';
import { Command, Status } from '../../src/ctap/index.js';
import { MemoryStore } from '../support/memoryStore.js';
import { approving } from '../support/users.js';
import {
  createCredential,
  descriptor,
  encode,
  getAssertionParams,
  makeCredentialParams,
  options,
  OTHER_RP,
  RP,
  setup,
} from '../support/ctapHelpers.js';
import type { CborValue } from '../../src/cbor/index.js';

function withRk(params: Map<number, CborValue>): Map<number, CborValue> {
  params.set(0x07, options({ rk: true }));
  return params;
}
import { toHex } from '../../src/crypto/bytes.js';

/** A faulty store: finds ids and discoverable credentials whatever the rpId. */
class CarelessStore extends MemoryStore {
  override findById(_rpId: string, id: Uint8Array): CredentialRecord | undefined {
    return this.records.get(toHex(id));
  }
  override findDiscoverable(): CredentialRecord[] {
    return [...this.records.values()].filter((r) => r.discoverable);
  }
}

describe('rpId binding in the core', () => {
  it('never signs for another RP with a credential of this one, even when the store would hand it out', async () => {
    const { authenticator } = setup({ store: new CarelessStore() });
    const ctx = approving();
    const created = await createCredential(authenticator, ctx, withRk(makeCredentialParams()));
    const byId = await authenticator.handle(Command.GetAssertion, encode(getAssertionParams({ rpId: OTHER_RP, allow: [created.id] })), ctx);
    expect(byId.status).toBe(Status.NO_CREDENTIALS);
    const discoverable = await authenticator.handle(Command.GetAssertion, encode(getAssertionParams({ rpId: OTHER_RP })), ctx);
    expect(discoverable.status).toBe(Status.NO_CREDENTIALS);
    const own = await authenticator.handle(Command.GetAssertion, encode(getAssertionParams({ rpId: RP, allow: [created.id] })), ctx);
    expect(own.status).toBe(Status.OK);
  });

  it('does not let another RP\'s credential in an excludeList exclude, even from a careless store', async () => {
    const { authenticator } = setup({ store: new CarelessStore() });
    const ctx = approving();
    const created = await createCredential(authenticator, ctx, withRk(makeCredentialParams()));
    const params = makeCredentialParams({ rpId: OTHER_RP });
    params.set(0x05, [descriptor(created.id)]);
    const reply = await authenticator.handle(Command.MakeCredential, encode(params), ctx);
    expect(reply.status).toBe(Status.OK);
    // The same excludeList at its own RP does exclude: the test above is not vacuous.
    const own = makeCredentialParams();
    own.set(0x05, [descriptor(created.id)]);
    expect((await authenticator.handle(Command.MakeCredential, encode(own), ctx)).status).toBe(Status.CREDENTIAL_EXCLUDED);
  });
});

describe('getNextAssertion after a refusal', () => {
  it('drops the pending sequence once a continuation came too late, so it cannot answer later', async () => {
    const { authenticator, clock } = setup();
    const ctx = approving();
    for (const user of [1, 2, 3]) {
      await createCredential(authenticator, ctx, withRk(makeCredentialParams({ userId: new Uint8Array([user]) })));
      clock.advance(1);
    }
    const first = await authenticator.handle(Command.GetAssertion, encode(getAssertionParams()), ctx);
    expect(first.status).toBe(Status.OK);
    clock.advance(31_000);
    expect((await authenticator.handle(Command.GetNextAssertion, new Uint8Array(0), ctx)).status).toBe(Status.NOT_ALLOWED);
    clock.time -= 31_000; // a clock that jumps back must not revive the old sequence
    expect((await authenticator.handle(Command.GetNextAssertion, new Uint8Array(0), ctx)).status).toBe(Status.NOT_ALLOWED);
  });
});
