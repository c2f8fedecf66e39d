/*
 * CPU worker threads in Node: node:worker_threads. A browser bundle never sees
 * this file (package.json's "browser" field swaps in threads-browser.ts). The
 * worker entry (cpu-worker.ts) is written against the Web Worker surface
 * (onmessage, postMessage), so here each thread starts a tiny shim that maps
 * parentPort onto those globals and then imports the entry. The node: import
 * stays lazy so the unbundled dist/ keeps loading in a browser too.
 */
import type { Worker as NodeWorker } from 'node:worker_threads';
import { isDeno, isNode } from '../runtime/platform.js';

/** One started worker, whatever the platform. */
export interface CpuWorker {
  post(message: unknown, transfer: readonly ArrayBuffer[]): void;
  /** Messages from the worker, and its failures (a script that cannot load, a crash). */
  listen(onMessage: (data: unknown) => void, onError: (error: Error) => void): void;
  /** Whether the worker keeps the process alive (Node; idle workers must not). */
  hold(busy: boolean): void;
  terminate(): void;
}

const SHIM = `
const { parentPort, workerData } = require('node:worker_threads');
globalThis.postMessage = (m, t) => parentPort.postMessage(m, t);
parentPort.on('message', (data) => globalThis.onmessage && globalThis.onmessage({ data }));
import(workerData.entry);
`;

/**
 * The worker entry's URL: env WEBGPU_ATTENTION_CPU_WORKER (a path or file URL; tests
 * point it at a bundle of the TypeScript source), else dist/cpu/cpu-worker.js next to
 * this file. Undefined when running from the .ts sources with no built entry.
 */
function entryUrl(): string | undefined {
  const env = process.env.WEBGPU_ATTENTION_CPU_WORKER;
  if (env) return env.startsWith('file:') ? env : new URL(`file://${env.startsWith('/') ? '' : '/'}${env}`).href;
  if (import.meta.url.endsWith('.ts')) return undefined;
  return new URL('./cpu-worker.js', import.meta.url).href;
}

/** A new worker thread running cpu-worker.js, or undefined where none can start. */
export async function spawnCpuWorker(): Promise<CpuWorker | undefined> {
  if (!isNode()) return undefined;
  const entry = entryUrl();
  if (!entry) return undefined;
  const { Worker } = (await import('node:worker_threads' as string)) as typeof import('node:worker_threads');
  // Held until it says it is ready (the pool then lets go): unref'd while the caller awaits its
  // first message, nothing kept Deno's process alive, which ended mid-call with exit code 0.
  const w: NodeWorker = new Worker(SHIM, { eval: true, workerData: { entry } });
  return {
    post: (m, t) => w.postMessage(m, t as ArrayBuffer[]),
    listen(onMessage, onError) {
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', (code) => onError(new Error(`CPU worker exited (code ${code})`)));
    },
    hold: (busy) => (busy ? w.ref() : w.unref()),
    terminate: () => void w.terminate(),
  };
}

/**
 * Threads by default: the cores Node may use (os.availableParallelism). Outside Node (this file
 * loaded in a page without the "browser" field's swap: an import map, a bundler that stubs
 * node:os as an empty module) the page's cores, though no worker starts there (spawnCpuWorker).
 * Deno: one (inline). Its node:worker_threads passes shared memory slowly (a 4 MB
 * SharedArrayBuffer's round trip took ~80 ms, Node's 0.1 ms: 4–8× slower than inline at
 * [1, 4, 1024, 64]), and its Web Workers keep the process alive; `cpu: { threads }` still asks.
 */
export async function defaultThreads(): Promise<number> {
  const page = () => (typeof navigator === 'object' && navigator.hardwareConcurrency) || 1;
  if (isDeno()) return 1;
  if (!isNode()) return page();
  const os = (await import('node:os' as string)) as Partial<typeof import('node:os')>;
  if (typeof os.availableParallelism === 'function') return os.availableParallelism();
  return typeof os.cpus === 'function' ? os.cpus().length : page();
}

/** Whether workers can share memory: Node always has SharedArrayBuffer. */
export function canShareMemory(): boolean {
  return typeof SharedArrayBuffer === 'function';
}
