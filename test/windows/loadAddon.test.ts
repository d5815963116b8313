/**
 * The addon loader as a user meets it where the addon cannot load (here: Linux, where a Windows
 * DLL never loads, whether or not `npm run build:win` has left one in prebuilds/).
 */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AddonLoadError, addonCandidates, loadWindowsAddon } from '../../src/transports/windows/loadAddon.js';

const REPO = resolve(import.meta.dirname, '..', '..');

describe('loadWindowsAddon', () => {
  it('looks in prebuilds/win32-x64 first, then in the node-gyp build folder', () => {
    expect(addonCandidates()).toEqual([
      join(REPO, 'prebuilds', 'win32-x64', 'latchkey_windows.node'),
      join(REPO, 'native', 'build', 'Release', 'latchkey_windows.node'),
    ]);
  });

  it.skipIf(process.platform === 'win32')('names every path it tried, with why, and how to build the addon', () => {
    let error: unknown;
    try {
      loadWindowsAddon();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AddonLoadError);
    const failure = error as AddonLoadError;
    expect(failure.tried.map((t) => t.path)).toEqual(addonCandidates());
    for (const { path, reason } of failure.tried) {
      expect(reason).not.toBe('');
      expect(failure.message).toContain(`${path}: ${reason}`);
    }
    expect(failure.message).toContain(`this is ${process.platform}`);
    expect(failure.message).toContain('npm run build:win');
  });
});
