/**
 * The regression corpus (test/fuzz/regressions/, see corpus.ts): every input that ever broke
 * something, here or in a CBOR parser elsewhere, replayed through its fuzz target with the same
 * checks as the fuzzer, on every `npm test`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRegressions } from './corpus.js';
import { allTargets, type FuzzTarget } from './targets.js';
import { fuzzWorld } from './world.js';

const entries = readRegressions();
let targets = new Map<string, FuzzTarget>();

beforeAll(async () => {
  targets = new Map((await allTargets(await fuzzWorld())).map((t) => [t.name, t]));
});

afterAll(async () => {
  for (const t of targets.values()) await t.close?.();
});

describe('the fuzz regression corpus', () => {
  it('has entries for the CBOR decoder, the byte entry point, CTAPHID and the Windows envelope', () => {
    const covered = new Set(entries.map((e) => e.target));
    for (const name of ['cbor', 'makeCredential', 'getAssertion', 'clientPIN', 'sequence', 'ctaphid', 'windows']) expect(covered).toContain(name);
  });

  it.each(entries.map((e) => [e.file, e] as const))('%s', async (_file, entry) => {
    const target = targets.get(entry.target);
    expect(target, `no fuzz target named ${entry.target}`).toBeDefined();
    const verdict = await target!.run(entry.input);
    expect(['accepted', 'refused']).toContain(verdict);
  });
});
