/**
 * `latchkey serve --ctaphid` as a user runs it: a child process serving TCP on loopback or a UNIX
 * socket, driven by a raw CTAPHID client, stopped with SIGTERM.
 */
import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebAuthnPlatform } from '../../src/app/webauthnClient.js';
import { Command } from '../../src/ctap/index.js';
import { encode, makeCredentialParams } from '../support/ctapHelpers.js';
import { runCliSync, sandbox, type Sandbox } from '../support/cli.js';
import { authenticate, ORIGIN, register } from '../support/relyingParty.js';
import { HidClient } from '../ctaphid/hidClient.js';
import { RunningCli } from './running.js';

let box: Sandbox;
const running: RunningCli[] = [];
const clients: HidClient[] = [];
beforeEach(() => {
  box = sandbox();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(running.splice(0).map((r) => (r.child.exitCode === null && r.child.signalCode === null ? r.stop('SIGKILL') : r.exited)));
  box.cleanup();
});

function serve(...args: string[]): RunningCli {
  const cli = new RunningCli(['serve', ...args], box.env);
  running.push(cli);
  return cli;
}

async function connect(target: number | string): Promise<{ client: HidClient; cid: number }> {
  const client = await HidClient.connect(target);
  clients.push(client);
  return { client, cid: await client.init() };
}

describe('latchkey serve --ctaphid host:port', () => {
  it('serves a whole ceremony on a loopback port, verified by @simplewebauthn/server, and exits 0 on SIGTERM', async () => {
    const server = serve('--ctaphid', '127.0.0.1:0', '--approve-all', '--vault', join(box.dir, 'v.db'));
    const port = await server.listeningPort();
    expect(server.stderr).toMatch(/approve-all is ON/);
    const { client, cid } = await connect(port);
    const platform = new WebAuthnPlatform((command, params) => client.cbor(cid, command, params), ORIGIN);
    const account = await register(platform, { userVerification: 'required' });
    const { verification } = await authenticate(platform, [account], { allow: false, userVerification: 'required' });
    expect(verification.verified).toBe(true);
    const exit = await server.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(server.stdout).toMatch(/SIGTERM: closing/);
    await client.closed; // the server closed the connection on its way out
  });

  it('without --approve-all and without a terminal, refuses what needs the user (and says nothing about approve-all)', async () => {
    const server = serve('--ctaphid', '127.0.0.1:0', '--vault', join(box.dir, 'v.db'));
    const { client, cid } = await connect(await server.listeningPort());
    expect((await client.cbor(cid, Command.GetInfo)).status).toBe(0);
    expect((await client.cbor(cid, Command.MakeCredential, encode(makeCredentialParams()))).status).toBe(0x27);
    expect(server.stderr).not.toMatch(/approve-all/);
    expect((await server.stop('SIGINT')).code).toBe(0);
  });

  it('refuses a non-loopback address with a clear error and exit status 2, binding nothing', () => {
    for (const address of ['0.0.0.0:0', '192.0.2.1:0', '[::]:0']) {
      const result = runCliSync(['serve', '--ctaphid', address, '--vault', join(box.dir, 'v.db')], box.env);
      expect(result.status, address).toBe(2);
      expect(result.stderr).toMatch(/not a loopback address/);
      expect(result.stderr).toMatch(/--allow-remote/);
    }
  });

  it('rejects a missing or unreadable address with a usage error', () => {
    const missing = runCliSync(['serve', '--vault', join(box.dir, 'v.db')], box.env);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--ctaphid/);
    const bad = runCliSync(['serve', '--ctaphid', '8765', '--vault', join(box.dir, 'v.db')], box.env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/host:port/);
  });
});

describe('latchkey serve --ctaphid unix-socket-path', () => {
  it('serves on an owner-only socket, replaces a stale socket after a crash, and removes its socket on exit', async () => {
    const path = join(box.dir, 'ctap.sock');
    const first = serve('--ctaphid', path, '--approve-all', '--vault', join(box.dir, 'v.db'));
    await first.waitFor(/listening on .*ctap\.sock/);
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    const { client, cid } = await connect(path);
    expect((await client.cbor(cid, Command.GetInfo)).status).toBe(0);
    await first.stop('SIGKILL'); // a crash: the socket file stays behind
    expect(lstatSync(path).isSocket()).toBe(true);

    const second = serve('--ctaphid', path, '--approve-all', '--vault', join(box.dir, 'v.db'));
    await second.waitFor(/listening on/);
    const again = await connect(path);
    expect((await again.client.cbor(again.cid, Command.MakeCredential, encode(makeCredentialParams()))).status).toBe(0);
    expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(existsSync(path)).toBe(false);
  });

  it('never touches a file that is not a socket, and never takes over a live socket', async () => {
    const file = join(box.dir, 'precious.txt');
    writeFileSync(file, 'keep me');
    const refused = runCliSync(['serve', '--ctaphid', file, '--vault', join(box.dir, 'v.db')], box.env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/exists and is not a socket/);
    expect(readFileSync(file, 'utf8')).toBe('keep me');

    const path = join(box.dir, 'live.sock');
    const live = serve('--ctaphid', path, '--vault', join(box.dir, 'v.db'));
    await live.waitFor(/listening on/);
    const second = runCliSync(['serve', '--ctaphid', path, '--vault', join(box.dir, 'w.db')], box.env);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/in use/);
    const { client, cid } = await connect(path);
    expect((await client.cbor(cid, Command.GetInfo)).status).toBe(0);
  });
});
