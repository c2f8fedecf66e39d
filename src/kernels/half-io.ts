/*
 * f16 tensors for kernel programs written for f32: widen the f16 inputs into f32
 * scratch, run the f32 program on them, narrow its f32 results into the f16 outputs.
 * The naive baseline and the teaching kernel go this way (their byte counts are not
 * the point); the fused forward and backward read and write f16 themselves.
 */
import { bytesOf } from '../tensor/half.js';
import type { AttentionCall } from './call.js';
import { paramStruct, type ParamLayout } from './params.js';
import type { BufferDecl, BufferRef, Program, Step } from './program.js';
import { declareBindings, PARAMS_BINDING, type KernelSpec } from './spec.js';
import { F16_ROWS, F32_ROWS } from './wgsl-common.js';

const CONVERT_PARAMS: ParamLayout = { fields: [['count', 'u32']] };

/** One invocation per vec4: `dst[i] = src[i]`, widened from f16 (`widen`) or narrowed to f16. */
export function convertKernel(widen: boolean): KernelSpec {
  const [from, to] = widen ? [F16_ROWS, F32_ROWS] : [F32_ROWS, F16_ROWS];
  const bindings = [PARAMS_BINDING, { name: 'src', kind: 'read', type: from.type } as const, { name: 'dst', kind: 'read_write', type: to.type } as const];
  const wgsl = /* wgsl */ `${paramStruct('Params', CONVERT_PARAMS)}
${declareBindings(bindings)}
${F16_ROWS.helpers}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i < params.count) { dst[i] = ${to.store(from.load('src[i]'))}; }
}
`;
  return { label: `attention.${widen ? 'widen' : 'narrow'} f16`, wgsl, workgroupSize: [64, 1, 1], bindings, workgroupBytes: 0 };
}

/** A convert step over `elements` (a multiple of 4) from buffer `src` to `dst`. */
function convertStep(widen: boolean, src: string, dst: string, elements: number, maxWg: number): Step {
  const groups = Math.ceil(elements / 4 / 64);
  const x = Math.min(groups, maxWg);
  return { spec: convertKernel(widen), params: CONVERT_PARAMS, values: { count: elements / 4 }, buffers: { src, dst }, grid: [x, Math.ceil(groups / x), 1] };
}

/** Tensors of a call's dtype, shaped like Q (the rest are shaped like K). */
const Q_SHAPED = new Set(['q', 'out', 'dout', 'dq']);

/**
 * `build` (an f32 program family) run on an f16 call: the caller's f16 tensors named in
 * `inputs` widened into f32 scratch first, and the program's `outputs` of the dtype
 * narrowed into f16 outputs after. Other buffers (LSE, statistics) are f32 either way and pass through.
 */
export function viaF32<C extends AttentionCall>(c: C, build: (c: C) => Program, names: { inputs: string[]; outputs: string[] }, maxWg: number): Program {
  if (c.dtype === 'f32') return build(c);
  const p = c.problem;
  const count = (name: string) => p.batch * p.headDim * (Q_SHAPED.has(name) ? p.headsQ * p.seqQ : p.headsKv * p.seqK);
  const [inputs, outputs] = [names.inputs, names.outputs].map((list) => Object.fromEntries(list.map((n) => [n, count(n)]))) as [
    Record<string, number>,
    Record<string, number>,
  ];
  const inner = build({ ...c, dtype: 'f32' });
  const wide = (name: string) => `${name}_f32`;
  const renamed = new Set([...Object.keys(inputs), ...Object.keys(outputs)]);
  const rename = (ref: BufferRef): BufferRef =>
    typeof ref === 'string' ? (renamed.has(ref) ? wide(ref) : ref) : renamed.has(ref.name) ? { ...ref, name: wide(ref.name) } : ref;
  const buffers: Record<string, BufferDecl> = {};
  for (const [name, decl] of Object.entries(inner.buffers)) {
    if (name in outputs) {
      const n = outputs[name]!;
      buffers[wide(name)] = { role: 'scratch', bytes: n * 4, label: `${decl.label} (f32)` };
      buffers[name] = { role: 'output', bytes: n * bytesOf('f16'), label: decl.label };
    } else buffers[name] = decl;
  }
  for (const [name, n] of Object.entries(inputs)) buffers[wide(name)] = { role: 'scratch', bytes: n * 4, label: `attention ${name} widened to f32` };
  const steps: Step[] = [
    ...Object.entries(inputs).map(([name, n]) => convertStep(true, name, wide(name), n, maxWg)),
    ...inner.steps.map((s) => ({ ...s, buffers: Object.fromEntries(Object.entries(s.buffers).map(([k, ref]) => [k, rename(ref)])) })),
    ...Object.entries(outputs).map(([name, n]) => convertStep(false, wide(name), name, n, maxWg)),
  ];
  // The host step reads statistics (f32 either way), never a renamed tensor.
  return { buffers, steps, labels: ['attention.widen f16', ...inner.labels, 'attention.narrow f16'], ...(inner.host ? { host: inner.host } : {}) };
}
