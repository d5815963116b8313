/**
 * The crash checks bite: the same loop as crash.test.ts, over children broken on purpose
 * (crashChild.mjs, LATCHKEY_CRASH_MUTANT), each breaking one promise. Every one is caught within a
 * few kills, so a real regression of that kind would be too.
 */
import { describe, expect, it } from 'vitest';
import { crashLoop, requireBuild } from './crash.js';

describe('the crash checks catch a broken authenticator', () => {
  it.each([
    ['late-counter', 'a counter answered before it was written', /counter went backwards|stores signCount/],
    ['lost-create', 'a credential answered but never stored', /acknowledged credential [0-9a-f]+ is missing/],
    ['torn-key', 'a row whose sealed key is not its public key', /does not match its public key/],
    ['resurrect', 'a delete answered but not done', /deleted credential [0-9a-f]+ came back/],
  ])('%s: %s', async (mutant, _what, message) => {
    requireBuild();
    await expect(crashLoop(6, 1000, undefined, mutant)).rejects.toThrow(message);
  }, 60_000);
});
