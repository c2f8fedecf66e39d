/*
 * Pipeline cache, one per device, keyed by the generated WGSL itself: two
 * configs that generate the same code share a pipeline, and two that differ
 * in any way cannot collide. WEBGPU_ATTENTION_DEBUG=wgsl prints each module
 * the first time it is compiled.
 */
import type { KernelSpec } from '../kernels/spec.js';

const caches = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();
/** Compiles under way, per device and WGSL: calls at once that need one pipeline share its compile. */
const compiling = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

function debugWgsl(): boolean {
  return typeof process !== 'undefined' && (process.env?.WEBGPU_ATTENTION_DEBUG ?? '').split(',').includes('wgsl');
}

/** `device`'s pipeline cache and the pipeline it holds for `spec`, if any (printing the WGSL of a miss when debugging). */
function lookup(device: GPUDevice, spec: KernelSpec): { cache: Map<string, GPUComputePipeline>; hit?: GPUComputePipeline } {
  let cache = caches.get(device);
  if (!cache) caches.set(device, (cache = new Map()));
  const hit = cache.get(spec.wgsl);
  if (!hit && debugWgsl()) console.error(`// ---- ${spec.label}\n${spec.wgsl}`);
  return { cache, hit };
}

/**
 * The compute pipeline for `spec` on `device`, compiled on first use; calls that ask while it
 * compiles wait for that compile (once, every first call of a model's layers compiled its own).
 */
export function getPipeline(device: GPUDevice, spec: KernelSpec): Promise<GPUComputePipeline> {
  const { cache, hit } = lookup(device, spec);
  if (hit) return Promise.resolve(hit);
  let pending = compiling.get(device);
  if (!pending) compiling.set(device, (pending = new Map()));
  const under = pending.get(spec.wgsl);
  if (under) return under;
  const done = compile(device, spec, cache).finally(() => pending.delete(spec.wgsl));
  pending.set(spec.wgsl, done);
  return done;
}

async function compile(device: GPUDevice, spec: KernelSpec, cache: Map<string, GPUComputePipeline>): Promise<GPUComputePipeline> {
  // The scope is popped before any await (scopes are a device-wide stack: a compile that held one
  // open across its wait popped another's); the pipeline's own errors come back as its rejection.
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: spec.label, code: spec.wgsl });
  const creating = device.createComputePipelineAsync({ label: spec.label, layout: 'auto', compute: { module, entryPoint: 'main' } });
  const scope = device.popErrorScope();
  const pipeline = await creating.catch(async (e: unknown) => {
    scope.catch(() => {});
    const info = await module.getCompilationInfo();
    const msgs = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
    throw new Error(`failed to compile ${spec.label}: ${String(e)}\n${msgs}`);
  });
  const err = await scope;
  if (err) throw new Error(`failed to compile ${spec.label}: ${err.message}`);
  cache.set(spec.wgsl, pipeline);
  return pipeline;
}

/**
 * The compute pipeline for `spec` on `device` without waiting: the cached one, or one
 * created synchronously (WebGPU compiles it before the first dispatch that uses it).
 * For callers that must submit before returning (a framework's synchronous op); a
 * compile error then fails the submission that uses the pipeline (in the caller's error
 * scope), and the pipeline leaves the cache so the next call compiles it afresh.
 */
export function pipelineNow(device: GPUDevice, spec: KernelSpec): GPUComputePipeline {
  const { cache, hit } = lookup(device, spec);
  if (hit) return hit;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: spec.label, code: spec.wgsl });
  const pipeline = device.createComputePipeline({ label: spec.label, layout: 'auto', compute: { module, entryPoint: 'main' } });
  cache.set(spec.wgsl, pipeline);
  void device.popErrorScope().then(
    (err) => {
      if (err && cache.get(spec.wgsl) === pipeline) cache.delete(spec.wgsl);
    },
    () => {},
  );
  return pipeline;
}

/** Number of pipelines compiled on a device (for tests of cache behaviour). */
export function pipelineCount(device: GPUDevice): number {
  return caches.get(device)?.size ?? 0;
}
