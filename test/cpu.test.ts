/*
 * The CPU backend (tiled online softmax, and the naive pipeline) on the whole
 * verify grid, outputs poisoned with NaN so an unwritten element fails; and how
 * backward() names table gradients.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import { relativeBias } from '../src/mods/builtins.js';
import { compose } from '../src/mods/modifier.js';
import { verifyGrid } from './grid.js';

describe('cpu backend: verify grid', () => {
  let attn: Attention;
  beforeAll(async () => {
    attn = await createAttention({ backend: 'cpu', poisonOutputs: true });
  });
  verifyGrid(() => attn);

  it('table gradients are keyed by table name; a name two composed modifiers share gets _2', async () => {
    const t = () =>
      attn.tensor(
        Float32Array.from({ length: 2 * 6 * 32 }, (_, i) => Math.sin(i)),
        [1, 2, 6, 32],
      );
    const [q, k, v, dOut] = [t(), t(), t(), t()];
    const score = compose(relativeBias([0.1, 0.2, 0.3]), relativeBias([0.3, -0.1, 0.0, 0.2, 0.1], 1));
    const { out, lse } = await attn.forward(q!, k!, v!, { score, returnLse: true });
    const g = await attn.backward(dOut!, { q: q!, k: k!, v: v!, out, lse }, { score });
    expect(Object.keys(g.dtables!)).toEqual(['bias', 'bias_2']);
    expect(g.dtables!.bias).toHaveLength(3);
    expect(g.dtables!.bias_2).toHaveLength(5);
  });
});
