/**
 * `latchkey start [--listen HOST:PORT] [--vault PATH] [--approve-all] [--no-demo] [--verbose]`:
 * Latchkey's main job outside Windows. Serves the CTAPHID socket on a loopback port with the
 * default vault, says how FIDO clients connect, proves the whole path with one demo ceremony
 * through the socket (a relying party built on @simplewebauthn/server judges it; the demo passkey
 * is deleted afterwards), and serves until SIGINT (Ctrl-C) or SIGTERM.
 * @module
 */
import { parseCommandArgs, VAULT_OPTION } from '../args.js';
import { UsageError, type CliIo } from '../io.js';
import { APPROVE_ALL_OPTION, listenAddressArgument, VERBOSE_OPTION, withCtaphidService, type Serving } from '../serving.js';

export const DEFAULT_LISTEN = '127.0.0.1:8765';

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    'start',
    args,
    {
      ...VAULT_OPTION,
      ...APPROVE_ALL_OPTION,
      ...VERBOSE_OPTION,
      listen: { type: 'string', default: DEFAULT_LISTEN },
      'no-demo': { type: 'boolean', default: false },
    },
    { min: 0, max: 0, names: '' },
  );
  const address = listenAddressArgument('start', '--listen', values.listen);
  if (address.kind !== 'tcp') {
    throw new UsageError('start: --listen takes host:port; for a UNIX socket run `latchkey serve --ctaphid PATH`');
  }
  const choices = {
    command: 'start',
    address,
    vault: values.vault,
    approveAll: values['approve-all'],
    verbose: values.verbose,
    remedies: {
      notLoopback: 'Use a loopback address (127.0.0.1, [::1]), or `latchkey serve --ctaphid HOST:PORT --allow-remote`.',
      inUse: 'Choose another port with --listen 127.0.0.1:PORT.',
    },
  };
  return withCtaphidService(io, choices, (serving) => announceAndServe(serving, values['no-demo'], io));
}

async function announceAndServe({ service, vault, approval, stopped }: Serving, noDemo: boolean, io: CliIo): Promise<number> {
  const say = (line: string) => io.stdout(`${line}\n`);
  const where = service.server.displayAddress;
  const { host, port } = service.server.address.kind === 'tcp' ? service.server.address : { host: '', port: 0 };
  const count = vault.count();
  say(`Latchkey: CTAPHID listening on ${where}`);
  say(`  vault: ${vault.info().path} (${count} passkey${count === 1 ? '' : 's'})`);
  say(`  user approval: ${approval.description}`);
  say('');
  say(`Connect a FIDO client to ${where}: CTAPHID over TCP, exactly 64 bytes per packet each way, no report-ID byte.`);
  say('  python-fido2: fido2.hid.CtapHidDevice(descriptor, connection), where connection.write_packet(p) sends the');
  say(`                64 bytes on socket.create_connection(("${host}", ${port})) and read_packet() reads 64 (README.md)`);
  say('  libfido2:     fido_dev_set_io_functions(): write(h, buf, 65) sends buf+1 (64 bytes, the report-ID byte');
  say('                dropped) and returns 65; read(h, buf, 64, ms) reads 64 bytes (README.md)');

  if (!noDemo) {
    say('');
    say('Demo ceremony through this socket (relying party https://demo.latchkey.test, judged by @simplewebauthn/server):');
    const { runSocketDemo } = await import('../../app/socketDemo.js');
    let accepted = false;
    try {
      accepted = await runSocketDemo({ service, store: vault, say, userVerification: approval.user.canVerify ? 'required' : 'preferred' });
    } catch (error) {
      io.stderr(`latchkey: the demo ceremony failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    if (!accepted) {
      io.stderr('latchkey: not serving an authenticator the relying party does not accept\n');
      return 1;
    }
  }
  say('');
  say('Serving until Ctrl-C (SIGINT) or SIGTERM.');
  const signal = await stopped;
  say(`latchkey: ${signal}: closing`);
  return 0;
}
