/**
 * The fixture every fuzz target works against: an authenticator over a MemoryStore holding
 * credentials of every kind (three RPs; discoverable or not; credProtect 1–3; ES256 and EdDSA;
 * zero and incrementing counters; with and without hmac-secret and credBlob), and platforms that
 * have agreed PIN/UV protocol one and two keys with it. Its randomness is seeded, so the same world
 * comes back on every run and a saved input (hmac-secret salts encrypted for its key agreement
 * key) replays exactly. After each case the store goes back to how the world began.
 */
import { createHash } from 'node:crypto';
import { decodeStrict, encodeCanonical, type CborValue } from '../../src/cbor/index.js';
import { Authenticator, Command, type CredentialRecord, type CredentialSecrets, type Random, type UserVerifier } from '../../src/ctap/index.js';
import { Platform } from '../ctap/platformPin.js';
import { MemoryStore } from '../support/memoryStore.js';
import { AAGUID, FakeClock, makeCredentialParams, options, parseAuthData, textMap } from '../support/ctapHelpers.js';
import type { GeneratorWorld } from './generators.js';

/** Deterministic bytes: SHA-256 of (label, counter), as many blocks as asked. */
export function seededRandom(label: string): Random {
  let counter = 0;
  return {
    bytes(length: number): Uint8Array {
      const out = new Uint8Array(length);
      for (let offset = 0; offset < length; offset += 32) {
        const block = createHash('sha256').update(`${label}/${counter++}`).digest();
        out.set(block.subarray(0, Math.min(32, length - offset)), offset);
      }
      return out;
    },
  };
}

/** How the (fuzzed) user answers a prompt. */
export type UserMode = 'approve' | 'approve-no-uv' | 'decline' | 'timeout' | 'cancel' | 'unavailable';
export const USER_MODES: readonly UserMode[] = ['approve', 'approve', 'approve', 'approve-no-uv', 'decline', 'timeout', 'cancel', 'unavailable'];

export function userOf(mode: UserMode): UserVerifier {
  return {
    canVerify: true,
    async confirm(prompt) {
      switch (mode) {
        case 'approve':
          return { ok: true, up: prompt.presence, uv: prompt.verification };
        case 'approve-no-uv':
          return { ok: true, up: prompt.presence, uv: false };
        case 'decline':
          return { ok: false, refusal: 'declined' };
        case 'timeout':
          return { ok: false, refusal: 'timeout' };
        case 'cancel':
          return { ok: false, refusal: 'cancelled' };
        case 'unavailable':
          return { ok: false, refusal: 'unavailable' };
      }
    },
  };
}

export interface FuzzWorld {
  readonly authenticator: Authenticator;
  readonly store: MemoryStore;
  readonly clock: FakeClock;
  readonly gen: GeneratorWorld;
  /** The last line the authenticator logged (a failure's reason). */
  lastLog: string;
  /** Puts the store back as the world began. */
  restore(): void;
}

export const WORLD_RP_IDS = ['example.com', 'login.example.org', 'xn--bcher-kva.example'] as const;

export async function fuzzWorld(backupEligible = true): Promise<FuzzWorld> {
  const store = new MemoryStore();
  const clock = new FakeClock();
  const world = { lastLog: '' } as { lastLog: string };
  const authenticator = new Authenticator({
    store,
    aaguid: AAGUID,
    clock,
    backupEligible,
    random: seededRandom(`latchkey fuzz world ${backupEligible}`),
    log: (line) => (world.lastLog = line),
  });
  const approve = { user: userOf('approve') };
  const credentialIds: Uint8Array[] = [];
  let n = 0;
  for (const rpId of WORLD_RP_IDS) {
    for (const [rk, credProtect, hmacSecret] of [
      [true, 1, true],
      [true, 2, false],
      [false, 3, true],
      [true, 3, true],
    ] as const) {
      n++;
      const params = makeCredentialParams({ rpId, userId: Uint8Array.of(n), algs: n % 3 === 0 ? [-8] : [-7] });
      params.set(0x06, textMap({ credProtect, credBlob: Uint8Array.of(n, n), 'hmac-secret': hmacSecret }));
      params.set(0x07, options({ rk }));
      const response = await authenticator.handle(Command.MakeCredential, encodeCanonical(params as Map<CborValue, CborValue>), approve);
      if (response.status !== 0) throw new Error(`the fuzz world could not be made: status ${response.status} (${world.lastLog})`);
      const body = decodeStrict(response.body!) as Map<CborValue, CborValue>;
      credentialIds.push(parseAuthData(body.get(0x02) as Uint8Array).credentialId!);
    }
  }
  const platforms = [await Platform.agree(authenticator, 1), await Platform.agree(authenticator, 2)];
  const pristine = {
    records: new Map<string, CredentialRecord>(store.records),
    secrets: new Map<string, CredentialSecrets>(store.secrets),
  };
  return Object.assign(world, {
    authenticator,
    store,
    clock,
    gen: { rpIds: WORLD_RP_IDS, credentialIds, platforms },
    restore() {
      store.records.clear();
      store.secrets.clear();
      for (const [k, v] of pristine.records) store.records.set(k, v);
      for (const [k, v] of pristine.secrets) store.secrets.set(k, v);
      store.writes = 0;
    },
  });
}
