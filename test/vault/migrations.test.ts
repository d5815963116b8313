import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/vault/migrations.js';
import { rawDatabase } from './driver.js';

/**
 * Released migrations are frozen: change the schema by appending one. If this fails, you edited a
 * released migration; put the change in a new one instead.
 */
const RELEASED: Record<number, string> = {
  1: 'c57e899c4705a829dd580739182641b0f7ad2dde23312fdf3bdadd5b6084f9d1',
};

describe('migrations', () => {
  it('are numbered 1, 2, 3, … with no gaps', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(LATEST_SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it('released migrations are unchanged', () => {
    for (const [version, hash] of Object.entries(RELEASED)) {
      const migration = MIGRATIONS.find((m) => m.version === Number(version))!;
      expect(createHash('sha256').update(migration.sql).digest('hex'), `migration ${version}`).toBe(hash);
    }
  });

  it('look credentials up through B-tree indexes (flat cost at any size)', () => {
    const db = rawDatabase(':memory:');
    for (const m of MIGRATIONS) db.exec(m.sql);
    const plan = (sql: string, args: number) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array<null>(args).fill(null)) as unknown as { detail: string }[])
        .map((row) => row.detail)
        .join('; ');
    expect(plan('SELECT * FROM credentials WHERE id = ? AND rp_id = ?', 2)).toMatch(/SEARCH credentials USING INDEX/);
    const discoverable = plan(
      'SELECT * FROM credentials WHERE rp_id = ? AND discoverable = 1 ORDER BY created_at DESC, rowid DESC',
      1,
    );
    expect(discoverable).toMatch(/SEARCH credentials USING INDEX credentials_by_rp/);
    expect(discoverable).not.toMatch(/TEMP B-TREE/);
    expect(plan('DELETE FROM credentials WHERE rp_id = ? AND user_id = ? AND discoverable = 1', 2)).toMatch(
      /USING INDEX credentials_discoverable_user/,
    );
    db.close();
  });
});
