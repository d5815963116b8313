/**
 * The Windows-only commands, run as a user runs them on a machine that is not Windows: each says
 * it needs Windows (and which) and exits 1, touching no vault; wrong arguments still exit 2.
 * (On Windows, and under Wine, they talk to the addon: test/windows-host/app.test.ts drives the
 * same code with a fake one.)
 */
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliSync, sandbox, type Sandbox } from '../support/cli.js';

const onWindows = process.platform === 'win32';
let s: Sandbox;
beforeEach(() => {
  s = sandbox();
});
afterEach(() => s.cleanup());

describe.skipIf(onWindows)('Windows-only commands on another OS', () => {
  it.each([
    [['register'], 'register'],
    [['unregister'], 'unregister'],
    [['status'], 'status'],
    [['status', '--json'], 'status'],
    [['serve', '--com'], 'serve --com'],
    [['serve', '--com', '--vault', 'x.db', '--idle-timeout', '5'], 'serve --com'],
  ])('latchkey %s', (args, name) => {
    const run = runCliSync(args, s.env);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`latchkey ${name} needs Windows`);
    expect(run.stderr).toMatch(/26100\.6725/);
    expect(run.stderr).toContain(`This is ${process.platform}.`);
    expect(run.stdout).toBe('');
    expect(existsSync(s.vault)).toBe(false);
  });

  it('wrong arguments are usage errors (exit 2) everywhere', () => {
    expect(runCliSync(['serve', '--com', '--idle-timeout', 'soon'], s.env).status).toBe(2);
    expect(runCliSync(['register', 'extra'], s.env).status).toBe(2);
    expect(runCliSync(['status', '--bogus'], s.env).status).toBe(2);
  });

  it('help lists them', () => {
    const help = runCliSync(['help'], s.env).stdout;
    for (const name of ['register', 'unregister', 'status', 'serve --com']) expect(help).toContain(`  ${name} `);
  });
});
