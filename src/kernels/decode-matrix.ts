/*
 * The tensor-core decode kernel: the decode kernel's job (few query rows per K/V head over
 * many keys, decode.ts) with both products on the matrix units. The SIMT decode kernel's
 * time followed its instructions per key, not its bytes (docs/PERF.md "Decode kernel v3"):
 * in f16 each key costs ~1800 lane instructions of dots, unpacking and shuffles. Here a
 * 16-key tile of S = Q·Kᵀ is 8 multiply-accumulates of one subgroup (D = 128), read
 * straight from the cache, and so is a tile of P·V: the instructions per key fall ~30×
 * and what is left is the loads.
 *
 * One workgroup per (key range, K/V head, batch entry), SG = D/16 subgroups; its R ≤ 16
 * rows (every query head of the GQA group × Nq) are the rows of one left matrix, the rows
 * past R zero:
 *   Q:   to workgroup memory as f16, unscaled (S is scaled in f32), then D/16 left matrices
 *        per subgroup, held for the range;
 *   S:   subgroup sg takes the range's 16-key tiles sg, sg + SG, …: Kᵀ as D/16 column-major
 *        right matrices straight from storage (all of its tiles' loads issued first), S
 *        through a per-subgroup scratch, the R real rows scaled, masked and kept per key
 *        slot, each row's max by shuffles and a workgroup atomic;
 *   P:   P = exp2(S − max) as f16 (the left matrices of P·V), each row's sum of the rounded
 *        P by shuffles;
 *   PV:  subgroup sg owns O's columns 16·sg … 16·sg + 15: P (left, workgroup) times V
 *        (right, row-major, straight from storage) over every tile of the range;
 *   out: the normalised O part and the row's (max, sum), for split-K's combine.
 *
 * Matrix loads from storage never cross the end of K or V: a load that would is moved
 * whole on the H200 (docs/tensor-cores.md), so a tile whose keys pass the call's last key
 * starts 16 keys before it instead, and its keys before the tile's own start (read twice)
 * are masked. A paged tile lies inside one page (pages hold a multiple of 16 rows); one
 * past the sequence's length reads its last page again, masked. So every tile needs at
 * least 16 keys in K (the plan sends shorter calls to the SIMT kernel).
 *
 * A masked key's P is 0, but 0 · inf is NaN on the matrix units: where an output element
 * comes out non-finite (an inf or NaN V somewhere in the range, or a NaN score), the lane
 * sums it again in f32 from P and V, key by key, skipping keys whose P is 0, as the
 * reference does. Every workgroup variable is a multiple of 16 bytes (docs/tensor-cores.md
 * run 11).
 */
import { FORWARD_PARAMS } from './forward-config.js';
import { emulatedMatrixOps, EMULATED_SUBGROUP, subgroupMatrixOps, type MatrixOps, type MatrixShape } from './matrix-ops.js';
import { PAGES_BINDING, pagedLets, pagedScope } from './paged.js';
import { paramStruct } from './params.js';
import { declareBindings, MASKED, PARAMS_BINDING, type Binding, type KernelSpec } from './spec.js';
import { AUX_BINDING, F16_ROWS, F32_ROWS, FINITE4, IS_NAN, ORDERED_FLOATS, positionLets, positionNames } from './wgsl-common.js';

/** What one tensor-core decode pipeline is built for. */
export interface MatrixDecodeConfig {
  readonly headDim: number;
  /** Query rows per head in the call (Nq). */
  readonly seqQ: number;
  /** Query heads per K/V head (R = pack · seqQ ≤ 16 rows). */
  readonly pack: number;
  readonly causal: boolean;
  /** Keys a range holds at most (C): a multiple of 16 · SG. */
  readonly keys: number;
  readonly shape: MatrixShape;
  readonly subgroupSize: number;
  /** Matrix operations emulated in workgroup memory (tests on adapters without them). */
  readonly emulate?: boolean;
  /** Issue the first V loads before the softmax rather than after it. */
  readonly valuesEarly?: boolean;
  /** Where a position table sits in `aux` (mods/positions.ts), if the call has one. */
  readonly positionsAt?: number;
  /** Paged K/V (kernels/paged.ts): rows per page, a multiple of 16. */
  readonly pageSize?: number;
}

/** V tiles whose loads are in flight together in the P·V phase (64 registers of f16 matrices). */
const VALUES_AHEAD = 16;

/** Sizes that follow from a config. */
export function matrixDecodeSizes(cfg: MatrixDecodeConfig) {
  const D = cfg.headDim;
  const SG = D / 16;
  const tiles = cfg.keys / 16;
  return {
    rows: cfg.pack * cfg.seqQ,
    SG,
    threads: SG * cfg.subgroupSize,
    tiles,
    perSubgroup: tiles / SG, // S tiles of each subgroup
    QSTR: D + 8,
    SSTR: 20,
    PSTR: cfg.keys + 8,
  };
}

/** Why `cfg` cannot build, or undefined. */
export function matrixDecodeProblem(cfg: MatrixDecodeConfig): string | undefined {
  const { shape: s, headDim: D, keys: C } = cfg;
  const { rows, SG } = matrixDecodeSizes(cfg);
  if (s.m !== 16 || s.n !== 16 || s.k !== 16 || cfg.subgroupSize !== 32) return 'it is built for 16×16×16 matrices on subgroups of 32';
  if (D % 16 !== 0) return `head dim ${D} is not a multiple of 16`;
  if (rows > 16) return `${rows} query rows per K/V head exceed a matrix's 16`;
  if (C < 16 * SG || C % (16 * SG) !== 0) return `keys per range ${C} is not a multiple of ${16 * SG} (16 keys per subgroup)`;
  if (cfg.pageSize !== undefined && cfg.pageSize % 16 !== 0) return `pages of ${cfg.pageSize} rows are not a multiple of 16`;
  return undefined;
}

/** Workgroup bytes of a config (with the emulation's scratch where it is emulated). */
export function matrixDecodeWorkgroupBytes(cfg: MatrixDecodeConfig): number {
  const { rows, SG, threads, QSTR, SSTR, PSTR } = matrixDecodeSizes(cfg);
  const e = cfg.emulate ? 4 : 2;
  const emulation = cfg.emulate ? 4 * (SG * 2 * 256 + threads) : 0;
  return 16 * QSTR * e + SG * 16 * SSTR * 4 + rows * cfg.keys * 4 + 16 * PSTR * e + SG * 16 * 4 + 16 * 4 + emulation;
}

/** The tensor-core decode kernel (see the top comment). Binds FORWARD_PARAMS; writes split-K parts. */
export function matrixDecodeKernel(cfg: MatrixDecodeConfig): KernelSpec {
  const problem = matrixDecodeProblem(cfg);
  if (problem) throw new Error(`matrixDecodeKernel: ${problem}`);
  const { SG, threads, QSTR, SSTR, PSTR } = matrixDecodeSizes(cfg);
  const ops = cfg.emulate ? emulatedMatrixOps(cfg.shape, SG, ['k', 'v']) : subgroupMatrixOps(cfg.shape);
  const paged = cfg.pageSize !== undefined;
  const bindings: Binding[] = [
    PARAMS_BINDING,
    { name: 'q', kind: 'read', type: F16_ROWS.type },
    { name: 'k', kind: 'read', type: ops.halfArray },
    { name: 'v', kind: 'read', type: ops.halfArray },
    { name: 'o', kind: 'read_write', type: F32_ROWS.type },
    { name: 'lse', kind: 'read_write', type: 'array<f32>' },
    ...(cfg.positionsAt !== undefined ? [AUX_BINDING] : []),
    ...(paged ? [PAGES_BINDING] : []),
  ];
  const body = mainText(cfg, ops);
  const wgsl = /* wgsl */ `${ops.enables}
${paramStruct('Params', FORWARD_PARAMS)}
${declareBindings(bindings)}
${F16_ROWS.helpers}
${IS_NAN}
${FINITE4}
${ORDERED_FLOATS}
${paged ? pagedScope(cfg.pageSize!) : ''}
// Four f16 elements of V from element i (a multiple of 4), as f32.
fn readV4(i: u32) -> vec4<f32> {
  ${cfg.emulate ? 'return vec4<f32>(unpack2x16float(v[i / 2u]), unpack2x16float(v[i / 2u + 1u]));' : 'return vec4<f32>(f32(v[i]), f32(v[i + 1u]), f32(v[i + 2u]), f32(v[i + 3u]));'}
}

const MASKED = ${MASKED};
var<workgroup> qS: array<${ops.elem}, ${16 * QSTR}>;        // Q, 16 rows (past R zero)
var<workgroup> sS: array<f32, ${SG * 16 * SSTR}>;          // per subgroup: a tile of S, at the end its O block
var<workgroup> sc: array<f32, ${matrixDecodeSizes(cfg).rows * cfg.keys}>; // scores, row-major by key slot
var<workgroup> pS: array<${ops.elem}, ${16 * PSTR}>;        // P, 16 rows (past R zero)
var<workgroup> lsums: array<f32, ${SG * 16}>;              // per subgroup and row: its share of the row's sum
var<workgroup> rowMax: array<atomic<u32>, 16>;
${ops.helpers()}
${body}`;
  const label = [
    'attention.decode.matrix',
    `d${cfg.headDim}`,
    'f16',
    cfg.causal && 'causal',
    cfg.positionsAt !== undefined && 'positions',
    paged && `paged${cfg.pageSize}`,
    `r${matrixDecodeSizes(cfg).rows}`,
    `c${cfg.keys}`,
    cfg.valuesEarly && 'v-early',
    cfg.emulate && 'emulated',
  ];
  return { label: label.filter(Boolean).join(' '), wgsl, workgroupSize: [threads, 1, 1], bindings, workgroupBytes: matrixDecodeWorkgroupBytes(cfg) };
}

const u = (x: number | string) => `${x}u`;
const seq = (n: number) => [...Array(n).keys()];

/** The entry point's text. */
function mainText(cfg: MatrixDecodeConfig, ops: MatrixOps): string {
  const { headDim: D, keys: C, seqQ, pack, causal } = cfg;
  const { rows: R, SG, threads: T, tiles, perSubgroup, QSTR, SSTR, PSTR } = matrixDecodeSizes(cfg);
  const paged = cfg.pageSize !== undefined;
  const pos = positionNames(cfg.positionsAt);
  const causalRow = (r: string) => `i32((${r}) % ${u(seqQ)}) + ${pos.causal}`;
  // Where key row `key` of K or V starts, in f16 elements (the params count 4-half units).
  const rowBase = (w: 'k' | 'v', key: string) =>
    paged
      ? `(pagedRow(pageRow, ${key}, params.${w}sb, params.${w}sn) + hk * params.${w}sh - params.${w}Off) * 4u`
      : `(b * params.${w}sb + hk * params.${w}sh + (${key}) * params.${w}sn - params.${w}Off) * 4u`;
  // The first key a tile starting at `t0` reads (see the top comment: never past the end).
  const tileKey = (t0: string) => (paged ? `min(${t0}, (max(kLen, 1u) - 1u) / 16u * 16u)` : `min(${t0}, params.seqK - 16u)`);
  const ids = cfg.emulate
    ? `@builtin(local_invocation_index) li: u32) {\n  let sg = li / ${u(EMULATED_SUBGROUP)}; let lane = li % ${u(EMULATED_SUBGROUP)};`
    : '@builtin(local_invocation_index) li: u32,\n        @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {';
  const halves = cfg.emulate ? 'unpackHalf4(x)' : 'vec4<f16>(bitcast<vec2<f16>>(x.x), bitcast<vec2<f16>>(x.y))';
  const lanesPerRow = Math.ceil((R * 16) / 32); // S values of a tile each lane keeps (rows lane/16 + 2j)
  const xor = (x: string, masks: number[]) => masks.map((m) => `${x} = ${x} + ${ops.shuffleXor(x, m)};`).join(' ');
  const maxXor = (x: string) => [1, 2, 4, 8].map((m) => `${x} = max(${x}, ${ops.shuffleXor(x, m)});`).join(' ');
  const vRounds = seq(Math.ceil(tiles / VALUES_AHEAD)).map((g) => seq(Math.min(VALUES_AHEAD, tiles - g * VALUES_AHEAD)).map((i) => g * VALUES_AHEAD + i));
  const vLoads = (kks: number[]) =>
    kks
      .map((kk) => `  let v${kk} = ${ops.load('right', 'v', 'row_major', `${rowBase('v', tileKey(`lo + ${u(kk * 16)}`))} + sg * 16u`, 'vStride')};`)
      .join('\n');
  const pvRound = (kks: number[], early: boolean) => `${early ? '' : vLoads(kks)}
${kks.map((kk) => `  acc = ${ops.mma(ops.load('left', 'pS', 'row_major', u(kk * 16), u(PSTR)), `v${kk}`, 'acc')};`).join('\n')}`;
  const early = cfg.valuesEarly ?? false;
  return /* wgsl */ `@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wg: vec3<u32>, ${ids}
  let part = wg.x;
  let hk = wg.y;
  let b = wg.z + params.batchBase;
${positionLets(cfg.positionsAt, 'b')}${paged ? pagedLets('b') : ''}
  // This range's keys [lo, hi): fewer past the sequence's end${causal ? ' and past the last row under causal masking' : ''}.
  let lo = part * params.rangeKeys;
  var hi = min(lo + params.rangeKeys, ${paged ? 'kLen' : 'params.seqK'});
${causal ? `  hi = u32(clamp(${causalRow(u(seqQ - 1))} + 1, i32(lo), i32(max(hi, lo))));\n` : ''}  let kStride = params.ksn * 4u;
  let vStride = params.vsn * 4u;

  // Q's rows (every head of the group) to workgroup memory as f16, the rows past R zero, and P's too.
  for (var e = li; e < ${u((16 * D) / 4)}; e += ${u(T)}) {
    let r = e / ${u(D / 4)}; let c4 = e % ${u(D / 4)};
    var x = vec2<u32>();
    if (r < ${u(R)}) { x = q[b * params.qsb + (hk * ${u(pack)} + r / ${u(seqQ)}) * params.qsh + (r % ${u(seqQ)}) * params.qsn + c4 - params.qOff]; }
    let h4 = ${halves};
    let w = r * ${u(QSTR)} + c4 * 4u;
    qS[w] = h4.x; qS[w + 1u] = h4.y; qS[w + 2u] = h4.z; qS[w + 3u] = h4.w;
  }
  for (var e = li; e < ${u((16 - R) * PSTR)}; e += ${u(T)}) { pS[${u(R * PSTR)} + e] = ${ops.half('0.0')}; }
  if (li < 16u) { atomicStore(&rowMax[li], orderedBits(MASKED)); }
  workgroupBarrier();
${seq(D / 16)
  .map((kd) => `  let qa${kd} = ${ops.load('left', 'qS', 'row_major', u(kd * 16), u(QSTR))};`)
  .join('\n')}

  // S: this subgroup's tiles, every Kᵀ load issued before the first product.
${seq(perSubgroup)
  .map(
    (i) => `  let t${i} = lo + (sg + ${u(i * SG)}) * 16u;
  let key${i} = ${tileKey(`t${i}`)};
  let kb${i} = ${rowBase('k', `key${i}`)};
${seq(D / 16)
  .map((kd) => `  let k${i}_${kd} = ${ops.load('right', 'k', 'col_major', `kb${i} + ${u(kd * 16)}`, 'kStride')};`)
  .join('\n')}`,
  )
  .join('\n')}
  let sOff = sg * ${u(16 * SSTR)};
  var mx: array<f32, ${lanesPerRow}>;
${seq(lanesPerRow)
  .map((j) => `  mx[${j}] = MASKED;`)
  .join('\n')}
${seq(perSubgroup)
  .map(
    (i) => `  {
    var s = ${ops.zero};
${seq(D / 16)
  .map((kd) => `    s = ${ops.mma(`qa${kd}`, `k${i}_${kd}`, 's')};`)
  .join('\n')}
    ${ops.store('sS', 'sOff', 's', u(SSTR))};
    workgroupBarrier();
    // The R real rows, scaled into the log2 frame and masked, to the key slots of tile sg + ${i}·SG.
${seq(lanesPerRow)
  .map(
    (j) => `    {
      let r = lane / 16u + ${u(2 * j)}; let c = lane % 16u;
      let key = key${i} + c;
      if (r < ${u(R)}) {
        let visible = key >= t${i} && key < hi${causal ? ` && i32(key) <= ${causalRow('r')}` : ''};
        let x = select(MASKED, sS[sOff + r * ${u(SSTR)} + c] * params.qkScale, visible);
        sc[r * ${u(C)} + t${i} - lo + c] = x;
        mx[${j}] = max(mx[${j}], x);
      }
    }`,
  )
  .join('\n')}
    workgroupBarrier(); // before the next tile's store overwrites the scratch
  }`,
  )
  .join('\n')}
  // Each row's max: the 16 lanes that hold it, then the subgroups by a workgroup atomic.
${seq(lanesPerRow)
  .map((j) => `  ${maxXor(`mx[${j}]`)}\n  if (lane % 16u == 0u && lane / 16u + ${u(2 * j)} < ${u(R)}) { atomicMax(&rowMax[lane / 16u + ${u(2 * j)}], orderedBits(mx[${j}])); }`)
  .join('\n')}
${early ? `  // The first V tiles' loads, issued before the softmax.\n${vLoads(vRounds[0]!)}` : ''}
  workgroupBarrier();

  // P = exp2(S − max) as f16 (masked keys 0, a NaN score NaN), and each row's sum of the rounded P.
${seq(R)
  .map(
    (r) => `  {
    let m = orderedFloat(atomicLoad(&rowMax[${r}]));
    var ls = 0.0;
    for (var j = li; j < ${u(C)}; j += ${u(T)}) {
      let s = sc[${u(r * C)} + j];
      let ph = ${ops.half(`select(select(0.0, exp2(s - m), s > MASKED), params.nan, isNan(s))`)};
      pS[${u(r * PSTR)} + j] = ph;
      ls += f32(ph);
    }
    ${xor('ls', [1, 2, 4, 8, 16])}
    if (lane == 0u) { lsums[sg * 16u + ${u(r)}] = ls; }
  }`,
  )
  .join('\n')}
  workgroupBarrier();

  // O's columns 16·sg … 16·sg + 15: P·V over the range's tiles.
  var acc = ${ops.zero};
${vRounds.map((kks, g) => pvRound(kks, early && g === 0)).join('\n')}
  ${ops.store('sS', 'sOff', 'acc', u(SSTR))};
  workgroupBarrier();

  // The part: lanes (row, vec4 column) write the normalised O, and subgroup 0 the row's (max, sum).
  for (var e = lane; e < ${u(R * 4)}; e += 32u) {
    let r = e / 4u; let c4 = e % 4u;
    var total = 0.0;
    for (var s = 0u; s < ${u(SG)}; s++) { total += lsums[s * 16u + r]; }
    let at = sOff + r * ${u(SSTR)} + c4 * 4u;
    var x = vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]);
    if (!finite4(x)) {
      // Sum again in f32, skipping keys whose P is 0 (a masked key's inf or NaN V adds nothing).
      x = vec4<f32>(0.0);
      for (var kk = 0u; kk < ${u(tiles)}; kk++) {
        let key0 = ${tileKey('lo + kk * 16u')};
        for (var c = 0u; c < 16u; c++) {
          let p = f32(pS[r * ${u(PSTR)} + kk * 16u + c]);
          if (p != 0.0) { x += p * readV4(${rowBase('v', 'key0 + c')} + sg * 16u + c4 * 4u); }
        }
      }
    }
    let hr = hk * ${u(pack)} + r / ${u(seqQ)};
    let i = r % ${u(seqQ)};
    let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
    o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + sg * 4u + c4 - params.qOff] = x * inv;
    if (sg == 0u && c4 == 0u) {
      let st = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
      lse[st] = orderedFloat(atomicLoad(&rowMax[r]));
      lse[st + 1u] = total;
    }
  }
}
`;
}
