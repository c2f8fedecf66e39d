/*
 * Encoding one kernel dispatch: a bind group built by binding name from the
 * kernel's own list, a labelled compute pass, the dispatch. Checks the grid
 * against the device's per-dimension limit so the failure names the kernel.
 */
import type { KernelSpec } from '../kernels/spec.js';
import { AttentionLimitError } from '../tensor/errors.js';
import type { BindingResource } from './buffers.js';

/** A kernel ready to encode: pipeline, bind group and workgroup counts. */
export interface PreparedDispatch {
  readonly spec: KernelSpec;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

/**
 * Refuses a kernel that binds more storage buffers than the device allows, naming the
 * limit, before WebGPU would reject its pipeline with a validation error.
 */
export function checkBindingCount(device: GPUDevice, spec: KernelSpec): void {
  const storage = spec.bindings.filter((b) => b.kind !== 'uniform').length;
  const max = device.limits.maxStorageBuffersPerShaderStage;
  if (storage > max) {
    throw new AttentionLimitError(
      `${spec.label} binds ${storage} storage buffers, but this device allows ${max} (maxStorageBuffersPerShaderStage); ` +
        "request the adapter's limit when creating the device (requiredLimits(adapter) gives every limit the kernels use)",
    );
  }
}

/** Binds `resources` by the names the kernel declares (extra names are ignored; a missing one is a program bug). */
export function prepareDispatch(
  device: GPUDevice,
  spec: KernelSpec,
  pipeline: GPUComputePipeline,
  resources: Readonly<Record<string, BindingResource>>,
  workgroups: readonly [number, number, number],
): PreparedDispatch {
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  workgroups.forEach((n, axis) => {
    if (n > max) {
      throw new AttentionLimitError(
        `${spec.label}: needs ${n} workgroups along axis ${'xyz'[axis]}, but this device allows ${max} (maxComputeWorkgroupsPerDimension)`,
      );
    }
  });
  const entries = spec.bindings.map((b, binding) => {
    const r = resources[b.name];
    if (!r) throw new Error(`${spec.label}: no buffer for binding '${b.name}'`);
    return { binding, resource: 'offset' in r ? { buffer: r.buffer, offset: r.offset, size: r.size } : { buffer: r } };
  });
  const bindGroup = device.createBindGroup({ label: spec.label, layout: pipeline.getBindGroupLayout(0), entries });
  return { spec, pipeline, bindGroup, workgroups };
}

/** Encodes the dispatches in order, one compute pass each (passes order and make writes visible). */
export function encodeDispatches(encoder: GPUCommandEncoder, dispatches: readonly PreparedDispatch[]): void {
  for (const d of dispatches) {
    if (d.workgroups.some((n) => n === 0)) continue;
    const pass = encoder.beginComputePass({ label: d.spec.label });
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    pass.end();
  }
}
