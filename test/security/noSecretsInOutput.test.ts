/**
 * No secret in anything Latchkey prints, logs or throws (SECURITY.md, "Key custody"): the test
 * knows every secret of a vault it controls (secrets.ts derives them independently: the key file,
 * the vault key unwrapped with it, the passphrase and the key derived from it, and every private
 * key and hmac-secret CredRandom, read before any of them is deleted) and scans for any 12-byte
 * window of each, in hex, base64, base64url, decimal lists and raw bytes, in:
 * - stdout and stderr of every CLI command, human and `--json`: info, list, delete, passphrase
 *   set/remove, demo, status, help, ctap --stdio --verbose (a session with hmac-secret, bad
 *   requests, a tampered vault), serve --ctaphid and start (CTAPHID, with a demo ceremony), error
 *   paths (wrong passphrase, a foreign key file), and a `ctap --stdio` SIGKILLed mid-request;
 * - the logs of the authenticator, the CTAPHID device and the Windows plugin host, and the
 *   messages of every error the vault throws, in-process, over a session full of failures.
 * (The crash tests scan the stderr of every killed child the same way: crash.ts.)
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeStrict, type CborMap, type CborValue } from '../../src/cbor/index.js';
import { Authenticator, Command, StoreError } from '../../src/ctap/index.js';
import { CLSID } from '../../src/app/identity.js';
import { listenCtaphid } from '../../src/transports/ctaphid/server.js';
import { PluginHost } from '../../src/transports/windows/pluginHost.js';
import { CLI, runCliSync, sandbox, type Sandbox } from '../support/cli.js';
import { AAGUID, encode, getAssertionParams, makeCredentialParams, options, textMap } from '../support/ctapHelpers.js';
import { frame } from '../support/frames.js';
import { StdioClient } from '../support/stdioClient.js';
import { ScriptedUser } from '../support/users.js';
import { Platform, salt } from '../ctap/platformPin.js';
import { HidClient } from '../ctaphid/hidClient.js';
import { RunningCli } from '../cli/running.js';
import { FakeWindows } from '../windows-host/fakeWindows.js';
import { rawDatabase } from '../vault/driver.js';
import { tempVaultDir } from '../vault/helpers.js';
import { credentialSecrets, findLeaks, vaultKeys, type Secret } from './secrets.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface Output {
  readonly where: string;
  readonly text: string | Uint8Array;
}

function collect(outputs: Output[], where: string, result: Pick<SpawnSyncReturns<string | Buffer>, 'stdout' | 'stderr'>): void {
  outputs.push({ where: `${where}: stdout`, text: result.stdout }, { where: `${where}: stderr`, text: result.stderr });
}

const PASSPHRASE = 'correct horse battery staple';
const utf8 = (text: string) => new TextEncoder().encode(text);

/** makeCredential parameters with hmac-secret and credBlob, for user `n`. */
function richCredential(n: number, rpId = 'example.com'): Uint8Array {
  const params = makeCredentialParams({ rpId, userId: Uint8Array.of(n), userName: `user${n}@${rpId}` });
  params.set(0x06, textMap({ 'hmac-secret': true, credBlob: Uint8Array.of(n, n, n), credProtect: 1 }));
  params.set(0x07, options({ rk: true }));
  return encode(params);
}

/** A CTAP session through `ctap --stdio --verbose`: hmac-secret assertions, and plenty of refusals. */
async function stdioSession(env: NodeJS.ProcessEnv, outputs: Output[], where: string): Promise<void> {
  const client = new StdioClient(['--approve-all', '--verbose'], env);
  const bodies: Uint8Array[] = [];
  const send = async (command: number, params: Uint8Array) => {
    const reply = await client.send(command, params);
    bodies.push(reply.body);
    return reply;
  };
  for (const n of [1, 2, 3]) expect((await send(Command.MakeCredential, richCredential(n))).status).toBe(0);
  const agreement = await send(Command.ClientPin, encode(new Map([[0x01, 2], [0x02, 0x02]])));
  const platform = Platform.withKey((decodeStrict(agreement.body) as CborMap).get(0x01) as CborMap, 2);
  const withSalt = getAssertionParams();
  withSalt.set(0x04, textMap({ 'hmac-secret': platform.hmacSecretInput(salt(7)), credBlob: true }));
  expect((await send(Command.GetAssertion, encode(withSalt))).status).toBe(0);
  expect((await send(Command.GetNextAssertion, new Uint8Array(0))).status).toBe(0);
  const badAuth = platform.hmacSecretInput(salt(8));
  badAuth.set(3, new Uint8Array(32));
  withSalt.set(0x04, textMap({ 'hmac-secret': badAuth }));
  await send(Command.GetAssertion, encode(withSalt)); // PIN_AUTH_INVALID / INVALID_PARAMETER: logged
  await send(Command.GetAssertion, encode(getAssertionParams({ allow: [new Uint8Array(16)] }))); // NO_CREDENTIALS
  await send(Command.MakeCredential, Uint8Array.of(0xa1, 0x01, 0xf7)); // INVALID_CBOR
  await send(Command.ClientPin, encode(new Map<number, CborValue>([[0x01, 2], [0x02, 0x03], [0x03, platform.keyAgreement], [0x04, new Uint8Array(32)], [0x05, new Uint8Array(64)]])));
  await send(0x42, new Uint8Array(0));
  await client.close();
  outputs.push({ where: `${where}: stderr`, text: client.stderr }, ...bodies.map((b, i) => ({ where: `${where}: response ${i + 1}`, text: b })));
}

describe('no secret in output', () => {
  it('not in any CLI command\'s output, human or --json, error paths and a killed process included', async () => {
    const box: Sandbox = sandbox();
    cleanups.push(() => box.cleanup());
    const env = box.env;
    const keyDir = join(env['XDG_CONFIG_HOME']!, 'latchkey', 'keys');
    const outputs: Output[] = [];
    const secrets: Secret[] = [{ label: 'the passphrase', bytes: utf8(PASSPHRASE) }];
    const cli = (where: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
      const result = runCliSync(args, { ...env, ...extraEnv });
      collect(outputs, where, result);
      return result;
    };

    await stdioSession(env, outputs, 'ctap --stdio --verbose');
    secrets.push(...vaultKeys(box.vault, keyDir), ...credentialSecrets(box.vault, keyDir));
    for (const [where, args] of [
      ['info', ['info']],
      ['info --json', ['info', '--json']],
      ['list', ['list']],
      ['list --json', ['list', '--json']],
      ['status', ['status']],
      ['status --json', ['status', '--json']],
      ['help', ['help']],
      ['demo (throwaway vault)', ['demo']],
      ['demo --vault', ['demo', '--vault', box.vault]],
    ] as const) {
      cli(where, [...args]);
    }
    secrets.push(...credentialSecrets(box.vault, keyDir)); // the demo's credentials too
    const rows = JSON.parse(cli('list --json', ['list', '--json']).stdout) as { id: string }[];
    expect(cli('delete --yes', ['delete', rows[0]!.id, '--yes']).status).toBe(0);

    // CTAPHID: serve (a ceremony with failures in it) and start (its demo ceremony), then SIGTERM.
    const serve = new RunningCli(['serve', '--ctaphid', '127.0.0.1:0', '--approve-all', '--verbose'], env);
    cleanups.push(() => serve.stop('SIGKILL'));
    const client = await HidClient.connect(await serve.listeningPort());
    cleanups.push(() => client.close());
    const cid = await client.init();
    await client.cbor(cid, Command.MakeCredential, richCredential(9, 'ctaphid.example'));
    await client.cbor(cid, Command.GetAssertion, encode(getAssertionParams({ rpId: 'ctaphid.example' })));
    await client.cbor(cid, Command.GetAssertion, Uint8Array.of(0xff));
    await serve.stop('SIGTERM');
    outputs.push({ where: 'serve --ctaphid: stdout', text: serve.stdout }, { where: 'serve --ctaphid: stderr', text: serve.stderr });
    const start = new RunningCli(['start', '--listen', '127.0.0.1:0'], env);
    cleanups.push(() => start.stop('SIGKILL'));
    await start.waitFor(/Serving until Ctrl-C/);
    await start.stop('SIGTERM');
    outputs.push({ where: 'start: stdout', text: start.stdout }, { where: 'start: stderr', text: start.stderr });
    secrets.push(...credentialSecrets(box.vault, keyDir));

    // Passphrase: set, use, a wrong one, remove (a new key file).
    expect(cli('passphrase set', ['passphrase', 'set'], { LATCHKEY_NEW_PASSPHRASE: PASSPHRASE }).status).toBe(0);
    secrets.push(...vaultKeys(box.vault, keyDir, PASSPHRASE));
    cli('list --json (passphrase)', ['list', '--json'], { LATCHKEY_PASSPHRASE: PASSPHRASE });
    cli('list (wrong passphrase)', ['list'], { LATCHKEY_PASSPHRASE: `${PASSPHRASE}!` });
    cli('list (no passphrase)', ['list']);
    await stdioSession({ ...env, LATCHKEY_PASSPHRASE: PASSPHRASE }, outputs, 'ctap --stdio (passphrase)');
    secrets.push(...credentialSecrets(box.vault, keyDir, PASSPHRASE));
    expect(cli('passphrase remove', ['passphrase', 'remove'], { LATCHKEY_PASSPHRASE: PASSPHRASE }).status).toBe(0);
    secrets.push(...vaultKeys(box.vault, keyDir));

    // A foreign key file, then a tampered sealed key.
    const [keyFile] = readdirSync(keyDir);
    const original = readFileSync(join(keyDir, keyFile!));
    writeFileSync(join(keyDir, keyFile!), new Uint8Array(32).fill(9));
    cli('list (foreign key file)', ['list', '--json']);
    writeFileSync(join(keyDir, keyFile!), original);
    const db = rawDatabase(box.vault);
    const { sealed } = db.prepare('SELECT sealed_private_key AS sealed FROM credentials LIMIT 1').get() as { sealed: Uint8Array };
    sealed[sealed.length - 1]! ^= 1;
    db.prepare('UPDATE credentials SET sealed_private_key = ? WHERE rowid = (SELECT min(rowid) FROM credentials)').run(sealed);
    db.close();
    const tampered = spawnSync(process.execPath, [CLI, 'ctap', '--stdio', '--approve-all', '--verbose'], {
      env,
      input: Buffer.concat([frame(Command.GetAssertion, encode(getAssertionParams())), frame(Command.GetAssertion, encode(getAssertionParams({ rpId: 'ctaphid.example' })))]),
    });
    expect(tampered.stderr.toString()).toMatch(/sealed blob failed authentication/);
    collect(outputs, 'ctap --stdio (tampered vault)', tampered);

    // A process killed in the middle of a request.
    const killed = spawn(process.execPath, [CLI, 'ctap', '--stdio', '--approve-all', '--verbose'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let killedOut = '';
    killed.stdout.on('data', (c: Buffer) => (killedOut += c.toString('latin1')));
    killed.stderr.on('data', (c: Buffer) => (killedOut += c.toString('latin1')));
    killed.stdin.write(frame(Command.MakeCredential, richCredential(20)));
    await new Promise((resolve) => setTimeout(resolve, 150));
    killed.kill('SIGKILL');
    await new Promise((resolve) => killed.on('close', resolve));
    outputs.push({ where: 'ctap --stdio killed mid-request', text: killedOut });

    // Every secret found is a real one (the scan can find them: see the next test), none is in any output.
    expect(secrets.length).toBeGreaterThan(20);
    expect(outputs.length).toBeGreaterThan(40);
    const leaks = outputs.flatMap((o) => findLeaks(o.where, o.text, secrets));
    expect(leaks).toEqual([]);
  }, 120_000);

  it('not in the logs of the authenticator, the CTAPHID device or the Windows host, nor in any error message of the vault', async () => {
    const dir = tempVaultDir();
    cleanups.push(() => dir.cleanup());
    const vault = dir.open({ passphrase: PASSPHRASE });
    cleanups.push(() => vault.close());
    const logs: string[] = [];
    const errors: string[] = [];
    const authenticator = new Authenticator({ store: vault, aaguid: AAGUID, backupEligible: false, log: (l) => logs.push(l) });
    const ctx = { user: new ScriptedUser() };
    for (const n of [1, 2, 3]) await authenticator.handle(Command.MakeCredential, richCredential(n), ctx);
    const platform = await Platform.agree(authenticator, 1);
    const hmacRequest = getAssertionParams();
    hmacRequest.set(0x04, textMap({ 'hmac-secret': platform.hmacSecretInput(salt(3)) }));
    await authenticator.handle(Command.GetAssertion, encode(hmacRequest), ctx);
    for (const bad of [Uint8Array.of(0xa1), encode(getAssertionParams({ allow: [new Uint8Array(16)] })), encode(new Map([[1, new Uint8Array(1)]]))]) {
      await authenticator.handle(Command.GetAssertion, bad, ctx);
    }
    // The CTAPHID device, over a socket, with protocol errors.
    const server = await listenCtaphid({ kind: 'tcp', host: '127.0.0.1', port: 0 }, { authenticator, context: () => ctx, log: (l) => logs.push(l) });
    cleanups.push(() => server.close());
    const client = await HidClient.connect(server.address.kind === 'tcp' ? server.address.port : 0);
    cleanups.push(() => client.close());
    const cid = await client.init();
    await client.cbor(cid, Command.GetAssertion, encode(hmacRequest));
    client.send(0x12345678, 0x10, Uint8Array.of(0x04));
    // The Windows host: a bad signature, a refused Hello, a success.
    const windows = new FakeWindows();
    const host = new PluginHost({ addon: windows, clsid: CLSID, authenticator, isLocked: () => vault.isLocked(), log: (l) => logs.push(l) });
    host.start();
    cleanups.push(() => host.stop());
    await windows.call('makeCredential', richCredential(5), { signature: new Uint8Array(64) });
    windows.uvMode = 'decline';
    await windows.call('makeCredential', richCredential(6));
    windows.uvMode = 'accept';
    await windows.call('getAssertion', encode(hmacRequest));
    // The vault's own errors: tampered row, wrong passphrase, locked.
    const secretsNow = [...vaultKeys(dir.vaultPath, dir.keyDir, PASSPHRASE), ...credentialSecrets(dir.vaultPath, dir.keyDir, PASSPHRASE)];
    const record = vault.list()[0]!;
    const tamper = rawDatabase(dir.vaultPath);
    tamper.prepare("UPDATE credentials SET rp_id = 'moved.example' WHERE id = ?").run(record.id);
    tamper.close();
    for (const attempt of [
      () => vault.openSecrets(vault.findById('moved.example', record.id)!),
      () => {
        vault.lock();
        vault.unlock({ passphrase: 'not it' });
      },
      () => vault.findById('example.com', record.id),
      () => vault.unlock(),
    ]) {
      try {
        attempt();
      } catch (error) {
        expect(error).toBeInstanceOf(StoreError);
        errors.push(`${(error as Error).message} ${String((error as Error).cause ?? '')}`);
      }
    }
    expect(errors).toHaveLength(4);
    expect(logs.length).toBeGreaterThan(8);
    const leaks = [
      ...findLeaks('the logs', logs.join('\n'), secretsNow),
      ...findLeaks('error messages', errors.join('\n'), secretsNow),
    ];
    expect(leaks).toEqual([]);
  });

  it('the scan itself finds a secret in every encoding it looks for (so a leak would not go unseen)', () => {
    const secret: Secret = { label: 'a test secret', bytes: new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff) };
    const wrap = (inner: Uint8Array) => Buffer.concat([Buffer.from('xy'), inner, Buffer.from('z')]);
    const buffer = Buffer.from(secret.bytes);
    const shown = [
      `key=${buffer.toString('hex')}`,
      `KEY=${buffer.toString('hex').toUpperCase()}`,
      JSON.stringify({ k: wrap(buffer).toString('base64') }),
      JSON.stringify({ k: wrap(buffer).toString('base64url') }),
      JSON.stringify([...buffer]),
      `Uint8Array(32) [ ${[...buffer].join(', ')} ]`,
      wrap(buffer).toString('latin1'),
      `half: ${buffer.subarray(16).toString('hex')}`,
    ];
    for (const text of shown) expect(findLeaks('sample', text, [secret]), text).toEqual(['a test secret in sample']);
    expect(findLeaks('sample', 'nothing here', [secret])).toEqual([]);
  });
});
