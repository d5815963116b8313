/**
 * Conformance with libfido2 (C API, its own CTAPHID framing over custom io functions) against
 * `latchkey serve --ctaphid`, on TCP and on a UNIX socket. The client (latchkey_fido2.c) is
 * compiled here into a temporary directory; it prints one JSON object that these tests judge.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../../src/crypto/bytes.js';
import { AAGUID } from '../../../src/app/identity.js';
import { describeWithTool, missingLibfido2, runJsonClient, serve, type Served, type Transport } from '../support.js';

const SOURCE = join(import.meta.dirname, 'latchkey_fido2.c');
const FIDO_OK = 0;
const FIDO_ERR_INVALID_ARGUMENT = -7;
const FIDO_ERR_INVALID_PARAM = -5;
const FIDO_ERR_NO_CREDENTIALS = 0x2e;
const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40, ED: 0x80 };

interface Step {
  readonly r: number;
  readonly err: string;
  readonly flags?: number;
  readonly hmac?: string;
}

describeWithTool('libfido2 1.12 (C API, custom io) against latchkey serve --ctaphid', missingLibfido2(), () => {
  let dir: string;
  let binary: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-libfido2-'));
    binary = join(dir, 'latchkey_fido2');
    const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'libfido2'], { encoding: 'utf8' }).stdout.trim().split(/\s+/).filter(Boolean);
    const cc = spawnSync('cc', ['-std=c11', '-D_POSIX_C_SOURCE=200809L', '-Wall', '-Wextra', '-Werror', '-o', binary, SOURCE, ...flags], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cc failed:\n${cc.stderr}`);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(transport: Transport, extra: readonly string[]) {
    const server: Served = await serve(transport, extra);
    try {
      const { result, stderr } = await runJsonClient(binary, server.endpoint);
      return { result, diagnostics: `client stderr:\n${stderr}\nserver output:\n${server.output()}` };
    } finally {
      await server.stop();
    }
  }

  for (const transport of ['tcp', 'unix'] as const) {
    describe(`over ${transport === 'tcp' ? 'TCP on loopback' : 'a UNIX socket'}, --attestation packed`, () => {
      let result: Record<string, unknown>;
      let diagnostics: string;
      const step = (name: string) => result[name] as Step;

      beforeAll(async () => {
        ({ result, diagnostics } = await run(transport, ['--attestation', 'packed']));
      }, 120_000);

      it('opens the device over CTAPHID (INIT, then getInfo as a FIDO2 device)', () => {
        expect(step('open'), diagnostics).toEqual({ r: FIDO_OK, err: 'FIDO_ERR_SUCCESS' });
        expect(result['isFido2']).toBe(true);
      });

      it('getInfo: versions, AAGUID, extensions, options and PIN/UV auth protocols as libfido2 parses them', () => {
        expect(step('getInfo').r, diagnostics).toBe(FIDO_OK);
        expect(result['versions']).toEqual(['FIDO_2_0', 'FIDO_2_1']);
        expect(result['aaguid']).toBe(toHex(AAGUID));
        expect(result['extensions']).toEqual(expect.arrayContaining(['hmac-secret', 'hmac-secret-mc', 'credProtect', 'credBlob']));
        expect(result['options']).toMatchObject({ rk: true, up: true, uv: true, clientPin: false });
        expect(result['pinProtocols']).toEqual([2, 1]);
        expect(result['maxMsgSize']).toBe(7609);
        // clientPin false: libfido2 sees no PIN set and built-in UV, so it never asks for a PIN.
        expect(result['hasPin']).toBe(false);
        expect(result['hasUv']).toBe(true);
      });

      it('makeCredential with hmac-secret: packed self-attestation verified by fido_cred_verify_self', () => {
        expect(step('makeCredential'), diagnostics).toEqual({ r: FIDO_OK, err: 'FIDO_ERR_SUCCESS' });
        expect(result['fmt']).toBe('packed');
        expect(result['credAaguid']).toBe(toHex(AAGUID));
        expect(result['credIdLength']).toBe(16);
        const flags = result['credFlags'] as number;
        expect(flags & (FLAG.UP | FLAG.AT | FLAG.ED)).toBe(FLAG.UP | FLAG.AT | FLAG.ED);
        expect(step('credVerifySelf')).toEqual({ r: FIDO_OK, err: 'FIDO_ERR_SUCCESS' });
        // fido_cred_verify checks an attestation certificate chain (x5c); self attestation has none.
        expect(step('credVerify').r).toBe(FIDO_ERR_INVALID_ARGUMENT);
      });

      it('getAssertion verified by fido_assert_verify, with hmac-secret outputs stable across assertions', () => {
        for (const name of ['assertNoUv1', 'assertNoUv2', 'assertUv1', 'assertUv2', 'assertTwoSalts']) {
          expect(step(name).r, `${name}\n${diagnostics}`).toBe(FIDO_OK);
        }
        expect(step('assertNoUv1').hmac).toMatch(/^[0-9a-f]{64}$/);
        expect(step('assertNoUv2').hmac).toBe(step('assertNoUv1').hmac);
        expect(step('assertUv2').hmac).toBe(step('assertUv1').hmac);
      });

      it('hmac-secret differs with and without UV, and the UV flag says which', () => {
        expect(step('assertUv1').hmac).toMatch(/^[0-9a-f]{64}$/);
        expect(step('assertUv1').hmac).not.toBe(step('assertNoUv1').hmac);
        expect(step('assertUv1').flags! & FLAG.UV).toBe(FLAG.UV);
        expect(step('assertNoUv1').flags! & FLAG.UV).toBe(0);
      });

      it('two salts give two outputs, the first equal to the one-salt output', () => {
        const two = step('assertTwoSalts').hmac!;
        expect(two).toMatch(/^[0-9a-f]{128}$/);
        expect(two.slice(0, 64)).toBe(step('assertNoUv1').hmac);
        expect(two.slice(64)).not.toBe(two.slice(0, 64));
      });

      it('each credential has its own secret', () => {
        expect(step('makeCredential2').r, diagnostics).toBe(FIDO_OK);
        expect(step('assertOtherCredential').r).toBe(FIDO_OK);
        expect(step('assertOtherCredential').hmac).toMatch(/^[0-9a-f]{64}$/);
        expect(step('assertOtherCredential').hmac).not.toBe(step('assertNoUv1').hmac);
      });

      it('another relying party does not find the credential (NO_CREDENTIALS)', () => {
        expect(step('assertWrongRp').r).toBe(FIDO_ERR_NO_CREDENTIALS);
      });

      it('a credential made without hmac-secret answers no output (libfido2 then refuses the assertion as not matching its request)', () => {
        expect(step('makeCredentialPlain').r).toBe(FIDO_OK);
        expect(step('assertPlain').hmac).toBe('');
        expect(step('assertPlain').r).toBe(FIDO_ERR_INVALID_PARAM);
      });
    });
  }

  it('with --attestation none: fmt none, which neither libfido2 verifier can check, and hmac-secret still works', async () => {
    const { result, diagnostics } = await run('tcp', []);
    expect((result['makeCredential'] as Step).r, diagnostics).toBe(FIDO_OK);
    expect(result['fmt']).toBe('none');
    expect((result['credVerifySelf'] as Step).r).toBe(FIDO_ERR_INVALID_ARGUMENT);
    expect((result['assertNoUv1'] as Step).r).toBe(FIDO_OK);
    expect((result['assertNoUv2'] as Step).hmac).toBe((result['assertNoUv1'] as Step).hmac);
  }, 120_000);
});
