/*
 * Adapter and device acquisition: the browser's navigator.gpu, Node through the
 * optional 'webgpu' package (Dawn, gpu-node.ts), or a GPUDevice the caller
 * already has.
 * The device is created with the adapter's own limits for what the kernels
 * use (workgroup memory, invocations, binding size), since WebGPU's defaults
 * are far below what real GPUs offer.
 */
import { AttentionBackendError } from '../tensor/errors.js';
import type { Caps } from '../kernels/call.js';
// The browser build gets gpu-browser.js here instead (package.json "browser").
import { platformGpu } from './gpu-node.js';
import { isNode } from './platform.js';

/** What the library reports about an adapter (the bench JSON's "adapter"). */
export interface AdapterSummary {
  readonly backend: 'webgpu' | 'cpu';
  readonly vendor: string;
  readonly device: string;
  readonly architecture?: string;
  readonly description?: string;
}

export interface AcquiredDevice {
  readonly device: GPUDevice;
  readonly adapter?: GPUAdapter;
  readonly summary: AdapterSummary;
  /** Optional features that were present and enabled. */
  readonly features: readonly string[];
}

export interface AcquireOptions {
  /** Dawn toggles for Node, e.g. ['enable-dawn-features=allow_unsafe_apis']. */
  readonly dawnFlags?: readonly string[];
  readonly powerPreference?: GPUPowerPreference;
}

/** Limits the kernels benefit from; requested at the adapter's maximum. */
const WANTED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
  // the backward kernels with a variant's tables bind 9 storage buffers (WebGPU's default is 8)
  'maxStorageBuffersPerShaderStage',
] as const;

// subgroup matrices: the tensor-core forward (Dawn offers them with allow_unsafe_apis; kernels/matrix.ts)
const WANTED_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16', 'chromium-experimental-subgroup-matrix'] as const;

/** The GPU entry point of this environment (navigator.gpu, else Dawn in Node), or undefined where none exists. */
export async function getGpu(dawnFlags: readonly string[] = []): Promise<GPU | undefined> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  return platformGpu(dawnFlags);
}

/**
 * The limits the kernels use, at what `adapter` offers: pass them to
 * `adapter.requestDevice({ requiredLimits: requiredLimits(adapter), requiredFeatures: requiredFeatures(adapter) })`
 * so that every call fits (larger tiles, backward with modifier tables, big tensors).
 */
export function requiredLimits(adapter: GPUAdapter): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) limits[name] = adapter.limits[name];
  return limits;
}

/**
 * The limits a kernel program plans with (Caps.limits), from a device's. Every kernel sizes
 * its workgroups by maxComputeInvocationsPerWorkgroup, most as one row of invocations, so it
 * is capped by maxComputeWorkgroupSizeX: a caller's device made with a raised invocation limit
 * but the default 256 along x must not be given 512 in a row (a raw validation error).
 */
export function kernelLimits(l: GPUSupportedLimits): Caps['limits'] {
  return {
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: Math.min(l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX),
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    maxBufferSize: l.maxBufferSize,
  };
}

/** The optional features the library uses where `adapter` offers them (timestamps, subgroups, f16). */
export function requiredFeatures(adapter: GPUAdapter): GPUFeatureName[] {
  return WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
}

/** Requests an adapter and a device with raised limits; throws AttentionBackendError if there is none. */
export async function acquireDevice(opts: AcquireOptions = {}): Promise<AcquiredDevice> {
  const gpu = await getGpu(opts.dawnFlags);
  const inNode = isNode();
  if (!gpu) {
    throw new AttentionBackendError(
      inNode
        ? 'no WebGPU implementation: not a browser with navigator.gpu, and the optional Node package "webgpu" (Dawn) could not be loaded: install it (npm install webgpu, or bun add webgpu)'
        : 'no WebGPU implementation: this browser has no navigator.gpu (WebGPU needs a secure context, https or localhost, and a browser that ships it)',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new AttentionBackendError(
      inNode
        ? 'no WebGPU adapter found (on Linux without a GPU, install a Vulkan driver such as SwiftShader and set VK_ICD_FILENAMES)'
        : 'no WebGPU adapter found: the browser has WebGPU but offers no adapter (WebGPU turned off, or this GPU or driver blocklisted; chrome://gpu says which in Chromium)',
    );
  }
  const features = requiredFeatures(adapter);
  const device = await adapter.requestDevice({ label: 'webgpu-attention', requiredLimits: requiredLimits(adapter), requiredFeatures: features });
  return { device, adapter, summary: summarize(adapter.info), features };
}

/** Wraps a caller's device; its limits are whatever the caller requested. */
export function wrapDevice(device: GPUDevice): AcquiredDevice {
  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return {
    device,
    summary: summarize(info),
    features: WANTED_FEATURES.filter((f) => device.features.has(f)),
  };
}

function summarize(info: GPUAdapterInfo | undefined): AdapterSummary {
  return {
    backend: 'webgpu',
    vendor: info?.vendor || 'unknown',
    device: info?.device || info?.description || 'unknown',
    architecture: info?.architecture || undefined,
    description: info?.description || undefined,
  };
}
