/*
 * `webgpu-attention info`: the adapters this environment offers, their
 * features and the limits the kernels care about, the backend 'auto' picks,
 * and the fused kernel's tile for each head dim on it.
 */
import { tileRows } from '../kernels/forward.js';
import { WebGpuBackend } from '../api/backends.js';
import { chooseForwardTile } from '../kernels/tiles.js';
import { getGpu } from '../runtime/device.js';
import { SUPPORTED_HEAD_DIMS } from '../tensor/shape.js';
import { openBackend, parse } from './args.js';

const LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
] as const;

export async function infoCommand(argv: string[]): Promise<number> {
  const a = parse(argv, { backend: { type: 'string' } });
  const gpu = await getGpu();
  if (!gpu) console.log('WebGPU: not available (no navigator.gpu, and the optional "webgpu" package did not load)');
  for (const power of ['high-performance', 'low-power'] as const) {
    const adapter = await gpu?.requestAdapter({ powerPreference: power });
    if (!adapter) {
      if (gpu) console.log(`adapter (${power}): none`);
      continue;
    }
    const i = adapter.info;
    console.log(`adapter (${power}): ${i.vendor} ${i.device} — ${i.description} [${i.architecture}]`);
    console.log(`  features: ${[...adapter.features].sort().join(', ')}`);
    for (const l of LIMITS) console.log(`  ${l}: ${adapter.limits[l]}`);
  }
  const attn = await openBackend(a.backend);
  console.log(`chosen backend: ${attn.backend} (${attn.adapter.vendor} ${attn.adapter.device})`);
  if (attn.device) console.log(`  device features: ${[...attn.device.features].sort().join(', ') || 'none'}`);
  // Said outright so nobody reads an offered shader-f16 or subgroup-matrix feature as in use.
  console.log('  arithmetic: f32 in every kernel (shader-f16 and subgroup matrices are not used yet: docs/PERF.md, "Tensor cores")');
  if (attn.impl instanceof WebGpuBackend) {
    const runner = attn.impl.runner;
    const tiles = SUPPORTED_HEAD_DIMS.map((d) => {
      const t = chooseForwardTile(d, runner.device.limits, runner.subgroupWidth);
      if (!t) return `D${d}: none fits`;
      const { br, bc } = tileRows(t);
      const opts = [t.shareKv && 'K/V share', t.pInK && 'P in K', t.swizzle && 'swizzled K'].filter(Boolean);
      return `D${d}: ${br}×${bc}${opts.length ? ` (${opts.join(', ')})` : ''}`;
    });
    console.log(`  fused forward tiles (Q rows × keys; subgroup rows ${runner.subgroupWidth ? `up to ${runner.subgroupWidth} wide` : 'off'}): ${tiles.join(', ')}`);
  }
  if (attn.fallbackReason) console.log(`  why not WebGPU: ${attn.fallbackReason}`);
  attn.destroy();
  return 0;
}
