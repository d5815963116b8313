import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebAuthnPlatform, CtapStatusError } from '../../src/app/webauthnClient.js';
import { decodeStrict } from '../../src/cbor/index.js';
import { AAGUID } from '../../src/app/identity.js';
import { runCliBinary, sandbox, type Sandbox } from '../support/cli.js';
import { concat, frame, splitFrames } from '../support/frames.js';
import { authenticate, ORIGIN, register } from '../support/relyingParty.js';
import { StdioClient } from '../support/stdioClient.js';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

describe('latchkey ctap --stdio', () => {
  it('answers getInfo with the AAGUID in a [status][length][CBOR] frame', async () => {
    const { status, stdout } = await runCliBinary(['ctap', '--stdio', '--vault', `${box.dir}/v.db`], box.env, frame(0x04));
    expect(status).toBe(0);
    const [reply] = splitFrames(stdout);
    expect(reply?.status).toBe(0);
    const info = decodeStrict(reply!.body) as Map<number, unknown>;
    expect(info.get(0x03)).toEqual(AAGUID);
  });

  it('registers and signs in through the process, verified by @simplewebauthn/server, across a restart', async () => {
    const vault = `${box.dir}/v.db`;
    const first = new StdioClient(['--approve-all', '--vault', vault], box.env);
    const account = await register(new WebAuthnPlatform((c, p) => first.send(c, p), ORIGIN), { userVerification: 'required' });
    expect(await first.close()).toBe(0);
    expect(first.stderr).toMatch(/approve-all is ON/);

    const second = new StdioClient(['--approve-all', '--vault', vault], box.env);
    const platform = new WebAuthnPlatform((c, p) => second.send(c, p), ORIGIN);
    const { verification } = await authenticate(platform, [account], { allow: false, userVerification: 'required' });
    expect(verification.verified).toBe(true);
    expect(verification.authenticationInfo.userVerified).toBe(true);
    expect(await second.close()).toBe(0);
  });

  it('answers malformed CBOR with its status and keeps the channel usable', async () => {
    const input = concat(
      frame(0x01, Uint8Array.of(0xbf, 0xff)), // indefinite-length map
      frame(0x02, Uint8Array.of(0xa1, 0x01, 0x18, 0x05)), // non-shortest integer
      frame(0x04),
    );
    const { status, stdout } = await runCliBinary(['ctap', '--stdio', '--vault', `${box.dir}/v.db`], box.env, input);
    expect(status).toBe(0);
    const replies = splitFrames(stdout);
    expect(replies.map((r) => r.status)).toEqual([0x12, 0x12, 0x00]);
    expect(replies[2]!.body.length).toBeGreaterThan(0);
  });

  it('closes the channel with a clear message on a frame cut short, after answering what came before', async () => {
    const input = concat(frame(0x04), Uint8Array.of(0x04, 0x00, 0x00));
    const { status, stdout, stderr } = await runCliBinary(['ctap', '--stdio', '--vault', `${box.dir}/v.db`], box.env, input);
    expect(status).toBe(1);
    expect(splitFrames(stdout).map((r) => r.status)).toEqual([0x00]);
    expect(stderr).toMatch(/input ended inside a frame/);
  });

  it('closes the channel on an absurd frame length', async () => {
    const input = concat(Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff), new Uint8Array(10), frame(0x04));
    const { status, stdout, stderr } = await runCliBinary(['ctap', '--stdio', '--vault', `${box.dir}/v.db`], box.env, input);
    expect(status).toBe(1);
    expect(stdout.length).toBe(0);
    expect(stderr).toMatch(/frame length 4294967295 exceeds/);
  });

  it('without --approve-all and without a terminal, refuses what needs the user with OPERATION_DENIED', async () => {
    const client = new StdioClient(['--vault', `${box.dir}/v.db`], box.env);
    const platform = new WebAuthnPlatform((c, p) => client.send(c, p), ORIGIN);
    const error = await register(platform).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CtapStatusError);
    expect((error as CtapStatusError).status).toBe(0x27);
    expect((await client.send(0x04, new Uint8Array(0))).status).toBe(0);
    expect(client.stderr).not.toMatch(/approve-all/);
    expect(await client.close()).toBe(0);
  });

  it('requires a channel and rejects unknown options with a usage error', async () => {
    const none = await runCliBinary(['ctap', '--vault', `${box.dir}/v.db`], box.env, new Uint8Array(0));
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--stdio/);
    const bad = await runCliBinary(['ctap', '--stdio', '--approve-al'], box.env, new Uint8Array(0));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--approve-al'/);
  });
});
