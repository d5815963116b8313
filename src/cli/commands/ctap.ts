/**
 * `latchkey ctap --stdio [--vault PATH] [--approve-all] [--attestation none|packed] [--verbose]`:
 * a raw CTAP2 channel for tools and tests. Requests on stdin are [command:1][length:4 BE][CBOR];
 * responses on stdout are [status:1][length:4 BE][CBOR].
 * @module
 */
import { buildAuthenticator, openUserVault } from '../../app/main.js';
import { approveAll, nobodyThere, terminalPrompt } from '../../app/userVerifiers.js';
import type { UserVerifier } from '../../ctap/index.js';
import { serveStdioChannel } from '../../transports/stdio/stdioChannel.js';
import { parseCommandArgs, VAULT_OPTION } from '../args.js';
import { UsageError, type CliIo } from '../io.js';

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    'ctap',
    args,
    {
      ...VAULT_OPTION,
      stdio: { type: 'boolean', default: false },
      'approve-all': { type: 'boolean', default: false },
      attestation: { type: 'string', default: 'none' },
      verbose: { type: 'boolean', default: false },
    },
    { min: 0, max: 0, names: '' },
  );
  if (!values.stdio) throw new UsageError('ctap: say which channel to serve: --stdio (the only one so far)');
  if (values.attestation !== 'none' && values.attestation !== 'packed') {
    throw new UsageError(`ctap: --attestation must be "none" or "packed", not ${JSON.stringify(values.attestation)}`);
  }

  let user: UserVerifier;
  if (values['approve-all']) {
    io.stderr(
      '\n*** latchkey: --approve-all is ON: every presence and verification request is approved without asking. ***\n' +
        '*** For testing only. Never use it with a vault that holds real passkeys.                              ***\n\n',
    );
    user = approveAll;
  } else if (io.stderrIsTty) {
    user = terminalPrompt({ write: io.stderr });
  } else {
    user = nobodyThere;
  }

  const vault = openUserVault({ path: values.vault, env: io.env });
  try {
    const authenticator = buildAuthenticator(vault, {
      attestation: values.attestation === 'packed' ? 'packed-self' : 'none',
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
