/*
 * Backward verification: for a verify case, run forward (saving LSE), draw a
 * fresh dO, run backward, and compare dQ, dK, dV (and sink and table gradients) with the
 * float64 reference gradients. Tolerance per gradient: 1e-4 of its largest
 * magnitude (float32 lands far under 1e-3 relative), widened by the first-order
 * effect of float32 logit rounding (16 · unit roundoff · max |logit|: P and LSE each
 * carry it) for extreme logits, plus, for dQ and dK, the cancellation in
 * dP − D (two sums of up to D·|dO|·|V| whose difference is tiny when a row's
 * softmax is nearly one-hot): 4 · unit roundoff · D·|dO|·|V| · scale·|K or Q|;
 * plus 1e-6 absolute. f16 cases allow 4 f16 ulps (2⁻⁹) of each gradient's magnitude instead of 1e-4,
 * and their reference takes D = dO·O from the O the forward stored in f16: that rounding
 * is the backward's input, and in the sink and table gradients (sums of P·(dP − D) that
 * cancel) it is no multiple of their size.
 */
import { maskFn, scoreFn } from '../mods/emit-js.js';
import { jsTableTerms, scoreGrad, tableName } from '../mods/grad.js';
import { referenceBackward } from '../reference/backward.js';
import { referenceForward, type HostTensor } from '../reference/forward.js';
import type { Shape4 } from '../tensor/shape.js';
import type { Attention } from '../api/attention.js';
import { freshSeed, rng } from './random.js';
import { bhnd, caseData, compare, F32_ROUNDOFF, maxAbsFinite, runCase, shapeKv, shapeQ, toLayout, type VerifyCase, type VerifyOutcome } from './verify.js';
import { VARIANTS } from './verify-variants.js';

export async function runBackwardCase(attn: Attention, c: VerifyCase, seed = freshSeed()): Promise<VerifyOutcome> {
  const t0 = performance.now();
  const rand = rng(seed);
  const sq = shapeQ(c);
  const skv = shapeKv(c);
  const host = (s: Shape4, amplitude = c.amplitude): HostTensor => caseData(c, s, rand, amplitude);
  const [hq, hk, hv] = [host(sq), host(skv), host(skv)];
  const hdo = host(sq, 1);
  const dims = (s: Shape4) => [s.batch, s.heads, s.seq, s.headDim];
  const tensors = [hq, hk, hv, hdo].map((t) => attn.tensor(t.data as Float32Array, dims(t.shape), { layout: c.layout, dtype: c.dtype ?? 'f32' }));
  const [q, k, v, dOut] = tensors as [(typeof tensors)[0], (typeof tensors)[0], (typeof tensors)[0], (typeof tensors)[0]];
  const nan = { maxAbsErr: NaN, tolerance: NaN, lseErr: NaN, lseTolerance: NaN };
  try {
    const variant = c.variant ? VARIANTS[c.variant]!(c, rand) : {};
    const opts = { causal: c.causal, ...variant };
    const { out, lse } = await attn.forward(q, k, v, { ...opts, returnLse: true });
    const g = await attn.backward(dOut, { q, k, v, out, lse }, opts);
    const [dq, dk, dv, savedOut] = await Promise.all([g.dq.read(), g.dk.read(), g.dv.read(), c.dtype === 'f16' ? out.read() : undefined]);
    [out, lse!, g.dq, g.dk, g.dv].forEach((t) => t.destroy());

    const refOpts = {
      causal: c.causal,
      score: variant.score && scoreFn(variant.score),
      scoreGrad: variant.score && scoreFn(scoreGrad(variant.score)),
      mask: variant.mask && maskFn(variant.mask),
      sinks: variant.sinks?.logits,
      savedOut,
    };
    const ref = referenceBackward(hq, hk, hv, hdo, { ...refOpts, tableTerms: variant.score && jsTableTerms(variant.score) });
    const maxLogit = maxAbsFinite(referenceForward(hq, hk, hv, refOpts).lse);
    // f16 gradients are stored in f16, from an O saved in f16: a few f16 ulps of each gradient.
    const widen = (c.dtype === 'f16' ? 4 * 2 ** -11 : 1e-4) + 16 * F32_ROUNDOFF * maxLogit;
    let worst = { err: 0, tol: 0 };
    const scale = 1 / Math.sqrt(c.headDim);
    const dp = 4 * F32_ROUNDOFF * c.headDim * maxAbsFinite(hdo.data) * maxAbsFinite(hv.data) * scale;
    const checks: [string, Float32Array, Float64Array, Shape4, number][] = [
      ['dQ', dq, ref.dq, sq, dp * maxAbsFinite(hk.data)],
      ['dK', dk, ref.dk, skv, dp * maxAbsFinite(hq.data)],
      ['dV', dv, ref.dv, skv, 0],
    ];
    for (const [name, got, want, shape, cancellation] of checks) {
      const tol = widen * maxAbsFinite(want) + cancellation + 1e-6;
      const cmp = compare(got, want, (i) => toLayout(i, shape, c.layout));
      if (cmp.err / tol > worst.err / Math.max(worst.tol, 1e-30)) worst = { err: cmp.err, tol };
      if (cmp.err > tol) {
        const i = cmp.worst;
        return {
          name: c.name,
          seed,
          ok: false,
          ...nan,
          ms: performance.now() - t0,
          message: `${name}${bhnd(i, shape)}: expected ${want[i]}, got ${got[toLayout(i, shape, c.layout)]} (|err| ${cmp.err} > tol ${tol})`,
        };
      }
    }
    if (ref.dsinks) {
      const tol = widen * maxAbsFinite(ref.dsinks) + 1e-6;
      const cmp = compare(g.dsinks ?? new Float32Array(0), ref.dsinks, (i) => i);
      if (cmp.err > tol) {
        return {
          name: c.name,
          seed,
          ok: false,
          ...nan,
          ms: performance.now() - t0,
          message: `dsinks[${cmp.worst}]: expected ${ref.dsinks[cmp.worst]}, got ${g.dsinks?.[cmp.worst]} (tol ${tol})`,
        };
      }
    }
    for (const [id, want] of ref.dtables ?? []) {
      const got = g.dtables?.[tableName(id)] ?? new Float32Array(0);
      // Each pair's dS carries float32 rounding of order u·(|dP − D|·|logit| + 2D·|dO|·|V|) — the
      // dP − D cancellation of dQ/dK above — which a near-zero table gradient cannot absorb relatively.
      const sc = ref.dtablesScale!;
      const cancel =
        F32_ROUNDOFF * (maxLogit * maxAbsFinite(sc.pd.get(id)!) + 2 * c.headDim * maxAbsFinite(hdo.data) * maxAbsFinite(hv.data) * maxAbsFinite(sc.p.get(id)!));
      const tol = widen * maxAbsFinite(want) + cancel + 1e-6;
      const cmp = compare(got, want, (i) => i);
      if (cmp.err / tol > worst.err / Math.max(worst.tol, 1e-30)) worst = { err: cmp.err, tol };
      if (cmp.err > tol) {
        return {
          name: c.name,
          seed,
          ok: false,
          ...nan,
          ms: performance.now() - t0,
          message: `d${tableName(id)}[${cmp.worst}]: expected ${want[cmp.worst]}, got ${got[cmp.worst]} (tol ${tol})`,
        };
      }
    }
    return { name: c.name, seed, ok: true, maxAbsErr: worst.err, tolerance: worst.tol, lseErr: 0, lseTolerance: 0, ms: performance.now() - t0 };
  } catch (e) {
    return { name: c.name, seed, ok: false, ...nan, ms: performance.now() - t0, message: String(e) };
  } finally {
    tensors.forEach((t) => t.destroy());
  }
}

/** What `verify` checks per case: each forward algorithm, then the backward pass. */
export const VERIFY_MODES = ['flash', 'naive', 'backward'] as const;
export type VerifyMode = (typeof VERIFY_MODES)[number];

/** The modes a case runs in: all, or flash alone for a case that forces a forward kernel or puts inf in V. */
export function caseModes(c: VerifyCase): readonly VerifyMode[] {
  return c.decodeKernel || c.infInV ? ['flash'] : VERIFY_MODES;
}

/** Runs one case in one mode. */
export function runMode(attn: Attention, c: VerifyCase, mode: VerifyMode, seed?: number): Promise<VerifyOutcome> {
  return mode === 'backward' ? runBackwardCase(attn, c, seed) : runCase(attn, c, mode, seed);
}
