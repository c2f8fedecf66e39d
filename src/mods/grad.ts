/*
 * Symbolic derivative of a score modifier with respect to its score argument,
 * as another IR expression (so the backward kernels get it from the same
 * emitters): d/ds mod(s, b, h, q, kv). Indices, tables and constants do not
 * depend on s; comparisons and selects are piecewise (the derivative of the
 * branch taken), min/max follow the larger/smaller argument, abs its sign.
 */
import type { Node } from './ir.js';
import type { Modifier } from './modifier.js';

const ZERO: Node = { k: 'const', t: 'f32', v: 0 };
const ONE: Node = { k: 'const', t: 'f32', v: 1 };

const bin = (op: 'add' | 'sub' | 'mul' | 'div', a: Node, b: Node): Node => ({ k: 'binary', t: 'f32', op, a, b });
const isZero = (n: Node) => n.k === 'const' && n.v === 0;

function add(a: Node, b: Node): Node {
  if (isZero(a)) return b;
  if (isZero(b)) return a;
  return bin('add', a, b);
}
function mul(a: Node, b: Node): Node {
  if (isZero(a) || isZero(b)) return ZERO;
  if (a.k === 'const' && a.v === 1) return b;
  if (b.k === 'const' && b.v === 1) return a;
  return bin('mul', a, b);
}
function sel(cond: Node, a: Node, b: Node): Node {
  if (isZero(a) && isZero(b)) return ZERO;
  return { k: 'select', t: 'f32', cond, then: a, else: b };
}

/** d root / d score, for an f32-valued expression. */
export function derivative(root: Node): Node {
  const memo = new Map<Node, Node>();
  const d = (n: Node): Node => {
    const hit = memo.get(n);
    if (hit) return hit;
    let r: Node;
    switch (n.k) {
      case 'arg': r = n.name === 'score' ? ONE : ZERO; break;
      case 'const': case 'aux': r = ZERO; break;
      case 'unary': {
        const da = d(n.a);
        switch (n.op) {
          case 'neg': r = isZero(da) ? ZERO : { k: 'unary', t: 'f32', op: 'neg', a: da }; break;
          case 'abs': r = sel({ k: 'binary', t: 'bool', op: 'lt', a: n.a, b: ZERO }, isZero(da) ? ZERO : { k: 'unary', t: 'f32', op: 'neg', a: da }, da); break;
          case 'exp': r = mul(n, da); break;
          case 'log': r = isZero(da) ? ZERO : bin('div', da, n.a); break;
          case 'tanh': r = mul(bin('sub', ONE, mul(n, n)), da); break;
          default: r = ZERO; // 'f32' of an index, 'not'
        }
        break;
      }
      case 'binary': {
        const da = d(n.a);
        const db = d(n.b);
        switch (n.op) {
          case 'add': r = add(da, db); break;
          case 'sub': r = isZero(db) ? da : bin('sub', da, db); break;
          case 'mul': r = add(mul(da, n.b), mul(n.a, db)); break;
          case 'div': r = isZero(da) && isZero(db) ? ZERO : bin('div', bin('sub', mul(da, n.b), mul(n.a, db)), mul(n.b, n.b)); break;
          case 'min': r = sel({ k: 'binary', t: 'bool', op: 'le', a: n.a, b: n.b }, da, db); break;
          case 'max': r = sel({ k: 'binary', t: 'bool', op: 'ge', a: n.a, b: n.b }, da, db); break;
          default: r = ZERO; // comparisons and logic are booleans
        }
        break;
      }
      case 'select': r = sel(n.cond, d(n.then), d(n.else)); break;
    }
    memo.set(n, r);
    return r;
  };
  return d(root);
}

/** The score modifier's derivative d mod / d score, as a score modifier over the same tables. */
export function scoreGrad(mod: Modifier): Modifier {
  return { kind: 'score', label: `d(${mod.label})/dscore`, ir: derivative(mod.ir), tables: mod.tables };
}
