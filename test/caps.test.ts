/*
 * The limits kernel programs plan with (runtime/device.ts kernelLimits): a workgroup is sized
 * by the invocation limit, capped by the size along x, so a caller's device with a raised
 * invocation limit but the default x size never gets a workgroup its pipeline would refuse.
 */
import { describe, expect, it } from 'vitest';
import { kernelLimits } from '../src/runtime/device.js';
import { matrixLayout } from '../src/kernels/matrix-program.js';
import type { Caps } from '../src/kernels/call.js';
import { plannedCall } from './forward-check.js';

const device = (x: number, invocations: number) =>
  ({
    maxComputeWorkgroupStorageSize: 49152,
    maxComputeInvocationsPerWorkgroup: invocations,
    maxComputeWorkgroupSizeX: x,
    maxComputeWorkgroupsPerDimension: 65535,
    minStorageBufferOffsetAlignment: 256,
    maxBufferSize: 2 ** 30,
  }) as GPUSupportedLimits;

describe('kernel limits', () => {
  it('cap the invocations per workgroup by the size along x', () => {
    expect(kernelLimits(device(256, 1024)).maxComputeInvocationsPerWorkgroup).toBe(256);
    expect(kernelLimits(device(1024, 1024)).maxComputeInvocationsPerWorkgroup).toBe(1024);
    expect(kernelLimits(device(1024, 256)).maxComputeInvocationsPerWorkgroup).toBe(256);
  });

  it('keep the tensor-core forward within x: 16 subgroups (512 in a row) where x allows, 8 where it is 256', () => {
    const caps = (x: number): Caps => ({
      limits: kernelLimits(device(x, 1024)),
      maxBindingBytes: 2 ** 27,
      subgroupWidth: 32,
      tuned: new Map(),
      matrix: { shape: { m: 16, n: 16, k: 16 }, subgroupSize: 32 },
    });
    const call = plannedCall([1, 16, 4096, 128], [1, 16, 4096, 128], { dtype: 'f16' });
    expect(matrixLayout(call, caps(1024))?.cfg.subgroups).toBe(16);
    expect(matrixLayout(call, caps(256))?.cfg.subgroups).toBe(8);
  });
});
