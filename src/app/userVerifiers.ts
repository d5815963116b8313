/**
 * User verifiers the app can hand to a transport. Which one a transport gets is the app's choice
 * (the Windows transport will bring Windows Hello).
 * @module
 */
import { createReadStream } from 'node:fs';
import type { UserPrompt, UserVerdict, UserVerifier } from '../ctap/index.js';

/** Approves every request, presence and verification alike. For tests and tooling only. */
export const approveAll: UserVerifier = {
  canVerify: true,
  async confirm(prompt: UserPrompt): Promise<UserVerdict> {
    return { ok: true, up: prompt.presence, uv: prompt.verification };
  },
};

/** Nobody is there to ask: every request that needs the user is refused. */
export const nobodyThere: UserVerifier = {
  canVerify: true,
  async confirm(): Promise<UserVerdict> {
    return { ok: false, refusal: 'unavailable' };
  },
};

/** A terminal answer that means yes ("y" or "yes", any case); anything else, including nothing, is no. */
export function isYes(answer: string): boolean {
  return /^\s*y(es)?\s*$/i.test(answer);
}

export function describePrompt(prompt: UserPrompt): string {
  const who = prompt.userName !== undefined ? ` as ${JSON.stringify(prompt.userName)}` : '';
  switch (prompt.reason) {
    case 'makeCredential':
      return `${prompt.rpId} wants to create a passkey${who}`;
    case 'getAssertion':
      return `${prompt.rpId} wants to sign you in${who}`;
    case 'excluded':
      return `${prompt.rpId} asks whether you already have a passkey here`;
    case 'selection':
      return 'a client asks you to select Latchkey';
  }
}

/**
 * Asks on the controlling terminal (not stdin, which may carry the CTAP stream). A terminal
 * "y" proves presence only: it cannot verify who the user is, so `canVerify` is false.
 */
export function terminalPrompt(options: { ttyPath?: string; timeoutMs?: number; write: (s: string) => void }): UserVerifier {
  const ttyPath = options.ttyPath ?? (process.platform === 'win32' ? 'CONIN$' : '/dev/tty');
  const timeoutMs = options.timeoutMs ?? 60_000;
  return {
    canVerify: false,
    confirm(prompt, signal) {
      return new Promise<UserVerdict>((resolve) => {
        let input;
        try {
          input = createReadStream(ttyPath);
        } catch {
          resolve({ ok: false, refusal: 'unavailable' });
          return;
        }
        // Loaded here, not at import: a serving process that never asks would pay for readline at start.
        const rl = process.getBuiltinModule('node:readline').createInterface({ input, terminal: false });
        let settled = false;
        const settle = (verdict: UserVerdict) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          rl.close();
          input.destroy();
          resolve(verdict);
        };
        const onAbort = () => settle({ ok: false, refusal: 'cancelled' });
        const timer = setTimeout(() => settle({ ok: false, refusal: 'timeout' }), timeoutMs);
        signal?.addEventListener('abort', onAbort);
        input.on('error', () => settle({ ok: false, refusal: 'unavailable' }));
        options.write(`Latchkey: ${describePrompt(prompt)}. Allow? [y/N] `);
        rl.once('line', (line) => {
          const yes = isYes(line);
          settle(yes ? { ok: true, up: prompt.presence, uv: false } : { ok: false, refusal: 'declined' });
        });
      });
    },
  };
}
