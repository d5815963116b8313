import { describe, expect, it } from 'vitest';
import { compileCacheDir, enableCompileCache } from '../../src/cli/compileCache.js';

describe('the module compile cache', () => {
  it('lives in the user’s own cache directory on each OS', () => {
    expect(compileCacheDir('linux', { XDG_CACHE_HOME: '/xdg/cache' }, '/home/u')).toBe('/xdg/cache/latchkey/compile-cache');
    expect(compileCacheDir('linux', { XDG_CACHE_HOME: 'relative' }, '/home/u')).toBe('/home/u/.cache/latchkey/compile-cache');
    expect(compileCacheDir('linux', {}, '/home/u')).toBe('/home/u/.cache/latchkey/compile-cache');
    expect(compileCacheDir('darwin', {}, '/Users/u')).toBe('/Users/u/Library/Caches/Latchkey/compile-cache');
    expect(compileCacheDir('win32', { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'C:\\Users\\u')).toMatch(/Latchkey[\\/]compile-cache$/);
  });

  it('stays off when Node is told so (and on Node 20, which has none)', () => {
    expect(enableCompileCache({ NODE_DISABLE_COMPILE_CACHE: '1' })).toBe(false);
  });
});
