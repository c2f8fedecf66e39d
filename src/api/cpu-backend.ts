/*
 * The CPU backend: the same calls as WebGPU's on host arrays — the WebAssembly SIMD kernels
 * where the engine has them, the JavaScript ones for modifiers, worker threads for long calls.
 */
import { cpuBackward } from '../cpu/backward.js';
import { combineStrided } from '../cpu/combine.js';
import { cpuForward } from '../cpu/forward.js';
import { cpuNaiveForward } from '../cpu/naive.js';
import { parallelBackward } from '../cpu/parallel-backward.js';
import { parallelForward, shareable } from '../cpu/parallel-forward.js';
import { CpuPool } from '../cpu/pool.js';
import { wasmBackward, wasmBackwardFits } from '../cpu/wasm-backward.js';
import { loadWasmKernel, wasmForward } from '../cpu/wasm-forward.js';
import type { AttentionCall, BackwardCall } from '../kernels/call.js';
import { maskFn, scoreFn } from '../mods/emit-js.js';
import { jsTableTerms, scoreGrad } from '../mods/grad.js';
import type { Modifier } from '../mods/modifier.js';
import type { AdapterSummary } from '../runtime/device.js';
import { type Layout, type Shape4 } from '../tensor/shape.js';
import { fromHalf, roundToHalf, type DType } from '../tensor/half.js';
import type { HostData } from './host-data.js';
import type { TensorStorage } from './tensor.js';
import { checkLive, type Backend, type BackendGrads, type BackwardTensors, type ForwardTensors, type PartTensors } from './backends.js';

/** The CPU backend as `attn.adapter` describes it: which kernels run (wasm: the WebAssembly SIMD ones where the engine has them). */
function cpuAdapter(wasm: boolean): AdapterSummary {
  const kernels = wasm ? 'WebAssembly SIMD, TypeScript for modifiers' : 'TypeScript';
  return { backend: 'cpu', vendor: 'cpu', device: `${kernels} (tiled online softmax)` };
}

/** Whether the CPU backend uses the wasm kernel by default: yes, unless env WEBGPU_ATTENTION_CPU=js. */
function cpuWasmDefault(): boolean {
  return typeof process === 'undefined' || process.env?.WEBGPU_ATTENTION_CPU !== 'js';
}

/** What the forward and the backward kernels take alike from a call: its shape, Q, K, V and their layouts, scale, causal, positions, sinks. */
function callArgs(c: AttentionCall | BackwardCall, t: ForwardTensors) {
  return {
    problem: c.problem,
    q: hostData(t.q),
    k: hostData(t.k),
    v: hostData(t.v),
    qLayout: c.q.layout,
    kLayout: c.k.layout,
    vLayout: c.v.layout,
    scale: c.scale,
    causal: c.causal,
    positions: c.positions,
    sinks: c.sinks,
  };
}

/** A modifier as the workers rebuild it, from its IR and tables. */
const wire = (m?: Modifier) => m && { ir: m.ir, tables: m.tables };

function hostData(s: TensorStorage): Float32Array {
  if (s.kind !== 'cpu') throw new Error('CPU backend given a GPU tensor');
  return s.data;
}

export class CpuBackend implements Backend {
  readonly kind = 'cpu';
  readonly adapter: AdapterSummary;

  /**
   * @param poison fill outputs with NaN before each run (testing)
   * @param wasm run the fused forward and the backward on the WebAssembly SIMD kernels where the
   *   engine has them (calls with score or mask modifiers stay on the JS kernels, as do backwards
   *   with non-finite inputs); false, or env WEBGPU_ATTENTION_CPU=js, forces the JS kernels everywhere
   * @param threads worker threads for the fused forward and the backward (undefined: the available cores;
   *   0 or 1: run on the calling thread)
   */
  constructor(
    private readonly poison = false,
    private readonly wasm = cpuWasmDefault(),
    threads?: number,
  ) {
    this.pool = threads === 0 || threads === 1 ? undefined : new CpuPool(threads);
    this.adapter = cpuAdapter(wasm);
  }

  /** Workers for the fused forward and the backward, started on first use; undefined: inline only. */
  private readonly pool?: CpuPool;

  store(data: HostData): TensorStorage {
    const f = data.dtype === 'f16' ? fromHalf(data.bits) : new Float32Array(data.values);
    // With workers, inputs live on shared memory: a call then copies none of them.
    return { kind: 'cpu', data: this.pool ? shareable(f) : f };
  }

  async readBack(storage: TensorStorage): Promise<Float32Array> {
    checkLive(this);
    return new Float32Array(hostData(storage));
  }

  /** An f16 call's results are f16 values, as the GPU's f16 stores leave them (LSE stays f32). */
  private rounded(c: Pick<AttentionCall, 'dtype'>, data: Float32Array): TensorStorage {
    return { kind: 'cpu', data: c.dtype === 'f16' ? roundToHalf(data) : data };
  }

  async forward(c: AttentionCall, t: ForwardTensors) {
    // The CPU's fused kernel is already the plain online softmax: 'basic' runs it too.
    // Paged K/V run on the JS kernel, inline (it reads rows through the page table).
    const kernel = this.wasm && c.algorithm !== 'naive' && !c.score && !c.mask && !c.pages ? await loadWasmKernel() : undefined;
    const args = { ...callArgs(c, t), poison: this.poison, pages: c.pages };
    // Workers rebuild the modifiers from their IR; the kernel choice is the inline one, so results are bit-identical.
    const shared =
      this.pool && c.algorithm !== 'naive' && !c.pages
        ? await parallelForward(this.pool, { ...args, score: wire(c.score), mask: wire(c.mask) }, !!kernel)
        : undefined;
    const run = c.algorithm === 'naive' ? cpuNaiveForward : kernel ? wasmForward.bind(undefined, kernel) : cpuForward;
    const r = shared ?? run({ ...args, score: c.score && scoreFn(c.score), mask: c.mask && maskFn(c.mask) });
    return { out: this.rounded(c, r.out), lse: { kind: 'cpu', data: r.lse } as const };
  }

  async backward(c: BackwardCall, t: BackwardTensors): Promise<BackendGrads> {
    const args = { ...callArgs(c, t), out: hostData(t.out), dout: hostData(t.dout), lse: hostData(t.lse) };
    const tableTerms = c.tableGrads && c.score ? jsTableTerms(c.score) : undefined;
    // The forward's rule: modifiers stay on JS; so do inputs the kernel would treat differently (wasmBackwardFits).
    const kernel = this.wasm && !c.score && !c.mask ? await loadWasmKernel() : undefined;
    const wasm = kernel && wasmBackwardFits(args) ? kernel : undefined;
    // Table gradients sum over every head: those calls stay inline (see parallel-backward.ts).
    const gradScore = c.score && scoreGrad(c.score);
    const shared =
      this.pool && !tableTerms
        ? await parallelBackward(this.pool, { ...args, score: wire(c.score), scoreGrad: wire(gradScore), mask: wire(c.mask) }, !!wasm)
        : undefined;
    const g =
      shared ??
      (wasm
        ? wasmBackward(wasm, { ...args, poison: this.poison })
        : cpuBackward({
            ...args,
            score: c.score && scoreFn(c.score),
            scoreGrad: gradScore && scoreFn(gradScore),
            mask: c.mask && maskFn(c.mask),
            tableTerms,
          }));
    return { dq: this.rounded(c, g.dq), dk: this.rounded(c, g.dk), dv: this.rounded(c, g.dv), dsinks: g.dsinks, dtables: g.dtables };
  }

  async combine(parts: readonly PartTensors[], shape: Shape4, layout: Layout, dtype: DType) {
    const r = combineStrided(
      parts.map((p) => ({ out: hostData(p.out), lse: hostData(p.lse) })),
      shape,
      layout,
    );
    return { out: this.rounded({ dtype }, r.out), lse: { kind: 'cpu', data: r.lse } as const };
  }

  destroyed = false;

  checkStorage(): void {
    checkLive(this);
  }

  async recover(): Promise<void> {
    checkLive(this);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pool?.destroy();
  }
}
