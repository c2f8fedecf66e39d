/*
 * What this device reaches, measured once per device with the probe kernels
 * (kernels/probe.ts): f32 FLOP/s of a pure-FMA kernel and bytes/s of a copy
 * kernel. `bench` divides the floor of each problem — its FLOPs at this rate or
 * its compulsory bytes at this bandwidth, whichever is slower — by the measured
 * time, and prints the ratio as "% of floor".
 */
import { copyProbeKernel, fmaProbeKernel, PROBE_FLOPS_PER_INVOCATION, PROBE_THREADS } from '../kernels/probe.js';
import { prepareDispatch } from './encode.js';
import { getPipeline } from './pipelines.js';
import { timeDispatches } from './timing.js';

export interface DevicePeaks {
  /** f32 FLOP/s of the FMA probe. */
  readonly flops: number;
  /** Device-memory bytes/s (read + write) of the copy probe. */
  readonly bytesPerSecond: number;
}

const cache = new WeakMap<GPUDevice, Promise<DevicePeaks>>();

/** Measured once per device (a second or two on a real GPU, longer on SwiftShader). */
export function devicePeaks(device: GPUDevice): Promise<DevicePeaks> {
  let hit = cache.get(device);
  if (!hit) cache.set(device, (hit = measure(device)));
  return hit;
}

async function measure(device: GPUDevice): Promise<DevicePeaks> {
  const STORAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC
  const fmaGroups = 1024;
  const sink = device.createBuffer({ label: 'probe sink', size: fmaGroups * PROBE_THREADS * 16, usage: STORAGE });
  const fma = fmaProbeKernel();
  const fmaRun = prepareDispatch(device, fma, await getPipeline(device, fma), [sink], [fmaGroups, 1, 1]);
  const tf = await timeDispatches(device, [[fmaRun]], { samples: 3, warmup: 1, minBatchMs: 50 });

  // Large enough to spill any last-level cache (H100: 50 MB), within the binding limit.
  const bytes = Math.min(64 * 2 ** 20, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const vec4s = Math.floor(bytes / 16);
  const groups = Math.ceil(vec4s / PROBE_THREADS);
  const maxWg = device.limits.maxComputeWorkgroupsPerDimension;
  const [src, dst] = ['src', 'dst'].map((n) => device.createBuffer({ label: `probe ${n}`, size: vec4s * 16, usage: STORAGE }));
  const copy = copyProbeKernel();
  const copyRun = prepareDispatch(device, copy, await getPipeline(device, copy), [src!, dst!], [Math.min(groups, maxWg), Math.ceil(groups / maxWg), 1]);
  const tc = await timeDispatches(device, [[copyRun]], { samples: 3, warmup: 1, minBatchMs: 50 });
  [sink, src!, dst!].forEach((b) => b.destroy());
  return {
    flops: (fmaGroups * PROBE_THREADS * PROBE_FLOPS_PER_INVOCATION) / (tf.msMedian * 1e-3),
    bytesPerSecond: (2 * vec4s * 16) / (tc.msMedian * 1e-3),
  };
}
