/**
 * `latchkey serve --ctaphid <host:port | socket-path> [--allow-remote] [--vault PATH] [--approve-all]
 * [--attestation none|packed] [--verbose]`: the authenticator as a CTAPHID device on a socket,
 * 64-byte reports with no report-ID byte, for FIDO clients (libfido2, python-fido2) until SIGINT
 * or SIGTERM. TCP listens on loopback addresses only unless --allow-remote is given.
 * @module
 */
import { parseCommandArgs, VAULT_OPTION } from '../args.js';
import { UsageError, type CliIo } from '../io.js';
import { APPROVE_ALL_OPTION, ATTESTATION_OPTION, attestationChoice, listenAddressArgument, VERBOSE_OPTION, withCtaphidService } from '../serving.js';

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    'serve',
    args,
    {
      ...VAULT_OPTION,
      ...APPROVE_ALL_OPTION,
      ...ATTESTATION_OPTION,
      ...VERBOSE_OPTION,
      ctaphid: { type: 'string' },
      'allow-remote': { type: 'boolean', default: false },
    },
    { min: 0, max: 0, names: '' },
  );
  if (values.ctaphid === undefined) throw new UsageError('serve: say where to listen: --ctaphid <host:port | unix-socket-path>');
  const choices = {
    command: 'serve',
    address: listenAddressArgument('serve', '--ctaphid', values.ctaphid),
    vault: values.vault,
    approveAll: values['approve-all'],
    allowRemote: values['allow-remote'],
    attestation: attestationChoice('serve', values.attestation),
    verbose: values.verbose,
    remedies: { notLoopback: 'Pass --allow-remote to listen there anyway.', inUse: 'Choose another address with --ctaphid.' },
  };
  return withCtaphidService(io, choices, async ({ service, stopped }) => {
    io.stdout(`latchkey: CTAPHID listening on ${service.server.displayAddress}\n`);
    const signal = await stopped;
    io.stdout(`latchkey: ${signal}: closing\n`);
    return 0;
  });
}
