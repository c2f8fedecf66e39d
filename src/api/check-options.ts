/*
 * The options of every public entry point, checked once at the top of the call
 * (pure: no GPU, no backend). An option of the wrong type is an
 * AttentionInputError naming the option and the value, never a TypeError from
 * deep inside, a silently ignored key, or (for a hand-built modifier) IR that
 * nobody checked reaching a shader. Unknown keys name the nearest valid key,
 * because a misspelt `casual: true` would otherwise quietly compute
 * non-causal attention.
 *
 * Each check returns a frozen copy holding only the keys that were set, so a
 * caller mutating its options object later cannot change a call under way.
 */
import type { BackwardTile } from '../kernels/backward.js';
import type { ForwardTile } from '../kernels/forward.js';
import { isSinks } from '../mods/builtins.js';
import { isModifier, type Modifier } from '../mods/modifier.js';
import { MAX_POSITION } from '../mods/positions.js';
import { AttentionInputError } from '../tensor/errors.js';
import { LAYOUTS, SUPPORTED_HEAD_DIMS } from '../tensor/shape.js';
import { AttentionTensor } from './tensor.js';
import type { DecodeOptions } from './decode.js';
import type { AppendOptions, KVCacheOptions } from './kv-cache-types.js';
import type { PagedKVCacheOptions } from './paged-cache.js';
import { checkPagesOption } from './paged-call.js';
import type { BackwardOptions, CreateOptions, ForwardOptions, TensorOptions } from './options.js';
import { ALGORITHMS } from './options.js';

/** Checks one option's value; `name` is its path for the message (e.g. 'tile.tx'). */
type Rule = (value: unknown, name: string) => unknown;

function fail(msg: string): never {
  throw new AttentionInputError(msg);
}

/** A value as a message shows it: strings quoted, NaN as NaN, objects briefly. Never throws. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'a function';
  if (typeof v !== 'object' || v === null) return String(v);
  if (isModifier(v)) return `a ${v.kind} modifier (${v.label})`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
  if (proto !== null && proto !== Object.prototype) return `a ${proto.constructor?.name || 'non-plain'} object`;
  try {
    const text = JSON.stringify(v);
    return text.length > 60 ? `${text.slice(0, 60)}…` : text;
  } catch {
    return 'an object';
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Edit distance with adjacent transpositions (so 'casual' is one edit from 'causal'). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The valid key nearest to `key` (case ignored), if it is near enough to be a likely typo. */
export function nearestKey(key: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    const d = editDistance(key.toLowerCase(), v.toLowerCase());
    if (d < bestD) [best, bestD] = [v, d];
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Checks that `value` is undefined or a plain object whose keys all have rules, and
 * each set value passes its rule; returns a frozen copy of the keys that were set.
 * @param what the object's name in messages, e.g. 'forward() options', 'tile'
 * @param prefix prepended to option names in messages ('' at top level, 'tile.' inside)
 */
function checkObject(value: unknown, rules: Readonly<Record<string, Rule>>, what: string, prefix = ''): Readonly<Record<string, unknown>> {
  if (value === undefined) return Object.freeze({});
  if (!isPlainObject(value)) fail(`${what} must be a plain object or undefined, got ${show(value)}`);
  const valid = Object.keys(rules);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (!Object.prototype.hasOwnProperty.call(rules, key)) {
      const near = nearestKey(key, valid);
      const hint = near ? ` (did you mean '${near}'?)` : `; valid: ${valid.join(', ')}`;
      fail(`${what}: unknown option '${prefix}${key}'${hint}`);
    }
    const v = value[key];
    if (v !== undefined) out[key] = rules[key]!(v, `${prefix}${key}`);
  }
  return Object.freeze(out);
}

const bool: Rule = (v, name) => (typeof v === 'boolean' ? v : fail(`${name} must be true or false, got ${show(v)}`));

const finite: Rule = (v, name) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(`${name} must be a finite number, got ${show(v)}`));

const positiveInt: Rule = (v, name) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : fail(`${name} must be a positive integer, got ${show(v)}`);

/** A position offset: an integer in [0, 2^24), or a non-empty array of them (one per batch entry; api/call.ts checks the count). */
const offset: Rule = (v, name) => {
  const ok = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < MAX_POSITION;
  const what = `an integer in [0, ${MAX_POSITION}) or an array of them, one per batch entry`;
  if (Array.isArray(v)) {
    if (v.length === 0) fail(`${name} must be ${what}, got an empty array`);
    v.forEach((x, i) => ok(x) || fail(`${name}[${i}] must be an integer in [0, ${MAX_POSITION}), got ${show(x)}`));
    return Object.freeze([...v]);
  }
  return ok(v) ? v : fail(`${name} must be ${what}, got ${show(v)}`);
};
const nonNegativeInt: Rule = (v, name) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fail(`${name} must be a non-negative integer, got ${show(v)}`);

function oneOf(values: readonly string[]): Rule {
  return (v, name) => {
    if (values.includes(v as string)) return v;
    const near = typeof v === 'string' ? nearestKey(v, values) : undefined;
    return fail(`${name} must be one of ${values.join(', ')}, got ${show(v)}${near ? ` (did you mean '${near}'?)` : ''}`);
  };
}

const stringArray: Rule = (v, name) => {
  if (!Array.isArray(v)) fail(`${name} must be an array of strings, got ${show(v)}`);
  v.forEach((s, i) => typeof s === 'string' || fail(`${name}[${i}] must be a string, got ${show(s)}`));
  return Object.freeze([...v]);
};

const TILE_SIZES = { tx: positiveInt, ty: positiveInt, rm: positiveInt, cn: positiveInt };

/** A tile: positive-integer tx, ty, rm, cn (all required) and boolean flags. */
function tile(flags: readonly string[], kind: string): Rule {
  const rules: Record<string, Rule> = { ...TILE_SIZES, ...Object.fromEntries(flags.map((f) => [f, bool])) };
  return (v, name) => {
    const t = checkObject(v, rules, `${name} (a ${kind})`, `${name}.`);
    for (const size of Object.keys(TILE_SIZES)) if (t[size] === undefined) fail(`${name}.${size} is missing: a ${kind} needs tx, ty, rm and cn`);
    return t;
  };
}

/**
 * true, false, or a forced `kind` tile with the `required` keys among `rules` (its values
 * checked against the device when the call is planned).
 */
function onOffOrTile(kind: string, rules: Readonly<Record<string, Rule>>, required: readonly string[], word?: string): Rule {
  const needs = `${required.slice(0, -1).join(', ')} and ${required.at(-1)}`;
  return (v, name) => {
    if (typeof v === 'boolean' || (word !== undefined && v === word)) return v;
    const t = checkObject(v, rules, `${name} (true, false${word ? `, '${word}'` : ''} or a ${kind})`, `${name}.`);
    for (const key of required) if (t[key] === undefined) fail(`${name}.${key} is missing: a ${kind} needs ${needs}`);
    return t;
  };
}

const decodeKernel = onOffOrTile(
  'DecodeTile',
  { threads: positiveInt, lanes: positiveInt, loadBytes: positiveInt },
  ['threads', 'lanes', 'loadBytes'],
  'subgroups',
);
const tensorCores = onOffOrTile('MatrixTile', { subgroups: positiveInt, keys: positiveInt, prefetch: bool }, ['subgroups', 'keys']);

const forwardTile = tile(['shareKv', 'pInK', 'swizzle'] satisfies (keyof ForwardTile)[], 'ForwardTile');
const backwardTile = tile(['dsInY'] satisfies (keyof BackwardTile)[], 'BackwardTile');

/** What each modifier option takes, for messages. */
const MODIFIER_EXAMPLES = {
  score: 'alibi, softcap, relativeBias, scoreMod(…), compose(…)',
  mask: 'slidingWindow, documentMask, maskMod(…), and/or/not(…)',
} as const;

/**
 * Throws unless `value` is a `kind` modifier made by this library (a hand-built object with
 * a `kind` field is refused: its IR was never traced or checked).
 * @param name the argument's name in the message, e.g. 'score', 'blockMask: mask'
 */
export function checkModifier(value: unknown, kind: 'score' | 'mask', name: string): Modifier {
  const examples = MODIFIER_EXAMPLES[kind];
  if (!isModifier(value)) {
    const k = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
    if (k !== undefined) {
      fail(`${name} must be a ${kind} modifier made by this library (${examples}); got a hand-built object with kind ${show(k)}`);
    }
    fail(`${name} must be a ${kind} modifier (${examples}), got ${show(value)}`);
  }
  if (value.kind !== kind) fail(`${name} must be a ${kind} modifier (${examples}), got ${show(value)}`);
  return value;
}

const sinks: Rule = (v, name) => {
  if (isSinks(v)) return v;
  const hand = !isModifier(v) && typeof v === 'object' && v !== null && 'kind' in v ? '; a hand-built object is not accepted' : '';
  return fail(`${name} must come from learnedSinks(logits)${hand}, got ${show(v)}`);
};

/** dtype: the element type of a tensor ('f32' or 'f16'). */
const dtype: Rule = (v, name) => (v === 'f32' || v === 'f16' ? v : fail(`${name} must be 'f32' or 'f16', got ${show(v)}`));

const backend: Rule = (v, name) => {
  if (v === 'auto' || v === 'webgpu' || v === 'cpu') return v;
  if (!isPlainObject(v)) fail(`${name} must be 'auto', 'webgpu', 'cpu' or { device }, got ${show(v)}`);
  const device = checkObject(v, { device: (d) => d }, `${name} ({ device })`, `${name}.`).device as { createBuffer?: unknown } | undefined;
  if (typeof device !== 'object' || device === null || typeof device.createBuffer !== 'function') {
    fail(`${name}: { device } needs a GPUDevice, got ${show(device)}`);
  }
  return Object.freeze({ device });
};

const CREATE_RULES: Readonly<Record<keyof CreateOptions, Rule>> = {
  backend,
  dawnFlags: stringArray,
  shaderF16: bool,
  tensorCores: (v, name) => (v === 'emulate' ? v : bool(v, name)),
  poisonOutputs: bool,
  tuning: oneOf(['cached', 'off']),
  subgroups: bool,
  maxBindingBytes: positiveInt,
  cpu: (v, name) => checkObject(v, { wasm: bool, threads: nonNegativeInt }, name, `${name}.`),
};

const FORWARD_RULES: Readonly<Record<keyof ForwardOptions, Rule>> = {
  dtype,
  causal: bool,
  scale: finite,
  algorithm: oneOf(ALGORITHMS),
  returnLse: bool,
  tile: forwardTile,
  keySplits: positiveInt,
  decodeKernel,
  tensorCores,
  score: (v, name) => checkModifier(v, 'score', name),
  mask: (v, name) => checkModifier(v, 'mask', name),
  sinks,
  queryOffset: offset,
  keyOffset: offset,
  pages: (v) => checkPagesOption(v),
  into: (v, name) => {
    const tensor: Rule = (t, n) => (t instanceof AttentionTensor ? t : fail(`${n} must be a tensor made by attn.tensor(), got ${show(t)}`));
    return checkObject(v, { out: tensor, dq: tensor, dk: tensor, dv: tensor }, name, `${name}.`);
  },
};

/**
 * backward() takes the forward call's options, and forward() takes backward()'s, so one
 * options object can serve both calls (as the docs advise); each ignores what it does not use.
 */
const PASS_RULES: Readonly<Record<keyof BackwardOptions, Rule>> = {
  ...FORWARD_RULES,
  tableGrads: bool,
  backwardTile,
  dqTile: backwardTile,
};

const TENSOR_RULES: Readonly<Record<keyof TensorOptions, Rule>> = {
  layout: oneOf(LAYOUTS),
  dtype,
  byteOffset: (v, name) => (Number.isInteger(v) && (v as number) >= 0 ? v : fail(`${name} must be a whole number of bytes ≥ 0, got ${show(v)}`)),
};

/** A head dim the kernels take (a cache of another would fail only at its first decode). */
const headDim: Rule = (v, name) =>
  SUPPORTED_HEAD_DIMS.includes(v as number) ? v : fail(`${name} must be one of the supported head dims ${SUPPORTED_HEAD_DIMS.join(', ')}, got ${show(v)}`);

const KV_CACHE_RULES: Readonly<Record<keyof KVCacheOptions, Rule>> = {
  batch: positiveInt,
  heads: positiveInt,
  headDim,
  capacity: positiveInt,
  dtype,
  streaming: (v, name) => {
    const s = checkObject(v, { sinks: positiveInt, window: positiveInt, maxChunk: positiveInt }, name, `${name}.`);
    for (const k of ['sinks', 'window']) if (s[k] === undefined) fail(`${name}.${k} is missing: a streaming cache needs { sinks, window }`);
    return s;
  },
};

/** Checks attn.kvCache()'s options (batch, heads, headDim required; capacity only without streaming); validated and frozen. */
export function checkKVCacheOptions(opts: unknown): KVCacheOptions {
  const o = checkObject(opts, KV_CACHE_RULES, 'kvCache() options');
  for (const k of ['batch', 'heads', 'headDim']) if (o[k] === undefined) fail(`kvCache() options: ${k} is missing (it needs batch, heads, headDim)`);
  if (o.streaming && o.capacity !== undefined)
    fail('kvCache() options: a streaming cache has a fixed size (sinks + window + maxChunk − 1); leave out capacity');
  return o as unknown as KVCacheOptions;
}

/** A count for every sequence, or one for all (append() checks the entries against the batch and data). */
const counts: Rule = (v, name) =>
  typeof v === 'number' || Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))
    ? v
    : fail(`${name} must be a number or an array with one number per sequence, got ${show(v)}`);

const APPEND_RULES: Readonly<Record<keyof AppendOptions, Rule>> = { counts, layout: oneOf(LAYOUTS) };

/** Checks append()'s options (every cache kind); validated and frozen. */
export function checkAppendOptions(opts: unknown): AppendOptions {
  return checkObject(opts, APPEND_RULES, 'append() options') as AppendOptions;
}

/** Options decode() sets itself, from the cache. */
const SET_BY_DECODE = ['causal', 'queryOffset', 'keyOffset', 'into', 'pages'] as const;

const DECODE_RULES: Readonly<Record<keyof DecodeOptions, Rule>> = (() => {
  // backward()'s options too (unused), so one options object serves forward, backward and decode.
  const rules: Record<string, Rule> = { ...PASS_RULES, counts };
  for (const key of SET_BY_DECODE) delete rules[key];
  return rules as Record<keyof DecodeOptions, Rule>;
})();

/** Checks attn.decode()'s options (forward()'s less what the cache sets, plus counts); validated and frozen. */
export function checkDecodeOptions(opts: unknown): DecodeOptions {
  if (isPlainObject(opts)) {
    const own: Record<string, unknown> = { ...opts };
    // causal: true says what decode does anyway (so forward()'s options object serves here too).
    if (own.causal === true) delete own.causal;
    for (const key of SET_BY_DECODE) {
      // Present but undefined is not set, as everywhere else ({ queryOffset: shift || undefined }).
      if (own[key] !== undefined) fail(`decode() sets ${key} itself (from the cache${key === 'causal' ? ': always causal' : ''}); leave it out`);
      delete own[key];
    }
    opts = own;
  }
  return checkObject(opts, DECODE_RULES, 'decode() options') as DecodeOptions;
}

const PAGED_RULES: Readonly<Record<keyof PagedKVCacheOptions, Rule>> = {
  batch: nonNegativeInt,
  heads: positiveInt,
  headDim,
  pageSize: positiveInt,
  numPages: positiveInt,
  dtype,
};

/** Checks attn.pagedKVCache()'s options (heads, headDim, pageSize, numPages required); validated and frozen. */
export function checkPagedKVCacheOptions(opts: unknown): PagedKVCacheOptions {
  const o = checkObject(opts, PAGED_RULES, 'pagedKVCache() options');
  for (const k of ['heads', 'headDim', 'pageSize', 'numPages']) {
    if (o[k] === undefined) fail(`pagedKVCache() options: ${k} is missing (it needs heads, headDim, pageSize, numPages)`);
  }
  return o as unknown as PagedKVCacheOptions;
}

/** Checks createAttention()'s options; returns them validated and frozen. */
export function checkCreateOptions(opts: unknown): CreateOptions {
  return checkObject(opts, CREATE_RULES, 'createAttention() options') as CreateOptions;
}

/** Checks forward()'s options (backward()'s are accepted too, unused); returns them validated and frozen. */
export function checkForwardOptions(opts: unknown): ForwardOptions {
  return checkObject(opts, PASS_RULES, 'forward() options') as ForwardOptions;
}

/** Checks backward()'s options (the forward call's plus tableGrads, backwardTile, dqTile); validated and frozen. */
export function checkBackwardOptions(opts: unknown): BackwardOptions {
  return checkObject(opts, PASS_RULES, 'backward() options') as BackwardOptions;
}

/** Checks attn.tensor()'s options; returns them validated and frozen. */
export function checkTensorOptions(opts: unknown): TensorOptions {
  return checkObject(opts, TENSOR_RULES, 'tensor() options') as TensorOptions;
}

/** Checks attn.blockMask()'s arguments: a mask modifier made by this library, and a plain shape of positive integers. */
export function checkBlockMaskArgs(mask: unknown, shape: unknown): void {
  checkModifier(mask, 'mask', 'blockMask: mask');
  const size: Rule = (v, name) => positiveInt(v, `blockMask: ${name}`);
  const rules = { batch: size, heads: size, seqQ: size, seqK: size, headDim: size, queryOffset: offset, keyOffset: offset };
  const s = checkObject(shape, rules, 'blockMask shape');
  if (shape === undefined) fail('blockMask needs a shape { batch, heads, seqQ, seqK }');
  for (const k of ['batch', 'heads', 'seqQ', 'seqK']) if (s[k] === undefined) fail(`blockMask: shape.${k} is missing`);
  for (const k of ['queryOffset', 'keyOffset']) {
    const o = s[k];
    if (Array.isArray(o) && o.length !== s.batch) fail(`blockMask: shape.${k} has ${o.length} entries, but batch is ${String(s.batch)}`);
  }
}
