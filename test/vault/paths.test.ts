import { describe, expect, it } from 'vitest';
import { defaultKeyDir, defaultVaultPath, resolveKeyDir, resolveVaultPath } from '../../src/vault/paths.js';

describe('default vault path', () => {
  it('Linux: XDG_DATA_HOME, else ~/.local/share', () => {
    expect(defaultVaultPath('linux', {}, '/home/ann')).toBe('/home/ann/.local/share/latchkey/vault.db');
    expect(defaultVaultPath('linux', { XDG_DATA_HOME: '/data' }, '/home/ann')).toBe('/data/latchkey/vault.db');
    // Relative XDG values are ignored (XDG base directory spec); so are empty ones.
    expect(defaultVaultPath('linux', { XDG_DATA_HOME: 'rel' }, '/home/ann')).toBe('/home/ann/.local/share/latchkey/vault.db');
    expect(defaultVaultPath('freebsd', { XDG_DATA_HOME: '' }, '/home/ann')).toBe('/home/ann/.local/share/latchkey/vault.db');
  });

  it('Windows: %LOCALAPPDATA%\\Latchkey', () => {
    expect(defaultVaultPath('win32', { LOCALAPPDATA: 'C:\\Users\\Ann\\AppData\\Local' }, 'C:\\Users\\Ann')).toBe(
      'C:\\Users\\Ann\\AppData\\Local\\Latchkey\\vault.db',
    );
    expect(defaultVaultPath('win32', {}, 'C:\\Users\\Ann')).toBe('C:\\Users\\Ann\\AppData\\Local\\Latchkey\\vault.db');
  });

  it('macOS: ~/Library/Application Support/Latchkey', () => {
    expect(defaultVaultPath('darwin', { XDG_DATA_HOME: '/ignored' }, '/Users/ann')).toBe(
      '/Users/ann/Library/Application Support/Latchkey/vault.db',
    );
  });

  it('an explicit path wins over LATCHKEY_VAULT, which wins over the default', () => {
    const env = { LATCHKEY_VAULT: '/env/vault.db' };
    expect(resolveVaultPath('/cli/vault.db', 'linux', env, '/home/ann')).toBe('/cli/vault.db');
    expect(resolveVaultPath(undefined, 'linux', env, '/home/ann')).toBe('/env/vault.db');
    expect(resolveVaultPath(undefined, 'win32', { LATCHKEY_VAULT: 'D:\\v.db' }, 'C:\\Users\\Ann')).toBe('D:\\v.db');
    expect(resolveVaultPath(undefined, 'darwin', {}, '/Users/ann')).toBe(
      '/Users/ann/Library/Application Support/Latchkey/vault.db',
    );
  });
});

describe('default key directory', () => {
  it('Linux and macOS: XDG_CONFIG_HOME, else ~/.config', () => {
    expect(defaultKeyDir('linux', {}, '/home/ann')).toBe('/home/ann/.config/latchkey/keys');
    expect(defaultKeyDir('linux', { XDG_CONFIG_HOME: '/cfg' }, '/home/ann')).toBe('/cfg/latchkey/keys');
    expect(defaultKeyDir('darwin', {}, '/Users/ann')).toBe('/Users/ann/.config/latchkey/keys');
  });

  it('Windows: %APPDATA%', () => {
    expect(defaultKeyDir('win32', { APPDATA: 'C:\\Users\\Ann\\AppData\\Roaming' }, 'C:\\Users\\Ann')).toBe(
      'C:\\Users\\Ann\\AppData\\Roaming\\Latchkey\\keys',
    );
  });

  it('is apart from the default vault directory', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      const home = platform === 'win32' ? 'C:\\Users\\Ann' : '/home/ann';
      const vault = defaultVaultPath(platform, {}, home);
      expect(vault.startsWith(defaultKeyDir(platform, {}, home))).toBe(false);
    }
  });

  it('an explicit directory wins over LATCHKEY_KEY_DIR, which wins over the default', () => {
    const env = { LATCHKEY_KEY_DIR: '/env/keys' };
    expect(resolveKeyDir('/opt/keys', 'linux', env, '/home/ann')).toBe('/opt/keys');
    expect(resolveKeyDir(undefined, 'linux', env, '/home/ann')).toBe('/env/keys');
    expect(resolveKeyDir(undefined, 'linux', {}, '/home/ann')).toBe('/home/ann/.config/latchkey/keys');
  });
});
