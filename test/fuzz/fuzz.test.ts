/**
 * A short fuzzing pass over every target in the default suite (`npm run fuzz` is the long one):
 * LATCHKEY_FUZZ_CASES cases per target (default 60), seed LATCHKEY_FUZZ_SEED (default fresh,
 * printed). targets.ts says what each target promises.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTargets, type FuzzTarget } from './targets.js';
import { formatFigures, fuzz, seedFromEnv, watchUncaught, type TargetFigures } from './runner.js';
import { fuzzWorld } from './world.js';

const CASES = Number(process.env['LATCHKEY_FUZZ_CASES'] ?? 60);
const SEED = seedFromEnv();
const NAMES = ['cbor', 'makeCredential', 'getAssertion', 'clientPIN', 'selection', 'getInfo', 'unknown-command', 'sequence', 'ctaphid', 'ctaphid-socket', 'windows'];

let targets: FuzzTarget[] = [];
const figures: TargetFigures[] = [];
const uncaught = watchUncaught();

beforeAll(async () => {
  targets = await allTargets(await fuzzWorld());
});

afterAll(async () => {
  for (const t of targets) await t.close?.();
  uncaught.stop();
  console.log(`fuzz (short): LATCHKEY_FUZZ_SEED=${SEED} LATCHKEY_FUZZ_CASES=${CASES}\n${formatFigures(figures)}`);
});

describe('fuzzing every edge (short)', () => {
  it('covers every target', () => {
    expect(targets.map((t) => t.name)).toEqual(NAMES);
  });

  it.each(NAMES.map((name, index) => [name, index] as const))('%s: no crash, no uncaught exception, every answer valid', async (name, index) => {
    const target = targets.find((t) => t.name === name)!;
    figures.push(await fuzz(target, { seed: SEED + index, numRuns: CASES }));
    expect(uncaught.count).toBe(0);
  }, 120_000);
});
