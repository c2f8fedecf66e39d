/*
 * The teaching kernel's program (algorithm 'basic'): one dispatch, one query row
 * per invocation. No modifiers, sinks or split calls: it exists to be read and
 * to check the fast kernel against (`bench --kernel basic`, `verify`).
 */
import { basicGrid, basicKernel, basicParams, BASIC_PARAMS } from './basic.js';
import type { AttentionCall, Caps } from './call.js';
import { checkWholeBindings, type Program } from './program.js';

/** Outputs 'out' (q's layout) and 'lse'; binds the caller's 'q', 'k', 'v' whole. */
export function basicProgram(c: AttentionCall, caps: Caps): Program {
  const p = c.problem;
  const qBytes = p.batch * p.headsQ * p.seqQ * p.headDim * 4;
  const kvBytes = p.batch * p.headsKv * p.seqK * p.headDim * 4;
  checkWholeBindings(caps.maxBindingBytes, "the 'basic' kernel", { q: qBytes, k: kvBytes, v: kvBytes });
  const spec = basicKernel(p.headDim);
  return {
    buffers: {
      out: { role: 'output', bytes: qBytes, label: 'attention out' },
      lse: { role: 'output', bytes: p.batch * p.headsQ * p.seqQ * 4, label: 'attention lse' },
    },
    steps: [
      {
        spec,
        params: BASIC_PARAMS,
        values: basicParams(p, { q: c.q.strides, k: c.k.strides, v: c.v.strides, out: c.q.strides }, c.scale, c.causal),
        buffers: { q: 'q', k: 'k', v: 'v', out: 'out', lse: 'lse' },
        grid: basicGrid(p),
      },
    ],
    labels: [spec.label],
  };
}
