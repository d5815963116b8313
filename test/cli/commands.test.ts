import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebAuthnPlatform } from '../../src/app/webauthnClient.js';
import { AAGUID_STRING } from '../../src/app/identity.js';
import { REPO, runCliSync, sandbox, type Sandbox } from '../support/cli.js';
import { ORIGIN, register } from '../support/relyingParty.js';
import { StdioClient } from '../support/stdioClient.js';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

async function registerThroughCli(env: NodeJS.ProcessEnv, names: string[], rpId = 'example.com') {
  const client = new StdioClient(['--approve-all'], env);
  const platform = new WebAuthnPlatform((c, p) => client.send(c, p), `https://${rpId}`);
  const accounts = [];
  for (const userName of names) accounts.push(await register(platform, { userName, rpId }));
  await client.close();
  return accounts;
}

describe('latchkey info', () => {
  it('prints getInfo for people and as JSON with the canonical bytes', () => {
    const human = runCliSync(['info'], box.env);
    expect(human.status).toBe(0);
    expect(human.stdout).toContain(AAGUID_STRING);
    expect(human.stdout).toMatch(/FIDO_2_0, FIDO_2_1/);
    const json = runCliSync(['info', '--json'], box.env);
    expect(json.status).toBe(0);
    const parsed = JSON.parse(json.stdout) as { aaguid: string; versions: string[]; cbor: string; algorithms: { alg: number }[] };
    expect(parsed.aaguid).toBe(AAGUID_STRING);
    expect(parsed.algorithms.map((a) => a.alg)).toEqual([-7, -8]);
    expect(parsed.cbor).toMatch(/^a[0-9a-f]/);
  });

  it('runs through npm run latchkey from the checkout', () => {
    const result = spawnSync('npm', ['run', '--silent', 'latchkey', '--', 'info', '--json'], {
      cwd: REPO,
      env: box.env,
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).aaguid).toBe(AAGUID_STRING);
  });
});

describe('latchkey list and delete', () => {
  it('lists what was registered (human and JSON) and deletes one after --yes', async () => {
    const [alice, bob] = await registerThroughCli(box.env, ['alice@example.com', 'bob@example.com']);
    const human = runCliSync(['list'], box.env);
    expect(human.status).toBe(0);
    expect(human.stdout).toContain('alice@example.com');
    expect(human.stdout).toContain('2 passkeys');
    const rows = JSON.parse(runCliSync(['list', '--json'], box.env).stdout) as { id: string; userName: string; created: string }[];
    expect(rows.map((r) => r.id).sort()).toEqual([alice!.credential.id, bob!.credential.id].sort());
    expect(new Date(rows[0]!.created).getTime()).toBeGreaterThan(Date.now() - 60_000);

    const refused = runCliSync(['delete', alice!.credential.id], box.env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/without confirmation/);
    expect(JSON.parse(runCliSync(['list', '--json'], box.env).stdout)).toHaveLength(2);

    const deleted = runCliSync(['delete', alice!.credential.id.slice(0, 10), '--yes'], box.env);
    expect(deleted.status).toBe(0);
    expect(deleted.stdout).toMatch(/Deleted the passkey for example.com \(alice@example.com\)/);
    const left = JSON.parse(runCliSync(['list', '--json'], box.env).stdout) as { id: string }[];
    expect(left.map((r) => r.id)).toEqual([bob!.credential.id]);

    const again = runCliSync(['delete', alice!.credential.id, '--yes'], box.env);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/no passkey with credential id/);
  });

  it('rejects bad arguments with exit status 2 and a hint', () => {
    for (const args of [['delete'], ['delete', 'abc'], ['delete', 'not base64!'], ['list', 'extra'], ['list', '--nope'], ['frobnicate']]) {
      const result = runCliSync(args, box.env);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/latchkey/);
    }
  });

  it('reports a missing vault without creating one', () => {
    const result = runCliSync(['list', '--vault', `${box.dir}/nothing.db`], box.env);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/no vault/i);
  });

  it('refuses a corrupt or foreign vault file clearly and leaves it byte for byte unchanged', async () => {
    const path = `${box.dir}/corrupt.db`;
    mkdirSync(dirname(path), { recursive: true });
    const garbage = new Uint8Array(8192).map((_, i) => (i * 131 + 7) & 0xff);
    writeFileSync(path, garbage);
    const digest = () => createHash('sha256').update(readFileSync(path)).digest('hex');
    const before = digest();
    for (const args of [['list', '--vault', path], ['ctap', '--stdio', '--approve-all', '--vault', path]]) {
      const result = runCliSync(args, box.env);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/not a Latchkey vault|corrupt|not a database/i);
      expect(digest()).toBe(before);
    }
  });
});

describe('latchkey passphrase', () => {
  it('moves the vault key behind a passphrase supplied through the environment, and back', async () => {
    await registerThroughCli(box.env, ['carol@example.com']);
    const set = runCliSync(['passphrase', 'set'], { ...box.env, LATCHKEY_NEW_PASSPHRASE: 'correct horse battery' });
    expect(set.status).toBe(0);
    const locked = runCliSync(['list'], box.env);
    expect(locked.status).toBe(1);
    expect(locked.stderr).toMatch(/passphrase/i);
    const wrong = runCliSync(['list'], { ...box.env, LATCHKEY_PASSPHRASE: 'wrong horse battery' });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/wrong passphrase/i);
    expect(wrong.stderr).not.toContain('wrong horse battery');
    const open = runCliSync(['list', '--json'], { ...box.env, LATCHKEY_PASSPHRASE: 'correct horse battery' });
    expect(open.status).toBe(0);
    expect(JSON.parse(open.stdout)[0].userName).toBe('carol@example.com');
    const back = runCliSync(['passphrase', 'remove'], { ...box.env, LATCHKEY_PASSPHRASE: 'correct horse battery' });
    expect(back.status).toBe(0);
    expect(runCliSync(['list'], box.env).status).toBe(0);
  });

  it('refuses a short passphrase and changes nothing', async () => {
    await registerThroughCli(box.env, ['dave@example.com']);
    const result = runCliSync(['passphrase', 'set'], { ...box.env, LATCHKEY_NEW_PASSPHRASE: 'short' });
    expect(result.status).toBe(1);
    expect(runCliSync(['list'], box.env).status).toBe(0);
  });
});

describe('latchkey demo', () => {
  it('registers and signs in at the demo relying party, which accepts both, on a throwaway vault', () => {
    const result = runCliSync(['demo'], box.env);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.match(/relying party: ACCEPTED/g)).toHaveLength(2);
    expect(result.stdout).toMatch(/CTAP 0x01 with \d+ bytes of CBOR; ← CTAP2_OK/);
    // The throwaway vault is gone and the user's default vault was never created.
    const path = /vault: (\S+)/.exec(result.stdout)![1]!;
    expect(() => readFileSync(path)).toThrow();
    expect(() => readFileSync(box.vault)).toThrow();
  });
});
