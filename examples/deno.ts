/*
 * webgpu-attention in Deno: one f16 forward pass, checked against the float64
 * reference. Deno's own WebGPU (navigator.gpu, by wgpu) where it finds an adapter,
 * else the CPU backend; `deno run -A examples/deno.ts cpu` forces the CPU.
 * In this repository it imports the built package (run `npm run build` first); an
 * application imports `npm:webgpu-attention` instead.
 */
import { createAttention, fromHalf, referenceForward, toHalf } from '../dist/index.js';

const backend = Deno.args[0] === 'cpu' ? 'cpu' : 'auto';
const attn = await createAttention({ backend });
console.log(`backend: ${attn.backend}${attn.fallbackReason ? ` (fallback: ${attn.fallbackReason})` : ''}`);

// [batch, heads, sequence, head dim], f16 data as bit patterns
const [B, H, N, D] = [1, 2, 48, 32];
const random = (n: number, seed: number) => toHalf(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5));
const bits = { q: random(B * H * N * D, 1), k: random(B * H * N * D, 2), v: random(B * H * N * D, 3) };
const [q, k, v] = [bits.q, bits.k, bits.v].map((b) => attn.tensor(b, [B, H, N, D]));

const { out } = await attn.forward(q, k, v, { causal: true });
const o = await out.read();

const shape = { batch: B, heads: H, seq: N, headDim: D };
const host = (x: Uint16Array) => ({ data: fromHalf(x), shape, layout: 'bhnd' as const });
const ref = referenceForward(host(bits.q), host(bits.k), host(bits.v), { causal: true });
const err = o.reduce((m, x, i) => Math.max(m, Math.abs(x - ref.out[i]!)), 0);
console.log(`causal f16 forward, ${N} tokens: max |out − float64 reference| = ${err.toExponential(2)} (out is ${out.dtype})`);
attn.destroy();
if (!(err < 2e-3)) Deno.exit(1);
