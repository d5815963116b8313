/**
 * Latchkey's CLSID, AAGUID and name have one source (src/app/identity.ts). The manifest, the
 * registration Windows gets, and the native code must agree with it.
 *
 * The native shim (native/) defines no CLSID or AAGUID of its own: it takes the CLSID from
 * TypeScript (startComServer, every registration and cache call) and never sees the AAGUID (it is
 * inside the getInfo bytes). So for native/ this test checks that every GUID its sources declare is
 * either the documented IPluginAuthenticator IID or Latchkey's CLSID: a rival CLSID or AAGUID
 * appearing there fails here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeStrict, type CborValue } from '../../src/cbor/index.js';
import { AAGUID, AAGUID_STRING, CLSID, COM_ACTIVATION_ARGUMENT, PRODUCT_NAME } from '../../src/app/identity.js';
import { registrationFor, windowsAuthenticator } from '../../src/app/windowsRegistration.js';
import { MemoryStore } from '../support/memoryStore.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const manifest = readFileSync(join(REPO, 'AppxManifest.xml'), 'utf8');
const IPLUGIN_AUTHENTICATOR_IID = 'd26bcf6f-b54c-43ff-9f06-d5bf148625f7';

function attribute(element: string, name: string): string[] {
  const pattern = new RegExp(`<${element}\\b[^>]*?\\s${name}="([^"]*)"`, 'g');
  return [...manifest.matchAll(pattern)].map((m) => m[1]!);
}

/** GUIDs declared in C/C++ sources: the string form, and Windows' struct form {0xd1, 0xd2, 0xd3, {8 bytes}}. */
function guidsIn(source: string): string[] {
  const strings = [...source.matchAll(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi)].map((m) => m[0].toLowerCase());
  const structs = [
    ...source.matchAll(
      /0x([0-9a-f]{1,8})\s*,\s*0x([0-9a-f]{1,4})\s*,\s*0x([0-9a-f]{1,4})\s*,\s*\{\s*((?:0x[0-9a-f]{1,2}\s*,?\s*){8})\}/gi,
    ),
  ].map((m) => {
    const tail = [...m[4]!.matchAll(/0x([0-9a-f]{1,2})/gi)].map((b) => b[1]!.padStart(2, '0')).join('').toLowerCase();
    return `${m[1]!.padStart(8, '0')}-${m[2]!.padStart(4, '0')}-${m[3]!.padStart(4, '0')}-${tail.slice(0, 4)}-${tail.slice(4)}`.toLowerCase();
  });
  return [...strings, ...structs];
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'build' || entry.name.startsWith('build-') ? [] : sourceFiles(path);
    return /\.(c|cc|cpp|h|hpp|idl|def|rc|gyp|mjs|js|ts)$/.test(entry.name) ? [path] : [];
  });
}

describe('one identity', () => {
  it('the manifest declares the COM class with identity.ts CLSID, once, started with the activation argument', () => {
    expect(attribute('com:Class', 'Id')).toEqual([CLSID]);
    const args = attribute('com:ExeServer', 'Arguments');
    expect(args).toHaveLength(1);
    expect(args[0]!.endsWith(` ${COM_ACTIVATION_ARGUMENT}`)).toBe(true);
    expect(attribute('com:Class', 'DisplayName')).toEqual([PRODUCT_NAME]);
    expect(manifest).toContain(`<DisplayName>${PRODUCT_NAME}</DisplayName>`);
    // No other GUID in the manifest (no second, hijacking class).
    expect(guidsIn(manifest)).toEqual([CLSID]);
  });

  it('the manifest has the identity placeholders, runFullTrust and the minimum Windows build', () => {
    expect(attribute('Identity', 'Name')).toEqual(['$PackageName$']);
    expect(attribute('Identity', 'Publisher')).toEqual(['$Publisher$']);
    expect(attribute('Identity', 'Version')).toEqual(['$Version$']);
    expect(attribute('rescap:Capability', 'Name')).toEqual(['runFullTrust']);
    expect(attribute('TargetDeviceFamily', 'MinVersion')).toEqual(['10.0.26100.6725']);
    expect(manifest).toMatch(/<com:Extension Category="windows.comServer">/);
  });

  it('Windows registers the same name, CLSID, and getInfo carrying the same AAGUID', () => {
    const registration = registrationFor(windowsAuthenticator(new MemoryStore()));
    expect(registration.name).toBe(PRODUCT_NAME);
    expect(registration.clsid).toBe(CLSID);
    const info = decodeStrict(registration.authenticatorInfo) as Map<number, CborValue>;
    expect(info.get(0x03)).toStrictEqual(AAGUID);
    expect(Buffer.from(AAGUID).toString('hex')).toBe(AAGUID_STRING.replace(/-/g, ''));
    expect(CLSID).not.toBe(AAGUID_STRING);
  });

  it('the native sources declare no CLSID or AAGUID of their own (they take the CLSID from TypeScript)', () => {
    const files = sourceFiles(join(REPO, 'native'));
    if (files.length === 0) {
      console.warn('[identity] native/ has no sources in this checkout: only the manifest and TypeScript were compared');
      return;
    }
    const declared = new Set(files.flatMap((file) => guidsIn(readFileSync(file, 'utf8'))));
    const foreign = [...declared].filter((guid) => guid !== IPLUGIN_AUTHENTICATOR_IID && guid !== CLSID);
    expect(foreign).toEqual([]);
    expect(declared.has(AAGUID_STRING)).toBe(false);
  });

  it('the GUID scanner reads both spellings (the checker itself works)', () => {
    expect(guidsIn('static const GUID x = {0xd26bcf6f, 0xb54c, 0x43ff, {0x9f, 0x06, 0xd5, 0xbf, 0x14, 0x86, 0x25, 0xf7}};')).toEqual([
      IPLUGIN_AUTHENTICATOR_IID,
    ]);
    expect(guidsIn(`// ${CLSID.toUpperCase()}`)).toEqual([CLSID]);
  });
});
