/**
 * What the commands that serve CTAP share: who approves requests (with the loud warning for
 * --approve-all), the --attestation option, listen addresses and their errors, and running until
 * SIGINT or SIGTERM.
 * @module
 */
import { startCtaphidService, type CtaphidService } from '../app/ctaphidService.js';
import { buildAuthenticator, openUserVault } from '../app/main.js';
import { approveAll, nobodyThere, terminalPrompt } from '../app/userVerifiers.js';
import type { AttestationMode, UserVerifier } from '../ctap/index.js';
import { AddressError, parseListenAddress, type ListenAddress } from '../transports/ctaphid/address.js';
import type { DeviceVersion } from '../transports/ctaphid/device.js';
import { ListenError } from '../transports/ctaphid/server.js';
import type { Vault } from '../vault/vault.js';
import { UsageError, type CliIo } from './io.js';
import { VERSION } from './run.js';

export const APPROVE_ALL_OPTION = { 'approve-all': { type: 'boolean', default: false } } as const;
export const ATTESTATION_OPTION = { attestation: { type: 'string', default: 'none' } } as const;
export const VERBOSE_OPTION = { verbose: { type: 'boolean', default: false } } as const;

export interface ChosenVerifier {
  readonly user: UserVerifier;
  /** For people: who answers requests that need the user. */
  readonly description: string;
}

/**
 * --approve-all (announced loudly on stderr), else a prompt on the controlling terminal when stderr
 * is one, else nobody: requests that need the user are refused.
 */
export function chooseUserVerifier(approve: boolean, io: CliIo): ChosenVerifier {
  if (approve) {
    io.stderr(
      '\n*** latchkey: --approve-all is ON: every presence and verification request is approved without asking. ***\n' +
        '*** For testing only. Never use it with a vault that holds real passkeys.                              ***\n\n',
    );
    return { user: approveAll, description: 'everything approved without asking (--approve-all)' };
  }
  if (io.stderrIsTty) {
    return { user: terminalPrompt({ write: io.stderr }), description: 'a yes/no question on this terminal for each request' };
  }
  return { user: nobodyThere, description: 'nobody to ask (no terminal): requests that need the user are refused' };
}

export function attestationChoice(command: string, value: string): 'none' | 'packed-self' {
  if (value !== 'none' && value !== 'packed') {
    throw new UsageError(`${command}: --attestation must be "none" or "packed", not ${JSON.stringify(value)}`);
  }
  return value === 'packed' ? 'packed-self' : 'none';
}

export function listenAddressArgument(command: string, option: string, text: string): ListenAddress {
  try {
    return parseListenAddress(text);
  } catch (error) {
    if (error instanceof AddressError) throw new UsageError(`${command}: ${option}: ${error.message}`);
    throw error;
  }
}

/** What to tell the user when the address cannot be used. */
export interface ListenRemedies {
  /** For an address that is not a loopback one. */
  readonly notLoopback: string;
  /** For an address already taken. */
  readonly inUse: string;
}

/** Runs `listen`; a refused address becomes an error that names the way out (a usage error for a non-loopback one). */
async function listenOrExplain<T>(command: string, listen: () => Promise<T>, remedies: ListenRemedies): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    if (error instanceof ListenError && error.code === 'not-loopback') throw new UsageError(`${command}: ${error.message}. ${remedies.notLoopback}`);
    if (error instanceof ListenError && error.code === 'in-use') throw new Error(`${error.message}. ${remedies.inUse}`);
    throw error;
  }
}

/** CTAPHID_INIT's device version, from the CLI's "major.minor.build". */
function deviceVersion(version: string): DeviceVersion {
  const [major = 0, minor = 0, build = 0] = version.split('.').map((part) => Number.parseInt(part, 10) & 0xff);
  return { major, minor, build };
}

/** Resolves with the first SIGINT or SIGTERM; a second one then ends the process the default way. */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export interface ServeChoices {
  readonly command: string;
  readonly address: ListenAddress;
  readonly vault?: string | undefined;
  readonly approveAll: boolean;
  readonly allowRemote?: boolean | undefined;
  readonly attestation?: AttestationMode | undefined;
  readonly verbose: boolean;
  readonly remedies: ListenRemedies;
}

export interface Serving {
  readonly service: CtaphidService;
  readonly vault: Vault;
  readonly approval: ChosenVerifier;
  /** Settles with the first SIGINT or SIGTERM. */
  readonly stopped: Promise<NodeJS.Signals>;
}

/**
 * The life of a CTAPHID-serving command: choose the verifier, open the vault, listen, run `body`,
 * then close the server and the vault whatever happened. Resolves with `body`'s exit status.
 */
export async function withCtaphidService(io: CliIo, choices: ServeChoices, body: (serving: Serving) => Promise<number>): Promise<number> {
  const log = choices.verbose ? (line: string) => io.stderr(`latchkey: ${line}\n`) : undefined;
  const stopped = stopSignal();
  const approval = chooseUserVerifier(choices.approveAll, io);
  const vault = openUserVault({ path: choices.vault, env: io.env });
  try {
    const authenticator = buildAuthenticator(vault, { attestation: choices.attestation, userVerification: approval.user.canVerify, log });
    const service = await listenOrExplain(
      choices.command,
      () =>
        startCtaphidService({
          authenticator,
          address: choices.address,
          user: approval.user,
          allowRemote: choices.allowRemote,
          version: deviceVersion(VERSION),
          log,
        }),
      choices.remedies,
    );
    try {
      return await body({ service, vault, approval, stopped });
    } finally {
      await service.server.close();
    }
  } finally {
    vault.close();
  }
}
