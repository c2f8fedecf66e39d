/*
 * Command-line parsing shared by the subcommands: comma lists of integers,
 * backend names, and the error every bad flag gets.
 */
import { parseArgs } from 'node:util';
import { createAttention, type Attention } from '../api/attention.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Flag declarations: name → string- or boolean-valued. */
export type Flags = Record<string, { readonly type: 'string' | 'boolean' }>;

/** Parsed flags: booleans for boolean flags, strings otherwise, undefined when absent. */
export type Parsed<T extends Flags> = { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string };

export function parse<T extends Flags>(argv: string[], options: T): Parsed<T> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Parsed<T>;
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** "256,1024" → [256, 1024]; every entry a positive integer. */
export function intList(value: string | undefined, flag: string, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const out = value.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new UsageError(`${flag} takes positive integers separated by commas, got '${value}'`);
  }
  return out;
}

export function int(value: string | undefined, flag: string, fallback: number): number {
  return intList(value, flag, [fallback])[0]!;
}

/** createAttention for --backend (auto | webgpu | cpu); prints the choice to stderr. */
export async function openBackend(backend: string | undefined): Promise<Attention> {
  const b = backend ?? 'auto';
  if (!['auto', 'webgpu', 'cpu'].includes(b)) throw new UsageError(`--backend must be auto, webgpu or cpu, got '${b}'`);
  // Experiments: WEBGPU_ATTENTION_DAWN_FLAGS="enable-dawn-features=…" reaches Dawn's create().
  const dawnFlags = (process.env.WEBGPU_ATTENTION_DAWN_FLAGS ?? '').split(' ').filter(Boolean);
  // WEBGPU_ATTENTION_SUBGROUPS=off forces the workgroup-memory row reductions (A/B runs).
  const subgroups = process.env.WEBGPU_ATTENTION_SUBGROUPS !== 'off';
  const attn = await createAttention({ backend: b as 'auto' | 'webgpu' | 'cpu', poisonOutputs: true, dawnFlags, subgroups });
  const a = attn.adapter;
  console.error(`backend: ${attn.backend} (${a.vendor} ${a.device})`);
  if (attn.fallbackReason) console.error(`falling back to the CPU: ${attn.fallbackReason}`);
  return attn;
}
