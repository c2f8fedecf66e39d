/*
 * The playground's modifier text → a library modifier. The text is parsed by
 * jsep (a JavaScript expression parser) into a syntax tree, and the tree is
 * walked into the library's traced operations inside scoreMod / maskMod:
 * `q - kv < 8 && kv <= q` becomes `q.sub(kv).lt(8).and(kv.le(q))`. Nothing is
 * evaluated as JavaScript and no text reaches a shader: only the library's
 * builders run, so its own checks (types, constant results) still apply.
 *
 * Accepted: numbers, true/false; the arguments b, h, q, kv (and score in a
 * score modifier); + - * / unary - and !; < <= > >= == != (=== !==); && ||;
 * c ? a : b; the functions exp log tanh abs min max where; and the library's
 * own method syntax (q.sub(kv).lt(8)). Anything else is an error naming the
 * character position.
 */
import jsep from 'jsep';
import { maskMod, scoreMod, where, type Expr, type Modifier } from './lib.js';

type Value = Expr | number | boolean;
type Node = jsep.Expression;

/** A modifier text that could not be turned into a modifier; `index` is the 0-based character position when known. */
export class ModifierTextError extends Error {
  constructor(
    message: string,
    readonly index?: number,
  ) {
    super(message);
    this.name = 'ModifierTextError';
  }
}

const BINARY: Record<string, string> = {
  '+': 'add',
  '-': 'sub',
  '*': 'mul',
  '/': 'div',
  '<': 'lt',
  '<=': 'le',
  '>': 'gt',
  '>=': 'ge',
  '==': 'eq',
  '===': 'eq',
  '!=': 'ne',
  '!==': 'ne',
  '&&': 'and',
  '||': 'or',
};
/** The operator with its operands swapped, for a plain number on the left (`8 > q` → `q.lt(8)`); sub and div have none. */
const SWAPPED: Record<string, string> = { add: 'add', mul: 'mul', lt: 'gt', le: 'ge', gt: 'lt', ge: 'le', eq: 'eq', ne: 'ne', and: 'and', or: 'or' };
/** The same operation on plain numbers (both operands constant). */
const CONSTANT: Record<string, (a: number, b: number) => number | boolean> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  and: (a, b) => Boolean(a) && Boolean(b),
  or: (a, b) => Boolean(a) || Boolean(b),
  min: Math.min,
  max: Math.max,
};
const UNARY_FUNCTIONS: Record<string, (x: number) => number> = { exp: Math.exp, log: Math.log, tanh: Math.tanh, abs: Math.abs };
const METHODS_1 = new Set(['add', 'sub', 'mul', 'div', 'min', 'max', 'lt', 'le', 'gt', 'ge', 'eq', 'ne', 'and', 'or']);
const METHODS_0 = new Set(['neg', 'abs', 'exp', 'log', 'tanh', 'not']);

/** Where `token` first occurs in `text` as a whole word (identifiers) or as written (operators); undefined if nowhere. */
function positionOf(text: string, token: string): number | undefined {
  const word = /^[A-Za-z_$][\w$]*$/.test(token);
  const re = word ? new RegExp(`(?<![\\w$.])${token.replace(/\$/g, '\\$')}(?![\\w$])`) : null;
  const i = re ? text.search(re) : text.indexOf(token);
  return i >= 0 ? i : undefined;
}

/** Applies a two-operand operation by its library method name. */
function binary(op: string, a: Value, b: Value): Value {
  if (typeof a !== 'object' && typeof b !== 'object') return CONSTANT[op]!(Number(a), Number(b));
  if (typeof a === 'object') return (a[op as 'add'] as (x: Value) => Expr).call(a, b);
  const swapped = SWAPPED[op] ?? (op === 'min' || op === 'max' ? op : undefined);
  if (swapped) return ((b as Expr)[swapped as 'add'] as (x: Value) => Expr).call(b, a);
  // a − x and a / x with a plain number a: lift a to a traced constant first.
  return (where(true, a, a)[op as 'sub'] as (x: Value) => Expr).call(where(true, a, a), b);
}

/** Applies a one-operand operation by its library method name. */
function unary(op: string, a: Value): Value {
  if (typeof a === 'object') return (a[op as 'neg'] as () => Expr).call(a);
  if (op === 'neg') return -Number(a);
  if (op === 'not') return !a;
  return UNARY_FUNCTIONS[op]!(Number(a));
}

/** Walks a jsep tree into traced values; `args` are the modifier's arguments by name. */
function walker(text: string, args: Record<string, Expr>) {
  const fail = (message: string, token?: string): never => {
    throw new ModifierTextError(message, token === undefined ? undefined : positionOf(text, token));
  };
  const walk = (n: Node): Value => {
    switch (n.type) {
      case 'Literal': {
        if (typeof n.value === 'number' || typeof n.value === 'boolean') return n.value;
        return fail(`only numbers and true/false are values here, not ${String(n.raw)}`, String(n.raw));
      }
      case 'Identifier': {
        const name = n.name as string;
        if (name in args) return args[name]!;
        if (name === 'score') return fail("'score' exists only in a score modifier", name);
        return fail(`unknown name '${name}': use ${Object.keys(args).join(', ')}`, name);
      }
      case 'UnaryExpression': {
        const op = { '-': 'neg', '!': 'not', '+': '' }[n.operator as string];
        if (op === undefined) return fail(`operator '${String(n.operator)}' is not part of the modifier language`, String(n.operator));
        const a = walk(n.argument as Node);
        return op ? unary(op, a) : a;
      }
      case 'BinaryExpression':
      case 'LogicalExpression': {
        const op = BINARY[n.operator as string];
        if (!op) return fail(`operator '${String(n.operator)}' is not part of the modifier language`, String(n.operator));
        return binary(op, walk(n.left as Node), walk(n.right as Node));
      }
      case 'ConditionalExpression':
        return where(walk(n.test as Node), walk(n.consequent as Node), walk(n.alternate as Node));
      case 'CallExpression':
        return call(n.callee as Node, (n.arguments as Node[]).map(walk));
      case 'Compound':
        return fail('one expression only (no commas or semicolons)', ',');
      default:
        return fail(`${n.type} is not part of the modifier language`);
    }
  };
  /** A function (exp(x), where(c, a, b)) or a method of the library (q.sub(kv)). */
  const call = (callee: Node, argv: Value[]): Value => {
    const arity = (name: string, n: number) => {
      if (argv.length !== n) fail(`${name}() takes ${n} argument${n === 1 ? '' : 's'}, got ${argv.length}`, name);
    };
    if (callee.type === 'Identifier') {
      const name = callee.name as string;
      const n = name in UNARY_FUNCTIONS ? 1 : name === 'min' || name === 'max' ? 2 : name === 'where' ? 3 : 0;
      if (n === 0) return fail(`unknown function '${name}': use exp, log, tanh, abs, min, max or where`, name);
      arity(name, n);
      if (n === 1) return unary(name, argv[0]!);
      return n === 2 ? binary(name, argv[0]!, argv[1]!) : where(argv[0]!, argv[1]!, argv[2]!);
    }
    if (callee.type === 'MemberExpression' && !callee.computed) {
      const name = (callee.property as Node).name as string;
      const self = walk(callee.object as Node);
      if (!METHODS_1.has(name) && !METHODS_0.has(name)) {
        throw new ModifierTextError(`unknown method '.${name}()'`, (positionOf(text, `.${name}`) ?? -1) + 1 || undefined);
      }
      arity(name, METHODS_1.has(name) ? 1 : 0);
      return METHODS_1.has(name) ? binary(name, self, argv[0]!) : unary(name, self);
    }
    return fail('only named functions and methods can be called', '(');
  };
  return walk;
}

/** Parses `text`, or throws ModifierTextError at jsep's position. */
function parse(text: string): Node {
  if (text.trim() === '') throw new ModifierTextError('empty expression', 0);
  try {
    return jsep(text);
  } catch (e) {
    const err = e as Error & { index?: number; description?: string };
    throw new ModifierTextError(err.description ?? err.message, err.index);
  }
}

/**
 * Runs the library's builder with a walk that records its own error: the builder wraps
 * whatever its function throws in its own error type, which would lose the position.
 * The library's own errors (types, constant results) become ModifierTextErrors without one.
 */
function build(make: (walk: (w: (n: Node) => Value, n: Node) => Value) => Modifier): Modifier {
  let own: ModifierTextError | undefined;
  const guarded = (w: (n: Node) => Value, n: Node): Value => {
    try {
      return w(n);
    } catch (e) {
      if (e instanceof ModifierTextError) own = e;
      throw e;
    }
  };
  try {
    return make(guarded);
  } catch (e) {
    throw own ?? new ModifierTextError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * A mask modifier from text over b, h, q, kv, e.g. `q - kv < 8 && kv <= q`.
 * @throws ModifierTextError with the character position of a syntax error or an unknown name
 */
export function maskFromText(text: string): Modifier {
  const tree = parse(text);
  return build((run) => maskMod((b, h, q, kv) => run(walker(text, { b, h, q, kv }), tree), {}, text.trim()));
}

/**
 * A score modifier from text over score, b, h, q, kv, e.g. `score - abs(q - kv) / 8`.
 * @throws ModifierTextError with the character position of a syntax error or an unknown name
 */
export function scoreFromText(text: string): Modifier {
  const tree = parse(text);
  return build((run) => scoreMod((score, b, h, q, kv) => run(walker(text, { score, b, h, q, kv }), tree), {}, text.trim()));
}

/** The text with a caret under `index` (two lines), for error messages. */
export function caret(text: string, index: number): string {
  return `${text}\n${' '.repeat(Math.max(0, Math.min(index, text.length)))}^`;
}
