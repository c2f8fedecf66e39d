/*
 * The CPU backend (tiled online softmax, and the naive pipeline) on the whole
 * verify grid, outputs poisoned with NaN so an unwritten element fails.
 */
import { beforeAll, describe } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import { verifyGrid } from './grid.js';

describe('cpu backend: verify grid', () => {
  let attn: Attention;
  beforeAll(async () => {
    attn = await createAttention({ backend: 'cpu', poisonOutputs: true });
  });
  verifyGrid(() => attn);
});
