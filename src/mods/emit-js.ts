/*
 * JS emitter: compiles the IR into nested closures (no eval, so it runs under
 * any Content-Security-Policy). The CPU backend and the float64 reference call
 * these; they compute in float64, the GPU in float32.
 */
import { foldNodes, type Node } from './ir.js';
import type { Modifier } from './modifier.js';

type Env = { score: number; b: number; h: number; q: number; kv: number };
type Fn = (e: Env) => number | boolean;

function compileNode(root: Node, tables: ReadonlyMap<string, Float32Array>): Fn {
  return foldNodes<Fn>(root, (n, fnOf) => {
    switch (n.k) {
      case 'const': {
        const v = n.v;
        return () => v;
      }
      case 'arg': {
        const name = n.name;
        return (e) => e[name];
      }
      case 'unary': {
        const a = fnOf(n.a) as (e: Env) => number;
        const ops = {
          neg: (e: Env) => -a(e),
          abs: (e: Env) => Math.abs(a(e)),
          exp: (e: Env) => Math.exp(a(e)),
          log: (e: Env) => Math.log(a(e)),
          tanh: (e: Env) => Math.tanh(a(e)),
          f32: a,
          not: (e: Env) => !(a(e) as unknown as boolean),
        };
        return ops[n.op];
      }
      case 'binary': {
        const a = fnOf(n.a) as (e: Env) => number;
        const b = fnOf(n.b) as (e: Env) => number;
        const ops = {
          add: (e: Env) => a(e) + b(e),
          sub: (e: Env) => a(e) - b(e),
          mul: (e: Env) => a(e) * b(e),
          div: (e: Env) => a(e) / b(e),
          min: (e: Env) => Math.min(a(e), b(e)),
          max: (e: Env) => Math.max(a(e), b(e)),
          lt: (e: Env) => a(e) < b(e),
          le: (e: Env) => a(e) <= b(e),
          gt: (e: Env) => a(e) > b(e),
          ge: (e: Env) => a(e) >= b(e),
          eq: (e: Env) => a(e) === b(e),
          ne: (e: Env) => a(e) !== b(e),
          and: (e: Env) => (a(e) as unknown as boolean) && (b(e) as unknown as boolean),
          or: (e: Env) => (a(e) as unknown as boolean) || (b(e) as unknown as boolean),
        };
        return ops[n.op];
      }
      case 'select': {
        const c = fnOf(n.cond);
        const t = fnOf(n.then);
        const el = fnOf(n.else);
        return (e) => (c(e) ? t(e) : el(e));
      }
      case 'aux': {
        const data = tables.get(n.table);
        if (!data) throw new Error(`emitJs: no data for table ${n.table}`);
        const i = fnOf(n.index) as (e: Env) => number;
        const last = data.length - 1;
        return (e) => data[Math.min(Math.max(Math.trunc(i(e)), 0), last)]!;
      }
    }
  });
}

/** A score modifier as a plain function (score, b, h, q, kv) → score. */
export type ScoreFn = (score: number, b: number, h: number, q: number, kv: number) => number;
/** A mask modifier as a plain function (b, h, q, kv) → keep. */
export type MaskFn = (b: number, h: number, q: number, kv: number) => boolean;

export function scoreFn(mod: Pick<Modifier, 'ir' | 'tables'>): ScoreFn {
  const f = compileNode(mod.ir, mod.tables);
  const env: Env = { score: 0, b: 0, h: 0, q: 0, kv: 0 };
  return (score, b, h, q, kv) => {
    env.score = score;
    env.b = b;
    env.h = h;
    env.q = q;
    env.kv = kv;
    return f(env) as number;
  };
}

export function maskFn(mod: Pick<Modifier, 'ir' | 'tables'>): MaskFn {
  const f = compileNode(mod.ir, mod.tables);
  const env: Env = { score: 0, b: 0, h: 0, q: 0, kv: 0 };
  return (b, h, q, kv) => {
    env.b = b;
    env.h = h;
    env.q = q;
    env.kv = kv;
    return f(env) as boolean;
  };
}
