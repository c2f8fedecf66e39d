/*
 * What `info` reports beyond the public API: the adapters WebGPU offers with
 * the features and limits the kernels care about, and the fused forward's tile
 * for each head dim on an Attention's device.
 */
import type { Attention } from '../api/attention.js';
import { getGpu, gpuSeam } from '../api/internal.js';
import { tileRows } from '../kernels/forward.js';
import { chooseForwardTile } from '../kernels/tiles.js';
import { SUPPORTED_HEAD_DIMS } from '../tensor/shape.js';

const LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
] as const;

/** One line per adapter (high-performance, low-power) with its features and limits. */
export async function describeAdapters(): Promise<string[]> {
  const gpu = await getGpu();
  if (!gpu) return ['WebGPU: not available (no navigator.gpu, and the optional "webgpu" package did not load)'];
  const lines: string[] = [];
  for (const power of ['high-performance', 'low-power'] as const) {
    const adapter = await gpu.requestAdapter({ powerPreference: power });
    if (!adapter) {
      lines.push(`adapter (${power}): none`);
      continue;
    }
    const i = adapter.info;
    lines.push(`adapter (${power}): ${i.vendor} ${i.device} — ${i.description} [${i.architecture}]`);
    lines.push(`  features: ${[...adapter.features].sort().join(', ')}`);
    for (const l of LIMITS) lines.push(`  ${l}: ${adapter.limits[l]}`);
  }
  return lines;
}

/**
 * How each dtype computes on `attn`'s backend (info and bench JSON): f16 is stored as
 * packed pairs and computed in f32 on every adapter ('f16-storage'); the f16-arithmetic
 * tier (shader-f16) is not used — on the H200 f16 FMAs ran at the f32 rate, so it would
 * buy room in workgroup memory only (docs/PERF.md). `shaderF16` says whether the device has the feature.
 */
export function dtypeTiers(attn: Attention): { f32: 'f32'; f16: 'f16-storage' | 'f16-values'; shaderF16: boolean } {
  // The CPU holds f16 tensors' values in f32 arrays and rounds its f16 results.
  return { f32: 'f32', f16: attn.backend === 'cpu' ? 'f16-values' : 'f16-storage', shaderF16: Boolean(attn.device?.features.has('shader-f16')) };
}

/** The fused forward's default tile per head dim on `attn`'s device, or undefined on the CPU. */
export function describeTiles(attn: Attention): string | undefined {
  const gpu = gpuSeam(attn);
  if (!gpu) return undefined;
  const { limits, subgroupWidth } = gpu.caps;
  const tiles = SUPPORTED_HEAD_DIMS.map((d) => {
    const t = chooseForwardTile(d, limits, subgroupWidth);
    if (!t) return `D${d}: none fits`;
    const { br, bc } = tileRows(t);
    const opts = [t.shareKv && 'K/V share', t.pInK && 'P in K', t.swizzle && 'swizzled K'].filter(Boolean);
    return `D${d}: ${br}×${bc}${opts.length ? ` (${opts.join(', ')})` : ''}`;
  });
  return `fused forward tiles (Q rows × keys; subgroup rows ${subgroupWidth ? `up to ${subgroupWidth} wide` : 'off'}): ${tiles.join(', ')}`;
}
