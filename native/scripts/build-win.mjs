#!/usr/bin/env node
/**
 * `npm run build:win`: cross-builds the Windows addon with MinGW-w64 into
 * prebuilds/win32-x64/latchkey_windows.node (where the loader looks first), from the same sources
 * binding.gyp builds with MSVC on Windows. Skips the work when the addon is newer than every input
 * (`--force` rebuilds). Afterwards it checks that the addon imports nothing but system DLLs and
 * node.exe: webauthn.dll in particular must never be a load-time import.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  NAPI_DEFINES,
  STATIC_RUNTIME,
  STRICT_WARNINGS,
  compileAndLink,
  importedDlls,
  missingTools,
  napiPaths,
  nodeDelayImportLibrary,
  upToDate,
} from './mingw.mjs';

const NATIVE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(NATIVE, '..');
export const ADDON_OUTPUT = join(ROOT, 'prebuilds', 'win32-x64', 'latchkey_windows.node');
const WORK = join(NATIVE, 'build-mingw');

/** System DLLs the addon may import (lower case); anything else fails the build. */
const ALLOWED_IMPORTS = new Set(['kernel32.dll', 'user32.dll', 'advapi32.dll', 'ole32.dll', 'oleaut32.dll', 'crypt32.dll', 'msvcrt.dll']);

/**
 * The load-time imports (`objdump -p`) must be system DLLs only. node.exe is delay-loaded, so it is
 * not among them (GNU ld leaves the PE delay-import directory entry empty; the descriptors are
 * still there and name "node.exe"); webauthn.dll is resolved at run time and never imported.
 */
export function checkImports(file) {
  const dlls = importedDlls(file);
  const unexpected = dlls.filter((dll) => !ALLOWED_IMPORTS.has(dll.toLowerCase()) && !/^api-ms-win-/i.test(dll));
  if (unexpected.length > 0) throw new Error(`${file} imports ${unexpected.join(', ')}; only system DLLs may be load-time imports`);
  if (!readFileSync(file).includes(Buffer.from('node.exe\0', 'latin1'))) {
    throw new Error(`${file} has no delay-load import of node.exe's N-API`);
  }
  return [...dlls, 'node.exe (delay-loaded)'];
}

export async function buildWindowsAddon({ force = false } = {}) {
  const missing = missingTools();
  if (missing.length > 0) {
    throw new Error(`MinGW-w64 is missing (${missing.join(', ')}): apt-get install g++-mingw-w64-x86-64`);
  }
  const srcDir = join(NATIVE, 'src');
  const sources = readdirSync(srcDir)
    .filter((name) => /\.(cc|c)$/.test(name))
    .sort()
    .map((name) => join(srcDir, name));
  const inputs = [srcDir, fileURLToPath(import.meta.url), join(NATIVE, 'scripts', 'mingw.mjs'), napiPaths().include[1]];
  if (!force && upToDate(ADDON_OUTPUT, inputs)) return { output: ADDON_OUTPUT, built: false, imports: checkImports(ADDON_OUTPUT) };

  const delayLib = await nodeDelayImportLibrary(WORK);
  const include = napiPaths().include.map((dir) => `-I${dir}`);
  const common = ['-O2', '-g0', ...STRICT_WARNINGS, ...NAPI_DEFINES, '-DUNICODE', '-D_UNICODE', '-D_WIN32_WINNT=0x0A00', ...include];
  const temporary = join(WORK, 'latchkey_windows.node');
  await compileAndLink({
    sources,
    output: temporary,
    objDir: join(WORK, 'obj'),
    cflags: common,
    cxxflags: ['-std=c++17'],
    linkArgs: ['-shared', ...STATIC_RUNTIME, '-Wl,--no-undefined', delayLib, '-lole32', '-luuid', '-lcrypt32', '-luser32', '-s'],
  });
  const imports = checkImports(temporary);
  mkdirSync(dirname(ADDON_OUTPUT), { recursive: true });
  copyFileSync(temporary, ADDON_OUTPUT);
  return { output: ADDON_OUTPUT, built: true, imports };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const started = Date.now();
    const result = await buildWindowsAddon({ force: process.argv.includes('--force') });
    const verb = result.built ? `built in ${((Date.now() - started) / 1000).toFixed(1)} s` : 'up to date';
    console.log(`${result.output}: ${verb}; imports ${result.imports.join(', ')}`);
  } catch (error) {
    console.error(`build:win: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
