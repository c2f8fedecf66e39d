/*
 * Tracing: modifiers are ordinary TypeScript over `Expr` values whose methods
 * build IR nodes. JavaScript operators (+, <, if (x)) would silently turn an Expr
 * into a number or boolean, so every such conversion throws, naming the
 * construct, when the modifier is defined.
 */
import { AttentionInputError } from '../tensor/errors.js';
import { ARG_TYPES, type ArgName, type BinaryOp, type DType, type Node, type UnaryOp } from './ir.js';

/** What a method accepts: another Expr or a plain number/boolean constant. */
export type ExprLike = Expr | number | boolean;

function fail(msg: string): never {
  throw new AttentionInputError(`modifier: ${msg}`);
}

function constant(v: number | boolean, like: DType): Node {
  if (typeof v === 'boolean') return { k: 'const', t: 'bool', v };
  if (!Number.isFinite(v)) fail(`constant ${v} is not finite; use where() to mask instead`);
  // An integer literal next to an index stays an index; anything else is f32.
  const isIndex = like === 'i32' && Number.isInteger(v) && Math.abs(v) < 2 ** 31;
  return { k: 'const', t: isIndex ? 'i32' : 'f32', v };
}

function lift(x: ExprLike, like: DType): Node {
  if (x instanceof Expr) return x.node;
  if (typeof x === 'number' || typeof x === 'boolean') return constant(x, like);
  return fail(`expected an Expr, a number or a boolean, got ${typeof x}`);
}

function toF32(n: Node): Node {
  if (n.t === 'f32') return n;
  if (n.t === 'bool') fail('a boolean cannot be used as a number; use where(cond, a, b)');
  return n.k === 'const' ? { k: 'const', t: 'f32', v: n.v } : { k: 'unary', t: 'f32', op: 'f32', a: n };
}

/** Brings two numeric operands to one type (i32 with f32 → f32). */
function unify(a: Node, b: Node, op: string): [Node, Node] {
  if (a.t === 'bool' || b.t === 'bool') fail(`'${op}' needs numbers, got a boolean (use and/or/not for masks)`);
  return a.t === b.t ? [a, b] : [toF32(a), toF32(b)];
}

/** A traced value of a score or mask modifier. */
export class Expr {
  /** @internal */
  readonly node: Node;

  /** @internal */
  constructor(node: Node) {
    this.node = node;
  }

  get dtype(): DType {
    return this.node.t;
  }

  private arith(op: BinaryOp, other: ExprLike): Expr {
    const [a, b] = unify(this.node, lift(other, this.node.t), op);
    if (op === 'div') return new Expr({ k: 'binary', t: 'f32', op, a: toF32(a), b: toF32(b) });
    return new Expr({ k: 'binary', t: a.t, op, a, b });
  }

  private compare(op: BinaryOp, other: ExprLike): Expr {
    const [a, b] = unify(this.node, lift(other, this.node.t), op);
    return new Expr({ k: 'binary', t: 'bool', op, a, b });
  }

  private logic(op: BinaryOp, other: ExprLike): Expr {
    const b = lift(other, 'bool');
    if (this.node.t !== 'bool' || b.t !== 'bool') fail(`'${op}' needs booleans (masks), got ${this.node.t} and ${b.t}`);
    return new Expr({ k: 'binary', t: 'bool', op, a: this.node, b });
  }

  private unaryF(op: UnaryOp): Expr {
    return new Expr({ k: 'unary', t: 'f32', op, a: toF32(this.node) });
  }

  add(x: ExprLike): Expr {
    return this.arith('add', x);
  }
  sub(x: ExprLike): Expr {
    return this.arith('sub', x);
  }
  mul(x: ExprLike): Expr {
    return this.arith('mul', x);
  }
  /** Always f32 division. */
  div(x: ExprLike): Expr {
    return this.arith('div', x);
  }
  min(x: ExprLike): Expr {
    return this.arith('min', x);
  }
  max(x: ExprLike): Expr {
    return this.arith('max', x);
  }
  neg(): Expr {
    if (this.node.t === 'bool') fail("'neg' needs a number");
    return new Expr({ k: 'unary', t: this.node.t, op: 'neg', a: this.node });
  }
  abs(): Expr {
    if (this.node.t === 'bool') fail("'abs' needs a number");
    return new Expr({ k: 'unary', t: this.node.t, op: 'abs', a: this.node });
  }
  exp(): Expr {
    return this.unaryF('exp');
  }
  log(): Expr {
    return this.unaryF('log');
  }
  tanh(): Expr {
    return this.unaryF('tanh');
  }
  lt(x: ExprLike): Expr {
    return this.compare('lt', x);
  }
  le(x: ExprLike): Expr {
    return this.compare('le', x);
  }
  gt(x: ExprLike): Expr {
    return this.compare('gt', x);
  }
  ge(x: ExprLike): Expr {
    return this.compare('ge', x);
  }
  eq(x: ExprLike): Expr {
    return this.compare('eq', x);
  }
  ne(x: ExprLike): Expr {
    return this.compare('ne', x);
  }
  and(x: ExprLike): Expr {
    return this.logic('and', x);
  }
  or(x: ExprLike): Expr {
    return this.logic('or', x);
  }
  not(): Expr {
    if (this.node.t !== 'bool') fail("'not' needs a boolean");
    return new Expr({ k: 'unary', t: 'bool', op: 'not', a: this.node });
  }

  /** JavaScript operators and `if (x)` would read a traced value as data: refuse, naming the fix. */
  [Symbol.toPrimitive](hint: string): never {
    return fail(
      hint !== 'string'
        ? 'a JavaScript operator (+, -, *, <, …) was applied to a traced value; use its methods (.add, .lt, …)'
        : `a traced value was converted to a ${hint} (string concatenation or a template?); modifiers must return Exprs`,
    );
  }
  valueOf(): never {
    return this[Symbol.toPrimitive]('number');
  }
  toString(): never {
    return this[Symbol.toPrimitive]('string');
  }
}

/** cond ? a : b, elementwise (both branches are evaluated). */
export function where(cond: ExprLike, a: ExprLike, b: ExprLike): Expr {
  const c = lift(cond, 'bool');
  if (c.t !== 'bool') fail('where() needs a boolean condition');
  let x = lift(a, 'f32');
  let y = lift(b, x.t);
  if (x.t === 'bool' || y.t === 'bool') {
    if (x.t !== y.t) fail('where(): one branch is a boolean and the other a number');
  } else [x, y] = unify(x, y, 'where');
  return new Expr({ k: 'select', t: x.t, cond: c, then: x, else: y });
}

/** An argument of a modifier. */
export function arg(name: ArgName): Expr {
  return new Expr({ k: 'arg', t: ARG_TYPES[name], name });
}

/**
 * A named auxiliary table (per-head slopes, per-token document ids, …), read by index.
 * The kernels clamp every read to the table (memory safety), but a call whose index range
 * can leave the table is refused before it runs (mods/ranges.ts): clamp the index yourself
 * (`.max(0).min(n − 1)`) where the end value is what you mean.
 */
export class AuxTable {
  readonly id: string;
  readonly length: number;
  constructor(id: string, length: number) {
    this.id = id;
    this.length = length;
  }
  at(index: ExprLike): Expr {
    const i = lift(index, 'i32');
    if (i.t !== 'i32') fail(`table lookups take an integer index (b, h, q, kv or arithmetic on them), got ${i.t}`);
    return new Expr({ k: 'aux', t: 'f32', table: this.id, index: i });
  }
}
