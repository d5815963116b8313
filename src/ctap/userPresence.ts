/**
 * Asking the user through the request's UserVerifier, with refusals turned into CTAP errors.
 * @module
 */
import { REFUSAL_STATUS } from './refusals.js';
import type { RequestContext, UserPrompt } from './ports.js';
import { CtapError, Status } from './status.js';

export interface Evidence {
  readonly up: boolean;
  readonly uv: boolean;
}

/** Ask; a refusal, or a verdict that lacks what was asked for, ends the operation. */
export async function askUser(ctx: RequestContext, prompt: UserPrompt): Promise<Evidence> {
  const verdict = await ctx.user.confirm(prompt, ctx.signal);
  if (!verdict.ok) throw new CtapError(REFUSAL_STATUS[verdict.refusal], `user interaction refused: ${verdict.refusal}`);
  if (prompt.verification && !verdict.uv) throw new CtapError(Status.OPERATION_DENIED, 'user verification failed');
  if (prompt.presence && !verdict.up) throw new CtapError(Status.OPERATION_DENIED, 'user presence not given');
  return { up: prompt.presence && verdict.up, uv: prompt.verification && verdict.uv };
}
