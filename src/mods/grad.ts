/*
 * Symbolic derivatives of a score modifier, as more IR (so the backward kernels
 * get them from the same emitters): with respect to its score argument,
 * d/ds mod(s, b, h, q, kv), and with respect to each table read, for the
 * gradients of learnable tables (ALiBi slopes, relative-bias tables). Indices, tables and constants do not
 * depend on s; comparisons and selects are piecewise (the derivative of the
 * branch taken), min/max follow the larger/smaller argument, abs its sign.
 */
import { foldNodes, topoOrder, type Node } from './ir.js';
import type { Modifier } from './modifier.js';
import { scoreFn, type ScoreFn } from './emit-js.js';

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

/**
 * d root / d score (or / d the table read `wrt`), for an f32-valued expression. The
 * fold also differentiates conditions and table indices, whose derivatives no
 * parent reads (a condition is piecewise constant, an index picks an element).
 */
export function derivative(root: Node, wrt?: Node): Node {
  return foldNodes<Node>(root, (n, d) => {
    switch (n.k) {
      case 'arg':
        return n.name === 'score' && !wrt ? ONE : ZERO;
      case 'const':
        return ZERO;
      case 'aux':
        return n === wrt ? ONE : ZERO;
      case 'unary': {
        const da = d(n.a);
        switch (n.op) {
          case 'neg':
            return isZero(da) ? ZERO : { k: 'unary', t: 'f32', op: 'neg', a: da };
          case 'abs':
            return sel({ k: 'binary', t: 'bool', op: 'lt', a: n.a, b: ZERO }, isZero(da) ? ZERO : { k: 'unary', t: 'f32', op: 'neg', a: da }, da);
          case 'exp':
            return mul(n, da);
          case 'log':
            return isZero(da) ? ZERO : bin('div', da, n.a);
          case 'tanh':
            return mul(bin('sub', ONE, mul(n, n)), da);
          default:
            return ZERO; // 'f32' of an index, 'not'
        }
      }
      case 'binary': {
        const da = d(n.a);
        const db = d(n.b);
        switch (n.op) {
          case 'add':
            return add(da, db);
          case 'sub':
            return isZero(db) ? da : bin('sub', da, db);
          case 'mul':
            return add(mul(da, n.b), mul(n.a, db));
          case 'div':
            return isZero(da) && isZero(db) ? ZERO : bin('div', bin('sub', mul(da, n.b), mul(n.a, db)), mul(n.b, n.b));
          case 'min':
            return sel({ k: 'binary', t: 'bool', op: 'le', a: n.a, b: n.b }, da, db);
          case 'max':
            return sel({ k: 'binary', t: 'bool', op: 'ge', a: n.a, b: n.b }, da, db);
          default:
            return ZERO; // comparisons and logic are booleans
        }
      }
      case 'select':
        return sel(n.cond, d(n.then), d(n.else));
    }
  });
}

/** The score modifier's derivative d mod / d score, as a score modifier over the same tables. */
export function scoreGrad(mod: Modifier): Modifier {
  return { kind: 'score', label: `d(${mod.label})/dscore`, ir: derivative(mod.ir), tables: mod.tables };
}

/**
 * One read of a table in a score modifier: which element it reads (`index`, i32,
 * clamped into the table like the read itself) and d mod / d that element
 * (`partial`). A table's gradient is Σ over visible (b, h, q, kv) and over its
 * reads of dL/ds · partial, scattered to the index read.
 */
export interface TableTerm {
  readonly table: string;
  readonly length: number;
  readonly index: Modifier;
  readonly partial: Modifier;
}

/** The differentiable table reads of a score modifier (reads whose partial is identically 0 are left out). */
export function tableTerms(mod: Modifier): TableTerm[] {
  const reads = topoOrder(mod.ir).filter((n): n is Extract<Node, { k: 'aux' }> => n.k === 'aux');
  const terms: TableTerm[] = [];
  for (const read of reads) {
    const partial = derivative(mod.ir, read);
    if (partial.k === 'const' && partial.v === 0) continue;
    const as = (ir: Node, what: string): Modifier => ({ kind: 'score', label: `${what}(${mod.label})`, ir, tables: mod.tables });
    terms.push({ table: read.table, length: mod.tables.get(read.table)!.length, index: as(read.index, 'index'), partial: as(partial, `d/d${read.table}`) });
  }
  return terms;
}

/** The user's name of a table id (ids are `t<n>_<name>`). */
export function tableName(id: string): string {
  return id.replace(/^t\d+_/, '');
}

/** A table term compiled to plain functions, for the CPU backend and the reference. */
export interface JsTableTerm {
  readonly table: string;
  readonly length: number;
  readonly index: ScoreFn;
  readonly partial: ScoreFn;
}

export function jsTableTerms(mod: Modifier): JsTableTerm[] {
  return tableTerms(mod).map((t) => ({ table: t.table, length: t.length, index: scoreFn(t.index), partial: scoreFn(t.partial) }));
}

/** Adds g · ∂mod/∂table (or g · |∂mod/∂table|) to each read element (float64 accumulators, one per table id). */
export function scatterTableGrads(
  terms: readonly JsTableTerm[],
  grads: Map<string, Float64Array>,
  g: number,
  z: number,
  b: number,
  h: number,
  q: number,
  kv: number,
  abs = false,
): void {
  for (const t of terms) {
    let acc = grads.get(t.table);
    if (!acc) grads.set(t.table, (acc = new Float64Array(t.length)));
    const i = Math.min(Math.max(Math.trunc(t.index(z, b, h, q, kv)), 0), t.length - 1);
    const d = t.partial(z, b, h, q, kv);
    acc[i]! += g * (abs ? Math.abs(d) : d);
  }
}
