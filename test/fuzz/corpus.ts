/**
 * The regression corpus, test/fuzz/regressions/*.json: inputs that broke something (here, or a
 * CBOR parser elsewhere: ctap-facts.md, "Security incidents"), replayed by regressions.test.ts on
 * every `npm test`. A fuzz run that finds a failure writes its shrunk input here itself.
 *
 * One file per input: `{ "target": <fuzz target name>, "note": <what it broke>, "input": <the
 * target's input> }`, with byte strings as `{ "$hex": "…" }` and big integers as `{ "$bigint": "…" }`.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REGRESSIONS_DIR = resolve(import.meta.dirname, 'regressions');

export interface RegressionEntry {
  readonly file: string;
  readonly target: string;
  readonly note: string;
  readonly input: unknown;
}

export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    function replace(this: unknown, key: string, v: unknown) {
      const raw = (this as Record<string, unknown>)[key];
      if (raw instanceof Uint8Array) return { $hex: Buffer.from(raw).toString('hex') };
      if (typeof raw === 'bigint') return { $bigint: raw.toString() };
      return v;
    },
    2,
  );
}

export function fromJson(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o['$hex'] === 'string' && Object.keys(o).length === 1) return new Uint8Array(Buffer.from(o['$hex'], 'hex'));
      if (typeof o['$bigint'] === 'string' && Object.keys(o).length === 1) return BigInt(o['$bigint']);
    }
    return v;
  });
}

export function readRegressions(dir = REGRESSIONS_DIR): RegressionEntry[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((file) => {
      const entry = fromJson(readFileSync(join(dir, file), 'utf8')) as Omit<RegressionEntry, 'file'>;
      if (typeof entry.target !== 'string' || typeof entry.note !== 'string') throw new Error(`${file}: target and note are required`);
      return { file, ...entry };
    });
}

/** Keeps a failing input for good; returns the file's path. */
export function writeRegression(target: string, note: string, input: unknown, dir = REGRESSIONS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `found-${target}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${toJson({ target, note, input })}\n`);
  return file;
}
