/**
 * Random sequences of create / delete / recordUse / reopen against the vault agree with a plain
 * in-memory model of the CredentialStore contract.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COSE_ALG_ES256, type CredentialRecord, type CredentialSecrets } from '../../src/ctap/ports.js';
import type { Vault } from '../../src/vault/vault.js';
import { tempVaultDir, type TempVaultDir } from './helpers.js';

const RP_IDS = ['a.example', 'b.example', 'c.example'];

type Op =
  | { kind: 'create'; rp: number; user: number; discoverable: boolean; increment: boolean; createdAt: number; seed: number }
  | { kind: 'delete'; pick: number; existing: boolean }
  | { kind: 'use'; pick: number; at: number }
  | { kind: 'find'; pick: number; otherRp: number }
  | { kind: 'reopen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      rp: fc.nat(RP_IDS.length - 1),
      user: fc.nat(2),
      discoverable: fc.boolean(),
      increment: fc.boolean(),
      createdAt: fc.nat(2), // few values: ties exercise the insertion-order tie-break
      seed: fc.nat(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat(), existing: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('use' as const), pick: fc.nat(), at: fc.nat(1_000_000) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('find' as const), pick: fc.nat(), otherRp: fc.nat(RP_IDS.length - 1) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

interface ModelEntry {
  record: CredentialRecord;
  secrets: CredentialSecrets;
  seq: number;
  signCount: number;
  lastUsedAt: number | undefined;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function bytesFrom(seed: number, length: number, salt: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed ^ (salt * 0x9e3779b1)) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function expected(entry: ModelEntry): CredentialRecord {
  const { lastUsedAt: _ignored, ...rest } = entry.record;
  return {
    ...rest,
    signCount: entry.signCount,
    ...(entry.lastUsedAt === undefined ? {} : { lastUsedAt: entry.lastUsedAt }),
  };
}

function sortedModel(model: Map<string, ModelEntry>): ModelEntry[] {
  return [...model.values()].sort(
    (a, b) =>
      (a.record.rpId < b.record.rpId ? -1 : a.record.rpId > b.record.rpId ? 1 : 0) ||
      a.record.createdAt - b.record.createdAt ||
      a.seq - b.seq,
  );
}

describe('vault against a model', () => {
  let t: TempVaultDir;
  beforeAll(() => {
    t = tempVaultDir();
  });
  afterAll(() => {
    t.cleanup();
  });

  it('agrees on every operation', () => {
    let run = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 60 }), (ops) => {
        run += 1;
        const path = `${t.dir}/model-${run}.db`;
        const open = () => t.open({ path });
        let vault: Vault = open();
        const model = new Map<string, ModelEntry>();
        let seq = 0;
        const pick = (n: number) => {
          const entries = [...model.values()];
          return entries.length === 0 ? undefined : entries[n % entries.length];
        };
        try {
          for (const op of ops) {
            switch (op.kind) {
              case 'create': {
                seq += 1;
                const increment = op.increment;
                const record: CredentialRecord = {
                  id: Uint8Array.from([0, 0, seq >> 8, seq & 255, ...bytesFrom(op.seed, 12, 1)]), // unique per run
                  rpId: RP_IDS[op.rp]!,
                  userId: new Uint8Array([op.user + 1]),
                  alg: COSE_ALG_ES256,
                  publicKey: bytesFrom(op.seed, 8, 2),
                  discoverable: op.discoverable,
                  credProtect: 1,
                  backupEligible: !increment,
                  backupState: !increment,
                  counterMode: increment ? 'increment' : 'zero',
                  signCount: 0,
                  createdAt: op.createdAt,
                  origin: 'created',
                };
                const secrets = { privateKey: bytesFrom(op.seed, 32, 3) };
                vault.create(record, secrets);
                if (record.discoverable) {
                  for (const [key, entry] of model) {
                    if (entry.record.discoverable && entry.record.rpId === record.rpId && hex(entry.record.userId) === hex(record.userId)) {
                      model.delete(key);
                    }
                  }
                }
                model.set(hex(record.id), { record, secrets, seq, signCount: 0, lastUsedAt: undefined });
                break;
              }
              case 'delete': {
                const target = op.existing ? pick(op.pick)?.record.id : bytesFrom(op.pick, 16, 4);
                if (target === undefined) break;
                expect(vault.delete(target)).toBe(model.delete(hex(target)));
                break;
              }
              case 'use': {
                const entry = pick(op.pick);
                if (entry === undefined) break;
                const stored = vault.findById(entry.record.rpId, entry.record.id)!;
                const count = vault.recordUse(stored, op.at);
                if (entry.record.counterMode === 'increment') entry.signCount += 1;
                entry.lastUsedAt = op.at;
                expect(count).toBe(entry.signCount);
                break;
              }
              case 'find': {
                const entry = pick(op.pick);
                if (entry === undefined) break;
                const found = vault.findById(entry.record.rpId, entry.record.id);
                expect(found).toStrictEqual(expected(entry));
                expect(vault.openSecrets(found!)).toStrictEqual(entry.secrets);
                const otherRp = RP_IDS[op.otherRp]!;
                if (otherRp !== entry.record.rpId) expect(vault.findById(otherRp, entry.record.id)).toBeUndefined();
                break;
              }
              case 'reopen':
                vault.close();
                vault = open();
                break;
            }
          }
          const check = () => {
            const sorted = sortedModel(model);
            expect(vault.count()).toBe(model.size);
            expect(vault.list()).toStrictEqual(sorted.map(expected));
            for (const rpId of RP_IDS) {
              const discoverable = sorted
                .filter((e) => e.record.rpId === rpId && e.record.discoverable)
                .sort((a, b) => b.record.createdAt - a.record.createdAt || b.seq - a.seq);
              expect(vault.findDiscoverable(rpId)).toStrictEqual(discoverable.map(expected));
            }
          };
          check();
          vault.close();
          vault = open(); // everything, last-used times included, survived close
          check();
        } finally {
          vault.close();
        }
      }),
      { numRuns: 100 },
    );
  });
});
