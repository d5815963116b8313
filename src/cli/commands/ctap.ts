/**
 * `latchkey ctap --stdio [--vault PATH] [--approve-all] [--attestation none|packed] [--verbose]`:
 * a raw CTAP2 channel for tools and tests. Requests on stdin are [command:1][length:4 BE][CBOR];
 * responses on stdout are [status:1][length:4 BE][CBOR].
 * @module
 */
import { buildAuthenticator, openUserVault } from '../../app/main.js';
import { serveStdioChannel } from '../../transports/stdio/stdioChannel.js';
import { parseCommandArgs, VAULT_OPTION } from '../args.js';
import { UsageError, type CliIo } from '../io.js';
import { APPROVE_ALL_OPTION, ATTESTATION_OPTION, attestationChoice, chooseUserVerifier, VERBOSE_OPTION } from '../serving.js';

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    'ctap',
    args,
    {
      ...VAULT_OPTION,
      ...APPROVE_ALL_OPTION,
      ...ATTESTATION_OPTION,
      ...VERBOSE_OPTION,
      stdio: { type: 'boolean', default: false },
    },
    { min: 0, max: 0, names: '' },
  );
  if (!values.stdio) throw new UsageError('ctap: say which channel to serve: --stdio (the only one so far)');
  const attestation = attestationChoice('ctap', values.attestation);
  const { user } = chooseUserVerifier(values['approve-all'], io);

  const vault = openUserVault({ path: values.vault, env: io.env });
  try {
    const authenticator = buildAuthenticator(vault, {
      attestation,
      userVerification: user.canVerify,
      log: values.verbose ? (line) => io.stderr(`latchkey: ${line}\n`) : undefined,
    });
    const clean = await serveStdioChannel({
      authenticator,
      input: io.stdin,
      output: io.stdoutStream,
      context: () => ({ user }),
      diagnostics: (message) => io.stderr(`${message}\n`),
    });
    return clean ? 0 : 1;
  } finally {
    vault.close();
  }
}
