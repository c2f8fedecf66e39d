/*
 * WebGPU in Node: Dawn through the optional 'webgpu' package. A browser bundle
 * never sees this file: package.json's "browser" field swaps it for
 * gpu-browser.ts, so bundlers meet no 'webgpu' import (whose native addon
 * cannot be bundled). The import stays lazy, behind the process check, so the
 * unbundled dist/ keeps loading in a browser too.
 */
import { isNode } from './platform.js';

const dawnInstances = new Map<string, Promise<GPU | undefined>>();

/**
 * Dawn's GPU entry point with `dawnFlags` (toggles such as
 * 'enable-dawn-features=allow_unsafe_apis'), or undefined outside Node or
 * when the 'webgpu' package cannot be loaded. One Dawn instance per set of
 * flags: a null-backend instance must not serve a later plain call.
 */
export function platformGpu(dawnFlags: readonly string[]): Promise<GPU | undefined> {
  if (!isNode()) return Promise.resolve(undefined);
  const key = dawnFlags.join(' ');
  let gpu = dawnInstances.get(key);
  if (!gpu) dawnInstances.set(key, (gpu = loadDawn(dawnFlags)));
  return gpu;
}

async function loadDawn(dawnFlags: readonly string[]): Promise<GPU | undefined> {
  try {
    const mod = (await import('webgpu' as string)) as {
      create: (flags: string[]) => GPU;
      globals: Record<string, unknown>;
    };
    // Dawn's constants (GPUBufferUsage, …) are globals in browsers; install them once.
    for (const [name, value] of Object.entries(mod.globals)) {
      if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
    }
    return mod.create([...dawnFlags]);
  } catch {
    return undefined;
  }
}
