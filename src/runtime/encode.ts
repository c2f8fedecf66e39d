/*
 * Encoding one kernel dispatch: a bind group from buffers in the spec's binding
 * order, a labelled compute pass, the dispatch. Checks the dispatch against the
 * device's per-dimension limit so the failure names the kernel and the size.
 */
import type { KernelSpec } from '../kernels/spec.js';
import { AttentionLimitError } from '../tensor/errors.js';

/** A kernel ready to encode: pipeline, bind group and workgroup counts. */
export interface PreparedDispatch {
  readonly spec: KernelSpec;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

/** A whole buffer, or a range of one (offset aligned to minStorageBufferOffsetAlignment). */
export type BindingResource = GPUBuffer | { readonly buffer: GPUBuffer; readonly offset: number; readonly size: number };

export function prepareDispatch(
  device: GPUDevice,
  spec: KernelSpec,
  pipeline: GPUComputePipeline,
  buffers: readonly BindingResource[],
  workgroups: readonly [number, number, number],
): PreparedDispatch {
  if (buffers.length !== spec.bindings.length) {
    throw new Error(`${spec.label}: expected ${spec.bindings.length} buffers, got ${buffers.length}`);
  }
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  workgroups.forEach((n, axis) => {
    if (n > max) {
      throw new AttentionLimitError(
        `${spec.label}: needs ${n} workgroups along axis ${'xyz'[axis]}, but this device allows ${max} (maxComputeWorkgroupsPerDimension)`,
      );
    }
  });
  const bindGroup = device.createBindGroup({
    label: spec.label,
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((b, binding) => ({ binding, resource: 'offset' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } })),
  });
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
