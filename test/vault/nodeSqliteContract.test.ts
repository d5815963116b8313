/**
 * The vault's behavioural tests (this directory) against the second driver, `node:sqlite`, and the
 * file format shared by both: a vault written by one driver opens, reads and writes on the other.
 *
 * The default run is on better-sqlite3 (Node 20 has no node:sqlite). This file reruns the whole
 * directory in a Node that has node:sqlite (this one, or a Node 22 fetched from the npm registry:
 * see test/support/nodeWithSqlite.ts) with LATCHKEY_TEST_SQL_DRIVER=node:sqlite. In CI a Node 22 that
 * cannot be had is a failure; elsewhere the suite is skipped and says why.
 * The file-format part runs the built dist/ (npm test builds first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COSE_ALG_ES256 } from '../../src/ctap/ports.js';
import { openBetterSqlite3 } from '../../src/vault/drivers/betterSqlite3.js';
import { LATCHKEY_APPLICATION_ID } from '../../src/vault/migrations.js';
import { openVault } from '../../src/vault/vault.js';
import { inspectVaultFile } from '../../src/vault/vaultFile.js';
import { nodeWithSqlite, type NodeLookup } from '../support/nodeWithSqlite.js';
import { TEST_DRIVER_ENV } from './driver.js';
import { sampleRecord, sampleSecrets } from './helpers.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const inChild = process.env[TEST_DRIVER_ENV] !== undefined;

let node: NodeLookup = { reason: 'not looked up' };

describe.skipIf(inChild)('node:sqlite driver contract', () => {
  beforeAll(() => {
    node = nodeWithSqlite();
    if (node.path === undefined) {
      if (process.env['CI'] === 'true') throw new Error(`CI needs a Node with node:sqlite: ${node.reason}`);
      console.warn(`[node:sqlite contract] SKIPPED: ${node.reason}`);
    } else {
      console.info(`[node:sqlite contract] using ${node.how}`);
    }
  }, 360_000);

  it('passes every vault test in test/vault on node:sqlite', (ctx) => {
    if (node.path === undefined) return ctx.skip(node.reason);
    const run = spawnSync(node.path, [join(REPO, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/vault', '--reporter=dot'], {
      cwd: REPO,
      env: { ...process.env, [TEST_DRIVER_ENV]: 'node:sqlite', NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 240_000,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    const summary = output.match(/Tests\s+.*$/m)?.[0]?.replace(/\u001b\[[0-9;]*m/g, '') ?? '(no summary)';
    console.info(`[node:sqlite contract] ${summary}`);
    expect(run.status, output.slice(-6000)).toBe(0);
    expect(summary).toMatch(/\d+ passed/);
    expect(summary).not.toMatch(/failed/);
  }, 300_000);

  it('shares one file format with better-sqlite3, both ways (application_id, user_version, WAL)', (ctx) => {
    if (node.path === undefined) return ctx.skip(node.reason);
    if (!existsSync(join(REPO, 'dist', 'vault', 'index.js'))) throw new Error('run `npm run build` first: this test runs dist/');
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-driver-format-'));
    try {
      const keyDir = join(dir, 'keys');
      // 1. better-sqlite3 writes vault A.
      const a = join(dir, 'a.db');
      const record = sampleRecord({ counterMode: 'increment', signCount: 5, backupEligible: false, backupState: false });
      const secrets = sampleSecrets();
      const vaultA = openVault({ path: a, keyDir, driver: openBetterSqlite3 });
      vaultA.create(record, secrets);
      vaultA.close();

      // 2. node:sqlite reads A, writes to it, and creates vault B.
      const script = `
        import { openVault, openNodeSqlite } from ${JSON.stringify(join(REPO, 'dist', 'vault', 'index.js'))};
        const [a, b, keyDir, idHex, rpId] = process.argv.slice(1);
        const id = Uint8Array.from(Buffer.from(idHex, 'hex'));
        const va = openVault({ path: a, keyDir, driver: openNodeSqlite, create: false });
        const found = va.findById(rpId, id);
        const secret = Buffer.from(va.openSecrets(found).privateKey).toString('hex');
        const count = va.recordUse(found, 42);
        const infoA = va.info();
        va.close();
        const vb = openVault({ path: b, keyDir, driver: openNodeSqlite });
        vb.create({ id: new Uint8Array([7, 7, 7]), rpId: 'b.example', userId: new Uint8Array([1]), alg: ${COSE_ALG_ES256},
          publicKey: new Uint8Array([1, 2]), discoverable: true, credProtect: 1, backupEligible: true, backupState: true,
          counterMode: 'zero', signCount: 0, createdAt: 9, origin: 'created' }, { privateKey: new Uint8Array(32).fill(9) });
        const infoB = vb.info();
        vb.close();
        console.log(JSON.stringify({ secret, count, driverA: infoA.driver, schemaA: infoA.schemaVersion, driverB: infoB.driver }));
      `;
      const child = spawnSync(
        node.path,
        ['--no-warnings', '--input-type=module', '-e', script, a, join(dir, 'b.db'), keyDir, Buffer.from(record.id).toString('hex'), record.rpId],
        { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } },
      );
      expect(child.status, child.stderr).toBe(0);
      const seen = JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
      expect(seen).toEqual({
        secret: Buffer.from(secrets.privateKey).toString('hex'),
        count: 6,
        driverA: 'node:sqlite',
        schemaA: 1,
        driverB: 'node:sqlite',
      });

      // 3. better-sqlite3 reads B, and A as node:sqlite left it; both headers say the same.
      for (const path of [a, join(dir, 'b.db')]) {
        const header = inspectVaultFile(path, { applicationId: LATCHKEY_APPLICATION_ID, latestSchemaVersion: 1 });
        expect(header.applicationId).toBe(LATCHKEY_APPLICATION_ID);
        expect(header.userVersion).toBe(1);
        const raw = openBetterSqlite3(path, { fileMustExist: true });
        expect(String(raw.pragma('journal_mode'))).toBe('wal');
        expect(Number(raw.pragma('application_id'))).toBe(LATCHKEY_APPLICATION_ID);
        raw.close();
      }
      const vb = openVault({ path: join(dir, 'b.db'), keyDir, driver: openBetterSqlite3, create: false });
      const other = vb.findById('b.example', new Uint8Array([7, 7, 7]))!;
      expect(vb.openSecrets(other).privateKey).toStrictEqual(new Uint8Array(32).fill(9));
      expect(vb.checkIntegrity()).toEqual([]);
      vb.close();
      const va = openVault({ path: a, keyDir, driver: openBetterSqlite3, create: false });
      expect(va.findById(record.rpId, record.id)!.signCount).toBe(6);
      va.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
