import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/ctap/ports.js';
import { chooseDriver, defaultDriverChoice } from '../../src/vault/drivers/defaultDriver.js';
import { hasNodeSqlite } from '../../src/vault/drivers/nodeSqlite.js';

const works = () => undefined;
const fails = (why: string) => () => why;

describe('default SQL driver', () => {
  it('prefers better-sqlite3 when its binary loads', () => {
    expect(chooseDriver(undefined, { 'better-sqlite3': works, 'node:sqlite': works }).name).toBe('better-sqlite3');
  });

  it('falls back to node:sqlite where better-sqlite3 has no binary, and keeps the reason', () => {
    const choice = chooseDriver(undefined, {
      'better-sqlite3': fails('Could not locate the bindings file'),
      'node:sqlite': works,
    });
    expect(choice.name).toBe('node:sqlite');
    expect(choice.fallbackReason).toMatch(/bindings file/);
  });

  it('names both reasons when neither loads', () => {
    const attempt = () =>
      chooseDriver(undefined, {
        'better-sqlite3': fails('was compiled against a different Node.js version'),
        'node:sqlite': fails('node:sqlite is not available in Node 20.19.0'),
      });
    expect(attempt).toThrow(StoreError);
    expect(attempt).toThrow(/different Node\.js version.*node:sqlite is not available.*Node 22\.13/s);
  });

  it('honours LATCHKEY_SQL_DRIVER, and refuses unknown or unloadable names', () => {
    expect(chooseDriver('node:sqlite', { 'better-sqlite3': works, 'node:sqlite': works }).name).toBe('node:sqlite');
    expect(() => chooseDriver('sqlite4', { 'better-sqlite3': works, 'node:sqlite': works })).toThrow(/names no SQL driver/);
    expect(() => chooseDriver('node:sqlite', { 'better-sqlite3': works, 'node:sqlite': fails('no') })).toThrow(/cannot load: no/);
  });

  it('picks a working driver in this process', () => {
    const choice = defaultDriverChoice();
    // Under Node 20 with a built better-sqlite3 that is better-sqlite3; in the node:sqlite contract
    // run (Node 22, whose ABI the Node 20 build of better-sqlite3 does not match) it is node:sqlite.
    expect(['better-sqlite3', 'node:sqlite']).toContain(choice.name);
    if (choice.name === 'node:sqlite') expect(hasNodeSqlite()).toBe(true);
  });
});
