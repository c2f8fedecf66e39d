/*
 * Verification against the float64 reference: the named grid of cases the CLI's
 * `verify` and the test suite both run. One control case, then one axis varied
 * at a time (sequence lengths, Nq ≠ Nk, head dims, GQA ratios, causal, layout,
 * extreme logits, batch), then a few combinations.
 *
 * Tolerance (DESIGN.md): at most 2× the error of a plain float32 naive
 * computation against float64, plus 1e-6 absolute. "The error" is the larger of
 * the one measured on this input and the first-order error that rounding the
 * logits to float32 can cause (unit roundoff × max |logit| × max |V|): with
 * logits of 1e4 the measured one swings by 100× between seeds, depending on how
 * near the top scores of a row happen to tie, and one lucky draw must not set a
 * bar that correct arithmetic fails on the next. Rows with every key masked
 * must be exactly O = 0, LSE = −∞. Outputs are poisoned (NaN) before the run
 * on the GPU, and any NaN fails.
 *
 * f16 cases (inputs rounded to f16, O stored in f16) follow FlashAttention's rule:
 * O's error at most 3× that of naive attention run in f16 (S, P and O stored in
 * f16, f32 arithmetic: reference precision 'f16'), which each line reports beside
 * it; LSE is f32 and keeps the rule above.
 */
import { roundToHalf, type DType } from '../tensor/half.js';
import { maskFn, scoreFn } from '../mods/emit-js.js';
import { referenceForward, type HostTensor } from '../reference/forward.js';
import { VARIANTS } from './verify-variants.js';
import type { Layout, Shape4 } from '../tensor/shape.js';
import type { Problem } from '../tensor/validate.js';
import type { Attention } from '../api/attention.js';
import { gpuSeam } from '../api/internal.js';
import type { Algorithm, ForwardOptions } from '../api/options.js';
import { freshSeed, randomData, rng } from './random.js';

export interface VerifyCase extends Problem {
  readonly name: string;
  readonly causal: boolean;
  readonly layout: Layout;
  /** Inputs uniform in ±amplitude (large values give logits of ±1e4). */
  readonly amplitude: number;
  /** A variant from VARIANTS (verify-variants.ts). */
  readonly variant?: string;
  /** Element type of Q, K, V, O (default 'f32'). */
  readonly dtype?: DType;
  /**
   * The flash forward forced onto the subgroup decode kernel (decode-warp.ts), which needs
   * 32-lane subgroups: such a case runs in flash mode only, and only where the device has them
   * (notRunHere); its shape also runs unforced, on whichever kernel the call gets.
   */
  readonly decodeKernel?: 'subgroups';
  /**
   * V of every head's last key is +inf in column 0: under causal masking the rows that cannot
   * see that key must stay finite and exact (P = 0 adds nothing, not 0 · inf = NaN), and the rows
   * that see it come out non-finite there (inf or NaN: what the library promises). Flash only.
   */
  readonly infInV?: boolean;
}

const CONTROL: VerifyCase = {
  name: 'control',
  batch: 1,
  headsQ: 2,
  headsKv: 2,
  seqQ: 64,
  seqK: 64,
  headDim: 64,
  causal: false,
  layout: 'bhnd',
  amplitude: 1,
};

function vary(name: string, change: Partial<VerifyCase>): VerifyCase {
  return { ...CONTROL, ...change, name };
}

/** The named grid. */
export function verifyCases(): VerifyCase[] {
  const cases: VerifyCase[] = [CONTROL];
  for (const n of [1, 17, 127, 129]) cases.push(vary(`seq=${n}`, { seqQ: n, seqK: n }));
  cases.push(vary('seqQ=17,seqK=129', { seqQ: 17, seqK: 129 }));
  cases.push(vary('seqQ=129,seqK=17', { seqQ: 129, seqK: 17 }));
  for (const d of [32, 80, 96, 128, 256]) cases.push(vary(`headDim=${d}`, { headDim: d, seqQ: 33, seqK: 47 }));
  for (const g of [2, 4, 8]) cases.push(vary(`gqa=${g}`, { headsQ: 8, headsKv: 8 / g }));
  cases.push(vary('causal', { causal: true }));
  cases.push(vary('layout=bnhd', { layout: 'bnhd', headsQ: 4, headsKv: 2 }));
  // ±1e4 logits: q·k·scale ≈ amplitude²/3 in spread at D=64.
  cases.push(vary('logits=1e4', { amplitude: 170 }));
  cases.push(vary('batch=3', { batch: 3 }));
  // Combinations; seqQ > seqK under causal leaves the first rows with no visible key.
  cases.push(vary('causal,seqQ=129,seqK=17', { causal: true, seqQ: 129, seqK: 17 }));
  cases.push(vary('causal,seqQ=17,seqK=129', { causal: true, seqQ: 17, seqK: 129 }));
  cases.push(vary('causal,gqa=4,bnhd,seq=127', { causal: true, headsQ: 8, headsKv: 2, layout: 'bnhd', seqQ: 127, seqK: 127 }));
  cases.push(vary('causal,headDim=256,seq=129', { causal: true, headDim: 256, seqQ: 129, seqK: 129 }));
  cases.push(vary('causal,headDim=80,batch=2,seq=100', { causal: true, headDim: 80, batch: 2, seqQ: 100, seqK: 100 }));
  // Variants: one case per built-in and combination, at a ragged multi-tile size.
  for (const name of Object.keys(VARIANTS)) {
    cases.push(vary(`variant=${name}`, { variant: name, batch: 2, headsQ: 4, headsKv: 2, seqQ: 77, seqK: 77 }));
  }
  cases.push(
    vary('variant=document∧causal∧window,gqa=4,causal,seqQ=50,seqK=90', {
      variant: 'document∧causal∧window',
      headsQ: 8,
      headsKv: 2,
      causal: true,
      seqQ: 50,
      seqK: 90,
    }),
  );
  cases.push(vary('variant=alibi,headDim=128,bnhd', { variant: 'alibi', headDim: 128, layout: 'bnhd', seqQ: 70, seqK: 70 }));
  // f16 tensors: the control and the axes where storage could go wrong (offsets, strides, splits, packing).
  const f16 = (name: string, change: Partial<VerifyCase>) => cases.push(vary(name ? `f16,${name}` : 'f16', { ...change, dtype: 'f16' }));
  f16('', {});
  f16('causal,gqa=4', { causal: true, headsQ: 8, headsKv: 2 });
  f16('seqQ=129,seqK=17', { seqQ: 129, seqK: 17 });
  f16('headDim=128,bnhd,batch=2', { headDim: 128, layout: 'bnhd', batch: 2, seqQ: 70, seqK: 70 });
  f16('decode,gqa=4,seqK=700', { headsQ: 8, headsKv: 2, seqQ: 1, seqK: 700 });
  // The subgroup decode kernel's shapes (D = 128, ≤ 8 rows): ranges of several chunks, a partial last
  // chunk, causal rows and ±1e4 logits through the online rescale; each also forced onto that kernel
  // (small calls run on decode.ts by default), where the device has it.
  const gqa4 = { headsQ: 8, headsKv: 2, headDim: 128 };
  const decodeShapes: [string, Partial<VerifyCase>][] = [
    ['decode,gqa=4,seqK=3000,headDim=128', { ...gqa4, seqQ: 1, seqK: 3000 }],
    ['decode,causal,gqa=4,seqQ=2,seqK=1500,headDim=128,logits=1e4', { ...gqa4, causal: true, seqQ: 2, seqK: 1500, amplitude: 170 }],
  ];
  for (const [name, change] of decodeShapes) f16(name, change);
  for (const [name, change] of decodeShapes) f16(`${name},kernel=subgroups`, { ...change, decodeKernel: 'subgroups' });
  // Its other row counts (group × Nq): 1, 2, and odd ones, halved with a padding row (f32 and f16).
  const rowCounts: [string, Partial<VerifyCase>][] = [
    ['decode,seqK=1000,headDim=128,kernel=subgroups', { headsQ: 2, headsKv: 2, seqQ: 1, seqK: 1000, headDim: 128 }],
    ['decode,gqa=2,seqK=1000,headDim=128,kernel=subgroups', { headsQ: 4, headsKv: 2, seqQ: 1, seqK: 1000, headDim: 128 }],
    ['decode,gqa=7,seqK=2000,headDim=128,kernel=subgroups', { headsQ: 7, headsKv: 1, seqQ: 1, seqK: 2000, headDim: 128 }],
    ['decode,causal,seqQ=3,seqK=900,headDim=128,kernel=subgroups', { headsQ: 2, headsKv: 2, causal: true, seqQ: 3, seqK: 900, headDim: 128 }],
  ];
  for (const [name, change] of rowCounts) f16(name, { ...change, decodeKernel: 'subgroups' });
  cases.push(
    vary('decode,gqa=3,seqK=1000,headDim=128,kernel=subgroups', { headsQ: 6, headsKv: 2, seqQ: 1, seqK: 1000, headDim: 128, decodeKernel: 'subgroups' }),
  );
  // A V of +inf behind the causal mask: its rescue pass (the subgroup kernel walks a range again
  // where its sums came out non-finite) as well as the barrier kernel's guard.
  const infV = { ...gqa4, causal: true, seqQ: 2, seqK: 1500, infInV: true };
  f16('decode,causal,gqa=4,seqQ=2,seqK=1500,headDim=128,inf-v', infV);
  f16('decode,causal,gqa=4,seqQ=2,seqK=1500,headDim=128,inf-v,kernel=subgroups', { ...infV, decodeKernel: 'subgroups' });
  f16('decode,causal,gqa=4,seqQ=3,seqK=300,headDim=128', { causal: true, headsQ: 8, headsKv: 2, seqQ: 3, seqK: 300, headDim: 128 });
  f16('variant=alibi', { variant: 'alibi', batch: 2, headsQ: 4, headsKv: 2, seqQ: 77, seqK: 77 });
  f16('variant=document∧causal∧window', { variant: 'document∧causal∧window', headsQ: 4, headsKv: 2, causal: true, seqQ: 77, seqK: 77 });
  return cases;
}

/** The cases run by `verify --quick`: the control and one per axis. */
export function quickCases(): VerifyCase[] {
  const keep = new Set([
    'control',
    'seq=17',
    'seqQ=129,seqK=17',
    'headDim=80',
    'gqa=4',
    'causal',
    'layout=bnhd',
    'logits=1e4',
    'variant=alibi',
    'variant=document∧causal∧window',
    'variant=learnedSinks+keyPadding',
    'variant=userAlibi',
    'f16',
    'f16,causal,gqa=4',
    'f16,variant=alibi',
  ]);
  return verifyCases().filter((c) => keep.has(c.name));
}

/** Why `attn` cannot run case `c` (a forced kernel this device lacks), or undefined. */
export function notRunHere(attn: Attention, c: VerifyCase): string | undefined {
  if (!c.decodeKernel) return undefined;
  if (attn.backend === 'cpu') return 'the subgroup decode kernel is a WebGPU kernel';
  const lanes = gpuSeam(attn)?.caps.subgroupExact ?? 0;
  return lanes === 32 ? undefined : `the subgroup decode kernel needs 32-lane subgroups; ${lanes ? `${lanes}-lane` : 'no subgroups of one width'} here`;
}

export interface VerifyOutcome {
  readonly name: string;
  readonly ok: boolean;
  readonly seed: number;
  /** Max |O − reference| and its tolerance. */
  readonly maxAbsErr: number;
  readonly tolerance: number;
  /** Max |LSE − reference| and its tolerance. */
  readonly lseErr: number;
  readonly lseTolerance: number;
  /** f16 cases: max |O − reference| of naive attention run in f16 (the tolerance is 3× it). */
  readonly naiveF16Err?: number;
  readonly ms: number;
  /** What went wrong, naming the (b, h, q, d) index, expected and got. */
  readonly message?: string;
}

export function shapeQ(c: VerifyCase): Shape4 {
  return { batch: c.batch, heads: c.headsQ, seq: c.seqQ, headDim: c.headDim };
}
export function shapeKv(c: VerifyCase): Shape4 {
  return { batch: c.batch, heads: c.headsKv, seq: c.seqK, headDim: c.headDim };
}

/** Index (b, h, n, d) of element `flat` of a bhnd-ordered [B, H, N, D] array. */
export function bhnd(flat: number, s: Shape4): string {
  const d = flat % s.headDim;
  const n = Math.floor(flat / s.headDim) % s.seq;
  const h = Math.floor(flat / (s.headDim * s.seq)) % s.heads;
  const b = Math.floor(flat / (s.headDim * s.seq * s.heads));
  return `(b=${b}, h=${h}, q=${n}, d=${d})`;
}

/** Element index into a `layout` array of the bhnd-ordered element `flat`. */
export function toLayout(flat: number, s: Shape4, layout: Layout): number {
  if (layout === 'bhnd') return flat;
  const d = flat % s.headDim;
  const n = Math.floor(flat / s.headDim) % s.seq;
  const h = Math.floor(flat / (s.headDim * s.seq)) % s.heads;
  const b = Math.floor(flat / (s.headDim * s.seq * s.heads));
  return ((b * s.seq + n) * s.heads + h) * s.headDim + d;
}

/**
 * Largest |a − b| over finite reference entries; Infinity if `got` has NaN where ref is finite,
 * or differs where ref is not (with `nonFinite: 'any'`, any non-finite value matches one there).
 */
export function compare(got: Float32Array, ref: Float64Array, at: (i: number) => number, nonFinite: 'exact' | 'any' = 'exact'): { err: number; worst: number } {
  let err = 0;
  let worst = -1;
  for (let i = 0; i < ref.length; i++) {
    const e = ref[i]!;
    const g = got[at(i)]!;
    const alike = nonFinite === 'any' ? !Number.isFinite(g) : Object.is(g, e);
    const diff = Number.isFinite(e) ? Math.abs(g - e) : alike ? 0 : Infinity;
    if (!(diff <= err)) {
      err = Number.isNaN(diff) ? Infinity : diff;
      worst = i;
    }
  }
  return { err, worst };
}

/** Unit roundoff of float32. */
export const F32_ROUNDOFF = 2 ** -24;

/**
 * The float64 reference of a forward call, the plain float32 computation whose error
 * sets tolerances, and with `f16` naive attention run in f16 (the f16 cases' baseline).
 */
export function referencesOf(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  causal: boolean,
  variant: Pick<ForwardOptions, 'score' | 'mask' | 'sinks' | 'queryOffset' | 'keyOffset'>,
  f16 = false,
) {
  const opts = {
    causal,
    queryOffset: variant.queryOffset,
    keyOffset: variant.keyOffset,
    score: variant.score && scoreFn(variant.score),
    mask: variant.mask && maskFn(variant.mask),
    sinks: variant.sinks?.logits,
  };
  return {
    ref: referenceForward(q, k, v, opts),
    ref32: referenceForward(q, k, v, { ...opts, precision: 'f32' }),
    naive16: f16 ? referenceForward(q, k, v, { ...opts, precision: 'f16' }) : undefined,
  };
}

/** Random inputs of a case (uniform in ±amplitude, or ±1), as f16 values for an f16 case. */
export function caseData(c: VerifyCase, s: Shape4, rand: () => number, amplitude = c.amplitude): HostTensor {
  const data = randomData(s.batch * s.heads * s.seq * s.headDim, rand, amplitude);
  return { data: c.dtype === 'f16' ? roundToHalf(data) : data, shape: s, layout: c.layout };
}

/** Largest finite |x| (an LSE bounds its row's largest logit from above). */
export function maxAbsFinite(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i]!)) m = Math.max(m, Math.abs(xs[i]!));
  return m;
}

/** Runs one case on `attn` with `algorithm`, against the float64 reference. */
export async function runCase(attn: Attention, c: VerifyCase, algorithm: Algorithm, seed = freshSeed()): Promise<VerifyOutcome> {
  const t0 = performance.now();
  const rand = rng(seed);
  const sq = shapeQ(c);
  const skv = shapeKv(c);
  const host = (s: Shape4): HostTensor => caseData(c, s, rand);
  const [hq, hk, hv] = [host(sq), host(skv), host(skv)];
  if (c.infInV) {
    for (let bh = 0; bh < skv.batch * skv.heads; bh++) hv.data[toLayout((bh * skv.seq + skv.seq - 1) * skv.headDim, skv, c.layout)] = Infinity;
  }
  const dims = (s: Shape4) => [s.batch, s.heads, s.seq, s.headDim];
  const opts = { layout: c.layout, dtype: c.dtype ?? 'f32' };
  const q = attn.tensor(hq.data as Float32Array, dims(sq), opts);
  const k = attn.tensor(hk.data as Float32Array, dims(skv), opts);
  const v = attn.tensor(hv.data as Float32Array, dims(skv), opts);
  try {
    const variant = c.variant ? VARIANTS[c.variant]!(c, rand) : {};
    const { out, lse } = await attn.forward(q, k, v, { causal: c.causal, algorithm, returnLse: true, decodeKernel: c.decodeKernel, ...variant });
    const [o, l] = await Promise.all([out.read(), lse!.read()]);
    out.destroy();
    lse!.destroy();

    const { ref, ref32, naive16 } = referencesOf(hq, hk, hv, c.causal, variant, c.dtype === 'f16');
    const lseShape: Shape4 = { ...sq, headDim: 1 };
    const base = (a: Float64Array, b: Float64Array) => compare(Float32Array.from(a), b, (i) => i).err;
    const maxLogit = maxAbsFinite(ref.lse);
    const maxV = maxAbsFinite(hv.data);
    const naiveF16Err = naive16 && compare(Float32Array.from(naive16.out), ref.out, (i) => i).err;
    const tol32 = 2 * Math.max(base(ref32.out, ref.out), F32_ROUNDOFF * maxLogit * maxV) + 1e-6;
    const tolO = naiveF16Err === undefined ? tol32 : Math.max(3 * naiveF16Err, tol32);
    const tolL = 2 * Math.max(base(ref32.lse, ref.lse), F32_ROUNDOFF * maxLogit) + 1e-6;
    const cmpO = compare(o, ref.out, (i) => toLayout(i, sq, c.layout), c.infInV ? 'any' : 'exact');
    const cmpL = compare(l, ref.lse, (i) => i);
    const ms = performance.now() - t0;
    const outcome = { name: c.name, seed, maxAbsErr: cmpO.err, tolerance: tolO, lseErr: cmpL.err, lseTolerance: tolL, naiveF16Err, ms };
    if (cmpO.err > tolO) {
      const i = cmpO.worst;
      return {
        ...outcome,
        ok: false,
        message: `O${bhnd(i, sq)}: expected ${ref.out[i]}, got ${o[toLayout(i, sq, c.layout)]} (|err| ${cmpO.err} > tol ${tolO})`,
      };
    }
    if (cmpL.err > tolL) {
      const i = cmpL.worst;
      return { ...outcome, ok: false, message: `LSE${bhnd(i, lseShape)}: expected ${ref.lse[i]}, got ${l[i]} (|err| ${cmpL.err} > tol ${tolL})` };
    }
    return { ...outcome, ok: true };
  } catch (e) {
    const nan = { maxAbsErr: NaN, tolerance: NaN, lseErr: NaN, lseTolerance: NaN };
    return { name: c.name, seed, ok: false, ...nan, ms: performance.now() - t0, message: String(e) };
  } finally {
    [q, k, v].forEach((t) => t.destroy());
  }
}
