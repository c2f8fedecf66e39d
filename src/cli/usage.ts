/*
 * What `--help` prints: one usage text per command (`<command> --help`) and the
 * overview that lists them all (no arguments, `--help`), plus the package's
 * version for `--version`, read at run time from the package.json beside the
 * built files so it is right in a checkout and in an installed package alike.
 */
import { readFileSync } from 'node:fs';

const BACKEND = '  --backend auto|webgpu|cpu   where to run (default auto: WebGPU if an adapter passes its self-test, else the CPU)';

const SHAPE = `  --batch N                   batch size (default 1)
  --heads N                   query heads (default 8)
  --kv-heads N                key/value heads; must divide --heads (default: --heads; fewer is grouped-query attention)
  --head-dim 64[,128,…]       head dims, each one of 32, 64, 80, 96, 128, 256 (default 64)
  --seq-k N                   key length (default: each --seq)
  --causal                    causal mask
  --dtype f32,f16             element types of Q, K, V, O (a comma list; default f32)
  --samples N                 timing samples, median reported (default 5 on WebGPU, 3 on the CPU)`;

/** Per command: the one-line summary and the flags block. */
const COMMANDS = {
  info: {
    summary: 'adapters, features, limits, the chosen backend and kernel tiles',
    flags: BACKEND,
  },
  verify: {
    summary: 'check every kernel against the float64 reference: one line per case, then "N passed, M failed" (exit 1 if M > 0)',
    flags: `${BACKEND}
  --quick                     the control case and one per axis
  --filter S                  only cases whose name contains S (none matching is an error)
  --seed N                    inputs from this seed, 0 to 4294967295 (default: fresh, printed on failure)`,
  },
  bench: {
    summary: 'time the algorithms over sequence lengths and head dims; a table, and with --json the contract JSON',
    flags: `${BACKEND}
  --algorithms naive,flash    algorithms from naive, flash, basic (default naive,flash)
  --kernel basic              one algorithm (excludes --algorithms)
  --seq 256,1024              query lengths, keys the same unless --seq-k (default 256,1024)
${SHAPE}
  --tile tx,ty,rm,cn[,opts]   force the fused tile; opts from share, p-in-k, swizzle joined by '+'
  --key-splits N              split-K ranges (the decode kernels: ranges per K/V head)
  --decode-kernel on|off|subgroups|T,L,B  the decode kernels (few rows per K/V head over many keys) on or off,
                              the subgroup one forced, or the barrier one with a forced tile: T invocations, L lanes
                              per key row, B load bytes each
  --tensor-cores on|off|S,K[,prefetch]  f16 forwards on the matrix units (default where the device has f16 subgroup
                              matrices) off, forced, or forced with S subgroups per workgroup and K keys per tile
  --step-times                also time each kernel of the forward alone (JSON: kernels, stepMs)
  --paged PAGE_SIZE           read K/V through a page table (shuffled pages of PAGE_SIZE rows; forward, flash)
  --variant V                 alibi, user-alibi, softcap:C, window:W or document:L
  --backward                  time the backward pass (flash)
  --dq-tile tx,ty,rm,cn[,ds-in-v]   with --backward: force the dQ pass's tile
  --tune                      search tiles per shape class first and save them for later runs (WebGPU)
  --threads N                 with --backend cpu: worker threads (default: the available cores; 1 runs inline)
  --peers                     with --backend cpu: also time onnxruntime-web (wasm), onnxruntime-node (CPU) and tfjs-wasm
                              on the same f32 inputs and thread count, each checked against the float64 reference
                              (optional dev dependencies; a missing one is named with its install command;
                              WEBGPU_ATTENTION_HIDE_PEERS=pkg[,pkg] leaves packages out); the JSON gets "peers"
  --render a.json,b.json      no run: ours and peers' JSON as one table with time ratios
  --json FILE                 write the results (folder checked up front)
  --plot FILE.svg             an SVG chart of TFLOP/s (ms if none) by N, one line per algorithm × dtype; with --render, of those files`,
  },
  explain: {
    summary: 'device-memory bytes per step by the IO model, next to the measured time',
    flags: `${BACKEND}
  --algorithms naive,flash    algorithms from naive, flash, basic (default naive,flash)
  --kernel basic              one algorithm (excludes --algorithms)
  --seq 1024[,4096]           query lengths, keys the same unless --seq-k (default 1024)
${SHAPE}`,
  },
  demo: {
    summary: 'serve the demo site (walkthrough, benchmark, playground) on localhost and print its URL; Ctrl-C stops it',
    flags: `  --port N                    port, 0 for any free one (default 4173)
  --host H                    address to listen on (default 127.0.0.1; WebGPU needs localhost or HTTPS)`,
  },
} as const;

export type CommandName = keyof typeof COMMANDS;

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** `webgpu-attention <command> --help`. */
export function commandUsage(name: CommandName): string {
  const c = COMMANDS[name];
  return `usage: webgpu-attention ${name} [flags]\n\n${c.summary}\n\nflags:\n${c.flags}\n  -h, --help                  this text\n`;
}

/** The overview: every command with its flags. */
export function usage(): string {
  const list = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`);
  const flags = Object.entries(COMMANDS).map(([name, c]) => `${name}:\n${c.flags}`);
  return [
    'usage: webgpu-attention <command> [flags]',
    '       webgpu-attention <command> --help | --help | --version',
    '',
    'commands:',
    ...list,
    '',
    ...flags.join('\n\n').split('\n'),
    '',
  ].join('\n');
}

/** The version in the package.json two folders above this file (dist/cli/ → the package root). */
export function version(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
