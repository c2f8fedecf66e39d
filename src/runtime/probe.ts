/*
 * What this device reaches, measured once per device with the probe kernels
 * (kernels/probe.ts): f32 FLOP/s of a pure-FMA kernel and bytes/s of a copy
 * kernel. `bench` divides the floor of each problem — its FLOPs at this rate or
 * its compulsory bytes at this bandwidth, whichever is slower — by the measured
 * time, and prints the ratio as "% of floor".
 */
import { copyProbeKernel, fmaProbeKernel, PROBE_FLOPS_PER_INVOCATION, PROBE_THREADS } from '../kernels/probe.js';
import type { KernelSpec } from '../kernels/spec.js';
import { encodeDispatches, prepareDispatch } from './encode.js';
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
  const fmaRun = prepareDispatch(device, fma, await getPipeline(device, fma), { sink }, [fmaGroups, 1, 1]);
  const tf = await timeDispatches(device, [[fmaRun]], { samples: 3, warmup: 1, minBatchMs: 50 });

  // Large enough to spill any last-level cache (H100: 50 MB), within the binding limit.
  const bytes = Math.min(64 * 2 ** 20, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const vec4s = Math.floor(bytes / 16);
  const groups = Math.ceil(vec4s / PROBE_THREADS);
  const maxWg = device.limits.maxComputeWorkgroupsPerDimension;
  const [src, dst] = ['src', 'dst'].map((n) => device.createBuffer({ label: `probe ${n}`, size: vec4s * 16, usage: STORAGE }));
  const copy = copyProbeKernel();
  const copyRun = prepareDispatch(device, copy, await getPipeline(device, copy), { src: src!, dst: dst! }, [
    Math.min(groups, maxWg),
    Math.ceil(groups / maxWg),
    1,
  ]);
  const tc = await timeDispatches(device, [[copyRun]], { samples: 3, warmup: 1, minBatchMs: 50 });
  [sink, src!, dst!].forEach((b) => b.destroy());
  return {
    flops: (fmaGroups * PROBE_THREADS * PROBE_FLOPS_PER_INVOCATION) / (tf.msMedian * 1e-3),
    bytesPerSecond: (2 * vec4s * 16) / (tc.msMedian * 1e-3),
  };
}

const lanesCache = new WeakMap<GPUDevice, Promise<boolean>>();

/**
 * Whether subgroup lanes follow local_invocation_index (lane = index mod subgroup
 * size) in a 2-D workgroup, as the forward kernel's subgroup reductions assume.
 * Common, not promised by WebGPU: checked once per device on the device itself.
 */
export function subgroupLanesFollowIndex(device: GPUDevice): Promise<boolean> {
  let hit = lanesCache.get(device);
  if (!hit) lanesCache.set(device, (hit = checkLanes(device).catch(() => false)));
  return hit;
}

async function checkLanes(device: GPUDevice): Promise<boolean> {
  if (!device.features.has('subgroups')) return false;
  const n = 16 * 16;
  const bindings = [{ name: 'bad', kind: 'read_write', type: 'array<u32>' } as const];
  const spec = {
    label: 'probe.subgroup-lanes',
    wgsl: /* wgsl */ `enable subgroups;
@group(0) @binding(0) var<storage, read_write> bad: array<u32>;
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  bad[tid] = select(1u, 0u, lane == tid % size);
}`,
    workgroupSize: [16, 16, 1] as const,
    bindings,
    workgroupBytes: 0,
  };
  return new Uint32Array(await runOnce(device, spec, n * 4)).every((x) => x === 0);
}

/** Runs a one-workgroup kernel whose single binding is its output of `bytes`, and reads the output back. */
async function runOnce(device: GPUDevice, spec: KernelSpec, bytes: number): Promise<ArrayBuffer> {
  const buf = device.createBuffer({ label: `${spec.label} out`, size: bytes, usage: 0x80 | 0x04 });
  const read = device.createBuffer({ label: `${spec.label} readback`, size: bytes, usage: 0x01 | 0x08 });
  try {
    const d = prepareDispatch(device, spec, await getPipeline(device, spec), { [spec.bindings[0]!.name]: buf }, [1, 1, 1]);
    const enc = device.createCommandEncoder({ label: spec.label });
    encodeDispatches(enc, [d]);
    enc.copyBufferToBuffer(buf, 0, read, 0, bytes);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(0x0001);
    const out = read.getMappedRange().slice(0);
    read.unmap();
    return out;
  } finally {
    [buf, read].forEach((b) => b.destroy());
  }
}

/**
 * A device that computes wrong results (Dawn's null backend returns zeros; a broken
 * driver may too) is caught here, at creation, instead of producing plausible garbage:
 * one small kernel with arithmetic, exp, workgroup memory and a barrier, checked
 * against the same values computed on the host. Returns undefined, or what is wrong.
 */
export async function selfTest(device: GPUDevice): Promise<string | undefined> {
  const n = 64;
  const bindings = [{ name: 'out', kind: 'read_write', type: 'array<f32>' } as const];
  const spec = {
    label: 'self-test',
    wgsl: /* wgsl */ `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
var<workgroup> tile: array<f32, ${n}>;
@compute @workgroup_size(${n}, 1, 1)
fn main(@builtin(local_invocation_index) i: u32) {
  tile[i] = fma(f32(i), 0.5, 1.0);
  workgroupBarrier();
  out[i] = tile[${n - 1}u - i] + exp(-f32(i) / 16.0);
}`,
    workgroupSize: [n, 1, 1] as const,
    bindings,
    workgroupBytes: n * 4,
  };
  const got = new Float32Array(await runOnce(device, spec, n * 4));
  for (let i = 0; i < n; i++) {
    const want = (n - 1 - i) * 0.5 + 1 + Math.exp(-i / 16);
    if (!(Math.abs(got[i]! - want) <= 1e-5 * want)) return `element ${i} is ${got[i]}, expected ${want}`;
  }
  return undefined;
}
