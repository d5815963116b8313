/**
 * Needs Wine, MinGW-w64 and Xvfb (CI installs them with .ci/setup-windows.sh; elsewhere the suite
 * is skipped with the reason printed, and with CI=true a missing tool fails it).
 *
 * The addon's optional chooseCredential: a modal dialog listing the passkeys, answered here by the
 * driver playing the user (pick one; cancel).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HRESULT } from '../../src/transports/windows/hresult.js';
import { REPO, buildTestBinaries, ensureDistBuilt, removeWinePrefix, runWindowsNode, windowsPath, winePrefix, wineSkipReason } from './support/wineEnv.js';

const skip = wineSkipReason({ display: true });

describe.skipIf(skip !== undefined)('the passkey chooser dialog under Wine (needs Wine and Xvfb)', () => {
  it('lists every passkey with its detail, answers the chosen index, and NTE_USER_CANCELLED on Cancel', async () => {
    ensureDistBuilt();
    const binaries = await buildTestBinaries();
    // A prefix of its own: Wine's desktop process belongs to the prefix's wineserver and keeps the
    // X display of whoever started it, which for the other suites is none.
    const prefix = await winePrefix('chooser', binaries.double);
    const work = mkdtempSync(join(tmpdir(), 'latchkey-chooser-'));
    try {
      const result = join(work, 'result.json');
      const run = await runWindowsNode(prefix, join(REPO, 'test', 'windows', 'wine', 'chooser.mjs'), {
        env: { LATCHKEY_ROOT: windowsPath(REPO), LATCHKEY_DRIVER: windowsPath(binaries.driver), LATCHKEY_RESULT: windowsPath(result) },
        display: true,
      });
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(readFileSync(result, 'utf8')) as Record<string, { value?: unknown; error?: { message: string; hresult: number | null }; hresult?: number; lines?: string[] }>;
      expect(report['pickedUser']).toEqual({ hresult: 0, lines: ['alice@example.com  —  Alice · last used 2026-11-20', 'bob@example.com'] });
      expect(report['picked']).toEqual({ value: 1 });
      expect(report['cancelledUser']!.hresult).toBe(0);
      expect(report['cancelled']!.error!.hresult).toBe(HRESULT.NTE_USER_CANCELLED);
      expect(report['noItems']!.error!.message).toMatch(/items must be a non-empty array/);
    } finally {
      removeWinePrefix(prefix);
      rmSync(work, { recursive: true, force: true });
    }
  }, 600_000);
});
