/**
 * `latchkey serve --com [--vault PATH] [--idle-timeout S] [--log FILE]`: the COM activation mode
 * the manifest's com:ExeServer starts (its Arguments end with `serve --com`). Also runs from a
 * plain command line: `node <cli> serve --com --vault PATH`. Needs no input; exits 0 after
 * S seconds without an operation (default 150), or on Ctrl-C, revoking its class registration.
 *
 * Lives apart from serve.ts (`serve --ctaphid`): run.ts sends `serve … --com …` here, so the two
 * transports' commands never edit the same file.
 * @module
 */
import { appendFileSync } from 'node:fs';
import { openUserVault } from '../../app/main.js';
import { DEFAULT_IDLE_TIMEOUT_S, serveCom } from '../../app/windowsComServer.js';
import { addonForCommand } from '../../app/windowsPlatform.js';
import { parseCommandArgs, VAULT_OPTION } from '../args.js';
import { UsageError, type CliIo } from '../io.js';

/** What COM itself may append to a local server's command line. */
const COM_EXTRA_ARGUMENTS = new Set(['-Embedding', '/Embedding', '-embedding', '/embedding']);

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    'serve',
    args.filter((a) => !COM_EXTRA_ARGUMENTS.has(a)),
    { ...VAULT_OPTION, com: { type: 'boolean', default: false }, 'idle-timeout': { type: 'string' }, log: { type: 'string' } },
    { min: 0, max: 0, names: '' },
  );
  if (!values.com) throw new UsageError('serve: --com expected');
  const idle = values['idle-timeout'] === undefined ? DEFAULT_IDLE_TIMEOUT_S : Number(values['idle-timeout']);
  if (!Number.isFinite(idle) || idle <= 0 || idle > 86_400) {
    throw new UsageError(`serve: --idle-timeout takes seconds between 1 and 86400, not ${JSON.stringify(values['idle-timeout'])}`);
  }
  const { addon, message } = addonForCommand('serve --com');
  if (addon === undefined) {
    io.stderr(`${message}\n`);
    return 1;
  }
  const logFile = values.log;
  const log = (line: string) => {
    const stamped = `${new Date().toISOString()} latchkey: ${line}\n`;
    if (logFile !== undefined) {
      try {
        appendFileSync(logFile, stamped);
        return;
      } catch {
        // fall back to stderr
      }
    }
    io.stderr(stamped);
  };
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const result = await serveCom({
    addon,
    openStore: () => openUserVault({ path: values.vault, env: io.env }),
    idleTimeoutMs: idle * 1000,
    log,
    stop,
  });
  log(`exited (${result.reason}${result.locked ? ', vault locked' : ''})`);
  return 0;
}
