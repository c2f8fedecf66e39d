/*
 * Fused attention forward (FlashAttention-2 style), f32.
 *
 * One workgroup owns BR query rows of one (batch, head). It stages its Q tile in
 * workgroup memory once, then walks the K/V tiles of BC keys (scores are scaled by
 * qkScale = scale·log2 e after the dot product, rounding once like the reference,
 * so the softmax uses exp2):
 *
 *   S   = qkScale·Q Kᵀ                        (each invocation: RM rows × CN keys, keys strided by TX)
 *   m'  = max(m, rowmax(S))           (per-row max through a small workgroup reduction)
 *   P   = exp2(S − m'),  α = exp2(m − m')
 *   l   = α·l + rowsum(P)             (kept per invocation as a partial sum, reduced once at the end)
 *   acc = α·acc + P V                 (each invocation: RM rows × OC vec4 columns)
 *
 * and finally O = acc / l, LSE = (m + log2 l)·ln 2. Nothing N×N touches device memory.
 * Causal tiles entirely above the diagonal are never loaded (the loop stops at kvEnd);
 * the diagonal and ragged last tiles are masked per element.
 *
 * Versions (speed logged in docs/PERF.md):
 *   v1  register-tiled RM×CN scores and RM×4·OC outputs per invocation, Q/K/V/P staged
 *       in workgroup memory, K rows padded by one vec4 against bank conflicts,
 *       optional K/V sharing one staging buffer where workgroup memory is small.
 *       H100: 11.9 TFLOP/s at N=4096 D=64 (about the naive pipeline's 12.8).
 *   v2  the per-invocation loops (rows, keys, output columns, reductions) unrolled
 *       when the WGSL is generated, so every array index is a constant and the
 *       register arrays cannot fall back to local memory. H100: 11.8 (no change:
 *       the driver had unrolled v1 already).
 *   v3  K/V tiles fetched into registers one tile ahead (global latency hidden behind
 *       the current tile's math); explicit fma chains instead of dot() + add.
 *       H100: 18.6 (8×16 invocations), 19.7 (16×16, 4 rows × 2 keys each).
 *   v4  interior tiles (no ragged end, wholly below the causal diagonal) skip the
 *       per-element mask through a workgroup-uniform branch. H100: 21.1 TFLOP/s.
 *   v5  variants: score/mask modifiers emitted from IR, learned sinks in the epilogue,
 *       and a block mask: the K/V loop hops over empty tiles and full tiles skip the
 *       mask modifier.
 *   v6  row max and row sum by subgroup shuffles where a subgroup holds a row.
 *       H100: no change (21.1).
 *   v7  P written into the K buffer once S is done, K rows XOR-swizzled instead of
 *       padded: a 64×64 tile with 4×4 blocks per invocation fits 48 KiB.
 *       H100: 24.2 TFLOP/s at D=64 (+16%), 20.2 at D=128 (+3%).
 *   (v8 rows over 8-lane patches for fewer distinct K/V bytes per warp load: 15%
 *       slower, Q/P bank conflicts; removed.)
 *   v9  split-K: the x dimension runs over (key range, Q tile); `partial` writes each
 *       row's max and denominator for kernels/combine.ts. H100 decoding (1 row ×
 *       32 heads, 8192–32768 keys): 9–17× faster than one range per row.
 *   v10 GQA packing (`pack`): the query heads of one K/V head stacked in a workgroup's
 *       rows. H100 decoding (GQA 32:8): 1.5–2.4× over v9.
 */
import { declareBindings, MASKED, PARAMS_BINDING, type Binding, type KernelSpec } from './spec.js';
import { paramStruct, type ParamLayout } from './params.js';
import { dot4, each, maxOf, sumOf, tileMover } from './codegen.js';

/** Tile shape of the forward kernel. */
export interface ForwardTile {
  /** Invocations along keys / output columns. */
  readonly tx: number;
  /** Invocations along query rows. */
  readonly ty: number;
  /** Query rows per invocation. */
  readonly rm: number;
  /** Keys per invocation per tile. */
  readonly cn: number;
  /** Stage V in the K buffer after S is computed (less workgroup memory, one tile in flight). */
  readonly shareKv: boolean;
  /**
   * Write P into the K buffer once S is computed (one barrier more per tile, no P buffer):
   * frees BR·BC floats of workgroup memory for wider key tiles. Excludes shareKv.
   */
  readonly pInK?: boolean;
  /**
   * K rows unpadded, their vec4 columns XOR-swizzled by the key (d ^ (key mod D4)) against
   * bank conflicts instead of a padding vec4 per row: 1/D4 less K memory. Needs D4 a power of two.
   */
  readonly swizzle?: boolean;
}

export interface ForwardConfig {
  readonly headDim: number;
  readonly causal: boolean;
  readonly tile: ForwardTile;
  /** Attention variant compiled into the kernel (score/mask modifiers, sinks). */
  readonly variant?: KernelVariant;
  /**
   * Row max and row sum by subgroup shuffles instead of workgroup memory. Only when
   * the device has 'subgroups', its subgroups hold whole rows (size ≥ TX, TX a power
   * of two) and lanes follow local_invocation_index (runtime/probe.ts checks).
   */
  readonly subgroups?: boolean;
  /**
   * One key range of a split-K call (runtime/split.ts): instead of LSE, write each row's
   * running max (log2 frame) and denominator as a pair, so the combine pass
   * (kernels/combine.ts) merges the ranges with the same rounding as one pass.
   */
  readonly partial?: boolean;
  /**
   * GQA packing for few query rows (decoding): this many query heads of one K/V head
   * share a workgroup, their rows stacked (row = head in group · Nq + query), so the
   * workgroup reads its K/V once for all of them and fills rows that would be padding.
   * The grid's y runs over K/V heads. Not with score/mask modifiers (they see one head
   * per workgroup); learned sinks are per row.
   */
  readonly pack?: number;
}

/**
 * A variant as the kernels see it: WGSL functions emitted from the modifier IR
 * (mods/emit-wgsl.ts; never user text) and where the learned sinks live.
 */
export interface KernelVariant {
  /** `fn scoreMod(score: f32, b: i32, h: i32, q: i32, kv: i32) -> f32`, applied to the scaled score. */
  readonly scoreFn?: string;
  /** `fn maskMod(b: i32, h: i32, q: i32, kv: i32) -> bool`; false masks the key out. */
  readonly maskFn?: string;
  /** Offset in `aux` of one sink logit per query head, when the variant has learned sinks. */
  readonly sinkOffset?: number;
  /** Whether the modifiers read auxiliary tables (then kernels running them bind `aux`). */
  readonly readsTables: boolean;
  /** The mask comes with a block mask (binding `blocks`): empty tiles skipped, full ones unmasked. */
  readonly blockMask?: boolean;
}

export const FORWARD_PARAMS: ParamLayout = {
  fields: [
    ['seqQ', 'u32'], ['seqK', 'u32'], ['groupSize', 'u32'], ['headsQ', 'u32'],
    ['qkScale', 'f32'], ['causalOffset', 'i32'], ['negInf', 'f32'], ['headBase', 'u32'],
    // strides in vec4 units: batch, head, seq
    ['qsb', 'u32'], ['qsh', 'u32'], ['qsn', 'u32'],
    ['ksb', 'u32'], ['ksh', 'u32'], ['ksn', 'u32'],
    ['vsb', 'u32'], ['vsh', 'u32'], ['vsn', 'u32'],
    ['scale', 'f32'],
    // block mask strides (tiles): batch (0 if the mask ignores b), head (0 if it ignores h), row
    ['bmB', 'u32'], ['bmH', 'u32'], ['bmRow', 'u32'],
    // a NaN from the host: WGSL cannot write one as a constant
    ['nan', 'f32'],
    // A dispatch over part of a problem too large to bind at once (runtime splits it):
    // its first batch and Q tile, and where its bound ranges start (vec4 units; floats for lse).
    ['batchBase', 'u32'], ['tileBase', 'u32'], ['qOff', 'u32'], ['kOff', 'u32'], ['vOff', 'u32'], ['lseOff', 'u32'],
    // Split-K (runtime/split.ts): workgroup x = part · qTiles + Q tile; part p walks keys
    // [p·rangeKeys, (p+1)·rangeKeys) and writes its O and row stats oPart vec4 / statPart floats further on.
    ['qTiles', 'u32'], ['rangeKeys', 'u32'], ['oPart', 'u32'], ['statPart', 'u32'],
  ],
};

const FORWARD_BINDINGS: readonly Binding[] = [
  PARAMS_BINDING,
  { name: 'q', kind: 'read', type: 'array<vec4<f32>>' },
  { name: 'k', kind: 'read', type: 'array<vec4<f32>>' },
  { name: 'v', kind: 'read', type: 'array<vec4<f32>>' },
  { name: 'o', kind: 'read_write', type: 'array<vec4<f32>>' },
  { name: 'lse', kind: 'read_write', type: 'array<f32>' },
];

/** First tile index ≥ start whose block-mask state is not empty, or end. */
export const NEXT_TILE = /* wgsl */ `fn nextTile(row: u32, start: u32, end: u32) -> u32 {
  var t = start;
  loop {
    if (t >= end || blocks[row + t] != 0u) { break; }
    t++;
  }
  return t;
}`;

/**
 * NaN test on the bits: compilers may fold float self-comparisons (x != x) away
 * under a no-NaN assumption; integer compares they must keep.
 */
export const IS_NAN = /* wgsl */ `fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`;

/**
 * LSE in natural units from the log2-frame max m and denominator l: m·ln 2 + ln l,
 * with ln 2 split into an f32 head and tail so the product adds no rounding beyond
 * the scores' own ((m + log2 l)·ln 2 added about 2 ulp of |LSE|, over the bound at |LSE| ≈ 100).
 */
export const LSE_OF = /* wgsl */ `fn lseOf(m: f32, l: f32) -> f32 {
  return fma(m, ${Math.fround(Math.LN2)}, fma(m, ${Math.LN2 - Math.fround(Math.LN2)}, log(l)));
}`;

/** The packed auxiliary tables of a variant (slopes, document ids, sinks, …). */
export const AUX_BINDING: Binding = { name: 'aux', kind: 'read', type: 'array<f32>' };

/** Rows of Q and keys of K/V per workgroup tile. */
export function tileRows(t: ForwardTile): { br: number; bc: number } {
  return { br: t.rm * t.ty, bc: t.cn * t.tx };
}

/** vec4 slots of the K staging buffer (which also holds V when shared, P when pInK). */
function kSlots(headDim: number, t: ForwardTile): number {
  const { br, bc } = tileRows(t);
  const k = bc * (headDim / 4 + (t.swizzle ? 0 : 1));
  return t.pInK ? Math.max(k, (br * bc) / 4) : k;
}

/**
 * Workgroup memory in bytes that a tile shape needs at head dim `headDim`; the row
 * reductions need a buffer only without subgroups.
 */
export function forwardWorkgroupBytes(headDim: number, t: ForwardTile, subgroups = false): number {
  const { br, bc } = tileRows(t);
  const d4 = headDim / 4;
  const q = br * d4;
  const v = t.shareKv ? 0 : bc * d4;
  const p = t.pInK ? 0 : (br * bc) / 4;
  return (q + kSlots(headDim, t) + v + p) * 16 + (subgroups ? 0 : br * t.tx * 4);
}

/** Why a tile's options cannot build at `headDim`, or undefined. */
export function tileOptionsProblem(headDim: number, t: ForwardTile): string | undefined {
  const d4 = headDim / 4;
  if (t.swizzle && (d4 & (d4 - 1)) !== 0) return `the K swizzle needs D/4 a power of two, got ${d4}`;
  if (t.pInK && t.shareKv) return 'P in the K buffer excludes V sharing it';
  return undefined;
}

/** Output vec4 columns each invocation owns. */
function outCols(headDim: number, t: ForwardTile): number {
  return Math.ceil(headDim / 4 / t.tx);
}

/** Floats of accumulator each invocation holds; kept ≤ 64 so nothing spills. */
export function forwardAccFloats(headDim: number, t: ForwardTile): number {
  return t.rm * outCols(headDim, t) * 4;
}

export function forwardKernel(cfg: ForwardConfig): KernelSpec {
  const { headDim, causal, tile: t } = cfg;
  const sg = Boolean(cfg.subgroups);
  if (sg && (t.tx & (t.tx - 1)) !== 0) throw new Error(`forwardKernel: subgroup reductions need TX a power of two, got ${t.tx}`);
  if (headDim % 4 !== 0) throw new Error(`forwardKernel: head dim ${headDim} is not a multiple of 4`);
  const { br, bc } = tileRows(t);
  if (bc % 4 !== 0) throw new Error(`forwardKernel: keys per tile (${bc}) must be a multiple of 4`);
  const pack = cfg.pack ?? 1;
  if (pack > 1 && (cfg.variant?.scoreFn || cfg.variant?.maskFn)) throw new Error('forwardKernel: GQA packing excludes score and mask modifiers');
  // Local row r of this invocation: its packed index, query row, query head, and whether it exists.
  const pr = (r: number) => `(q0 + ty * RM + ${r}u)`;
  const rowQ = (r: number) => (pack > 1 ? `(${pr(r)} % params.seqQ)` : pr(r));
  const rowH = (r: number) => (pack > 1 ? `(hk * ${pack}u + ${pr(r)} / params.seqQ)` : 'h');
  const rowOk = (r: number) => `${pr(r)} < ${pack > 1 ? `${pack}u * params.seqQ` : 'params.seqQ'}`;
  const optionProblem = tileOptionsProblem(headDim, t);
  if (optionProblem) throw new Error(`forwardKernel: ${optionProblem}`);
  const d4 = headDim / 4;
  const oc = outCols(headDim, t);
  // V lives in the K buffer (padded rows) when shared, else in its own dense buffer.
  // Element (key, column) of the K buffer: padded rows, or unpadded rows with swizzled columns.
  const kAt = (key: string, col: string) => (t.swizzle ? `Ks[(${key}) * D4 + ((${col}) ^ ((${key}) & (D4 - 1u)))]` : `Ks[(${key}) * KROW + ${col}]`);
  const vAt = (key: string, col: string) => (t.shareKv ? kAt(key, col) : `Vs[(${key}) * D4 + ${col}]`);
  const pBuf = t.pInK ? 'Ks' : 'Ps';
  const mover = tileMover(bc, t.tx * t.ty, d4);
  const usesAux = cfg.variant && (cfg.variant.readsTables || cfg.variant.sinkOffset !== undefined);
  const blocks = Boolean(cfg.variant?.blockMask && cfg.variant.maskFn);
  const bindings = [
    ...FORWARD_BINDINGS,
    ...(usesAux ? [AUX_BINDING] : []),
    ...(blocks ? [{ name: 'blocks', kind: 'read', type: 'array<u32>' } as const] : []),
  ];
  // A row's max and sum combine the values of its TX invocations: by subgroup shuffles
  // (lanes tid ^ mask of one subgroup) into a register array, or without subgroups
  // through workgroup memory (red: TX values per row, read after a barrier).
  const butterfly = (x: string, op: 'max' | 'add') =>
    Array.from({ length: Math.log2(t.tx) }, (_, i) => 1 << i).reduce(
      (acc, mask) => (op === 'max' ? `max(${acc}, subgroupShuffleXor(${acc}, ${mask}u))` : `${acc} + subgroupShuffleXor(${acc}, ${mask}u)`),
      x,
    );
  const slot = (r: number) => `(ty * RM + ${r}u) * TX`;
  const publish = (r: number, x: string, op: 'max' | 'add', reg: string) =>
    sg ? `${reg}[${r}] = ${butterfly(x, op)};` : `red[${slot(r)} + tx] = ${x};`;
  const gather = (r: number, op: 'max' | 'add', reg: string) =>
    sg ? `${reg}[${r}]` : (op === 'max' ? maxOf : sumOf)(t.tx, (x) => `red[${slot(r)} + ${x}u]`);
  // Per row: scale the scores, mask them if asked, and publish this invocation's row max.
  const v = cfg.variant;
  const modded = Boolean(v?.scoreFn || v?.maskFn);
  const scoreRows = (masked: boolean) =>
    each(t.rm, (r) => `      {${masked ? `\n        let i = i32(${rowQ(r)}) + params.causalOffset;` : ''}${modded ? `\n        let qi = i32(${rowQ(r)});` : ''}
        var mx = MASKED;
${each(t.cn, (c) => {
      const e = `s[${r * t.cn + c}]`;
      const key = `k0 + tx + ${t.tx * c}u`;
      const conds = [
        ...(masked ? [`${key} < params.seqK`, `(!CAUSAL || i32(${key}) <= i)`] : []),
        ...(v?.maskFn ? [blocks ? `(full || maskMod(i32(b), i32(h), qi, i32(${key})))` : `maskMod(i32(b), i32(h), qi, i32(${key}))`] : []),
      ];
      // Modifiers see the natural-units score (scale·q·k); exp2 wants it times log2 e.
      const scaled = v?.scoreFn
        ? `scoreMod(${e} * params.scale, i32(b), i32(h), qi, i32(${key})) * ${Math.LOG2E}`
        : `${e} * params.qkScale`;
      const value = conds.length ? `select(MASKED, ${scaled}, ${conds.join(' && ')})` : scaled;
      return `        ${e} = ${value};\n        mx = max(mx, ${e});`;
    })}
        ${publish(r, 'mx', 'max', 'mxr')}
      }`);
  // Learned sinks join each row's denominator at the end, in the row's running frame.
  // When the sink is the row's frame, LSE starts from the sink logit itself: going through
  // its log2-frame value (logit·log2 e, rounded) would cost up to an ulp of LSE.
  const sinkRow = (r: number) =>
    v?.sinkOffset === undefined
      ? `    let mF = m[${r}];\n    let keep = 1.0;\n    let lF = lt;\n    let lseF = lseOf(mF, lF);`
      : `    let sinkLogit = aux[${v.sinkOffset}u + ${rowH(r)}];
    let sink = sinkLogit * ${Math.LOG2E};
    let mF = max(m[${r}], sink);
    let keep = select(0.0, exp2(m[${r}] - mF), lt > 0.0);
    let lF = lt * keep + exp2(sink - mF);
    let lseF = select(lseOf(mF, lF), sinkLogit + log(lF), mF == sink);`;
  const fetchK = (k0: string) => mover.fetch('kr', 'k', 'kBase', 'params.ksn', k0, 'params.seqK');
  const fetchV = (k0: string) => mover.fetch('vr', 'v', 'vBase', 'params.vsn', k0, 'params.seqK');
  // Output column tx + TX·c may run past D4 when TX does not divide it (e.g. D = 80).
  const guard = (c: number) => ((c + 1) * t.tx <= d4 ? '' : `if (tx + ${t.tx * c}u < D4) `);

  const pvLoop = (guarded: boolean) => `    for (var j4 = 0u; j4 < BC / 4u; j4++) {
${each(t.rm, (r) => `      let pv${r} = ${pBuf}[(ty * RM + ${r}u) * (BC / 4u) + j4];`)}
${each(4, (jj) => each(oc, (c) => `      ${guard(c)}{
        let vv = ${vAt(`j4 * 4u + ${jj}u`, `tx + ${t.tx * c}u`)};
${each(t.rm, (r) => {
    const p = `pv${r}.${'xyzw'[jj]}`;
    const term = guarded ? `select(vec4<f32>(0.0), vv, ${p} != 0.0)` : 'vv';
    return `        acc[${r * oc + c}] = fma(vec4<f32>(${p}), ${term}, acc[${r * oc + c}]);`;
  })}
      }`))}
    }`;

  const wgsl = /* wgsl */ `${sg ? `enable subgroups;
// Every lane of a workgroup runs the same tiles (all branches are workgroup-uniform); the
// analysis cannot see that through the block-mask reads.
diagnostic(off, subgroup_uniformity);
` : ''}
${paramStruct('Params', FORWARD_PARAMS)}

const TX = ${t.tx}u;
const TY = ${t.ty}u;
const RM = ${t.rm}u;
const NT = TX * TY;
const BR = ${br}u;
const BC = ${bc}u;
const D4 = ${d4}u;
const KROW = D4 + 1u;
const CAUSAL = ${causal};
const MASKED = ${MASKED};

${declareBindings(bindings)}
${v?.scoreFn ?? ''}
${v?.maskFn ?? ''}
${blocks ? NEXT_TILE : ''}
${IS_NAN}
${LSE_OF}

var<workgroup> Qs: array<vec4<f32>, ${br * d4}>;
var<workgroup> Ks: array<vec4<f32>, ${kSlots(headDim, t)}>;
${t.shareKv ? '' : `var<workgroup> Vs: array<vec4<f32>, ${bc * d4}>;`}
${t.pInK ? '' : `var<workgroup> Ps: array<vec4<f32>, ${(br * bc) / 4}>;`}
${sg ? '' : `var<workgroup> red: array<f32, ${br * t.tx}>;`}

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let tx = tid % TX;
  let ty = tid / TX;
  let b = wg.z + params.batchBase;
${pack > 1 ? `  let hk = wg.y; // K/V head: its ${pack} query heads' rows are stacked in this workgroup's tiles
  let h = hk * ${pack}u; // the group's first query head (each row has its own: hr)` : '  let h = wg.y + params.headBase;'}
  let part = wg.x / params.qTiles; // key range of a split-K call (0 otherwise)
  let qt = wg.x % params.qTiles + params.tileBase; // Q tile index (a split call starts some dispatches further down)
  let kvLo = part * params.rangeKeys;
  let q0 = qt * BR;
${pack > 1 ? '' : '  let hk = h / params.groupSize;'}
  let kBase = b * params.ksb + hk * params.ksh - params.kOff;
  let vBase = b * params.vsb + hk * params.vsh - params.vOff;

  for (var i = tid; i < BR * D4; i += NT) {
    let pr = q0 + i / D4;
    var x = vec4<f32>(0.0);
    if (pr < ${pack}u * params.seqQ) {
      let hr = ${pack > 1 ? `hk * ${pack}u + pr / params.seqQ` : 'h'};
      x = q[b * params.qsb + hr * params.qsh - params.qOff + ${pack > 1 ? '(pr % params.seqQ)' : 'pr'} * params.qsn + i % D4];
    }
    Qs[i] = x;
  }

  var m: array<f32, RM>;
  var l: array<f32, RM>;
  var acc: array<vec4<f32>, ${t.rm * oc}>;
${each(t.rm, (r) => `  m[${r}] = MASKED;`)}

  // Causal: no key past the one the tile's last row sees is ever loaded.
  var kvEnd = params.seqK;
  if (CAUSAL) { kvEnd = u32(clamp(i32(${pack > 1 ? 'params.seqQ' : 'q0 + BR'}) + params.causalOffset, 0, i32(params.seqK))); }
  kvEnd = min(kvEnd, kvLo + params.rangeKeys);

  // K/V tiles pass through registers: tile t+1 is fetched while tile t is computed.
  var kr: array<vec4<f32>, ${mover.per}>;
  var vr: array<vec4<f32>, ${mover.per}>;
  // With a block mask, empty tiles are never visited: the loop hops to the next non-empty one.
  let blockRow = b * params.bmB + h * params.bmH + qt * params.bmRow;
  let tileEnd = (kvEnd + BC - 1u) / BC;
  var k0 = ${blocks ? 'nextTile(blockRow, kvLo / BC, tileEnd) * BC' : 'kvLo'};
${fetchK('k0')}
${fetchV('k0')}
  loop {
    if (k0 >= kvEnd) { break; }
    let kNext = ${blocks ? 'nextTile(blockRow, k0 / BC + 1u, tileEnd) * BC' : 'k0 + BC'};
    let full = ${blocks ? `blocks[blockRow + k0 / BC] == ${2}u` : 'false'};
    workgroupBarrier();
${mover.stage('kr', kAt)}
${t.shareKv ? '' : mover.stage('vr', vAt)}
    workgroupBarrier();
    if (kNext < kvEnd) {
${fetchK('kNext')}
${t.shareKv ? '' : fetchV('kNext')}
    }

    // S = Q Kᵀ for this invocation's RM rows × CN keys (keys tx + TX·c).
    var s = array<f32, ${t.rm * t.cn}>();
    for (var d = 0u; d < D4; d++) {
${each(t.cn, (c) => `      let kv${c} = ${kAt(`tx + ${t.tx * c}u`, 'd')};`)}
${each(t.rm, (r) => `      let qv${r} = Qs[(ty * RM + ${r}u) * D4 + d];`)}
${each(t.rm * t.cn, (i) => `      s[${i}] = ${dot4(`qv${Math.floor(i / t.cn)}`, `kv${i % t.cn}`, `s[${i}]`)};`)}
    }

    // Scale, mask (only ragged-end and causal-diagonal tiles need it), and this
    // invocation's share of each row max.
    let interior = k0 + BC <= params.seqK && (!CAUSAL || i32(k0 + BC - 1u) <= i32(${pack > 1 ? '0u' : 'q0'}) + params.causalOffset);
${sg ? `    var mxr: array<f32, ${t.rm}>;` : ''}
    if (interior) {
${scoreRows(false)}
    } else {
${scoreRows(true)}
    }
${sg && !t.shareKv && !t.pInK ? '' : '    workgroupBarrier(); // row maxima visible; V or P may go into Ks next, which every invocation has just read'}

    // Online softmax: new row max, rescale l and acc, P to workgroup memory.
${each(t.rm, (r) => `    {
      let mNew = max(m[${r}], ${gather(r, 'max', 'mxr')});
      let alpha = exp2(m[${r}] - mNew);
      m[${r}] = mNew;
      var rowSum = 0.0;
${each(t.cn, (c) => `      {
        let sc = s[${r * t.cn + c}];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + ${t.tx * c}u;
        ${pBuf}[(ty * RM + ${r}u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }`)}
      l[${r}] = l[${r}] * alpha + rowSum;
${each(oc, (c) => `      acc[${r * oc + c}] *= alpha;`)}
    }`)}
${t.shareKv ? mover.stage('vr', vAt) : ''}
${t.shareKv ? `    if (kNext < kvEnd) {\n${fetchV('kNext')}\n    }` : ''}
    workgroupBarrier();

    // acc += P V for this invocation's RM rows × OC vec4 columns (columns tx + TX·c).
    // Where keys can be masked, a masked key's V must not reach the row even when it is
    // inf or NaN (0·inf = NaN would be invented): those tiles skip it explicitly.
    if (${blocks ? 'interior && full' : v?.maskFn ? 'false' : 'interior'}) {
${pvLoop(false)}
    } else {
${pvLoop(true)}
    }
    k0 = kNext;
  }

  // Reduce the partial denominators of each row, then O = acc / l and LSE.
${sg ? `  var lr: array<f32, ${t.rm}>;
${each(t.rm, (r) => `  ${publish(r, `l[${r}]`, 'add', 'lr')}`)}` : `  workgroupBarrier();
${each(t.rm, (r) => `  ${publish(r, `l[${r}]`, 'add', 'lr')}`)}
  workgroupBarrier();`}
${each(t.rm, (r) => `  {
    let i = ${rowQ(r)};
    let hr = ${rowH(r)};
    let lt = ${gather(r, 'add', 'lr')};
${sinkRow(r)}
    if (${rowOk(r)}) {
      let rowBase = b * params.qsb + hr * params.qsh - params.qOff + i * params.qsn;
      // A row with a NaN score keeps its NaN (lF is NaN), like the reference.
      let inv = select(0.0, keep / lF, lF > 0.0 || isNan(lF));
${each(oc, (c) => `      ${guard(c)}{ o[part * params.oPart + rowBase + tx + ${t.tx * c}u] = acc[${r * oc + c}] * inv; }`)}
      if (tx == 0u) {
${cfg.partial ? `        // A part of a split-K call: the row's max (log2 frame) and denominator, for the combine.
        let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
        lse[at] = mF;
        lse[at + 1u] = lF;` : `        lse[(b * params.headsQ + hr) * params.seqQ + i - params.lseOff] =
          select(select(params.negInf, lseF, lF > 0.0), params.nan, isNan(lF));`}
      }
    }
  }`)}
}
`;
  return {
    label: `attention.forward.v10${sg ? ' subgroups' : ''} d${headDim}${causal ? ' causal' : ''}${cfg.variant ? ' variant' : ''}${blocks ? ' blocks' : ''}${cfg.partial ? ' partial' : ''}${pack > 1 ? ` gqa-packed${pack}` : ''} br${br} bc${bc} ${t.tx}x${t.ty}${t.shareKv ? ' sharedKV' : ''}${t.pInK ? ' pInK' : ''}${t.swizzle ? ' swizzle' : ''}`,
    wgsl,
    workgroupSize: [t.tx, t.ty, 1],
    bindings,
    workgroupBytes: forwardWorkgroupBytes(headDim, t, sg),
  };
}
