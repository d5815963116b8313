/**
 * Measures the vault's share of a getAssertion: `findById` + `openSecrets` + `recordUse('zero')`,
 * at a given number of stored credentials (default 100,000). Not a test (tests never assert a
 * time); run it by hand:
 *
 *   out=$(mktemp -d -p .) && npx tsc --outDir "$out" --rootDir . --module nodenext \
 *     --moduleResolution nodenext --target es2022 --types node --skipLibCheck test/vault/measureHotPath.ts \
 *     && node "$out/test/vault/measureHotPath.js" 100000; rm -rf "$out"
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COSE_ALG_ES256, type CredentialRecord } from '../../src/ctap/ports.js';
import { openVault } from '../../src/vault/vault.js';

const rows = Number(process.argv[2] ?? 100_000);
const iterations = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'latchkey-measure-'));

function record(i: number, counterMode: CredentialRecord['counterMode']): CredentialRecord {
  return {
    id: new Uint8Array(randomBytes(16)),
    rpId: `rp${i % 5000}.example`,
    rpName: 'Example',
    userId: new Uint8Array(randomBytes(16)),
    userName: `user${i}@example.com`,
    userDisplayName: `User ${i}`,
    alg: COSE_ALG_ES256,
    publicKey: new Uint8Array(randomBytes(77)),
    discoverable: true,
    credProtect: 1,
    backupEligible: counterMode === 'zero',
    backupState: counterMode === 'zero',
    counterMode,
    signCount: 0,
    createdAt: 1_700_000_000_000 + i,
    origin: 'created',
  };
}

function microseconds(label: string, fn: (i: number) => void): number {
  for (let i = 0; i < 1000; i++) fn(i); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  const us = Number(process.hrtime.bigint() - start) / 1000 / iterations;
  console.log(`${label.padEnd(34)} ${us.toFixed(2).padStart(8)} µs`);
  return us;
}

try {
  const vault = openVault({ path: join(dir, 'vault.db'), keyDir: join(dir, 'keys') });
  const sample: CredentialRecord[] = [];
  const batch = 10_000;
  for (let start = 0; start < rows; start += batch) {
    const entries = [];
    for (let i = start; i < Math.min(rows, start + batch); i++) {
      const r = record(i, i % 100 === 0 ? 'increment' : 'zero');
      if (i % Math.max(2, Math.floor(rows / 1000)) === 1) sample.push(r);
      entries.push({
        record: r,
        secrets: { privateKey: new Uint8Array(randomBytes(32)), hmacSecretWithUv: new Uint8Array(randomBytes(32)) },
      });
    }
    vault.createMany(entries);
  }
  console.log(`${vault.count()} credentials stored, Node ${process.version}`);
  const pick = (i: number) => sample[i % sample.length]!;
  const found = sample.map((r) => vault.findById(r.rpId, r.id)!);
  const findUs = microseconds('findById', (i) => void vault.findById(pick(i).rpId, pick(i).id));
  const openUs = microseconds('openSecrets (+ wipe)', (i) => {
    const s = vault.openSecrets(found[i % found.length]!);
    s.privateKey.fill(0);
    s.hmacSecretWithUv?.fill(0);
  });
  const useUs = microseconds("recordUse ('zero')", (i) => void vault.recordUse(found[i % found.length]!, 1_800_000_000_000 + i));
  const allUs = microseconds('findById + openSecrets + recordUse', (i) => {
    const r = vault.findById(pick(i).rpId, pick(i).id)!;
    const s = vault.openSecrets(r);
    s.privateKey.fill(0);
    s.hmacSecretWithUv?.fill(0);
    vault.recordUse(r, 1_800_000_000_000 + i);
  });
  console.log(`sum of parts ${(findUs + openUs + useUs).toFixed(2)} µs; combined ${allUs.toFixed(2)} µs = ` +
    `${((allUs / 500) * 100).toFixed(1)}% of a 500 µs signature`);
  const increment = vault.list().find((r) => r.counterMode === 'increment')!;
  const start = process.hrtime.bigint();
  for (let i = 0; i < 200; i++) vault.recordUse(increment, 1_800_000_000_000 + i);
  console.log(`${"recordUse ('increment', durable)".padEnd(34)} ${(Number(process.hrtime.bigint() - start) / 1000 / 200).toFixed(2).padStart(8)} µs`);
  vault.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
