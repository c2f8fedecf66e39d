/*
 * The browser build's stand-in for gpu-node.ts (swapped in by package.json's
 * "browser" field): in a page, navigator.gpu is the only WebGPU entry point
 * (device.ts looks there first), so there is nothing else to load. Typed
 * against the Node module so that the two cannot drift apart.
 */
import type { platformGpu as nodePlatformGpu } from './gpu-node.js';

/** No GPU besides navigator.gpu in a browser. */
export const platformGpu: typeof nodePlatformGpu = async () => undefined;
