/*
 * What a submission's error scopes caught, as this library reports it: a buffer the caller
 * destroyed too early is the caller's doing (an AttentionInputError naming it); anything else
 * is an AttentionBackendError with Dawn's message.
 */
import { AttentionBackendError, AttentionInputError } from '../tensor/errors.js';

/**
 * The error a submission's scopes caught, as this library reports it. A buffer destroyed before
 * the work that uses it was submitted, when it is not one the library made (`ours`: their
 * labels), is the caller's doing (a GPUBuffer wrapped with attn.tensor() and destroyed while a
 * call was under way): an AttentionInputError that says so. Anything else stays an
 * AttentionBackendError with Dawn's message.
 */
export function scopeError(labels: string, validation: GPUError | null, oom: GPUError | null, ours: ReadonlySet<string>): Error | undefined {
  const err = validation ?? oom;
  if (!err) return undefined;
  const named =
    validation && /used in submit while destroyed/.test(validation.message) ? /\[Buffer (?:"([^"]*)"|\(unlabeled\))\]/.exec(validation.message) : null;
  const label = named?.[1] ?? '';
  if (named && !ours.has(label)) {
    const which = named[1] !== undefined ? `"${named[1]}" ` : '';
    return new AttentionInputError(
      `a GPUBuffer ${which}that the call reads or writes was destroyed before the call submitted its work (its GPU work: ${labels}): ` +
        'keep buffers wrapped with attn.tensor() alive until the call has settled',
    );
  }
  if (named && isTensorLabel(label)) {
    return new AttentionInputError(
      `a tensor ("${label}") that the call reads or writes was destroyed before the call submitted its work (its GPU work: ${labels}): ` +
        'keep tensors alive until the calls that use them have settled',
    );
  }
  return new AttentionBackendError(`GPU ${oom && !validation ? 'out of memory' : 'validation error'} in ${labels}: ${err.message}`);
}

/** Labels of the buffers behind tensors a caller holds: attn.tensor()'s uploads and the results of forward, backward and combine. */
function isTensorLabel(label: string): boolean {
  return label.startsWith('tensor [') || /^attention(\.combine)? (out|lse|dq|dk|dv)$/.test(label);
}
