/*
 * The shapes both WebAssembly kernel tests (cpu-wasm.test.ts: forward,
 * cpu-wasm-backward.test.ts: backward) run against the float64 reference: tile edges,
 * GQA, Nq ≠ Nk, head dims, layouts, sinks, huge logits and per-batch positions.
 */
import type { Layout } from '../src/tensor/shape.js';

export interface WasmCase {
  readonly b?: number;
  readonly hq?: number;
  readonly hkv?: number;
  readonly nq: number;
  readonly nk?: number;
  readonly d: number;
  readonly causal?: boolean;
  readonly layout?: Layout;
  readonly sinks?: boolean;
  /** Multiplies q, so logits reach ±1e4 at 100. */
  readonly qScale?: number;
  /** Per-batch query positions (keys at 0): the causal shift the kernel is given. */
  readonly queryOffset?: number[];
}

export const WASM_CASES: Readonly<Record<string, WasmCase>> = {
  control: { nq: 64, d: 64 },
  causal: { nq: 64, d: 64, causal: true },
  'gqa 4:1 causal': { hq: 8, hkv: 2, nq: 40, d: 64, causal: true },
  'gqa 8:1': { hq: 8, hkv: 1, nq: 33, d: 32 },
  'N=1': { nq: 1, d: 64 },
  'N=17 causal': { nq: 17, d: 64, causal: true },
  'N=127 causal': { nq: 127, d: 64, causal: true },
  'N=129': { nq: 129, d: 64 },
  'N=200 causal, 2 batches': { b: 2, nq: 200, d: 64, causal: true },
  'Nq=5 < Nk=131 causal': { nq: 5, nk: 131, d: 64, causal: true },
  'Nq=70 > Nk=23 causal (rows with no key)': { nq: 70, nk: 23, d: 64, causal: true },
  'D=16': { nq: 37, d: 16 },
  'D=80 causal': { nq: 75, d: 80, causal: true },
  'D=96': { nq: 50, d: 96 },
  'D=128 causal': { nq: 130, d: 128, causal: true },
  'D=256 causal': { nq: 70, d: 256, causal: true },
  'bnhd causal': { hq: 4, hkv: 2, nq: 45, d: 64, causal: true, layout: 'bnhd' },
  'sinks causal': { hq: 4, nq: 30, d: 64, causal: true, sinks: true },
  'logits ±1e4': { nq: 50, d: 64, qScale: 100 },
  // A bug this caught in the forward: the kernel was given Nk − Nq as the causal shift whatever the positions.
  'per-batch query positions, causal': { b: 2, nq: 6, nk: 50, d: 64, causal: true, queryOffset: [3, 40] },
};
