/*
 * The CPU worker's entry (a Web Worker in browsers; in Node a worker thread whose
 * shim, threads-node.ts, provides the same onmessage/postMessage globals). Each task
 * is one share of a forward (or a backward): it rebuilds the score and mask functions from their IR,
 * runs the same kernel the inline path would (wasm or JS) on its unit range, and
 * writes O and LSE into the shared arrays, or sends its own back.
 */
import { maskFn, scoreFn } from '../mods/emit-js.js';
import { cpuBackward } from './backward.js';
import { cpuForward } from './forward.js';
import { wasmBackward } from './wasm-backward.js';
import { loadWasmKernel, wasmForward } from './wasm-forward.js';
import { READY, type BackwardTask, type ForwardTask, type TaskReply } from './worker-protocol.js';

interface WorkerScope {
  onmessage: ((e: { data: ForwardTask | BackwardTask }) => void) | null;
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
}

const scope = globalThis as unknown as WorkerScope;

/** A share of a backward: the inline kernel on KV heads [from, to), gradients sent back whole. */
async function runBackward(t: BackwardTask): Promise<TaskReply> {
  const w = t.backward;
  const kernel = t.wasm ? await loadWasmKernel() : undefined;
  if (t.wasm && !kernel) throw new Error('the WebAssembly kernel did not load in the worker');
  // The main thread chose wasm only for calls without modifiers.
  if (kernel) return { id: t.id, ok: true, grads: wasmBackward(kernel, { ...w, score: undefined, scoreGrad: undefined, mask: undefined, kvHeads: t.kvHeads }) };
  const grads = cpuBackward({
    ...w,
    score: w.score && scoreFn(w.score),
    scoreGrad: w.scoreGrad && scoreFn(w.scoreGrad),
    mask: w.mask && maskFn(w.mask),
    kvHeads: t.kvHeads,
  });
  return { id: t.id, ok: true, grads };
}

async function run(t: ForwardTask | BackwardTask): Promise<TaskReply> {
  if ('backward' in t) return runBackward(t);
  const kernel = t.wasm ? await loadWasmKernel() : undefined;
  if (t.wasm && !kernel) throw new Error('the WebAssembly kernel did not load in the worker');
  const a = {
    ...t.args,
    score: t.args.score && scoreFn(t.args.score),
    mask: t.args.mask && maskFn(t.args.mask),
    units: t.units,
    into: t.into,
  };
  const r = kernel ? wasmForward(kernel, a) : cpuForward(a);
  return { id: t.id, ok: true, result: t.into ? undefined : r };
}

/** The reply's own arrays, moved rather than copied. */
function transfers(reply: TaskReply): ArrayBuffer[] {
  if (!reply.ok) return [];
  const arrays = reply.result ? [reply.result.out, reply.result.lse] : reply.grads ? [reply.grads.dq, reply.grads.dk, reply.grads.dv, reply.grads.dsinks] : [];
  return arrays.filter((a) => a !== undefined).map((a) => a.buffer as ArrayBuffer);
}

scope.onmessage = (e) => {
  const t = e.data;
  const t0 = performance.now();
  run(t).then(
    // busyMs: this share's time on the worker, for the split's instrumentation (parallel-forward.ts).
    (reply) => scope.postMessage(reply.ok ? { ...reply, busyMs: performance.now() - t0 } : reply, transfers(reply)),
    (err: unknown) => scope.postMessage({ id: t.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies TaskReply),
  );
};
scope.postMessage(READY);
