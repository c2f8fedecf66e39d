/*
 * WGSL emitter: one function per modifier, one `let` per IR node (shared
 * subexpressions are computed once), constants printed from numbers, table
 * reads clamped into the packed auxiliary buffer `aux`. Only IR is emitted.
 */
import { foldNodes, type Node } from './ir.js';
import type { Modifier } from './modifier.js';

/** Where each table lives in the packed `aux` buffer (offset and length, in floats). */
export type TableLayout = ReadonlyMap<string, { readonly offset: number; readonly length: number }>;

/** Packs every table of `mods` into one array; returns the data and each table's place. */
export function packTables(mods: readonly (Modifier | undefined)[]): { data: Float32Array; layout: TableLayout } {
  const tables = new Map<string, Float32Array>();
  for (const m of mods) if (m) for (const [id, t] of m.tables) tables.set(id, t);
  const layout = new Map<string, { offset: number; length: number }>();
  let offset = 0;
  for (const [id, t] of tables) {
    layout.set(id, { offset, length: t.length });
    offset += t.length;
  }
  const data = new Float32Array(Math.max(offset, 1));
  for (const [id, t] of tables) data.set(t, layout.get(id)!.offset);
  return { data, layout };
}

function f32Literal(v: number): string {
  const s = String(Math.fround(v));
  return `${s.includes('.') || s.includes('e') ? s : `${s}.0`}f`;
}

function literal(n: Extract<Node, { k: 'const' }>): string {
  if (n.t === 'bool') return String(n.v);
  if (n.t === 'i32') return `i32(${n.v})`;
  return `f32(${f32Literal(n.v as number)})`;
}

const INFIX: Partial<Record<string, string>> = {
  add: '+',
  sub: '-',
  mul: '*',
  div: '/',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
  eq: '==',
  ne: '!=',
  and: '&&',
  or: '||',
};

/** Body statements and the result name of an expression. */
function emitBody(root: Node, layout: TableLayout): { lines: string[]; result: string } {
  const lines: string[] = [];
  const result = foldNodes<string>(root, (n, x) => {
    let e: string;
    switch (n.k) {
      case 'const':
        e = literal(n);
        break;
      case 'arg':
        e = n.name;
        break;
      case 'unary':
        // tanh is clamped: some GPUs compute it as (e^2x − 1)/(e^2x + 1), NaN for large x; tanh(±15) is ±1 in f32.
        e =
          n.op === 'neg' ? `-(${x(n.a)})` : n.op === 'not' ? `!(${x(n.a)})` : n.op === 'tanh' ? `tanh(clamp(${x(n.a)}, -15.0f, 15.0f))` : `${n.op}(${x(n.a)})`;
        break;
      case 'binary': {
        const infix = INFIX[n.op];
        e = infix ? `(${x(n.a)} ${infix} ${x(n.b)})` : `${n.op}(${x(n.a)}, ${x(n.b)})`;
        break;
      }
      case 'select':
        e = `select(${x(n.else)}, ${x(n.then)}, ${x(n.cond)})`;
        break;
      case 'aux': {
        const t = layout.get(n.table);
        if (!t) throw new Error(`emitWgsl: table ${n.table} has no place in the aux buffer`);
        e = `aux[${t.offset}u + u32(clamp(${x(n.index)}, 0i, ${t.length - 1}i))]`;
        break;
      }
    }
    const name = `t${lines.length}`;
    lines.push(`  let ${name} = ${e};`);
    return name;
  });
  return { lines, result };
}

/** `fn scoreMod(score, b, h, q, kv) -> f32` or `fn maskMod(b, h, q, kv) -> bool`. */
export function emitWgsl(mod: Modifier, layout: TableLayout, name?: string): string {
  const { lines, result } = emitBody(mod.ir, layout);
  const sig =
    mod.kind === 'score'
      ? `fn ${name ?? 'scoreMod'}(score: f32, b: i32, h: i32, q: i32, kv: i32) -> ${mod.ir.t === 'i32' ? 'i32' : 'f32'}`
      : `fn ${name ?? 'maskMod'}(b: i32, h: i32, q: i32, kv: i32) -> bool`;
  // No label or other user text goes into the shader: only the IR.
  return `${sig} {\n${lines.join('\n')}\n  return ${result};\n}`;
}

/** Whether any of `mods` reads an auxiliary table (then the kernel binds `aux`). */
export function readsTables(mods: readonly (Modifier | undefined)[]): boolean {
  return mods.some((m) => m && m.tables.size > 0);
}
