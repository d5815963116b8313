/**
 * What the conformance suites share: finding the independent clients (libfido2, python-fido2) and
 * running `latchkey serve --ctaphid` (the built CLI, as a user runs it) on a TCP port or a UNIX
 * socket for them to drive.
 *
 * A missing client skips its suite with the reason printed, except under CI=true, where the suite
 * fails instead: CI must prove conformance, not skip it (.ci/setup-fido.sh installs the clients).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { CLI, sandbox, type Sandbox } from '../support/cli.js';

export const IN_CI = process.env['CI'] === 'true';
export const PYTHON = '/usr/bin/python3';

/** Why a tool cannot be used, or undefined when it can. */
export type Missing = string | undefined;

export function missingLibfido2(): Missing {
  const pkg = spawnSync('pkg-config', ['--exists', 'libfido2'], { encoding: 'utf8' });
  if (pkg.error !== undefined || pkg.status !== 0) return 'pkg-config does not know libfido2 (apt-get install libfido2-dev pkg-config)';
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (cc.error !== undefined || cc.status !== 0) return 'no C compiler "cc" (apt-get install gcc)';
  return undefined;
}

export function missingPythonFido2(): Missing {
  if (!existsSync(PYTHON)) return `${PYTHON} does not exist (apt-get install python3-fido2)`;
  const probe = spawnSync(PYTHON, ['-c', 'import fido2; print(fido2.__version__)'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return `${PYTHON} cannot import fido2 (apt-get install python3-fido2)`;
  return undefined;
}

/**
 * describe() when the tool is there. Otherwise: under CI a suite whose one test fails with the
 * reason; elsewhere a skipped suite, with the reason printed.
 */
export function describeWithTool(name: string, missing: Missing, body: () => void): void {
  if (missing === undefined) {
    describe(name, body);
  } else if (IN_CI) {
    describe(name, () => {
      it('has its client installed (CI=true: a missing tool is a failure)', () => {
        throw new Error(`${name}: ${missing}`);
      });
    });
  } else {
    console.warn(`skipping ${name}: ${missing}`);
    describe.skip(`${name} (skipped: ${missing})`, body);
  }
}

export type Transport = 'tcp' | 'unix';

export interface Served {
  /** How the clients reach it: ['tcp', host, port] or ['unix', path]. */
  readonly endpoint: readonly string[];
  readonly sandbox: Sandbox;
  /** Everything the server printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(target: { port: number; host: string } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `latchkey serve --ctaphid … --approve-all` on a fresh vault, ready when the socket accepts. */
export async function serve(transport: Transport, extra: readonly string[] = []): Promise<Served> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  const box = sandbox();
  const port = transport === 'tcp' ? await freePort() : 0;
  const path = join(box.dir, 'ctaphid.sock');
  const where = transport === 'tcp' ? `127.0.0.1:${port}` : path;
  const args = [CLI, 'serve', '--ctaphid', where, '--approve-all', '--vault', join(box.dir, 'vault.db'), ...extra];
  const child: ChildProcess = spawn(process.execPath, args, { env: box.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => (alive = false));

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (!alive) throw new Error(`latchkey serve exited before listening:\n${output}`);
    if (await canConnect(transport === 'tcp' ? { host: '127.0.0.1', port } : { path })) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`latchkey serve did not listen on ${where} within 20 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    endpoint: transport === 'tcp' ? ['tcp', '127.0.0.1', String(port)] : ['unix', path],
    sandbox: box,
    output: () => output,
    async stop() {
      if (alive) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      box.cleanup();
    },
  };
}

/** Runs a client program to completion and parses the one JSON object it prints. */
export function runJsonClient(command: string, args: readonly string[], timeoutMs = 120_000): Promise<{ result: Record<string, unknown>; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ result: JSON.parse(line) as Record<string, unknown>, stderr });
      } catch {
        reject(new Error(`${command} exited with ${code ?? signal} and no JSON result.\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      }
    });
  });
}
