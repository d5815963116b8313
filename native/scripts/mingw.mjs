/**
 * Cross-building Windows N-API addons and DLLs on Linux with MinGW-w64 (posix thread model).
 * Used by build-win.mjs (the addon) and by the Wine tests (the webauthn.dll test double and its
 * driver). node-gyp cannot target Windows from Linux, hence this small builder of its own.
 * @module
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';

const require = createRequire(import.meta.url);

export const TOOLS = {
  cxx: 'x86_64-w64-mingw32-g++-posix',
  cc: 'x86_64-w64-mingw32-gcc-posix',
  dlltool: 'x86_64-w64-mingw32-dlltool',
  objdump: 'x86_64-w64-mingw32-objdump',
};

/** The MinGW tools that are not on PATH (empty when a cross build can run). */
export function missingTools() {
  return Object.values(TOOLS).filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

/** Headers and .def of the installed node-api-headers / node-addon-api packages. */
export function napiPaths() {
  const headers = dirname(require.resolve('node-api-headers/package.json'));
  const addonApi = dirname(require.resolve('node-addon-api/package.json'));
  return { include: [join(headers, 'include'), addonApi], def: join(headers, 'def', 'node_api.def') };
}

export const STRICT_WARNINGS = ['-Wall', '-Wextra', '-Werror'];
export const NAPI_DEFINES = ['-DBUILDING_NODE_EXTENSION', '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED'];
/** No libgcc/libstdc++/libwinpthread DLLs at run time: only system DLLs (and node.exe) are imported. */
export const STATIC_RUNTIME = ['-static', '-static-libgcc', '-static-libstdc++'];

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

function newestMtime(paths) {
  let newest = 0;
  for (const path of paths) {
    const stat = statSync(path);
    if (stat.isDirectory()) newest = Math.max(newest, newestMtime(readdirSync(path).map((name) => join(path, name))));
    else newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

/** True when `output` exists and is newer than every file in `inputs` (files or directories). */
export function upToDate(output, inputs) {
  return existsSync(output) && statSync(output).mtimeMs >= newestMtime(inputs);
}

/**
 * A delay-load import library for the N-API functions node.exe exports (`dlltool -y`). Paired with
 * a delay-load hook that maps "node.exe" to the host executable, a renamed host works too.
 */
export async function nodeDelayImportLibrary(outDir) {
  mkdirSync(outDir, { recursive: true });
  const lib = join(outDir, 'libnode_delay.a');
  if (!upToDate(lib, [napiPaths().def])) {
    await run(TOOLS.dlltool, ['-d', napiPaths().def, '-y', lib, '-D', 'node.exe']);
  }
  return lib;
}

/**
 * Compiles `sources` (C or C++ by extension; two at a time, for a 2-core machine) into `objDir` and
 * links them into `output` with `linkArgs` (libraries, import libraries, -shared …).
 */
export async function compileAndLink({ sources, output, objDir, cflags = [], cxxflags = [], linkArgs = [] }) {
  mkdirSync(objDir, { recursive: true });
  mkdirSync(dirname(output), { recursive: true });
  const objects = sources.map((source) => join(objDir, `${basename(source, extname(source))}.o`));
  const jobs = sources.map((source, i) => () => {
    const isC = extname(source) === '.c';
    const compiler = isC ? TOOLS.cc : TOOLS.cxx;
    return run(compiler, [...cflags, ...(isC ? [] : cxxflags), '-c', source, '-o', objects[i]]);
  });
  const running = new Set();
  for (const job of jobs) {
    const promise = job().finally(() => running.delete(promise));
    running.add(promise);
    if (running.size >= 2) await Promise.race(running);
  }
  await Promise.all(running);
  const anyCxx = sources.some((source) => extname(source) !== '.c');
  await run(anyCxx ? TOOLS.cxx : TOOLS.cc, ['-o', output, ...objects, ...linkArgs]);
  return output;
}

/** The DLL names a PE file imports, as `objdump -p` lists them (normal and delay-load imports). */
export function importedDlls(file) {
  const dump = execFileSync(TOOLS.objdump, ['-p', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return [...new Set([...dump.matchAll(/DLL Name:\s*(\S+)/g)].map((m) => m[1]))];
}
