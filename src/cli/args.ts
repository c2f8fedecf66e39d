/*
 * Command-line parsing shared by the subcommands: comma lists of integers,
 * seeds, backend names, output paths, and the error every bad flag gets. Every
 * check here runs before a device opens, so a typo costs no device start.
 */
import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createAttention, type Attention } from '../api/attention.js';
import { nearestKey } from '../api/check-options.js';
import type { CpuOptions } from '../api/options.js';

/** A bad flag or value: the CLI prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Flag declarations: name → string- or boolean-valued. */
export type Flags = Record<string, { readonly type: 'string' | 'boolean' }>;

/** Parsed flags: booleans for boolean flags, strings otherwise, undefined when absent. */
export type Parsed<T extends Flags> = { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string };

export function parse<T extends Flags>(argv: string[], options: T): Parsed<T> {
  let parsed: ReturnType<typeof parseArgs<{ options: T; tokens: true; strict: true; allowPositionals: false }>>;
  try {
    parsed = parseArgs({ args: negativesJoined(argv, options), options, allowPositionals: false, strict: true, tokens: true });
  } catch (e) {
    const unknown = e instanceof Error && 'code' in e && e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && /'(-[^']*)'/.exec(e.message)?.[1];
    if (unknown) {
      const near = nearestKey(unknown.replace(/^-+/, '').split('=')[0]!, Object.keys(options));
      throw new UsageError(
        `unknown flag ${unknown} for this command${near ? ` (did you mean --${near}?)` : ''}; flags it takes: ${Object.keys(options)
          .map((k) => `--${k}`)
          .join(' ')}`,
      );
    }
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  // parseArgs keeps the last of a repeated flag: `--seq 16 --seq 32` would quietly drop 16.
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name))
      throw new UsageError(`--${t.name} is given twice; give it once${LIST_FLAGS.has(t.name) ? ` (a list takes commas: --${t.name} a,b)` : ''}`);
    seen.add(t.name);
  }
  return parsed.values as Parsed<T>;
}

/** Flags whose value is a comma list (intList and friends): a repeat of one is most likely meant as a list. */
const LIST_FLAGS = new Set(['seq', 'head-dim', 'algorithms', 'dtype', 'render']);

/**
 * A value flag followed by a negative number (`--seq -5`) takes it as its value, so the flag's
 * own check says what it takes; parseArgs would call the pair ambiguous.
 */
function negativesJoined(argv: string[], options: Flags): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const valued = arg.startsWith('--') && !arg.includes('=') && options[arg.slice(2)]?.type === 'string';
    if (valued && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** "256,1024" → [256, 1024]; every entry a positive integer written in decimal digits (and, `distinct`, none twice). */
export function intList(value: string | undefined, flag: string, fallback: number[], distinct = false): number[] {
  if (value === undefined) return fallback;
  const parts = value.split(',').map((s) => s.trim());
  // Digits only: Number() would take '', '0x10' and '1e3' as numbers.
  if (parts.some((s) => !/^\d+$/.test(s) || Number(s) < 1 || !Number.isSafeInteger(Number(s)))) {
    throw new UsageError(`${flag} takes positive integers separated by commas, got '${value}'`);
  }
  const nums = parts.map(Number);
  const twice = distinct ? nums.find((n, i) => nums.indexOf(n) !== i) : undefined;
  if (twice !== undefined) throw new UsageError(`${flag} lists ${twice} twice, got '${value}'`);
  return nums;
}

/** One positive integer. */
export function int(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag} takes a positive integer, got '${value}'`);
  }
  return Number(value);
}

/** `on` / `off` (undefined when absent: automatic). */
export function onOff(value: string | undefined, flag: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== 'on' && value !== 'off') throw new UsageError(`${flag} takes on or off, got '${value}'`);
  return value === 'on';
}

/** `--seed N`: an integer in [0, 2³²) (the generator's state), or undefined for a fresh seed. */
export function seed(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) >= 2 ** 32) throw new UsageError(`--seed takes an integer from 0 to ${2 ** 32 - 1}, got '${value}'`);
  return Number(value);
}

export const BACKENDS = ['auto', 'webgpu', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** `--backend`: auto (default), webgpu or cpu. */
export function backend(value: string | undefined): BackendName {
  const b = value ?? 'auto';
  if (!BACKENDS.includes(b as BackendName)) throw new UsageError(`--backend takes ${BACKENDS.join(', ')}, got '${b}'`);
  return b as BackendName;
}

/**
 * An output file flag (--json FILE), checked now so a long run is not lost at its end: the
 * folder must exist and the file open for appending (created and removed again if it was
 * not there) — a real attempt, since permission bits say nothing to root or a read-only mount.
 */
export function outputPath(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (value === '') throw new UsageError(`${flag} takes a file name, got ''`);
  const path = resolve(value);
  const fail = (why: string): never => {
    throw new UsageError(`${flag} ${value}: ${why}`);
  };
  const statOf = (p: string) => {
    try {
      return statSync(p);
    } catch {
      return undefined; // absent, or under something that is not a folder (ENOTDIR)
    }
  };
  const stat = statOf(path);
  if (stat?.isDirectory()) fail('is a folder, not a file');
  const dir = statOf(dirname(path));
  if (!dir?.isDirectory()) fail(`${dirname(path)} ${dir ? 'is not a folder' : 'does not exist'}`);
  try {
    closeSync(openSync(path, 'a'));
    if (!stat) unlinkSync(path);
  } catch (e) {
    fail(`cannot be written (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return value;
}

/** createAttention for a checked --backend (and the CPU backend's options, e.g. bench --threads); prints the choice to stderr. */
export async function openBackend(b: BackendName, cpu?: CpuOptions, quiet = false): Promise<Attention> {
  // Experiments: WEBGPU_ATTENTION_DAWN_FLAGS="enable-dawn-features=…" reaches Dawn's create().
  const dawnFlags = (process.env.WEBGPU_ATTENTION_DAWN_FLAGS ?? '').split(' ').filter(Boolean);
  // WEBGPU_ATTENTION_SUBGROUPS=off forces the workgroup-memory row reductions (A/B runs).
  const subgroups = process.env.WEBGPU_ATTENTION_SUBGROUPS !== 'off';
  const attn = await createAttention({ backend: b, poisonOutputs: true, dawnFlags, subgroups, ...(cpu ? { cpu } : {}) });
  if (quiet) return attn; // (info prints all of it itself)
  const a = attn.adapter;
  console.error(`backend: ${attn.backend} (${a.vendor} ${a.device})`);
  if (attn.fallbackReason) console.error(`falling back to the CPU: ${attn.fallbackReason}`);
  return attn;
}
