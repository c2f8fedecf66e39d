/*
 * The browser build's stand-in for threads-node.ts (swapped in by package.json's
 * "browser" field): CPU workers are Web Workers. The `new Worker(new URL(…,
 * import.meta.url), { type: 'module' })` expression is written out in full because
 * that is the pattern bundlers (Vite, webpack, esbuild plugins) recognise to emit
 * the worker entry as its own chunk. Where Worker is missing, or the entry cannot be
 * located (a bundle that did not carry it), the caller runs inline.
 */
import type * as node from './threads-node.js';

export type CpuWorker = node.CpuWorker;

/** A new Web Worker running cpu-worker.js, or undefined where none can start. */
export const spawnCpuWorker: typeof node.spawnCpuWorker = async () => {
  if (typeof Worker !== 'function') return undefined;
  let w: Worker;
  try {
    w = new Worker(new URL('./cpu-worker.js', import.meta.url), { type: 'module' });
  } catch {
    return undefined;
  }
  return {
    post: (m, t) => w.postMessage(m, t as ArrayBuffer[]),
    listen(onMessage, onError) {
      w.onmessage = (e) => onMessage(e.data);
      w.onerror = (e) => onError(new Error(`CPU worker failed: ${e.message || 'could not load cpu-worker.js'}`));
    },
    hold: () => {},
    terminate: () => w.terminate(),
  };
};

/** Threads by default: navigator.hardwareConcurrency. */
export const defaultThreads: typeof node.defaultThreads = async () => (typeof navigator === 'object' && navigator.hardwareConcurrency) || 1;

/** SharedArrayBuffer reaches workers only on a cross-origin-isolated page. */
export const canShareMemory: typeof node.canShareMemory = () =>
  typeof SharedArrayBuffer === 'function' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
