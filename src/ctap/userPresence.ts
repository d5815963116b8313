/**
 * Asking the user through the request's UserVerifier, with refusals turned into CTAP errors.
 * @module
 */
import { REFUSAL_STATUS } from './refusals.js';
import type { RequestContext, UserPrompt, UserVerdict } from './ports.js';
import { CtapError, Status } from './status.js';

export interface Evidence {
  readonly up: boolean;
  readonly uv: boolean;
}

/** Ask; a refusal, or a verdict that lacks what was asked for, ends the operation. */
export async function askUser(ctx: RequestContext, prompt: UserPrompt): Promise<Evidence> {
  return evidenceOf(prompt, await ctx.user.confirm(prompt, ctx.signal));
}

/**
 * What a verdict on `prompt` establishes, or the CTAP error its refusal means: {@link askUser}
 * after the wait, for a caller that awaits `ctx.user.confirm` itself (one async layer fewer).
 */
export function evidenceOf(prompt: UserPrompt, verdict: UserVerdict): Evidence {
  if (!verdict.ok) throw new CtapError(REFUSAL_STATUS[verdict.refusal], `user interaction refused: ${verdict.refusal}`);
  if (prompt.verification && !verdict.uv) throw new CtapError(Status.OPERATION_DENIED, 'user verification failed');
  if (prompt.presence && !verdict.up) throw new CtapError(Status.OPERATION_DENIED, 'user presence not given');
  return { up: prompt.presence && verdict.up, uv: prompt.verification && verdict.uv };
}
