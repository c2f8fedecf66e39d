/*
 * What `info` reports beyond the public API: the adapters WebGPU offers with
 * the features and limits the kernels care about, and the fused forward's tile
 * for each head dim on an Attention's device.
 */
import type { Attention } from '../api/attention.js';
import { getGpu, gpuSeam } from '../api/internal.js';
import { tileRows, type ForwardTile } from '../kernels/forward.js';
import { chooseForwardTile } from '../kernels/tiles.js';
import type { MatrixCaps } from '../kernels/matrix-program.js';
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

/** How f16 calls compute: see dtypeTiers. */
export type F16Tier = 'f16-storage' | 'f16-shader' | 'f16-values';

/**
 * How each dtype computes on `attn`'s backend (info and bench JSON). f16 on WebGPU:
 * 'f16-storage' on every adapter (packed pairs in device memory, widened to f32 at load),
 * 'f16-shader' where the device has shader-f16 and `shaderF16` is not off (the fused
 * forward also keeps its workgroup tiles in f16; products and softmax stay f32 — on the
 * H200 f16 FMAs run at the f32 rate, so f16's gain is bytes and workgroup memory, docs/PERF.md).
 * The CPU holds f16 tensors' values in f32 arrays and rounds its f16 results ('f16-values').
 */
export function dtypeTiers(attn: Attention): { f32: 'f32'; f16: F16Tier; shaderF16: boolean; tensorCores: string } {
  const shaderF16 = Boolean(attn.device?.features.has('shader-f16'));
  if (attn.backend === 'cpu') return { f32: 'f32', f16: 'f16-values', shaderF16, tensorCores: 'none' };
  const caps = gpuSeam(attn)?.caps;
  return { f32: 'f32', f16: caps?.halfTiles ? 'f16-shader' : 'f16-storage', shaderF16, tensorCores: tensorCoreTier(caps?.matrix) };
}

/**
 * What f16 forwards get of the matrix units (kernels/matrix.ts): 'none', or the
 * subgroup-matrix shape ('16x16x16 f16→f32'), 'emulated' for the testing aid.
 */
function tensorCoreTier(m: MatrixCaps | undefined): string {
  if (!m) return 'none';
  return `${m.shape.m}x${m.shape.n}x${m.shape.k} f16→f32${m.emulate ? ' emulated' : ''}`;
}

/** The fused forward's default tile per head dim on `attn`'s device, or undefined on the CPU. */
export function describeTiles(attn: Attention): string | undefined {
  const gpu = gpuSeam(attn);
  if (!gpu) return undefined;
  const { limits, subgroupWidth, halfTiles } = gpu.caps;
  const describe = (t: ForwardTile | undefined) => {
    if (!t) return 'none fits';
    const { br, bc } = tileRows(t);
    const opts = [t.shareKv && 'K/V share', t.pInK && 'P in K', t.swizzle && 'swizzled K'].filter(Boolean);
    return `${br}×${bc}${opts.length ? ` (${opts.join(', ')})` : ''}`;
  };
  const tiles = SUPPORTED_HEAD_DIMS.map((d) => {
    const plain = describe(chooseForwardTile(d, limits, subgroupWidth));
    // The f16-shader tier's f16 workgroup tiles, where they buy a larger tile (kernels/tile-policy.ts).
    const half = halfTiles ? describe(chooseForwardTile(d, limits, subgroupWidth, Infinity, true)) : plain;
    return `D${d}: ${plain}${half === plain ? '' : `, f16 ${half}`}`;
  });
  return `fused forward tiles (Q rows × keys; subgroup rows ${subgroupWidth ? `up to ${subgroupWidth} wide` : 'off'}): ${tiles.join(', ')}`;
}
