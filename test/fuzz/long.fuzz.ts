/**
 * `npm run fuzz`: the long, seeded fuzzing run over every target (targets.ts says what each
 * promises). Settings:
 * - LATCHKEY_FUZZ_SECONDS: the time budget, shared among the targets by weight (default 240);
 * - LATCHKEY_FUZZ_SEED: the seed (default fresh; always printed: target i runs with seed + i);
 * - LATCHKEY_FUZZ_CASES: instead of a time budget, exactly this many cases per target, so that a
 *   run replays case for case on any machine;
 * - LATCHKEY_FUZZ_TARGET: only the target with this name.
 * A failing input is shrunk and written to test/fuzz/regressions/ before the run fails.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { allTargets } from './targets.js';
import { formatFigures, fuzz, seedFromEnv, watchUncaught, type TargetFigures } from './runner.js';
import { fuzzWorld } from './world.js';

const SECONDS = Number(process.env['LATCHKEY_FUZZ_SECONDS'] ?? 240);
const CASES = process.env['LATCHKEY_FUZZ_CASES'] === undefined ? undefined : Number(process.env['LATCHKEY_FUZZ_CASES']);
const ONLY = process.env['LATCHKEY_FUZZ_TARGET'];
const SEED = seedFromEnv();

/** Share of the time budget: the targets with the most structure get the most time. */
const WEIGHTS: Record<string, number> = {
  cbor: 1.5,
  makeCredential: 2,
  getAssertion: 2,
  clientPIN: 1,
  selection: 0.5,
  getInfo: 0.25,
  'unknown-command': 0.5,
  sequence: 2,
  ctaphid: 2,
  'ctaphid-socket': 1.5,
  windows: 2,
};

const uncaught = watchUncaught();
afterAll(() => uncaught.stop());

describe('npm run fuzz', () => {
  it(`every edge, ${CASES === undefined ? `${SECONDS} s` : `${CASES} cases per target`}, seed ${SEED}`, async () => {
    const world = await fuzzWorld();
    const all = await allTargets(world);
    const targets = all.filter((t) => ONLY === undefined || t.name === ONLY);
    expect(targets.length).toBeGreaterThan(0);
    const total = targets.reduce((sum, t) => sum + (WEIGHTS[t.name] ?? 1), 0);
    console.log(`fuzz: LATCHKEY_FUZZ_SEED=${SEED} ${CASES === undefined ? `LATCHKEY_FUZZ_SECONDS=${SECONDS}` : `LATCHKEY_FUZZ_CASES=${CASES}`}${ONLY ? ` LATCHKEY_FUZZ_TARGET=${ONLY}` : ''}`);
    const figures: TargetFigures[] = [];
    try {
      for (const target of targets) {
        const index = all.indexOf(target);
        const timeLimitMs = CASES === undefined ? Math.round((SECONDS * 1000 * (WEIGHTS[target.name] ?? 1)) / total) : undefined;
        const result = await fuzz(target, { seed: SEED + index, numRuns: CASES, timeLimitMs });
        figures.push(result);
        console.log(formatFigures([result]));
      }
    } finally {
      for (const t of all) await t.close?.();
    }
    const cases = figures.reduce((n, f) => n + f.cases, 0);
    const refused = figures.reduce((n, f) => n + f.refused, 0);
    console.log(
      `${formatFigures(figures)}\nFIGURE fuzz: ${cases} cases over ${figures.length} targets, ${refused} of them bad inputs refused, ` +
        `0 crashes, ${uncaught.count} uncaught exceptions, every answer valid; LATCHKEY_FUZZ_SEED=${SEED} ` +
        (CASES === undefined ? `LATCHKEY_FUZZ_SECONDS=${SECONDS}` : `LATCHKEY_FUZZ_CASES=${CASES}`),
    );
    expect(uncaught.count).toBe(0);
  }, (CASES === undefined ? SECONDS * 1500 : 3_600_000) + 120_000);
});
