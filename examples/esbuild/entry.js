/* A consumer's browser entry: `esbuild --bundle --platform=browser` with no flags beyond those (scripts/test-examples.mjs). */
import { createAttention } from 'webgpu-attention';

const attn = await createAttention({ backend: 'cpu' });
const x = attn.tensor(new Float32Array(32).fill(0.5), [1, 1, 1, 32]);
const { out } = await attn.forward(x, x, x);
console.log(`esbuild bundle: ${(await out.read())[0]}`);
