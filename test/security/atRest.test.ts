/**
 * The vault at rest (SECURITY.md, "A stolen vault file", "A stolen backup or export"), beyond what
 * test/vault/atRest.test.ts already shows (no secret in the clear in the file or WAL; a sealed
 * key or hmac secret moved to another row or column, or flipped, does not open):
 * - everything Latchkey writes is owner-only even under umask 000: the vault, its -wal and -shm,
 *   the key file (0600), and the directories it creates (0700); through the library and the CLI;
 * - a tampered blob, a sealed key moved to another row, a wrong passphrase or a foreign key file
 *   give a clear error (through the authenticator: CTAP1_ERR_OTHER, nothing signed) and change
 *   nothing: no counter moves, the vault's files stay byte for byte the same.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Authenticator, Command, Status, statusName } from '../../src/ctap/index.js';
import { openVault, type Vault } from '../../src/vault/vault.js';
import { CLI, runCliSync, sandbox, type Sandbox } from '../support/cli.js';
import { AAGUID, encode, getAssertionParams, makeCredentialParams, options, parseAuthData } from '../support/ctapHelpers.js';
import { frame } from '../support/frames.js';
import { ScriptedUser } from '../support/users.js';
import { rawDatabase } from '../vault/driver.js';
import { tempVaultDir, type TempVaultDir } from '../vault/helpers.js';
import { cborMap, storeError, vaultFingerprint } from '../reliability/support.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

const mode = (path: string) => statSync(path).mode & 0o777;
const posix = process.platform !== 'win32';

async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(previous);
  }
}

function temp(): TempVaultDir {
  const dir = tempVaultDir();
  cleanups.push(() => dir.cleanup());
  return dir;
}

async function credentialIn(vault: Vault, backupEligible = false) {
  const authenticator = new Authenticator({ store: vault, aaguid: AAGUID, backupEligible, log: () => undefined });
  const params = makeCredentialParams({ userId: Uint8Array.of(Math.floor(Math.random() * 255)) });
  params.set(0x06, new Map([['hmac-secret', true]]));
  params.set(0x07, options({ rk: true }));
  const response = await authenticator.handle(Command.MakeCredential, encode(params), { user: new ScriptedUser() });
  expect(response.status).toBe(Status.OK);
  return parseAuthData(cborMap(response.body).get(0x02) as Uint8Array).credentialId!;
}

describe.runIf(posix)('owner-only files', () => {
  it('the vault, its -wal and -shm, the key file and the directories it creates, even under umask 000', async () => {
    const dir = temp();
    await withUmask(0o000, async () => {
      const vault = dir.open();
      await credentialIn(vault); // the WAL and the shared-memory index exist while it is open
      const files = readdirSync(join(dir.dir, 'data'));
      expect(files.sort()).toEqual(['vault.db', 'vault.db-shm', 'vault.db-wal']);
      for (const file of files) expect(mode(join(dir.dir, 'data', file)), file).toBe(0o600);
      expect(mode(join(dir.dir, 'data'))).toBe(0o700);
      expect(mode(dir.keyDir)).toBe(0o700);
      expect(mode(join(dir.dir, 'config'))).toBe(0o700);
      const [keyFile] = readdirSync(dir.keyDir);
      expect(mode(join(dir.keyDir, keyFile!))).toBe(0o600);
      // Re-wrapping: a passphrase, then a new key file, is owner-only too.
      vault.setPassphrase('correct horse battery staple');
      vault.useKeyFile();
      const [newKeyFile] = readdirSync(dir.keyDir);
      expect(newKeyFile).toBeDefined();
      expect(mode(join(dir.keyDir, newKeyFile!))).toBe(0o600);
      vault.close();
      for (const file of readdirSync(join(dir.dir, 'data'))) expect(mode(join(dir.dir, 'data', file)), file).toBe(0o600);
    });
  });

  it('through the CLI, in the default locations, under umask 000', () => {
    const box: Sandbox = sandbox();
    cleanups.push(() => box.cleanup());
    // A vault is created on first use by the CTAP channel; the shell sets the umask first.
    const result = spawnSync('sh', ['-c', `umask 000 && exec "${process.execPath}" "${CLI}" ctap --stdio --approve-all`], {
      env: box.env,
      input: frame(Command.GetInfo),
    });
    expect(result.status, result.stderr.toString()).toBe(0);
    const dataDir = join(box.env['XDG_DATA_HOME']!, 'latchkey');
    const keyDir = join(box.env['XDG_CONFIG_HOME']!, 'latchkey', 'keys');
    expect(mode(box.env['XDG_DATA_HOME']!)).toBe(0o700);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(keyDir)).toBe(0o700);
    for (const file of readdirSync(dataDir)) expect(mode(join(dataDir, file)), file).toBe(0o600);
    for (const file of readdirSync(keyDir)) expect(mode(join(keyDir, file)), file).toBe(0o600);
  });

  it('writes no export yet: when an export command appears, this fails so that its file mode gets tested here', () => {
    const box = sandbox();
    cleanups.push(() => box.cleanup());
    const help = runCliSync(['help'], box.env);
    expect(help.stdout + help.stderr).not.toMatch(/^\s+(export|backup)\b/m);
  });
});

describe('tampered or moved secrets, wrong keys: a clear error, and nothing changes', () => {
  async function assertionStatus(vault: Vault, rpId: string, id: Uint8Array): Promise<{ status: number; log: string[] }> {
    const log: string[] = [];
    const authenticator = new Authenticator({ store: vault, aaguid: AAGUID, log: (l) => log.push(l) });
    const response = await authenticator.handle(Command.GetAssertion, encode(getAssertionParams({ rpId, allow: [id] })), { user: new ScriptedUser() });
    if (response.status !== Status.OK) expect(response.body).toBeUndefined();
    return { status: response.status, log };
  }

  it('a flipped bit in a sealed key: CTAP1_ERR_OTHER with a clear log line, no signature, no counter moved, no byte written', async () => {
    const dir = temp();
    let vault = dir.open();
    const id = await credentialIn(vault);
    vault.close();
    const db = rawDatabase(dir.vaultPath);
    const { sealed } = db.prepare('SELECT sealed_private_key AS sealed FROM credentials').get() as { sealed: Uint8Array };
    sealed[20]! ^= 0x10;
    db.prepare('UPDATE credentials SET sealed_private_key = ?').run(sealed);
    db.close();

    vault = dir.open();
    cleanups.push(() => vault.close());
    const before = vaultFingerprint(dir.vaultPath, { shm: false });
    const { status, log } = await assertionStatus(vault, 'example.com', id);
    expect(statusName(status)).toBe(statusName(Status.OTHER));
    expect(log.join('\n')).toMatch(/StoreError: private-key of a credential of example\.com: sealed blob failed authentication/);
    expect(vault.findById('example.com', id)!.signCount).toBe(0);
    expect(vaultFingerprint(dir.vaultPath, { shm: false })).toEqual(before);
  });

  it('a victim\'s sealed key moved into the attacker\'s row: the attacker\'s credential does not sign, the victim\'s still does', async () => {
    const dir = temp();
    let vault = dir.open();
    const victim = await credentialIn(vault);
    const authenticator = new Authenticator({ store: vault, aaguid: AAGUID, backupEligible: false });
    const attackerParams = makeCredentialParams({ rpId: 'evil.example', userId: Uint8Array.of(66) });
    const attacker = parseAuthData(cborMap((await authenticator.handle(Command.MakeCredential, encode(attackerParams), { user: new ScriptedUser() })).body).get(0x02) as Uint8Array).credentialId!;
    vault.close();
    const db = rawDatabase(dir.vaultPath);
    db.prepare('UPDATE credentials SET sealed_private_key = (SELECT sealed_private_key FROM credentials WHERE id = ?) WHERE id = ?').run(victim, attacker);
    db.close();

    vault = dir.open();
    cleanups.push(() => vault.close());
    const before = vaultFingerprint(dir.vaultPath, { shm: false });
    const moved = await assertionStatus(vault, 'evil.example', attacker);
    expect(statusName(moved.status)).toBe(statusName(Status.OTHER));
    expect(moved.log.join('\n')).toMatch(/moved from elsewhere/);
    expect(vault.findById('evil.example', attacker)!.signCount).toBe(0); // its counter did not move
    expect(vaultFingerprint(dir.vaultPath, { shm: false })).toEqual(before);
    expect((await assertionStatus(vault, 'example.com', victim)).status).toBe(Status.OK);
  });

  it('a key file of another vault: StoreError(locked) naming the key file, the vault untouched', () => {
    const dir = temp();
    dir.open().close();
    const [keyFile] = readdirSync(dir.keyDir);
    const before = vaultFingerprint(dir.vaultPath);
    writeFileSync(join(dir.keyDir, keyFile!), new Uint8Array(32).fill(7));
    const error = storeError(() => dir.open());
    expect(error.code).toBe('locked');
    expect(error.message).toMatch(/key file .* does not open it/);
    expect(vaultFingerprint(dir.vaultPath)).toEqual(before);
  });

  it('through the CLI: a wrong passphrase and a tampered blob are reported clearly, and the vault stays byte for byte the same', async () => {
    const box = sandbox();
    cleanups.push(() => box.cleanup());
    const created = spawnSync(process.execPath, [CLI, 'ctap', '--stdio', '--approve-all'], {
      env: box.env,
      input: frame(Command.MakeCredential, encode(makeCredentialParams())),
    });
    expect(created.status).toBe(0);
    const keyDir = join(box.env['XDG_CONFIG_HOME']!, 'latchkey', 'keys');
    const vault = openVault({ path: box.vault, keyDir, create: false });
    const id = vault.list()[0]!.id;
    vault.close();
    expect(runCliSync(['passphrase', 'set'], { ...box.env, LATCHKEY_NEW_PASSPHRASE: 'correct horse battery' }).status).toBe(0);
    const before = vaultFingerprint(box.vault);

    const wrong = runCliSync(['list', '--json'], { ...box.env, LATCHKEY_PASSPHRASE: 'correct horse battery!' });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/wrong passphrase/);
    expect(wrong.stdout).toBe('');
    expect(vaultFingerprint(box.vault)).toEqual(before);

    const db = rawDatabase(box.vault);
    const { sealed } = db.prepare('SELECT sealed_private_key AS sealed FROM credentials').get() as { sealed: Uint8Array };
    sealed[sealed.length - 1]! ^= 1;
    db.prepare('UPDATE credentials SET sealed_private_key = ?').run(sealed);
    db.close();
    const tampered = vaultFingerprint(box.vault);
    const asked = spawnSync(process.execPath, [CLI, 'ctap', '--stdio', '--approve-all', '--verbose'], {
      env: { ...box.env, LATCHKEY_PASSPHRASE: 'correct horse battery' },
      input: frame(Command.GetAssertion, encode(getAssertionParams({ allow: [id] }))),
    });
    expect(asked.status).toBe(0);
    expect(asked.stdout[0]).toBe(Status.OTHER);
    expect(asked.stdout.length).toBe(5); // a status and an empty body: nothing signed
    expect(asked.stderr.toString()).toMatch(/sealed blob failed authentication/);
    expect(vaultFingerprint(box.vault, { shm: false })).toEqual(tampered);
  });
});
