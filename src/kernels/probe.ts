/*
 * Two probe kernels that measure what this device can do, so `bench` can say how
 * far each result is from the floor: an f32 FMA kernel (the arithmetic peak a
 * WGSL kernel reaches) and a vec4 copy kernel (the device-memory bandwidth one
 * reaches). Neither does anything useful; both write a result so nothing is
 * optimised away.
 */
import { declareBindings, type KernelSpec } from './spec.js';

/** FMAs per invocation per loop iteration: 8 independent vec4 chains (enough ILP to fill the pipes). */
export const PROBE_CHAINS = 8;
export const PROBE_ITERS = 256;
export const PROBE_THREADS = 256;

export function fmaProbeKernel(): KernelSpec {
  const bindings = [{ name: 'sink', kind: 'read_write', type: 'array<vec4<f32>>' } as const];
  const chains = Array.from({ length: PROBE_CHAINS }, (_, i) => i);
  const wgsl = /* wgsl */ `
${declareBindings(bindings)}

@compute @workgroup_size(${PROBE_THREADS}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let seed = f32(gid.x) * 1.0e-9;
  let m = vec4<f32>(0.999999, 0.999998, 0.999997, 0.999996) + seed;
  let a = vec4<f32>(1.0e-7) + seed;
${chains.map((c) => `  var x${c} = vec4<f32>(${c}.0) + seed;`).join('\n')}
  for (var i = 0u; i < ${PROBE_ITERS}u; i++) {
${chains.map((c) => `    x${c} = fma(x${c}, m, a);`).join('\n')}
  }
  sink[gid.x] = ${chains.map((c) => `x${c}`).join(' + ')};
}
`;
  return { label: 'probe.fma', wgsl, workgroupSize: [PROBE_THREADS, 1, 1], bindings, workgroupBytes: 0 };
}

/** FLOPs of one fmaProbeKernel invocation (an FMA counts 2). */
export const PROBE_FLOPS_PER_INVOCATION = PROBE_ITERS * PROBE_CHAINS * 4 * 2;

export function copyProbeKernel(): KernelSpec {
  const bindings = [{ name: 'src', kind: 'read', type: 'array<vec4<f32>>' } as const, { name: 'dst', kind: 'read_write', type: 'array<vec4<f32>>' } as const];
  const wgsl = /* wgsl */ `
${declareBindings(bindings)}

@compute @workgroup_size(${PROBE_THREADS}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${PROBE_THREADS}u;
  if (i < arrayLength(&dst)) { dst[i] = src[i]; }
}
`;
  return { label: 'probe.copy', wgsl, workgroupSize: [PROBE_THREADS, 1, 1], bindings, workgroupBytes: 0 };
}
