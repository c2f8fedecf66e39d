/*
 * Modifiers: a traced score or mask function plus the auxiliary tables it
 * reads. Defining one runs the function once on traced arguments, checks the
 * result type, and keeps the IR; the tables' values can change between calls
 * without changing the IR (so without recompiling a kernel).
 *
 * Only modifiers made here are accepted anywhere (isModifier): a hand-built
 * object with a `kind` field would carry an IR nobody checked into the
 * emitters. And a modifier whose result depends on none of its inputs is
 * refused when it is made: that is what JavaScript control flow on a traced
 * value (`if`, `?:`, `&&`, `||`, `!`) leaves behind, since tracing cannot see it.
 */
import { AttentionInputError } from '../tensor/errors.js';
import { foldNodes, uses, type Node } from './ir.js';
import { arg, AuxTable, Expr, type ExprLike } from './trace.js';

/** A score modifier (score, b, h, q, kv) → score, or a mask modifier (b, h, q, kv) → keep? */
export interface Modifier {
  readonly kind: 'score' | 'mask';
  /** Short description, e.g. "slidingWindow(256)". */
  readonly label: string;
  /** @internal */
  readonly ir: Node;
  /** @internal Table id → values. */
  readonly tables: ReadonlyMap<string, Float32Array>;
}

/** Auxiliary inputs of a modifier: name → values (per head, per token, …). */
export type AuxInputs = Readonly<Record<string, ArrayLike<number>>>;
/** The tables a modifier function receives, one per auxiliary input. */
export type Tables = Readonly<Record<string, AuxTable>>;

let nextTable = 0;

/** Every modifier this module made; nothing else is a Modifier (module-private, so it cannot be forged). */
const made = new WeakSet<object>();

/** Brands and freezes a modifier made by this module. */
function brand(m: Modifier): Modifier {
  made.add(Object.freeze(m));
  return m;
}

/** True for a modifier made by scoreMod, maskMod, and, or, not, compose or a built-in; false for anything else. */
export function isModifier(x: unknown): x is Modifier {
  return typeof x === 'object' && x !== null && made.has(x);
}

function makeTables(aux: AuxInputs, label: string): { tables: Tables; data: Map<string, Float32Array> } {
  const tables: Record<string, AuxTable> = {};
  const data = new Map<string, Float32Array>();
  if (typeof aux !== 'object' || aux === null)
    throw new AttentionInputError(`${label}: tables must be an object of name → values, got ${aux === null ? 'null' : typeof aux}`);
  for (const [name, values] of Object.entries(aux)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new AttentionInputError(`${label}: table name '${name}' must be an identifier`);
    const arr = Float32Array.from(values as ArrayLike<number>);
    if (arr.length === 0) throw new AttentionInputError(`${label}: table '${name}' is empty`);
    if (!arr.every(Number.isFinite)) throw new AttentionInputError(`${label}: table '${name}' has a non-finite value`);
    const id = `t${nextTable++}_${name}`;
    tables[name] = new AuxTable(id, arr.length);
    data.set(id, arr);
  }
  return { tables, data };
}

function resultNode(x: ExprLike, want: 'f32' | 'bool', label: string): Node {
  if (typeof x === 'number') {
    if (want !== 'f32' || !Number.isFinite(x)) throw new AttentionInputError(`${label}: must return a traced ${want}, got ${x}`);
    return { k: 'const', t: 'f32', v: x };
  }
  if (typeof x === 'boolean') {
    if (want !== 'bool') throw new AttentionInputError(`${label}: a score modifier must return a number, got a boolean`);
    return { k: 'const', t: 'bool', v: x };
  }
  if (!(x instanceof Expr)) throw new AttentionInputError(`${label}: must return an Expr (built with .add, .lt, where, …), got ${typeof x}`);
  if (want === 'bool' && x.dtype !== 'bool') throw new AttentionInputError(`${label}: a mask modifier must return a boolean (e.g. kv.le(q)), got ${x.dtype}`);
  if (want === 'f32' && x.dtype === 'bool') throw new AttentionInputError(`${label}: a score modifier must return a number, got a boolean`);
  return x.dtype === 'i32' ? x.add(0.0).node : x.node;
}

/**
 * A result that reads none of the modifier's inputs is a constant: almost always JS control
 * flow on a traced value, which tests the Expr object (always truthy), not what it stands for.
 */
function requireDependence(ir: Node, kind: 'score' | 'mask', label: string): void {
  if (uses(ir).args.size > 0) return;
  const inputs = kind === 'mask' ? 'b, h, q or kv' : 'score, b, h, q or kv';
  const value = ir.k === 'const' ? `it is always ${String(ir.v)}` : 'it reads only constants and tables';
  throw new AttentionInputError(
    `${label}: the ${kind} modifier's result does not depend on ${inputs} (${value}). ` +
      'Usually this is JavaScript control flow on a traced value: `if (q.lt(kv))`, `c ? x : y`, `a && b`, `a || b` and `!a` ' +
      'test the Expr object, which is always truthy, not the value it stands for, so one branch is taken for every element. ' +
      'Write it with traced operations instead: where(cond, a, b) for if/else and ?:, and .and(), .or(), .not() for &&, || and ! ' +
      '(the and/or/not combinators join whole masks).',
  );
}

function trace<T>(label: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof AttentionInputError) throw e;
    throw new AttentionInputError(`${label}: could not be traced: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Defines a score modifier. `fn` receives the scaled score and the batch, query head,
 * query and key indices as traced values, plus one table per entry of `aux`.
 * @example scoreMod((s, b, h, q, kv, t) => s.add(t.slopes.at(h).mul(kv.sub(q))), { slopes })
 */
export function scoreMod(
  fn: (score: Expr, b: Expr, h: Expr, q: Expr, kv: Expr, tables: Tables) => ExprLike,
  aux: AuxInputs = {},
  label = 'scoreMod',
): Modifier {
  const { tables, data } = makeTables(aux, label);
  const ir = trace(label, () => resultNode(fn(arg('score'), arg('b'), arg('h'), arg('q'), arg('kv'), tables), 'f32', label));
  requireDependence(ir, 'score', label);
  return brand({ kind: 'score', label, ir, tables: data });
}

/**
 * Defines a mask modifier: true keeps the key for that query, false masks it out.
 * @example maskMod((b, h, q, kv) => q.sub(kv).lt(256))
 */
export function maskMod(fn: (b: Expr, h: Expr, q: Expr, kv: Expr, tables: Tables) => ExprLike, aux: AuxInputs = {}, label = 'maskMod'): Modifier {
  const { tables, data } = makeTables(aux, label);
  const ir = trace(label, () => resultNode(fn(arg('b'), arg('h'), arg('q'), arg('kv'), tables), 'bool', label));
  requireDependence(ir, 'mask', label);
  return brand({ kind: 'mask', label, ir, tables: data });
}

function merged(mods: readonly Modifier[]): Map<string, Float32Array> {
  return new Map(mods.flatMap((m) => [...m.tables]));
}

/**
 * Throws unless every entry of `mods` is a `kind` modifier made by this library.
 * @param what the function being called, for the message (e.g. 'and', 'blockMaskOnCpu')
 */
export function expectModifiers(mods: readonly unknown[], kind: 'score' | 'mask', what: string): asserts mods is readonly Modifier[] {
  if (mods.length === 0) throw new AttentionInputError(`${what}() needs at least one modifier`);
  for (const m of mods) {
    if (!isModifier(m)) {
      const k = typeof m === 'object' && m !== null ? (m as { kind?: unknown }).kind : undefined;
      throw new AttentionInputError(
        k === undefined
          ? `${what}() takes ${kind} modifiers, got ${m === null ? 'null' : typeof m}`
          : `${what}() takes ${kind} modifiers made by this library (scoreMod, maskMod, the built-ins), got a hand-built object with kind ${JSON.stringify(k)}`,
      );
    }
    if (m.kind !== kind) throw new AttentionInputError(`${what}() takes ${kind} modifiers, got a ${m.kind} modifier (${m.label})`);
  }
}

/** Keeps a key only where every mask keeps it. */
export function and(...masks: Modifier[]): Modifier {
  expectModifiers(masks, 'mask', 'and');
  const ir = masks.map((m) => m.ir).reduce((a, b): Node => ({ k: 'binary', t: 'bool', op: 'and', a, b }));
  return brand({ kind: 'mask', label: masks.map((m) => m.label).join(' ∧ '), ir, tables: merged(masks) });
}

/** Keeps a key where any mask keeps it. */
export function or(...masks: Modifier[]): Modifier {
  expectModifiers(masks, 'mask', 'or');
  const ir = masks.map((m) => m.ir).reduce((a, b): Node => ({ k: 'binary', t: 'bool', op: 'or', a, b }));
  return brand({ kind: 'mask', label: masks.map((m) => m.label).join(' ∨ '), ir, tables: merged(masks) });
}

/** Keeps exactly the keys `mask` masks out. */
export function not(mask: Modifier): Modifier {
  expectModifiers([mask], 'mask', 'not');
  return brand({ kind: 'mask', label: `¬${mask.label}`, ir: { k: 'unary', t: 'bool', op: 'not', a: mask.ir }, tables: mask.tables });
}

/** Applies score modifiers in order: compose(a, b)(s) = b(a(s)). */
export function compose(...mods: Modifier[]): Modifier {
  expectModifiers(mods, 'score', 'compose');
  const ir = mods.map((m) => m.ir).reduce((inner, outer) => substituteScore(outer, inner));
  return brand({ kind: 'score', label: mods.map((m) => m.label).join(' ∘ '), ir, tables: merged(mods) });
}

/** `root` with every 'score' argument replaced by `by`. */
function substituteScore(root: Node, by: Node): Node {
  return foldNodes<Node>(root, (n, sub) => {
    switch (n.k) {
      case 'arg':
        return n.name === 'score' ? by : n;
      case 'unary':
        return { ...n, a: sub(n.a) };
      case 'binary':
        return { ...n, a: sub(n.a), b: sub(n.b) };
      case 'select':
        return { ...n, cond: sub(n.cond), then: sub(n.then), else: sub(n.else) };
      case 'aux':
        return { ...n, index: sub(n.index) };
      default:
        return n;
    }
  });
}
