/**
 * Command dispatch. Each command lives in its own file and is loaded only when used, so a
 * short command starts fast.
 * @module
 */
import { StoreError } from '../ctap/ports.js';
import { UsageError, type CliIo } from './io.js';

type CommandModule = { run(args: readonly string[], io: CliIo): Promise<number> };

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  start: {
    summary: 'serve CTAPHID on 127.0.0.1:8765 (--listen) and prove it with a demo ceremony (--no-demo); Ctrl-C stops',
    load: () => import('./commands/start.js'),
  },
  serve: {
    summary: 'serve CTAPHID for FIDO clients: --ctaphid <host:port | unix-socket-path> (loopback unless --allow-remote)',
    load: () => import('./commands/serve.js'),
  },
  demo: { summary: 'register and sign in at a demo relying party, end to end', load: () => import('./commands/demo.js') },
  info: { summary: "show the authenticator's getInfo (--json for machine output)", load: () => import('./commands/info.js') },
  list: { summary: 'list the passkeys in the vault (--json)', load: () => import('./commands/list.js') },
  delete: { summary: 'delete a passkey by credential id (asks first; --yes to skip)', load: () => import('./commands/delete.js') },
  ctap: { summary: 'serve a raw CTAP2 channel on stdin/stdout (--stdio)', load: () => import('./commands/ctap.js') },
  passphrase: { summary: 'protect the vault key with a passphrase, or go back to a key file', load: () => import('./commands/passphrase.js') },
  register: { summary: 'Windows: make Latchkey a passkey provider (add or update), resync its passkey list', load: () => import('./commands/register.js') },
  unregister: { summary: 'Windows: remove Latchkey from the passkey providers (the vault is kept)', load: () => import('./commands/unregister.js') },
  status: { summary: 'Windows: registered? enabled? signing key, cached passkeys, vault locked? (--json)', load: () => import('./commands/status.js') },
};

const SERVE_COM = {
  summary: 'Windows: the COM server the package starts (serve --com [--vault PATH] [--idle-timeout S] [--log FILE])',
  load: () => import('./commands/serveCom.js'),
};

export const VERSION = '0.1.0';

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length), 'serve --com'.length);
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: latchkey <command> [options]',
    '',
    'Commands:',
    ...lines,
    `  ${'serve --com'.padEnd(width)}  ${SERVE_COM.summary}`,
    '',
    'Common options:',
    '  --vault PATH   the vault file (default: $LATCHKEY_VAULT, else the OS data directory)',
    '  --json         machine-readable output (info, list)',
    '',
    'Environment:',
    '  LATCHKEY_VAULT        vault file to use when --vault is not given',
    '  LATCHKEY_PASSPHRASE   the vault passphrase, for passphrase-protected vaults',
    '  LATCHKEY_KEY_DIR      where key files live (default: the OS config directory)',
    '',
  ].join('\n');
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout)(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    io.stdout(`latchkey ${VERSION}\n`);
    return 0;
  }
  // `serve --com` (Windows' COM activation, serveCom.ts) is routed apart from the other serve modes.
  const command = name === 'serve' && args.includes('--com') ? SERVE_COM : COMMANDS[name];
  if (command === undefined) {
    io.stderr(`latchkey: unknown command ${JSON.stringify(name)}\nRun 'latchkey help' for usage.\n`);
    return 2;
  }
  try {
    return await (await command.load()).run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`latchkey ${error.message}\nRun 'latchkey help' for usage.\n`);
      return 2;
    }
    if (error instanceof StoreError) {
      io.stderr(`latchkey: ${error.message}\n`);
      return 1;
    }
    io.stderr(`latchkey: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
