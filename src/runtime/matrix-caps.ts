/*
 * What a device offers the tensor-core forward (kernels/matrix.ts): Dawn's subgroup
 * matrices (the WebGPU feature 'chromium-experimental-subgroup-matrix', offered where
 * unsafe APIs are allowed) with f16 operands and f32 results, in a shape the kernel
 * takes, on subgroups of one fixed size (the kernel's lane arithmetic is built for it).
 */
import type { MatrixCaps } from '../kernels/matrix-program.js';

/** One subgroup-matrix config as Dawn lists it in GPUAdapterInfo.subgroupMatrixConfigs. */
interface SubgroupMatrixConfig {
  readonly componentType: string;
  readonly resultComponentType: string;
  readonly M: number;
  readonly N: number;
  readonly K: number;
}

/**
 * The shapes and subgroup size the kernel is offered on: only what has run on hardware
 * (NVIDIA's 16×16×16 on subgroups of 32, docs/tensor-cores.md). The kernel itself takes
 * other shapes (16×8×16 ran in bench/tc) and sizes; they wait for a device to check them on.
 */
const SHAPES = [[16, 16, 16]] as const;
const SUBGROUP_SIZE = 32;

/** The emulated matrices of a test run (RunnerOptions.tensorCores 'emulate'). */
export const EMULATED_MATRIX: MatrixCaps = { shape: { m: 16, n: 16, k: 16 }, subgroupSize: 32, emulate: true };

/** The tensor-core caps of `device` (its adapter's `info`), or undefined where it has none usable. */
export function matrixCaps(device: GPUDevice, info: GPUAdapterInfo | undefined): MatrixCaps | undefined {
  const features = ['chromium-experimental-subgroup-matrix', 'shader-f16', 'subgroups'];
  if (!features.every((f) => device.features.has(f))) return undefined;
  const i = info as { subgroupMinSize?: number; subgroupMaxSize?: number; subgroupMatrixConfigs?: Iterable<SubgroupMatrixConfig> } | undefined;
  const size = i?.subgroupMinSize ?? 0;
  if (size !== SUBGROUP_SIZE || size !== i?.subgroupMaxSize) return undefined;
  const configs = [...(i.subgroupMatrixConfigs ?? [])].filter((x) => x.componentType === 'f16' && x.resultComponentType === 'f32');
  const shape = SHAPES.find(([m, n, k]) => configs.some((x) => x.M === m && x.N === n && x.K === k));
  return shape && { shape: { m: shape[0], n: shape[1], k: shape[2] }, subgroupSize: size };
}
