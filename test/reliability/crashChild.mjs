// The process the crash tests kill (crash.ts). It runs the real Authenticator over a real vault
// (the built dist/, as `latchkey` runs) and works until it is killed: makeCredential, getAssertion
// of device-bound (incrementing) and synced (zero) counters, and delete, chosen by a seeded PRNG.
//
// Side channel: one line on stdout (fd 1, a pipe) per answer that has LEFT the process, written
// synchronously after the response exists; a line in the pipe outlives a SIGKILL of its writer.
//   READY <credentials>                   the vault is open
//   MC <idHex> <rpId> <zero|increment> <coseKeyHex>
//   GA <idHex> <signCount>
//   DEL? <idHex>                          about to delete (the delete may or may not commit)
//   DEL <idHex>                           deleted and committed
// stderr gets the authenticator's failure log (scanned for secrets by the tests).
//
// argv: vaultPath keyDir seed [maxOps]. Exits 0 after maxOps operations (default: never).
import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { decodeStrict, encodeCanonical } from '../../dist/cbor/index.js';
import { Authenticator, Command } from '../../dist/ctap/index.js';
import { openVault } from '../../dist/vault/vault.js';

const [vaultPath, keyDir, seedText, maxOpsText] = process.argv.slice(2);
const seed = Number(seedText);
const maxOps = maxOpsText === undefined ? Infinity : Number(maxOpsText);

/** xorshift32: the operation mix replays from the seed (the keys themselves are random). */
function xorshift(seed) {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}
const random = xorshift(seed);
const pick = (list) => list[Math.floor(random() * list.length)];
const hex = (bytes) => Buffer.from(bytes).toString('hex');

function emit(line) {
  const bytes = Buffer.from(`${line}\n`);
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}

const log = (line) => process.stderr.write(`latchkey(child ${seed}): ${line}\n`);
const vault = openVault({ path: vaultPath, keyDir });
breakOnPurpose(process.env.LATCHKEY_CRASH_MUTANT);
const synced = new Authenticator({ store: vault, aaguid: new Uint8Array(16), backupEligible: true, log });
const deviceBound = new Authenticator({ store: vault, aaguid: new Uint8Array(16), backupEligible: false, log });
const user = { canVerify: true, confirm: async (p) => ({ ok: true, up: p.presence, uv: p.verification }) };
const ctx = { user };

/** Credentials this process may use: what the vault holds now, then what it creates. */
const known = vault.list().map((r) => ({ id: r.id, rpId: r.rpId, mode: r.counterMode }));
/** LATCHKEY_CHILD_SHARED: most assertions use credentials that were there at the start (shared with another process). */
const initial = process.env.LATCHKEY_CHILD_SHARED === '1' ? new Set(known) : undefined;
emit(`READY ${known.length}`);

function parseAuthData(bytes) {
  const signCount = new DataView(bytes.buffer, bytes.byteOffset + 33, 4).getUint32(0);
  if ((bytes[32] & 0x40) === 0) return { signCount };
  const length = (bytes[53] << 8) | bytes[54];
  const id = bytes.slice(55, 55 + length);
  // The COSE key runs to the end (no extensions are requested here).
  const cose = bytes.slice(55 + length);
  return { signCount, id, cose };
}

async function makeCredential() {
  const bound = random() < 0.6;
  const rpId = `rp${Math.floor(random() * 5)}.example`;
  const params = new Map([
    [0x01, randomBytes(32)],
    [0x02, new Map([['id', rpId], ['name', 'Crash test']])],
    [0x03, new Map([['id', randomBytes(16)], ['name', `user@${rpId}`], ['displayName', 'User']])],
    [0x04, [new Map([['alg', random() < 0.8 ? -7 : -8], ['type', 'public-key']])]],
    [0x07, new Map([['rk', true]])],
  ]);
  const response = await (bound ? deviceBound : synced).handle(Command.MakeCredential, encodeCanonical(params), ctx);
  if (response.status !== 0) return log(`makeCredential answered ${response.status}`);
  const parsed = parseAuthData(decodeStrict(response.body).get(0x02));
  emit(`MC ${hex(parsed.id)} ${rpId} ${bound ? 'increment' : 'zero'} ${hex(parsed.cose)}`);
  known.push({ id: parsed.id, rpId, mode: bound ? 'increment' : 'zero' });
}

async function getAssertion() {
  if (known.length === 0) return;
  const shared = initial === undefined ? [] : known.filter((k) => initial.has(k) && k.mode === 'increment');
  const bound = shared.length > 0 && random() < 0.7 ? shared : known.filter((k) => k.mode === 'increment');
  const target = bound.length > 0 && random() < 0.75 ? pick(bound) : pick(known);
  const params = new Map([
    [0x01, target.rpId],
    [0x02, randomBytes(32)],
    [0x03, [new Map([['id', target.id], ['type', 'public-key']])]],
  ]);
  const response = await synced.handle(Command.GetAssertion, encodeCanonical(params), ctx);
  if (response.status !== 0) return log(`getAssertion answered ${response.status}`);
  emit(`GA ${hex(target.id)} ${parseAuthData(decodeStrict(response.body).get(0x02)).signCount}`);
}

function deleteOne() {
  if (known.length === 0) return;
  const index = Math.floor(random() * known.length);
  const target = known[index];
  emit(`DEL? ${hex(target.id)}`);
  vault.delete(target.id);
  emit(`DEL ${hex(target.id)}`);
  known.splice(index, 1);
}

for (let ops = 0; ops < maxOps; ops++) {
  // Keep the vault small enough to check every row after every kill.
  const deleteShare = known.length > 120 ? 0.45 : 0.12;
  const r = random();
  if (r < deleteShare) deleteOne();
  else if (r < deleteShare + 0.3) await makeCredential();
  else await getAssertion();
}
vault.close();

/**
 * Mutants that prove the crash checks bite (crashChecks.test.ts): each breaks one promise the
 * checks stand for. Off unless LATCHKEY_CRASH_MUTANT names one.
 */
function breakOnPurpose(mutant) {
  if (mutant === undefined) return;
  const { create, recordUse } = vault;
  const store = {
    // The counter is answered before it is written (a lazy write, like last-used times).
    'late-counter': () => {
      vault.recordUse = (record, at) => {
        if (record.counterMode !== 'increment') return recordUse.call(vault, record, at);
        setTimeout(() => recordUse.call(vault, record, at), 100);
        return record.signCount + 1;
      };
    },
    // makeCredential answers, but nothing was stored.
    'lost-create': () => {
      vault.create = () => undefined;
    },
    // A credential row whose sealed private key is not the one its public key belongs to.
    'torn-key': () => {
      vault.create = (record, secrets) => create.call(vault, record, { ...secrets, privateKey: randomBytes(32) });
    },
    // delete answers, but the row stays.
    'resurrect': () => {
      vault.delete = () => true;
    },
  }[mutant];
  if (store === undefined) throw new Error(`unknown mutant ${mutant}`);
  store();
}
