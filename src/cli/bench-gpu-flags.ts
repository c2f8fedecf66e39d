/*
 * bench's flags that need WebGPU (--tune, --backward, and those that steer the kernels: tiles,
 * key splits, the decode and tensor-core kernels, per-kernel times): checked before a device
 * opens where the flags alone say they cannot apply, and again once the backend is known ('auto'
 * may have fallen back to the CPU, which has none of these kernels). A flag that would be
 * ignored is a usage error, never silence.
 */
import type { BackwardTile, DType, ForwardTile, MatrixTile } from '../api/options.js';
import { benchTileError } from '../harness/bench-check.js';
import { UsageError } from './args.js';

/** The flags of WebGPU kernels, as the command line spells them. */
const GPU_FLAGS = ['tile', 'dq-tile', 'key-splits', 'decode-kernel', 'tensor-cores', 'step-times'] as const;

/** Those of `a` given (a boolean one when set; 'off' asks for what the CPU does anyway). */
function given(a: Readonly<Record<string, unknown>>): string[] {
  return GPU_FLAGS.filter((f) => a[f] !== undefined && a[f] !== false && a[f] !== 'off').map((f) => `--${f}`);
}

/** The flags' own checks, before a device opens. */
export function checkGpuFlags(
  a: Readonly<Record<string, unknown>>,
  p: { tile?: ForwardTile; dqTile?: BackwardTile; tensorCores?: boolean | MatrixTile; dtypes: readonly DType[]; headDims: readonly number[] },
): void {
  if (a.backend === 'cpu') checkGpuBackend('cpu', a);
  for (const d of p.headDims) {
    // With --backward, --tile is the backward passes' tile.
    const why = p.tile && benchTileError(d, p.tile, a.backward === true);
    if (why) throw new UsageError(`--tile ${String(a.tile)} cannot run at head dim ${d}: ${why}`);
    const dqWhy = p.dqTile && benchTileError(d, p.dqTile, true);
    if (dqWhy) throw new UsageError(`--dq-tile ${String(a['dq-tile'])} cannot run at head dim ${d}: ${dqWhy}`);
  }
  const forced = p.tensorCores !== undefined && p.tensorCores !== false;
  const notHalf = p.dtypes.filter((t) => t !== 'f16');
  if (forced && notHalf.length)
    throw new UsageError(
      `--tensor-cores ${String(a['tensor-cores'])} forces the f16 tensor-core kernel: --dtype ${notHalf.join(',')} cannot run there (use --dtype f16)`,
    );
}

/** Once the backend is known (and before, for --backend cpu): tuning, the timed backward and the kernels' flags need WebGPU. */
export function checkGpuBackend(backend: string, a: Readonly<Record<string, unknown>>): void {
  if (backend === 'webgpu') return;
  if (a.tune) throw new UsageError('--tune needs the webgpu backend (tiles are a GPU matter)');
  if (a.backward) throw new UsageError('--backward needs the webgpu backend (the CPU backend has no timed backward)');
  const flags = given(a);
  if (flags.length) {
    throw new UsageError(
      `${flags.join(', ')} ${flags.length > 1 ? 'steer' : 'steers'} the WebGPU kernels: the ${backend} backend has none of them${a.backend === 'cpu' ? '' : ' (--backend auto fell back to the CPU)'}`,
    );
  }
}
