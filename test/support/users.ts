/**
 * UserVerifier doubles for tests: they record every prompt and answer as scripted.
 */
import type { RequestContext, UserPrompt, UserVerdict, UserVerifier } from '../../src/ctap/ports.js';

export class ScriptedUser implements UserVerifier {
  readonly prompts: UserPrompt[] = [];
  constructor(
    private readonly answer: (prompt: UserPrompt) => UserVerdict = (p) => ({ ok: true, up: p.presence, uv: p.verification }),
    readonly canVerify = true,
  ) {}
  async confirm(prompt: UserPrompt): Promise<UserVerdict> {
    this.prompts.push(prompt);
    return this.answer(prompt);
  }
}

export function approving(): RequestContext & { user: ScriptedUser } {
  return { user: new ScriptedUser() };
}

export function refusing(refusal: 'declined' | 'timeout' | 'cancelled' | 'unavailable'): RequestContext & { user: ScriptedUser } {
  return { user: new ScriptedUser(() => ({ ok: false, refusal })) };
}
