// Latchkey benchmarks: `npm run bench` (builds first). Prints ratios measured in one run.
//
//   node bench/run.mjs [--quick]
//
// 1. getAssertion and makeCredential through the byte entry point (Authenticator.handle) with an
//    on-disk vault holding 100,000 credentials, next to a bare @noble/curves P-256 sign of the same
//    message size, and the ratio between them (target: the whole path adds at most 10% to its signature).
// 2. Credential lookup at 1,000 vs 1,000,000 stored credentials (target: flat).
// 3. getAssertion over the CTAPHID socket (a client and the server in this process, TCP loopback)
//    next to the in-process byte entry point on the same authenticator: round-trip latency and
//    throughput, and their ratio (the transport's cost).
// 4. Cold start: spawning `node dist/cli/latchkey.cjs serve --ctaphid 127.0.0.1:0 …` (the `latchkey` bin)
//    until the first getAssertion response over the socket, next to a bare `node -e 0`, as a ratio
//    (target ≤ 1.5×), with the bin's code cache (as every start after the first has it) and without,
//    and next to bench/coldStartFloor.cjs, the least any Node server answering over a socket does. Where
//    NODE_EXTRA_CA_CERTS is set (Node 20 loads it at every start), the same again without it.
//    LATCHKEY_BENCH_NODE=/path/to/node measures it under another Node.
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
import { spawn } from 'node:child_process';
import { CtaphidClient } from '../dist/app/ctaphidClient.js';
import { listenCtaphid } from '../dist/transports/ctaphid/server.js';

const quick = process.argv.includes('--quick');
const VAULT_SIZE = quick ? 10_000 : 100_000;
const LOOKUP_SIZES = quick ? [1_000, 100_000] : [1_000, 1_000_000];
const ROUNDS = quick ? 5 : 9;
/** Spawns are cheap but noisier than anything in-process: more rounds. */
const COLD_ROUNDS = quick ? 5 : 21;
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

  // Each round's requests (fresh clientDataHash, user id) are built before it is timed: what is
  // measured is the authenticator's path from request bytes to response bytes, not the bench's
  // CBOR encoding and randomBytes.
  const MC_OPS = Math.max(20, OPS_PER_ROUND / 5);
  const sign = [], ga = [], mc = [];
  for (let r = 0; r < ROUNDS; r++) {
    const gaRequests = Array.from({ length: OPS_PER_ROUND }, () => gaParams());
    const mcRequests = Array.from({ length: MC_OPS }, (_, i) => mcParams(r * 1e6 + i));
    sign.push(await timeRound(OPS_PER_ROUND, () => p256.sign(message, sk, { format: 'der' })));
    ga.push(await timeRound(OPS_PER_ROUND, async (i) => {
      const reply = await authenticator.handle(0x02, gaRequests[i], ctx);
      if (reply.status !== 0) throw new Error(`getAssertion failed: ${reply.status}`);
    }));
    mc.push(await timeRound(MC_OPS, async (i) => {
      const reply = await authenticator.handle(0x01, mcRequests[i], ctx);
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
  console.log('\n== Lookup cost by vault size (findById of a stored credential)');
  // The store keeps the last 256 rows it read (checked against PRAGMA data_version on every use).
  // Flatness is about SQLite's B-tree, so the first figure cycles through 500 ids in turn: more
  // than the cache holds, every lookup reads the file. The second repeats one id (a cache hit).
  const results = [];
  for (const size of LOOKUP_SIZES) {
    const vault = newVault(`lookup-${size}`);
    const fillMs = fillVault(vault, size);
    const ids = sampleIds(vault, size);
    if (ids.length < 500) throw new Error(`only ${ids.length} ids sampled: the uncached figure needs 500`);
    const samples = [], hits = [];
    for (let r = 0; r < ROUNDS; r++) {
      samples.push(await timeRound(2000, (i) => {
        const probe = ids[i % ids.length];
        if (vault.findById(probe.rpId, probe.id) === undefined) throw new Error('lost a credential');
      }));
      hits.push(await timeRound(2000, () => {
        if (vault.findById(ids[0].rpId, ids[0].id) === undefined) throw new Error('lost a credential');
      }));
    }
    const t = median(samples), h = median(hits);
    results.push({ size, t });
    console.log(`   ${size.toLocaleString().padStart(9)} credentials: findById ${fmt(t * 1000, 2).padStart(6)} µs uncached, ${fmt(h * 1000, 2).padStart(5)} µs cached   (filled in ${fmt(fillMs / 1000)} s)`);
    vault.close();
  }
  const [small, large] = results;
  console.log(`   ratio ${large.size.toLocaleString()} / ${small.size.toLocaleString()} (uncached): ${fmt(large.t / small.t, 2)}× (target: flat, ≈ 1×)`);
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

/** A fresh on-disk vault holding one ES256 credential for example.com; returns what a getAssertion needs. */
async function vaultWithOneCredential(name) {
  const vault = newVault(name);
  const authenticator = buildAuthenticator(vault);
  const created = await authenticator.handle(
    0x01,
    encodeCanonical(
      new Map([
        [1, clientDataHash()],
        [2, new Map([['id', 'example.com'], ['name', 'Example']])],
        [3, new Map([['id', new Uint8Array(randomBytes(16))], ['name', 'cold'], ['displayName', 'Cold']])],
        [4, [new Map([['alg', -7], ['type', 'public-key']])]],
      ]),
    ),
    ctx,
  );
  if (created.status !== 0) throw new Error(`makeCredential failed: ${created.status}`);
  const credentialId = findCredentialId(created.body);
  const gaParams = () =>
    encodeCanonical(new Map([[1, 'example.com'], [2, clientDataHash()], [3, [new Map([['id', credentialId], ['type', 'public-key']])]]]));
  return { vault, authenticator, gaParams, path: join(work, name, 'vault.db'), keyDir: join(work, name, 'keys') };
}

async function socketTransport() {
  console.log('\n== getAssertion over the CTAPHID socket (TCP loopback, client and server in this process) vs Authenticator.handle');
  const { vault, authenticator, gaParams } = await vaultWithOneCredential('socket');
  const server = await listenCtaphid({ kind: 'tcp', host: '127.0.0.1', port: 0 }, { authenticator, context: () => ctx });
  const client = await CtaphidClient.connect(server.address);
  const check = (reply) => {
    if (reply.status !== 0) throw new Error(`getAssertion failed: ${reply.status}`);
  };
  for (let i = 0; i < 50; i++) check(await client.send(0x02, gaParams())); // warm both paths
  const direct = [], socket = [];
  for (let r = 0; r < ROUNDS; r++) {
    direct.push(await timeRound(OPS_PER_ROUND, async () => check(await authenticator.handle(0x02, gaParams(), ctx))));
    socket.push(await timeRound(OPS_PER_ROUND, async () => check(await client.send(0x02, gaParams()))));
  }
  const d = median(direct), s = median(socket);
  console.log(`   in process: Authenticator.handle        ${fmt(1000 / d, 0).padStart(7)} ops/s  ${fmt(d * 1000, 0).padStart(6)} µs`);
  console.log(`   over the socket: one client, in turn    ${fmt(1000 / s, 0).padStart(7)} ops/s  ${fmt(s * 1000, 0).padStart(6)} µs   ${fmt(s / d, 2)}× in process (+${fmt((s - d) * 1000, 0)} µs a round trip)`);

  // Throughput with several clients at once: one transaction at a time, so the others are told
  // ERR_CHANNEL_BUSY and retry, as FIDO clients do with a USB key.
  const CLIENTS = 4;
  const others = await Promise.all(Array.from({ length: CLIENTS }, () => CtaphidClient.connect(server.address)));
  const perClient = Math.max(25, OPS_PER_ROUND / CLIENTS);
  const started = performance.now();
  await Promise.all(others.map(async (c) => { for (let i = 0; i < perClient; i++) check(await c.send(0x02, gaParams())); }));
  const elapsed = performance.now() - started;
  console.log(`   over the socket: ${CLIENTS} clients at once       ${fmt((CLIENTS * perClient * 1000) / elapsed, 0).padStart(7)} ops/s in all (busy answers retried)`);
  for (const c of [client, ...others]) c.close();
  await server.close();
  vault.close();
}

/** Spawns `args` and resolves with the milliseconds until `ready(child)` resolves; the child is then stopped. */
function timeSpawn(node, args, env, ready) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(node, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.resume(); // --approve-all's warning; kept flowing so the child never blocks on it
    child.on('error', reject);
    ready(child).then(
      () => {
        const elapsed = performance.now() - t0;
        if (child.exitCode !== null) resolve(elapsed);
        else {
          child.once('exit', () => resolve(elapsed));
          child.kill('SIGTERM');
        }
      },
      (error) => {
        if (child.exitCode === null) child.kill('SIGKILL');
        reject(error);
      },
    );
  });
}

/** What `node -p <expression>` prints. */
function nodeSays(node, expression) {
  return new Promise((resolve) => {
    const child = spawn(node, ['-p', expression], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', () => resolve(out.trim()));
  });
}

async function coldStart() {
  const node = process.env.LATCHKEY_BENCH_NODE || process.execPath;
  const version = await nodeSays(node, 'process.version');
  const { vault, gaParams, path, keyDir } = await vaultWithOneCredential('cold');
  vault.close();
  const env = { ...process.env, LATCHKEY_KEY_DIR: keyDir, XDG_CACHE_HOME: join(work, 'cache') };
  delete env.NODE_DISABLE_COMPILE_CACHE;
  const args = ['dist/cli/latchkey.cjs', 'serve', '--ctaphid', '127.0.0.1:0', '--approve-all', '--vault', path];
  console.log(`\n== Cold start under node ${version}: spawn → first getAssertion response over the socket, vs a bare \`node -e 0\``);
  console.log(`   command: ${node === process.execPath ? 'node' : node} ${args.join(' ')}   (port 0: the free port it reports)`);
  const firstAssertion = (child) =>
    new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      child.stderr.on('data', (chunk) => (err += chunk));
      child.once('exit', (code) => reject(new Error(`serve exited (${code}) before answering:\n${out}${err}`)));
      child.stdout.on('data', function onData(chunk) {
        out += chunk;
        const match = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
        if (match === null) return;
        child.stdout.off('data', onData);
        CtaphidClient.connect({ kind: 'tcp', host: '127.0.0.1', port: Number(match[1]) })
          .then(async (client) => {
            const reply = await client.send(0x02, gaParams());
            client.close();
            if (reply.status !== 0) throw new Error(`getAssertion failed: ${reply.status}`);
          })
          .then(resolve, reject);
      });
    });
  const exited = (child) => new Promise((resolve) => child.once('exit', resolve));
  // Node 20 reads and parses the file NODE_EXTRA_CA_CERTS names at every start (~35 ms for a system CA
  // bundle); Node 22 does it only when TLS needs it. Where it is set, everything is measured without it too.
  const settings = [{ label: 'in this environment', env }];
  if (env.NODE_EXTRA_CA_CERTS) {
    const withoutCa = { ...env };
    delete withoutCa.NODE_EXTRA_CA_CERTS;
    settings[0].label += ` (NODE_EXTRA_CA_CERTS=${env.NODE_EXTRA_CA_CERTS})`;
    settings.push({ label: 'without NODE_EXTRA_CA_CERTS', env: withoutCa });
  }
  const floor = ['bench/coldStartFloor.cjs'];
  console.log(`   floor: ${floor[0]}, a bare Node socket server that answers INIT and one message (no CLI, vault, CBOR or signature)`);
  for (const { env: e } of settings) await timeSpawn(node, args, e, firstAssertion); // writes the code cache (as any first start does) and fills the OS's caches
  for (const setting of settings) Object.assign(setting, { bare: [], floor: [], cold: [] });
  const coldUncached = [];
  for (let r = 0; r < COLD_ROUNDS; r++) {
    for (const setting of settings) {
      setting.bare.push(await timeSpawn(node, ['-e', '0'], setting.env, exited));
      setting.floor.push(await timeSpawn(node, floor, setting.env, firstAssertion));
      setting.cold.push(await timeSpawn(node, args, setting.env, firstAssertion));
    }
    coldUncached.push(await timeSpawn(node, args, { ...settings[0].env, NODE_DISABLE_COMPILE_CACHE: '1' }, firstAssertion));
  }
  const range = (xs) => `median of ${xs.length}, ${fmt(Math.min(...xs), 0)}–${fmt(Math.max(...xs), 0)}`;
  const line = (what, xs, b, note) =>
    console.log(`   ${what.padEnd(42)}${fmt(median(xs), 1).padStart(7)} ms   ${b === undefined ? '' : `${fmt(median(xs) / b, 2)}× node -e 0 `}(${note === undefined ? '' : `${note}; `}${range(xs)})`);
  for (const [i, setting] of settings.entries()) {
    const b = median(setting.bare);
    console.log(`   ${setting.label}:`);
    line('node -e 0', setting.bare);
    line('floor → its first answer', setting.floor, b);
    line('serve → first getAssertion, code cache', setting.cold, b, 'target ≤ 1.5×');
    if (i === 0) line('serve → first getAssertion, no code cache', coldUncached, b, 'the very first start');
    console.log(`   Latchkey's own part (serve − floor): ${fmt(median(setting.cold) - median(setting.floor), 1)} ms; the 1.5× target leaves ${fmt(1.5 * b - median(setting.floor), 1)} ms above the floor`);
  }
}

const { decodeStrict } = await import('../dist/cbor/index.js');
globalThis.__decode = decodeStrict;
console.log(`Latchkey bench — node ${process.version}, ${new Date().toISOString()}${quick ? ' (quick)' : ''}`);
try {
  if (!process.argv.includes('--transport-only')) {
    await hotPath();
    await lookups();
  }
  await socketTransport();
  await coldStart();
} finally {
  rmSync(work, { recursive: true, force: true });
}
