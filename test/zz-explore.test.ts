// TEMPORARY scratch explorer (to be deleted)
import fc from 'fast-check';
import { it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { VerifyCase } from '../src/api/verify.js';
import { runMode, type VerifyMode } from '../src/api/verify-backward.js';
import { VARIANTS } from '../src/api/verify-variants.js';
import { SUPPORTED_HEAD_DIMS, type Layout } from '../src/tensor/shape.js';
/** What decides the generated WGSL, hence what SwiftShader must compile (5–20 s each). */
interface Kernel {
  readonly headDim: number;
  readonly causal: boolean;
  readonly variant?: string;
}

/**
 * The few kernels the CI run draws from on the GPU, so it compiles a bounded set
 * of pipelines; shapes, GQA ratios and layouts are uniforms and vary freely.
 * Only variants without tables: a table's length (slopes per head, ids per key,
 * lengths per batch) is baked into the WGSL, so a table variant compiles anew for
 * most shapes. The long profile and the CPU run draw those too.
 */
const CI_KERNELS: readonly Kernel[] = [
  { headDim: 32, causal: false },
  { headDim: 64, causal: true },
  { headDim: 32, causal: true, variant: 'softcap' },
  { headDim: 64, causal: false, variant: 'or/not' },
];

/** Every head dim, causal or not, any variant or none. */
const anyKernel: fc.Arbitrary<Kernel> = fc.record({
  headDim: fc.constantFrom(...SUPPORTED_HEAD_DIMS),
  causal: fc.boolean(),
  variant: fc.option(fc.constantFrom(...Object.keys(VARIANTS)), { nil: undefined, freq: 2 }),
});

/** Sequence lengths 1–300, with tile edges (multiples of 16, 32, 64 and their neighbours) drawn often. */
const seqLength = fc.oneof(
  fc.integer({ min: 1, max: 300 }),
  fc.constantFrom(1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257),
);

interface FuzzCase {
  readonly c: VerifyCase;
  readonly mode: VerifyMode;
  /** Seed of the case's random inputs and variant tables. */
  readonly dataSeed: number;
}

function caseName(k: Kernel, p: Omit<VerifyCase, 'name'>): string {
  const parts = [`B=${p.batch}`, `Hq=${p.headsQ}`, `Hkv=${p.headsKv}`, `Nq=${p.seqQ}`, `Nk=${p.seqK}`, `D=${k.headDim}`, p.layout];
  if (k.causal) parts.push('causal');
  if (k.variant) parts.push(`variant=${k.variant}`);
  if (p.amplitude !== 1) parts.push(`amplitude=${p.amplitude}`);
  return parts.join(',');
}

function fuzzCase(kernel: fc.Arbitrary<Kernel>): fc.Arbitrary<FuzzCase> {
  return fc
    .record({
      kernel,
      batch: fc.integer({ min: 1, max: 2 }),
      headsKv: fc.integer({ min: 1, max: 3 }),
      gqa: fc.integer({ min: 1, max: 4 }),
      seqQ: seqLength,
      seqK: seqLength,
      layout: fc.constantFrom<Layout>('bhnd', 'bnhd'),
      // Mostly unit inputs; sometimes logits of ±1e2 to ±1e4 (amplitude 170 at D = 64).
      amplitude: fc.oneof({ arbitrary: fc.constant(1), weight: 3 }, { arbitrary: fc.constantFrom(10, 40, 170), weight: 1 }),
      // The forward kernels and the backward pass; the naive pipeline is the baseline, so less often.
      mode: fc.oneof(
        { arbitrary: fc.constant<VerifyMode>('flash'), weight: 2 },
        { arbitrary: fc.constant<VerifyMode>('backward'), weight: 2 },
        { arbitrary: fc.constant<VerifyMode>('naive'), weight: 1 },
      ),
      dataSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    })
    .map(({ kernel: k, gqa, mode, dataSeed, ...p }) => {
      const problem = { ...p, headsQ: p.headsKv * gqa, headDim: k.headDim, causal: k.causal, variant: k.variant };
      return { c: { name: caseName(k, problem), ...problem }, mode, dataSeed };
    });
}


it('explore', async () => {
  const backend = (process.env.EXP_BACKEND ?? 'cpu') as 'cpu' | 'webgpu';
  const attn: Attention = await createAttention({ backend, poisonOutputs: true });
  const seed = Number(process.env.EXP_SEED ?? 1);
  const n = Number(process.env.EXP_N ?? 100);
  const kernels = process.env.EXP_CI ? fc.constantFrom(...CI_KERNELS) : anyKernel;
  const cases = fc.sample(fuzzCase(kernels), { seed, numRuns: n });
  const t0 = performance.now();
  let fails = 0;
  for (const f of cases) {
    const r = await runMode(attn, f.c, f.mode, f.dataSeed);
    if (!r.ok) { fails++; console.log(`FAIL ${backend} ${f.mode} seed=${f.dataSeed} ${JSON.stringify(f.c)} :: ${r.message}`); }
  }
  console.log(`EXPLORED ${cases.length} cases on ${backend}, ${fails} failed, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  attn.destroy();
}, 3_600_000);
