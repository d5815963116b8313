// Latchkey benchmarks: `npm run bench` (builds first). Prints ratios measured in one run.
//
//   node bench/run.mjs [--quick]
//
// 1. getAssertion and makeCredential through the byte entry point (Authenticator.handle) with an
//    on-disk vault holding 100,000 credentials, next to a bare @noble/curves P-256 sign of the same
//    message size, and the ratio between them (target: the whole path adds at most 10% to its signature).
// 2. Credential lookup at 1,000 vs 1,000,000 stored credentials (target: flat).
//
// Rounds of each measurement are interleaved so machine noise hits all of them alike; medians are reported.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { encodeCanonical } from '../dist/cbor/index.js';
import { buildAuthenticator } from '../dist/app/main.js';
import { approveAll } from '../dist/app/userVerifiers.js';
import { openVault } from '../dist/vault/vault.js';
import { randomBytes } from 'node:crypto';

const quick = process.argv.includes('--quick');
const VAULT_SIZE = quick ? 10_000 : 100_000;
const LOOKUP_SIZES = quick ? [1_000, 100_000] : [1_000, 1_000_000];
const ROUNDS = quick ? 5 : 9;
const OPS_PER_ROUND = quick ? 100 : 300;

const work = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
const ctx = { user: approveAll };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function filler(count, rpCount) {
  const key = new Uint8Array(32).fill(7); // sealed per row like a real key; never used to sign
  const cose = encodeCanonical(new Map([[1, 2], [3, -7], [-1, 1], [-2, new Uint8Array(32)], [-3, new Uint8Array(32)]]));
  const now = Date.now();
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push({
      record: {
        id: new Uint8Array(randomBytes(16)),
        rpId: `rp${i % rpCount}.example`,
        rpName: 'Filler',
        userId: new Uint8Array(randomBytes(16)),
        userName: `user${i}@example`,
        userDisplayName: `User ${i}`,
        alg: -7,
        publicKey: cose,
        discoverable: true,
        credProtect: 1,
        backupEligible: true,
        backupState: true,
        counterMode: 'zero',
        signCount: 0,
        createdAt: now - i,
        origin: 'imported',
      },
      secrets: { privateKey: key },
    });
  }
  return out;
}

function fillVault(vault, count) {
  const started = performance.now();
  const batch = 20_000;
  for (let done = 0; done < count; done += batch) vault.createMany(filler(Math.min(batch, count - done), Math.max(1, count / 10)));
  return performance.now() - started;
}

function newVault(name) {
  return openVault({ path: join(work, name, 'vault.db'), create: true, keyDir: join(work, name, 'keys') });
}

async function timeRound(ops, fn) {
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) await fn(i);
  return (performance.now() - t0) / ops; // ms per op
}

function clientDataHash() {
  return new Uint8Array(randomBytes(32));
}

async function hotPath() {
  console.log(`\n== Hot path through Authenticator.handle, on-disk vault with ${VAULT_SIZE.toLocaleString()} credentials`);
  const vault = newVault('hot');
  const fillMs = fillVault(vault, VAULT_SIZE);
  console.log(`   filled the vault in ${fmt(fillMs / 1000)} s`);
  const authenticator = buildAuthenticator(vault);

  // One credential to sign with, created through the byte entry point like any other.
  const mcParams = (i) =>
    encodeCanonical(
      new Map([
        [1, clientDataHash()],
        [2, new Map([['id', 'example.com'], ['name', 'Example']])],
        [3, new Map([['id', new Uint8Array(randomBytes(16))], ['name', `bench${i}`], ['displayName', 'Bench']])],
        [4, [new Map([['alg', -7], ['type', 'public-key']])]],
      ]),
    );
  const created = await authenticator.handle(0x01, mcParams(-1), ctx);
  if (created.status !== 0) throw new Error(`makeCredential failed: ${created.status}`);
  const body = created.body;
  // authData is map key 2 in the response; find the credential id inside it (offset 55 of authData).
  const authDataStart = body.indexOf(0x02, 5) + 3; // 0x02, 0x58/0x59 length header; robust enough for a bench
  const credentialId = findCredentialId(body);
  const gaParams = () =>
    encodeCanonical(
      new Map([
        [1, 'example.com'],
        [2, clientDataHash()],
        [3, [new Map([['id', credentialId], ['type', 'public-key']])]],
      ]),
    );

  const sk = p256.utils.randomSecretKey();
  const message = new Uint8Array(37 + 32); // authData of an assertion ‖ clientDataHash
  p256.sign(message, sk, { format: 'der' }); // warm the precomputed tables, as the authenticator's first sign does
  await authenticator.handle(0x02, gaParams(), ctx);

  const sign = [], ga = [], mc = [];
  for (let r = 0; r < ROUNDS; r++) {
    sign.push(await timeRound(OPS_PER_ROUND, () => p256.sign(message, sk, { format: 'der' })));
    ga.push(await timeRound(OPS_PER_ROUND, async () => {
      const reply = await authenticator.handle(0x02, gaParams(), ctx);
      if (reply.status !== 0) throw new Error(`getAssertion failed: ${reply.status}`);
    }));
    mc.push(await timeRound(Math.max(20, OPS_PER_ROUND / 5), async (i) => {
      const reply = await authenticator.handle(0x01, mcParams(r * 1e6 + i), ctx);
      if (reply.status !== 0) throw new Error(`makeCredential failed: ${reply.status}`);
    }));
  }
  const s = median(sign), g = median(ga), m = median(mc);
  console.log(`   bare noble P-256 sign (DER)             ${fmt(1000 / s, 0).padStart(7)} ops/s  ${fmt(s * 1000, 0).padStart(6)} µs`);
  console.log(`   getAssertion via handle (allowList)     ${fmt(1000 / g, 0).padStart(7)} ops/s  ${fmt(s * 1000, 0) && fmt(g * 1000, 0).padStart(6)} µs   path adds ${fmt(((g - s) / s) * 100)}% to its signature (target ≤ 10%)`);
  console.log(`   makeCredential via handle (ES256, none) ${fmt(1000 / m, 0).padStart(7)} ops/s  ${fmt(m * 1000, 0).padStart(6)} µs   ${fmt(m / s, 2)}× a signature (key generation + a durable insert; no signature with "none")`);
  vault.close();
  void authDataStart;
}

function findCredentialId(body) {
  // Decode properly rather than guessing offsets.
  return globalThis.__decode(body).get(2).slice(55, 55 + 16);
}

async function lookups() {
  console.log('\n== Lookup cost by vault size (findById of a random stored credential, and getAssertion via handle)');
  const results = [];
  for (const size of LOOKUP_SIZES) {
    const vault = newVault(`lookup-${size}`);
    const fillMs = fillVault(vault, size);
    const ids = vault.list.length >= 0 ? sampleIds(vault, size) : [];
    const samples = [];
    for (let r = 0; r < ROUNDS; r++) {
      samples.push(await timeRound(2000, (i) => {
        const probe = ids[i % ids.length];
        if (vault.findById(probe.rpId, probe.id) === undefined) throw new Error('lost a credential');
      }));
    }
    const t = median(samples);
    results.push({ size, t });
    console.log(`   ${size.toLocaleString().padStart(9)} credentials: findById ${fmt(t * 1000, 2).padStart(6)} µs   (filled in ${fmt(fillMs / 1000)} s)`);
    vault.close();
  }
  const [small, large] = results;
  console.log(`   ratio ${large.size.toLocaleString()} / ${small.size.toLocaleString()}: ${fmt(large.t / small.t, 2)}× (target: flat, ≈ 1×)`);
}

function sampleIds(vault, size) {
  // findDiscoverable on a few RPs gives real ids without listing the whole vault.
  const ids = [];
  const rpCount = Math.max(1, size / 10);
  for (let i = 0; ids.length < 500 && i < rpCount; i += Math.max(1, Math.floor(rpCount / 50))) {
    for (const r of vault.findDiscoverable(`rp${i}.example`)) ids.push({ rpId: r.rpId, id: r.id });
  }
  return ids;
}

const { decodeStrict } = await import('../dist/cbor/index.js');
globalThis.__decode = decodeStrict;
console.log(`Latchkey bench — node ${process.version}, ${new Date().toISOString()}${quick ? ' (quick)' : ''}`);
try {
  await hotPath();
  await lookups();
} finally {
  rmSync(work, { recursive: true, force: true });
}
