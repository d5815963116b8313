/**
 * Argument parsing shared by the commands: node's parseArgs in strict mode, with its errors
 * turned into usage errors.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './io.js';

export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  args: readonly string[],
  options: T,
  positionals: { min: number; max: number; names: string },
) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\. To specify a positional.*$/s, '') : String(error);
    throw new UsageError(`${command}: ${message}`);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw new UsageError(`${command}: missing ${positionals.names}`);
  if (count > positionals.max) throw new UsageError(`${command}: unexpected argument ${JSON.stringify(parsed.positionals[positionals.max])}`);
  return parsed;
}

export const VAULT_OPTION = { vault: { type: 'string' } } as const;
export const JSON_OPTION = { json: { type: 'boolean', default: false } } as const;
