/**
 * Owner-only files and directories, written durably: what the vault and key files are made of.
 * @module
 */
import { closeSync, fsyncSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';

/** Create `dir` (and missing parents) owner-only. An existing directory is left as it is. */
export function ensurePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** fsync a directory so a file created or renamed in it survives a crash (POSIX; a no-op on Windows). */
export function syncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Create a new owner-only (0600) file holding `bytes`, failing with EEXIST rather than overwriting
 * anything (O_CREAT | O_EXCL), and fsync it and its directory. A partial file is removed on failure.
 */
export function writeNewPrivateFile(path: string, dir: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'wx', 0o600);
  let ok = false;
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) unlinkQuietly(path);
  }
  syncDirectory(dir);
}

/** Remove a file, ignoring every error (used for clean-up only). */
export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // best effort
  }
}

/** The `code` of a Node.js system error, if any. */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
