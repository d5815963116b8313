/**
 * `latchkey start`, the README's main job: serve on loopback with the default vault, prove it with
 * one demo ceremony through the socket, keep serving, stop cleanly on SIGTERM — and leave the
 * user's vault as it was.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Command } from '../../src/ctap/index.js';
import { encode, makeCredentialParams } from '../support/ctapHelpers.js';
import { runCliSync, sandbox, type Sandbox } from '../support/cli.js';
import { HidClient } from '../ctaphid/hidClient.js';
import { RunningCli } from './running.js';

let box: Sandbox;
let cli: RunningCli | undefined;
beforeEach(() => {
  box = sandbox();
});
afterEach(async () => {
  if (cli !== undefined && cli.child.exitCode === null && cli.child.signalCode === null) await cli.stop('SIGKILL');
  cli = undefined;
  box.cleanup();
});

describe('latchkey start', () => {
  it('serves, runs a demo ceremony the relying party accepts, keeps serving, and exits 0 on SIGTERM', async () => {
    cli = new RunningCli(['start', '--listen', '127.0.0.1:0'], box.env);
    const port = await cli.listeningPort();
    await cli.waitFor(/Serving until Ctrl-C/);
    expect(cli.stdout).toContain(`vault: ${box.vault}`);
    expect(cli.stdout).toMatch(/python-fido2/);
    expect(cli.stdout).toMatch(/libfido2/);
    expect(cli.stdout.match(/relying party: ACCEPTED (registration|sign-in)/g)).toEqual([
      'relying party: ACCEPTED registration',
      'relying party: ACCEPTED sign-in',
    ]);
    expect(cli.stdout).toMatch(/the demo passkey was deleted from the vault/);

    const client = await HidClient.connect(port);
    try {
      const cid = await client.init();
      expect((await client.cbor(cid, Command.GetInfo)).status).toBe(0);
      // The demo's approval was for its own connection: this client has nobody to approve it.
      expect((await client.cbor(cid, Command.MakeCredential, encode(makeCredentialParams()))).status).toBe(0x27);
    } finally {
      await client.close();
    }
    expect(await cli.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(cli.stderr).not.toMatch(/latchkey|error/i); // (a Node whose node:sqlite is experimental may warn about that)

    const list = runCliSync(['list', '--json'], box.env);
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]); // the default vault exists, and the demo left nothing in it
  });

  it('skips the demo with --no-demo', async () => {
    cli = new RunningCli(['start', '--listen', '127.0.0.1:0', '--no-demo'], box.env);
    await cli.listeningPort();
    await cli.waitFor(/Serving until Ctrl-C/);
    expect(cli.stdout).not.toMatch(/Demo ceremony|relying party/);
    expect((await cli.stop('SIGINT')).code).toBe(0);
  });

  it('says so, and how to choose another port, when its port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const result = runCliSync(['start', '--listen', `127.0.0.1:${port}`], box.env);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
      expect(result.stderr).toMatch(/--listen/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('listens on loopback TCP only', () => {
    for (const listen of ['0.0.0.0:0', `${box.dir}/start.sock`]) {
      const result = runCliSync(['start', '--listen', listen], box.env);
      expect(result.status, listen).toBe(2);
      expect(result.stderr).toMatch(/loopback|host:port/);
    }
  });
});
