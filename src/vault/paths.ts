/**
 * Default locations of the vault and of key files, per OS. Pure functions of
 * `(platform, env, homedir)` so every OS can be tested on any OS; the `*ForThisProcess` helpers
 * feed them the current process's values.
 * @module
 */
import { homedir as osHomedir } from 'node:os';
import { posix, win32 } from 'node:path';

/** Environment variables read here. */
export type PathEnv = Readonly<Record<string, string | undefined>>;

/** Env var naming the vault file; a `--vault` CLI argument wins over it. */
export const VAULT_ENV = 'LATCHKEY_VAULT';
/** Env var naming the directory of key files; an explicit `keyDir` option wins over it. */
export const KEY_DIR_ENV = 'LATCHKEY_KEY_DIR';

const VAULT_FILE = 'vault.db';

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value !== '' ? value : undefined;
}

/** XDG base directory variables must be absolute; relative ones are ignored (XDG spec). */
function xdg(env: PathEnv, name: string): string | undefined {
  const value = nonEmpty(env[name]);
  return value !== undefined && posix.isAbsolute(value) ? value : undefined;
}

/**
 * Where the vault lives by default:
 * - Windows: `%LOCALAPPDATA%\Latchkey\vault.db`
 * - macOS: `~/Library/Application Support/Latchkey/vault.db`
 * - Linux and others: `$XDG_DATA_HOME/latchkey/vault.db`, else `~/.local/share/latchkey/vault.db`
 */
export function defaultVaultPath(platform: NodeJS.Platform, env: PathEnv, homedir: string): string {
  if (platform === 'win32') {
    const base = nonEmpty(env['LOCALAPPDATA']) ?? win32.join(homedir, 'AppData', 'Local');
    return win32.join(base, 'Latchkey', VAULT_FILE);
  }
  if (platform === 'darwin') {
    return posix.join(homedir, 'Library', 'Application Support', 'Latchkey', VAULT_FILE);
  }
  const base = xdg(env, 'XDG_DATA_HOME') ?? posix.join(homedir, '.local', 'share');
  return posix.join(base, 'latchkey', VAULT_FILE);
}

/**
 * The vault path to use: an explicit one (the CLI's `--vault`) wins, then `LATCHKEY_VAULT`, then
 * {@link defaultVaultPath}.
 */
export function resolveVaultPath(
  explicit: string | undefined,
  platform: NodeJS.Platform,
  env: PathEnv,
  homedir: string,
): string {
  return nonEmpty(explicit) ?? nonEmpty(env[VAULT_ENV]) ?? defaultVaultPath(platform, env, homedir);
}

/**
 * Where key files live by default, apart from the vault:
 * - Windows: `%APPDATA%\Latchkey\keys`
 * - Linux, macOS and others: `$XDG_CONFIG_HOME/latchkey/keys`, else `~/.config/latchkey/keys`
 */
export function defaultKeyDir(platform: NodeJS.Platform, env: PathEnv, homedir: string): string {
  if (platform === 'win32') {
    const base = nonEmpty(env['APPDATA']) ?? win32.join(homedir, 'AppData', 'Roaming');
    return win32.join(base, 'Latchkey', 'keys');
  }
  const base = xdg(env, 'XDG_CONFIG_HOME') ?? posix.join(homedir, '.config');
  return posix.join(base, 'latchkey', 'keys');
}

/** The key directory to use: an explicit one wins, then `LATCHKEY_KEY_DIR`, then {@link defaultKeyDir}. */
export function resolveKeyDir(
  explicit: string | undefined,
  platform: NodeJS.Platform,
  env: PathEnv,
  homedir: string,
): string {
  return nonEmpty(explicit) ?? nonEmpty(env[KEY_DIR_ENV]) ?? defaultKeyDir(platform, env, homedir);
}

/** {@link resolveVaultPath} for this process. */
export function vaultPathForThisProcess(explicit?: string): string {
  return resolveVaultPath(explicit, process.platform, process.env, osHomedir());
}

/** {@link resolveKeyDir} for this process. */
export function keyDirForThisProcess(explicit?: string): string {
  return resolveKeyDir(explicit, process.platform, process.env, osHomedir());
}
