/*
 * The CPU worker's entry (a Web Worker in browsers; in Node a worker thread whose
 * shim, threads-node.ts, provides the same onmessage/postMessage globals). Each task
 * is one share of a forward: it rebuilds the score and mask functions from their IR,
 * runs the same kernel the inline path would (wasm or JS) on its unit range, and
 * writes O and LSE into the shared arrays, or sends its own back.
 */
import { maskFn, scoreFn } from '../mods/emit-js.js';
import { cpuForward } from './forward.js';
import { loadWasmKernel, wasmForward } from './wasm-forward.js';
import { READY, type ForwardTask, type TaskReply } from './worker-protocol.js';

interface WorkerScope {
  onmessage: ((e: { data: ForwardTask }) => void) | null;
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
}

const scope = globalThis as unknown as WorkerScope;

async function run(t: ForwardTask): Promise<TaskReply> {
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

scope.onmessage = (e) => {
  const t = e.data;
  run(t).then(
    (reply) => scope.postMessage(reply, reply.ok && reply.result ? [reply.result.out.buffer as ArrayBuffer, reply.result.lse.buffer as ArrayBuffer] : []),
    (err: unknown) => scope.postMessage({ id: t.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies TaskReply),
  );
};
scope.postMessage(READY);
