import { describe, expect, it } from 'vitest';
import { CLSID } from '../../src/app/identity.js';
import type { CredentialRecord } from '../../src/ctap/ports.js';
import { CredentialCache, credentialDetails } from '../../src/transports/windows/credentialCache.js';
import { sampleRecord } from '../vault/helpers.js';
import { FakeWindows } from './fakeWindows.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function setup() {
  const windows = new FakeWindows();
  const cache = new CredentialCache(windows, CLSID);
  return { windows, cache };
}

describe('credential cache resync', () => {
  it('on an empty cache (ERROR_FILE_NOT_FOUND from Windows) adds every discoverable credential', () => {
    const { windows, cache } = setup();
    const vault = [sampleRecord({ userId: Uint8Array.of(1) }), sampleRecord({ userId: Uint8Array.of(2) }), sampleRecord({ discoverable: false })];
    expect(cache.current()).toEqual([]);
    expect(cache.resync(vault)).toEqual({ added: 2, removed: 0, unchanged: 0 });
    expect([...windows.cache.keys()].sort()).toEqual([vault[0]!, vault[1]!].map((r) => hex(r.id)).sort());
    expect(windows.callsTo('addCredentials')[0]!.args[0]).toBe(CLSID);
  });

  it('removes stale entries, adds missing ones, refreshes changed names, and leaves the rest alone', () => {
    const { windows, cache } = setup();
    const kept = sampleRecord({ userId: Uint8Array.of(1) });
    const renamed = sampleRecord({ userId: Uint8Array.of(2), userName: 'old@example.com' });
    const gone = sampleRecord({ userId: Uint8Array.of(3) });
    cache.add([kept, renamed, gone]);
    const fresh = sampleRecord({ userId: Uint8Array.of(4) });
    const renamedNow: CredentialRecord = { ...renamed, userName: 'new@example.com' };
    windows.calls.length = 0;
    expect(cache.resync([kept, renamedNow, fresh])).toEqual({ added: 2, removed: 2, unchanged: 1 });
    expect(windows.cache.get(hex(renamed.id))!.userName).toBe('new@example.com');
    expect(windows.cache.has(hex(gone.id))).toBe(false);
    expect(windows.cache.get(hex(fresh.id))).toEqual(credentialDetails(fresh));
    // A second resync has nothing to do.
    windows.calls.length = 0;
    expect(cache.resync([kept, renamedNow, fresh])).toEqual({ added: 0, removed: 0, unchanged: 3 });
    expect(windows.callsTo('addCredentials')).toEqual([]);
    expect(windows.callsTo('removeCredentials')).toEqual([]);
  });

  it('fills the fields Windows requires when the vault has no names', () => {
    const record = sampleRecord({ rpName: undefined, userName: undefined, userDisplayName: undefined });
    expect(credentialDetails(record)).toEqual({
      credentialId: record.id,
      rpId: record.rpId,
      rpName: record.rpId,
      userId: record.userId,
      userName: '',
      userDisplayName: '',
    });
    expect(credentialDetails({ ...record, userDisplayName: 'Alice' })).toMatchObject({ userName: 'Alice', userDisplayName: 'Alice' });
  });

  it('passes on other errors from Windows', () => {
    const { windows, cache } = setup();
    windows.getAllCredentials = () => {
      throw Object.assign(new Error('boom'), { hresult: 0x80004005 });
    };
    expect(() => cache.resync([])).toThrow(/boom/);
  });
});
