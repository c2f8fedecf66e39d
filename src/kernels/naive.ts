/*
 * The naive attention pipeline, the baseline of the lectures: four kernels, each
 * reading its input from device memory and writing its whole result back.
 *
 *   scores   S = scale · Q Kᵀ     reads Q, K      writes S (N×N per head)
 *   mask     S' = mask(S)          reads S         writes S' (causal only)
 *   softmax  P = softmax(S')       reads S'        writes P (in place) and LSE
 *   pv       O = P V               reads P, V      writes O
 *
 * The two products share one tiled matrix-multiply template (64×64 outputs per
 * workgroup, 4×4 per invocation, contraction chunks of 16) so the baseline is a
 * fair one: its cost is the N×N round trips, not a careless GEMM.
 * Heads are processed in chunks whose score matrices fit one storage binding.
 */
import { declareBindings, MASKED, PARAMS_BINDING, type Binding, type KernelSpec } from './spec.js';
import { AUX_BINDING, IS_NAN, type KernelVariant } from './forward.js';
import { positionLets, positionNames } from './wgsl-common.js';
import { paramStruct, type ParamLayout } from './params.js';

export const NAIVE_PARAMS: ParamLayout = {
  fields: [
    ['seqQ', 'u32'],
    ['seqK', 'u32'],
    ['groupSize', 'u32'],
    ['headsQ', 'u32'],
    ['scale', 'f32'],
    ['causalOffset', 'i32'],
    ['negInf', 'f32'],
    ['headBase', 'u32'],
    ['chunkRows', 'u32'],
    ['headDim', 'u32'],
    // strides in floats: batch, head, seq
    ['qsb', 'u32'],
    ['qsh', 'u32'],
    ['qsn', 'u32'],
    ['ksb', 'u32'],
    ['ksh', 'u32'],
    ['ksn', 'u32'],
    ['vsb', 'u32'],
    ['vsh', 'u32'],
    ['vsn', 'u32'],
    // a NaN from the host: WGSL cannot write one as a constant
    ['nan', 'f32'],
  ],
};

/** Output tile of the matrix-multiply kernels (rows = cols). */
export const NAIVE_GEMM_TILE = 64;
/** Invocations per workgroup of the mask and softmax kernels. */
export const NAIVE_ROW_THREADS = 256;

const PRELUDE = /* wgsl */ `
${paramStruct('Params', NAIVE_PARAMS)}
const MASKED = ${MASKED};
${IS_NAN}`;

const f32Array = (name: string, kind: 'read' | 'read_write'): Binding => ({ name, kind, type: 'array<f32>' });

interface GemmOperands {
  /** Rows, columns, contraction length (WGSL expressions). */
  readonly m: string;
  readonly n: string;
  readonly k: string;
  /** Element (row, kk) of A and (kk, col) of B; may use zg (global head), zl (head in chunk), b, h, hk. */
  readonly a: string;
  readonly b: string;
  /** Whether B is contiguous along the contraction axis (Kᵀ) or along columns (V). */
  readonly bContiguousInK: boolean;
  /** Statement storing 'value' at (row, col). */
  readonly store: string;
}

function gemm(label: string, bindings: readonly Binding[], ops: GemmOperands): string {
  const bLoad = ops.bContiguousInK ? 'let kk = e % 16u; let col = e / 16u;' : 'let col = e % 64u; let kk = e / 64u;';
  return /* wgsl */ `${PRELUDE}
${declareBindings(bindings)}

var<workgroup> As: array<f32, 1024>; // [kk][row]
var<workgroup> Bs: array<f32, 1024>; // [kk][col]

// ${label}: C = A·B, 64×64 tile per workgroup, invocation (tx, ty) owns rows ty+16r, cols tx+16c.
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;
  let zl = wg.z;
  let zg = params.headBase + zl;
  let b = zg / params.headsQ;
  let h = zg % params.headsQ;
  let hk = h / params.groupSize;
  let M = ${ops.m};
  let N = ${ops.n};
  let K = ${ops.k};
  let row0 = wg.y * 64u;
  let col0 = wg.x * 64u;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    for (var t = 0u; t < 4u; t++) {
      let e = tid + 256u * t;
      {
        let kk = e % 16u;
        let row = e / 16u;
        var x = 0.0;
        if (row0 + row < M && k0 + kk < K) { x = ${ops.a.replaceAll('ROW', '(row0 + row)').replaceAll('KK', '(k0 + kk)')}; }
        As[kk * 64u + row] = x;
      }
      {
        ${bLoad}
        var x = 0.0;
        if (col0 + col < N && k0 + kk < K) { x = ${ops.b.replaceAll('COL', '(col0 + col)').replaceAll('KK', '(k0 + kk)')}; }
        Bs[kk * 64u + col] = x;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var r = 0u; r < 4u; r++) { av[r] = As[kk * 64u + ty + 16u * r]; }
      for (var c = 0u; c < 4u; c++) { bv[c] = Bs[kk * 64u + tx + 16u * c]; }
      for (var r = 0u; r < 4u; r++) {
        for (var c = 0u; c < 4u; c++) { acc[r * 4u + c] += av[r] * bv[c]; }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    for (var c = 0u; c < 4u; c++) {
      let row = row0 + ty + 16u * r;
      let col = col0 + tx + 16u * c;
      if (row < M && col < N) {
        let value = acc[r * 4u + c];
        ${ops.store}
      }
    }
  }
}
`;
}

const GEMM_WG: readonly [number, number, number] = [16, 16, 1];
const GEMM_BYTES = 2 * 1024 * 4;

/** S = scale · Q Kᵀ for a chunk of heads, written to s [chunk, Nq, Nk]. */
export function naiveScoresKernel(): KernelSpec {
  const bindings = [PARAMS_BINDING, f32Array('q', 'read'), f32Array('k', 'read'), f32Array('s', 'read_write')];
  return {
    label: 'attention.naive.scores',
    wgsl: gemm('scores', bindings, {
      m: 'params.seqQ',
      n: 'params.seqK',
      k: 'params.headDim',
      a: 'q[b * params.qsb + h * params.qsh + ROW * params.qsn + KK]',
      b: 'k[b * params.ksb + hk * params.ksh + COL * params.ksn + KK]',
      bContiguousInK: true,
      store: 's[(zl * params.seqQ + row) * params.seqK + col] = value * params.scale;',
    }),
    workgroupSize: GEMM_WG,
    bindings,
    workgroupBytes: GEMM_BYTES,
  };
}

/** O = P V for a chunk of heads, P read from s [chunk, Nq, Nk], O written in q's layout. */
export function naivePvKernel(): KernelSpec {
  const bindings = [PARAMS_BINDING, f32Array('s', 'read'), f32Array('v', 'read'), f32Array('o', 'read_write')];
  return {
    label: 'attention.naive.pv',
    wgsl: gemm('pv', bindings, {
      m: 'params.seqQ',
      n: 'params.headDim',
      k: 'params.seqK',
      a: 's[(zl * params.seqQ + ROW) * params.seqK + KK]',
      b: 'v[b * params.vsb + hk * params.vsh + KK * params.vsn + COL]',
      bContiguousInK: false,
      store: 'o[b * params.qsb + h * params.qsh + row * params.qsn + col] = value;',
    }),
    workgroupSize: GEMM_WG,
    bindings,
    workgroupBytes: GEMM_BYTES,
  };
}

/**
 * Mask step: reads every score and writes it back, masked ones replaced (causal, and
 * the variant's mask modifier); the variant's score modifier is applied here too.
 * Grid-stride over the chunk.
 */
export function naiveMaskKernel(causal: boolean, variant?: KernelVariant): KernelSpec {
  const at = variant?.positionsAt;
  const bindings = [PARAMS_BINDING, f32Array('s', 'read_write'), ...(variant?.readsTables || at !== undefined ? [AUX_BINDING] : [])];
  const pos = positionNames(at);
  const visible = causal ? [`i32(j) <= i32(i) + ${pos.causal}`] : ['true'];
  const [qi, kj] = [pos.q('i32(i)'), pos.kv('i32(j)')];
  if (variant?.maskFn) visible.push(`maskMod(b, h, ${qi}, ${kj})`);
  const score = variant?.scoreFn ? `scoreMod(x, b, h, ${qi}, ${kj})` : 'x';
  const wgsl = /* wgsl */ `${PRELUDE}
${declareBindings(bindings)}
${variant?.scoreFn ?? ''}
${variant?.maskFn ?? ''}

@compute @workgroup_size(${NAIVE_ROW_THREADS}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let total = params.chunkRows * params.seqK;
  let stride = nwg.x * ${NAIVE_ROW_THREADS}u;
  for (var idx = gid.x; idx < total; idx += stride) {
    let i = (idx / params.seqK) % params.seqQ;
    let j = idx % params.seqK;
    let zg = params.headBase + idx / (params.seqK * params.seqQ);
    let b = i32(zg / params.headsQ);
    let h = i32(zg % params.headsQ);
${positionLets(at, 'u32(b)', '    ')}    let x = s[idx];
    s[idx] = select(MASKED, ${score}, ${visible.join(' && ')});
  }
}
`;
  return {
    label: `attention.naive.mask${causal ? ' causal' : ''}${variant ? ' variant' : ''}`,
    wgsl,
    workgroupSize: [NAIVE_ROW_THREADS, 1, 1],
    bindings,
    workgroupBytes: 0,
  };
}

/**
 * Row softmax in place (S → P) plus LSE; one workgroup per row, grid-stride over rows.
 * A learned sink (variant.sinkOffset) joins each row's max and denominator.
 */
export function naiveSoftmaxKernel(variant?: KernelVariant): KernelSpec {
  const T = NAIVE_ROW_THREADS;
  const sinks = variant?.sinkOffset !== undefined;
  const bindings = [PARAMS_BINDING, f32Array('s', 'read_write'), f32Array('lse', 'read_write'), ...(sinks ? [AUX_BINDING] : [])];
  const sink = sinks ? `aux[${variant!.sinkOffset}u + (params.headBase + row / params.seqQ) % params.headsQ]` : 'MASKED';
  const wgsl = /* wgsl */ `${PRELUDE}
${declareBindings(bindings)}

const T = ${T}u;
var<workgroup> red: array<f32, T>;

// Tree reduction of red[] (max when isMax, else sum); every invocation returns the result.
fn reduce(tid: u32, isMax: bool) -> f32 {
  for (var w = T / 2u; w > 0u; w /= 2u) {
    workgroupBarrier();
    if (tid < w) {
      let a = red[tid];
      let b = red[tid + w];
      red[tid] = select(a + b, max(a, b), isMax);
    }
  }
  workgroupBarrier();
  let result = red[0];
  workgroupBarrier();
  return result;
}

@compute @workgroup_size(T, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid = lid.x;
  for (var row = wg.x; row < params.chunkRows; row += nwg.x) {
    let base = row * params.seqK;
    var mx = MASKED;
    for (var j = tid; j < params.seqK; j += T) { mx = max(mx, s[base + j]); }
    red[tid] = mx;
    let sink = ${sink};
    let m = max(reduce(tid, true), sink);
    // The sink's term enters the sum once (invocation 0), not once per invocation.
    var sum = select(0.0, exp(sink - m), sink > MASKED && tid == 0u);
    for (var j = tid; j < params.seqK; j += T) {
      let x = s[base + j];
      // A NaN score makes the row NaN (through the sum), as in the reference.
      sum += select(select(0.0, exp(x - m), x > MASKED), params.nan, isNan(x));
    }
    red[tid] = sum;
    let l = reduce(tid, false);
    let inv = select(select(0.0, 1.0 / l, l > 0.0), params.nan, isNan(l));
    for (var j = tid; j < params.seqK; j += T) {
      let x = s[base + j];
      s[base + j] = select(0.0, exp(x - m) * inv, x > MASKED || isNan(inv));
    }
    if (tid == 0u) {
      let zg = params.headBase + row / params.seqQ;
      lse[zg * params.seqQ + row % params.seqQ] = select(select(params.negInf, m + log(l), l > 0.0), params.nan, isNan(l));
    }
  }
}
`;
  return {
    label: `attention.naive.softmax${sinks ? ' sinks' : ''}`,
    wgsl,
    workgroupSize: [T, 1, 1],
    bindings,
    workgroupBytes: T * 4,
  };
}
