/**
 * The dependency direction of architecture.md, checked on every import (static and dynamic) in src/:
 *   cbor ← crypto ← ctap ← vault, transports/* ← app ← cli
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

type Layer = 'cbor' | 'crypto' | 'ctap' | 'vault' | 'transports' | 'app' | 'cli';

/** Which of our layers each layer may import, and whether it may use node:* and which packages. */
const RULES: Record<Layer, { ours: Layer[]; node: boolean; packages: RegExp }> = {
  cbor: { ours: ['cbor'], node: false, packages: /^$/ },
  crypto: { ours: ['cbor', 'crypto'], node: false, packages: /^@noble\// },
  ctap: { ours: ['cbor', 'crypto', 'ctap'], node: false, packages: /^$/ },
  vault: { ours: ['cbor', 'crypto', 'ctap', 'vault'], node: true, packages: /^better-sqlite3$/ },
  transports: { ours: ['cbor', 'crypto', 'ctap', 'transports'], node: true, packages: /^$/ },
  app: { ours: ['cbor', 'crypto', 'ctap', 'vault', 'transports', 'app'], node: true, packages: /^@simplewebauthn\/server$/ },
  cli: { ours: ['cbor', 'crypto', 'ctap', 'vault', 'transports', 'app', 'cli'], node: true, packages: /^@simplewebauthn\/server$/ },
};

const IMPORT = /(?:^|[^\w$.])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[^\w$.])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[^\w$.])import\s+['"]([^'"]+)['"]|require\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;

export function importsOf(source: string): string[] {
  const stripped = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  return [...stripped.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]!).filter(Boolean);
}

function layerOf(file: string): Layer {
  const top = relative(SRC, file).split(/[\\/]/)[0];
  if (top === undefined || !(top in RULES)) throw new Error(`${file} is in no known layer`);
  return top as Layer;
}

/** Violations of the rules by one file's imports. */
export function violations(file: string, source: string): string[] {
  const layer = layerOf(file);
  const rule = RULES[layer];
  const found: string[] = [];
  for (const spec of importsOf(source)) {
    if (spec.startsWith('.')) {
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(SRC)) {
        found.push(`${spec}: outside src/`);
        continue;
      }
      const targetLayer = layerOf(target);
      if (!rule.ours.includes(targetLayer)) found.push(`${spec}: ${layer} may not import ${targetLayer}`);
    } else if (spec.startsWith('node:') || ['fs', 'path', 'os', 'crypto', 'child_process', 'net', 'stream'].includes(spec)) {
      if (!rule.node) found.push(`${spec}: ${layer} may not use Node built-ins`);
    } else if (!rule.packages.test(spec)) {
      found.push(`${spec}: ${layer} may not use this package`);
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

describe('dependency direction', () => {
  it('holds for every file in src/', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(20);
    const problems = files.flatMap((file) => violations(file, readFileSync(file, 'utf8')).map((v) => `${relative(SRC, file)}: ${v}`));
    expect(problems).toEqual([]);
  });

  it('catches violations of each kind (the checker itself works)', () => {
    const ctapFile = join(SRC, 'ctap', 'example.ts');
    expect(violations(ctapFile, "import { openVault } from '../vault/vault.js';")).toHaveLength(1);
    expect(violations(ctapFile, "import { readFileSync } from 'node:fs';")).toHaveLength(1);
    expect(violations(ctapFile, "const db = await import('better-sqlite3');")).toHaveLength(1);
    expect(violations(ctapFile, "export { x } from '../transports/stdio/framing.js';")).toHaveLength(1);
    expect(violations(join(SRC, 'cbor', 'x.ts'), "import { sha256 } from '../crypto/hash.js';")).toHaveLength(1);
    expect(violations(join(SRC, 'vault', 'x.ts'), "import type { X } from '../transports/stdio/framing.js';")).toHaveLength(1);
    expect(violations(join(SRC, 'transports', 'stdio', 'x.ts'), "import { openVault } from '../../vault/vault.js';")).toHaveLength(1);
    expect(violations(join(SRC, 'app', 'x.ts'), "import { run } from '../cli/run.js';")).toHaveLength(1);
    // Allowed ones pass.
    expect(violations(ctapFile, "import { decodeStrict } from '../cbor/index.js';\n// import x from 'node:fs'")).toEqual([]);
    expect(violations(join(SRC, 'crypto', 'x.ts'), "import { p256 } from '@noble/curves/nist.js';")).toEqual([]);
  });
});
