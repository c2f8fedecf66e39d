/*
 * Backward preprocess (FlashAttention-2): Delta_i = rowsum(dO_i ∘ O_i), one
 * invocation per query row. Both main passes read it: dS = P∘(dP − Delta).
 */
import { paramStruct } from './params.js';
import { declareBindings, PARAMS_BINDING, type KernelSpec } from './spec.js';
import { BACKWARD_PARAMS, f32Array } from './backward-shared.js';
import { rowType } from './wgsl-common.js';

/** D_i = dO_i · O_i for every row (b, h, i); D (binding `dd`) is [B, Hq, Nq]. O and dO are f32, or f16 (`half`: the tensor-core backward's). */
export function backwardPreprocessKernel(headDim: number, half = false): KernelSpec {
  const rows = rowType(half);
  const bindings = [
    PARAMS_BINDING,
    { name: 'o', kind: 'read', type: rows.type } as const,
    { name: 'dout', kind: 'read', type: rows.type } as const,
    f32Array('dd', 'read_write'),
  ];
  const wgsl = /* wgsl */ `
${paramStruct('Params', BACKWARD_PARAMS)}
${declareBindings(bindings)}${half ? `\n${rows.helpers}` : ''}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= params.rows) { return; }
  let i = row % params.seqQ;
  let bh = row / params.seqQ;
  let base = (bh / params.headsQ) * params.qsb + (bh % params.headsQ) * params.qsh + i * params.qsn;
  var acc = 0.0;
  for (var c = 0u; c < ${headDim / 4}u; c++) { acc += dot(${rows.load('o[base + c]')}, ${rows.load('dout[base + c]')}); }
  dd[row] = acc;
}
`;
  return { label: `attention.backward.preprocess${half ? ' f16' : ''}`, wgsl, workgroupSize: [64, 1, 1], bindings, workgroupBytes: 0 };
}
