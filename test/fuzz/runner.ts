/**
 * Runs fuzz targets with fast-check: a seed (printed, so a run replays), a number of cases or a time
 * budget, the count of inputs refused as bad, and, on a failure, the shrunk input written to the
 * regression corpus before the failure is reported.
 */
import fc from 'fast-check';
import { writeRegression } from './corpus.js';
import type { FuzzTarget } from './targets.js';

export interface TargetFigures {
  readonly name: string;
  readonly seed: number;
  /** Inputs run (shrinking not counted). */
  readonly cases: number;
  /** Of those, inputs the target refused as bad (an error status, HRESULT or CTAPHID error). */
  readonly refused: number;
  readonly seconds: number;
}

export interface RunOptions {
  readonly seed: number;
  /** Cases to run; with a time limit, the most to run. */
  readonly numRuns?: number | undefined;
  readonly timeLimitMs?: number | undefined;
}

export async function fuzz<I>(target: FuzzTarget<I>, options: RunOptions): Promise<TargetFigures> {
  let refused = 0;
  const started = Date.now();
  const property = fc.asyncProperty(target.arbitrary, async (input) => {
    if ((await target.run(input)) === 'refused') refused++;
  });
  const details = await fc.check(property, {
    seed: options.seed,
    numRuns: options.numRuns ?? Number.MAX_SAFE_INTEGER,
    ...(options.timeLimitMs === undefined ? {} : { interruptAfterTimeLimit: options.timeLimitMs, markInterruptAsFailure: false }),
  });
  if (details.failed) {
    const input = details.counterexample?.[0];
    const reason = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    const file = input === undefined ? undefined : writeRegression(target.name, reason.split('\n')[0]!.slice(0, 300), input);
    throw new Error(
      `fuzz target ${target.name} broke (seed ${options.seed}, path ${details.counterexamplePath ?? '?'}): ${reason}` +
        (file === undefined ? '' : `\nThe input is kept in ${file}; regressions.test.ts replays it from now on.`),
      { cause: details.errorInstance },
    );
  }
  return { name: target.name, seed: options.seed, cases: details.numRuns, refused, seconds: (Date.now() - started) / 1000 };
}

/** Counts exceptions that escape every handler while fuzzing (there must be none). */
export function watchUncaught(): { readonly count: number; stop(): void } {
  const seen: unknown[] = [];
  const onError = (error: unknown) => void seen.push(error);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return {
    get count() {
      return seen.length;
    },
    stop() {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    },
  };
}

/** A table of figures, one line per target and a total. */
export function formatFigures(figures: readonly TargetFigures[]): string {
  const width = Math.max(...figures.map((f) => f.name.length));
  const lines = figures.map(
    (f) => `  ${f.name.padEnd(width)}  ${String(f.cases).padStart(8)} cases  ${String(f.refused).padStart(8)} refused  ${f.seconds.toFixed(1).padStart(6)} s  seed ${f.seed}`,
  );
  return lines.join('\n');
}

export function seedFromEnv(): number {
  const text = process.env['LATCHKEY_FUZZ_SEED'];
  return text === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(text);
}
