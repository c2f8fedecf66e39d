/*
 * Error classes of the library. Every message names the argument, the value
 * and the rule it broke, so a caller can fix the call without reading source.
 */

/** A bad argument: wrong shape, rank, head dim, layout, option or tensor. */
export class AttentionInputError extends Error {
  override readonly name = 'AttentionInputError';
}

/** The work does not fit this device's limits (binding size, buffer size, workgroup memory). */
export class AttentionLimitError extends Error {
  override readonly name = 'AttentionLimitError';
}

/** No usable backend: no WebGPU adapter when one was asked for, or a backend failed to start. */
export class AttentionBackendError extends Error {
  override readonly name = 'AttentionBackendError';
}

/** What every use of a destroyed Attention says. */
export const DESTROYED = 'this Attention was destroyed (attn.destroy()); make a new one with createAttention()';

/** What a call says that attn.destroy() ended while it was under way (WebGPU and the CPU's workers alike). */
export const ENDED_BY_DESTROY = 'this Attention was destroyed (attn.destroy()); this call was still under way (await the calls before destroying)';
