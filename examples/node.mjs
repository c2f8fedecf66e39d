/*
 * webgpu-attention in Node: one forward pass, checked against the float64
 * reference. Runs on WebGPU where Dawn (the optional `webgpu` package) finds an
 * adapter, else on the CPU backend; `node examples/node.mjs cpu` forces the CPU.
 * In this repository the package imports itself by name (after `npm run build`).
 */
import { createAttention, referenceForward } from 'webgpu-attention';

const backend = process.argv[2] === 'cpu' ? 'cpu' : 'auto';
const attn = await createAttention({ backend });
console.log(`backend: ${attn.backend}${attn.fallbackReason ? ` (fallback: ${attn.fallbackReason})` : ''}`);

// [batch, heads, sequence, head dim]
const [B, H, N, D] = [1, 2, 64, 32];
const random = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
const data = { q: random(B * H * N * D), k: random(B * H * N * D).reverse(), v: random(B * H * N * D).map((x) => x * 2) };
const q = attn.tensor(data.q, [B, H, N, D]);
const k = attn.tensor(data.k, [B, H, N, D]);
const v = attn.tensor(data.v, [B, H, N, D]);

const { out } = await attn.forward(q, k, v, { causal: true });
const o = await out.read();

const shape = { batch: B, heads: H, seq: N, headDim: D };
const host = (x) => ({ data: x, shape, layout: 'bhnd' });
const ref = referenceForward(host(data.q), host(data.k), host(data.v), { causal: true });
const err = o.reduce((m, x, i) => Math.max(m, Math.abs(x - ref.out[i])), 0);
console.log(`causal forward, ${N} tokens: out[0..3] = ${Array.from(o.slice(0, 4), (x) => x.toFixed(5)).join(', ')}`);
console.log(`max |out − float64 reference| = ${err.toExponential(2)}`);
attn.destroy();
if (!(err < 1e-4)) process.exit(1);
