/* A consumer's app: imports the package by name; Vite needs no configuration for it. */
import { createAttention, causal, maskPicture } from 'webgpu-attention';

const attn = await createAttention();
const x = new Float32Array(1 * 1 * 16 * 32).fill(0.1);
const t = attn.tensor(x, [1, 1, 16, 32]);
const { out } = await attn.forward(t, t, t, { mask: causal() });
document.getElementById('out').textContent = `${attn.backend}: ${(await out.read())[0]}\n${maskPicture(causal(), 8)}`;
