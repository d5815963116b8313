// Runs inside Windows node.exe under Wine (see test/windows/e2e.wine.test.ts): Latchkey as Windows
// runs it — `latchkey register` and `latchkey serve --com` from the built dist/, in this process,
// over the real vault on node:sqlite — while the webauthn.dll double (driven through its driver)
// plays the WebAuthn service calling the registered COM object. The Linux side plays the browser and
// the relying party and sends commands as JSON lines over TCP on 127.0.0.1:LATCHKEY_PORT.
import { createRequire } from 'node:module';
import net from 'node:net';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const env = process.env;
const load = (relative) => import(pathToFileURL(`${env.LATCHKEY_ROOT}\\dist\\${relative}`).href);
const { runCli } = await load('cli\\run.js');
const { loadWindowsAddon } = await load('transports\\windows\\loadAddon.js');
const { CLSID } = await load('app\\identity.js');
const driver = createRequire(import.meta.url)(env.LATCHKEY_DRIVER);
const vault = env.LATCHKEY_VAULT;

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const fromHex = (text) => new Uint8Array(Buffer.from(text, 'hex'));
const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A CliIo that captures what a command prints. */
function captured() {
  const text = { out: '', err: '' };
  return {
    text,
    io: {
      stdout: (t) => void (text.out += t),
      stderr: (t) => void (text.err += t),
      stdin: Readable.from([]),
      stdoutStream: process.stdout,
      stdinIsTty: false,
      stderrIsTty: false,
      env,
    },
  };
}

async function cli(args) {
  const { io, text } = captured();
  try {
    return { code: await runCli(args, io), ...text };
  } catch (error) {
    return { code: null, thrown: String(error?.stack ?? error), ...text };
  }
}

const register = await cli(['register', '--vault', vault]);

const serveOutput = captured();
let served;
const serving = runCli(['serve', '--com', '--vault', vault, '--idle-timeout', env.LATCHKEY_IDLE ?? '600'], serveOutput.io).then(
  (code) => (served = { code }),
  (error) => (served = { code: null, thrown: String(error?.stack ?? error) }),
);
// Until CoRegisterClassObject has happened, activation fails.
for (let i = 0; i < 200 && driver.lockStatus().hresult !== 0 && served === undefined; i++) await tick(50);

const addon = loadWindowsAddon();
const original = { performUserVerification: addon.performUserVerification };
const socket = net.connect(Number(env.LATCHKEY_PORT), '127.0.0.1');
socket.setEncoding('utf8');
const send = (message) => socket.write(`${JSON.stringify(message)}\n`);

const commands = {
  async invoke({ kind, request, signature, transactionId, hwnd }) {
    const started = Date.now();
    const outcome = await driver.invoke(kind, fromHex(request), { transactionId, hwnd: BigInt(hwnd ?? 0x20042), signature });
    return { hresult: outcome.hresult, response: outcome.response ? hex(outcome.response) : null, ms: Date.now() - started };
  },
  cancel: ({ transactionId }) => driver.cancel(transactionId),
  lockStatus: () => driver.lockStatus(),
  setUserVerification({ mode, delayMs }) {
    driver.setUserVerification(mode, delayMs ?? 0);
    return {};
  },
  cache: () => ({ credentials: addon.getAllCredentials(CLSID).map((c) => ({ ...c, credentialId: hex(c.credentialId), userId: hex(c.userId) })) }),
  list: () => cli(['list', '--json', '--vault', vault]),
  // Fault injection: a bug inside TypeScript (here: the UV call throws a plain Error) must become
  // E_FAIL for Windows, and the server must go on serving.
  fault({ what }) {
    addon.performUserVerification =
      what === 'uv-throws'
        ? () => {
            throw new Error('injected fault: a bug inside TypeScript');
          }
        : original.performUserVerification;
    return {};
  },
  // Ctrl-C for `serve --com`: it revokes its class and returns; a 'served' message follows.
  exit() {
    process.emit('SIGINT');
    return {};
  },
};

let buffer = '';
socket.on('data', (chunk) => {
  buffer += chunk;
  for (let at = buffer.indexOf('\n'); at >= 0; at = buffer.indexOf('\n')) {
    const command = JSON.parse(buffer.slice(0, at));
    buffer = buffer.slice(at + 1);
    Promise.resolve()
      .then(() => commands[command.op](command))
      .then(
        (result) => send({ id: command.id, ...result }),
        (error) => send({ id: command.id, error: String(error?.stack ?? error) }),
      );
  }
});
socket.on('connect', () => send({ type: 'ready', register, lockStatus: driver.lockStatus(), served: served ?? null }));

await serving;
// After the server ends (idle, or exit): the class must be revoked.
send({ type: 'served', served, serveLog: serveOutput.text.err, lockStatusAfter: driver.lockStatus(), list: await cli(['list', '--json', '--vault', vault]) });
socket.end();
