/*
 * The variant language's expression IR. A score modifier
 * (score, b, h, q, kv) → f32 and a mask modifier (b, h, q, kv) → bool are
 * traced into these nodes; the WGSL and JS emitters read nothing else, so a
 * modifier means the same on the GPU, on the CPU and in the float64 reference,
 * and no user string ever reaches a shader.
 */

/** Value types: scores are f32, indices i32, masks bool. */
export type DType = 'f32' | 'i32' | 'bool';

/** Inputs of a modifier: the score (score mods only) and the four indices. */
export type ArgName = 'score' | 'b' | 'h' | 'q' | 'kv';

export type UnaryOp = 'neg' | 'abs' | 'exp' | 'log' | 'tanh' | 'not' | 'f32';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'min' | 'max' | 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne' | 'and' | 'or';

export type Node =
  | { readonly k: 'const'; readonly t: DType; readonly v: number | boolean }
  | { readonly k: 'arg'; readonly t: DType; readonly name: ArgName }
  | { readonly k: 'unary'; readonly t: DType; readonly op: UnaryOp; readonly a: Node }
  | { readonly k: 'binary'; readonly t: DType; readonly op: BinaryOp; readonly a: Node; readonly b: Node }
  | { readonly k: 'select'; readonly t: DType; readonly cond: Node; readonly then: Node; readonly else: Node }
  | { readonly k: 'aux'; readonly t: 'f32'; readonly table: string; readonly index: Node };

export const ARG_TYPES: Readonly<Record<ArgName, DType>> = { score: 'f32', b: 'i32', h: 'i32', q: 'i32', kv: 'i32' };

/** Every node of `root` once, children before parents (the emitters' order). */
export function topoOrder(root: Node): Node[] {
  const seen = new Set<Node>();
  const out: Node[] = [];
  const visit = (n: Node) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const c of children(n)) visit(c);
    out.push(n);
  };
  visit(root);
  return out;
}

/**
 * The one walk over the IR: calls `f` once per distinct node, children before
 * parents (in topoOrder's order, so shared subexpressions are computed once and
 * an emitter's output order is fixed), with `of(child)` giving a child's result.
 * Returns the root's result. Every node is visited, including ones a caller's
 * `f` then ignores (a select's condition under a derivative).
 */
export function foldNodes<R>(root: Node, f: (n: Node, of: (child: Node) => R) => R): R {
  const results = new Map<Node, R>();
  const of = (c: Node): R => {
    if (!results.has(c)) throw new Error('foldNodes: a node read a result that is not one of its descendants');
    return results.get(c) as R;
  };
  for (const n of topoOrder(root)) results.set(n, f(n, of));
  return results.get(root) as R;
}

/** The direct operands of a node, in evaluation order. */
export function children(n: Node): Node[] {
  switch (n.k) {
    case 'unary':
      return [n.a];
    case 'binary':
      return [n.a, n.b];
    case 'select':
      return [n.cond, n.then, n.else];
    case 'aux':
      return [n.index];
    default:
      return [];
  }
}

/** Which arguments and auxiliary tables an expression reads. */
export function uses(root: Node): { args: Set<ArgName>; tables: Set<string> } {
  const args = new Set<ArgName>();
  const tables = new Set<string>();
  for (const n of topoOrder(root)) {
    if (n.k === 'arg') args.add(n.name);
    if (n.k === 'aux') tables.add(n.table);
  }
  return { args, tables };
}
