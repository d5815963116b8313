/**
 * Crash safety (SECURITY.md, "Crash or power loss"): a child running the real authenticator over a
 * real vault is SIGKILLed at random moments during long runs of makeCredential, getAssertion
 * (incrementing and zero counters) and delete; after every kill the vault is checked as a restart
 * would find it (crash.ts lists the checks).
 *
 * LATCHKEY_KILLS sets the number of kills (default 20 here; `npm run test:reliability` runs 200),
 * LATCHKEY_SEED replays a run.
 */
import { describe, expect, it } from 'vitest';
import { crashLoop, killsFromEnv, requireBuild, seedFromEnv } from './crash.js';

const KILLS = killsFromEnv(20);
const SEED = seedFromEnv();

describe('crash safety', () => {
  it(`survives ${KILLS} SIGKILLs at random moments with nothing lost, nothing half-written, no counter backwards`, async () => {
    requireBuild();
    const started = Date.now();
    const figures = await crashLoop(KILLS, SEED, (line) => console.log(line));
    console.log(
      `FIGURE crash: ${figures.kills} kills survived, ${figures.acknowledged} acknowledged answers all found, ` +
        `${figures.credentialsChecked} credential checks (unseal + sign + verify), 0 lost; ` +
        `LATCHKEY_SEED=${figures.seed} LATCHKEY_KILLS=${figures.kills}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    expect(figures.kills).toBe(KILLS);
    expect(figures.acknowledged).toBeGreaterThan(KILLS);
  }, KILLS * 5_000 + 30_000);
});
