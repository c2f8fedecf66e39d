/*
 * `webgpu-attention info`: the adapters this environment offers, their
 * features and the limits the kernels care about, the backend 'auto' picks,
 * and the fused kernel's tile for each head dim on it.
 */
import { describeAdapters, describeTiles, dtypeTiers } from '../harness/info.js';
import { backend, openBackend, parse } from './args.js';

export async function infoCommand(argv: string[]): Promise<number> {
  const a = parse(argv, { backend: { type: 'string' } });
  const b = backend(a.backend); // checked before the adapters are probed
  for (const line of await describeAdapters()) console.log(line);
  const attn = await openBackend(b, undefined, true);
  console.log(`chosen backend: ${attn.backend} (${attn.adapter.vendor} ${attn.adapter.device})`);
  if (attn.device) console.log(`  device features: ${[...attn.device.features].sort().join(', ') || 'none'}`);
  // Said outright so nobody reads an offered shader-f16 or subgroup-matrix feature as in use.
  const tiers = dtypeTiers(attn);
  const f16 = {
    'f16-values': 'f16 values held in f32, results rounded to f16',
    'f16-shader': 'f16 tier f16-shader: packed pairs in memory, the fused forward keeps f16 workgroup tiles (shader-f16), products and softmax in f32',
    'f16-storage': `f16 tier f16-storage: packed pairs in memory, computed in f32 (shader-f16 ${tiers.shaderF16 ? 'offered but off' : 'not offered'} here)`,
  }[tiers.f16];
  console.log(`  dtypes: f32; ${f16}`);
  const tc =
    tiers.tensorCores === 'none'
      ? 'not offered or off here'
      : `${tiers.tensorCores} subgroup matrices for f16 forwards and backwards without modifiers (every product; softmax terms in f32)`;
  if (attn.backend === 'cpu') console.log('  arithmetic: f32 products and sums on the CPU, spread over worker threads for long calls (no GPU)');
  else console.log(`  arithmetic: f32 products and sums in the SIMT kernels; tensor cores: ${tc} (docs/tensor-cores.md; f16 tiers: docs/PERF.md)`);
  const tiles = describeTiles(attn);
  if (tiles) console.log(`  ${tiles}`);
  if (attn.fallbackReason) console.log(`  why not WebGPU: ${attn.fallbackReason}`);
  attn.destroy();
  return 0;
}
