#!/usr/bin/env node
/*
 * webgpu-attention CLI: info | verify | bench | explain.
 */
import { benchCommand } from './bench.js';
import { explainCommand } from './explain.js';
import { infoCommand } from './info.js';
import { UsageError } from './args.js';
import { verifyCommand } from './verify.js';

const USAGE = `usage: webgpu-attention <command> [flags]

commands:
  info      adapters, features, limits, the chosen backend and kernel tiles
  verify    check every kernel against the float64 reference
            [--backend auto|webgpu|cpu] [--quick] [--filter S] [--seed N]
  bench     time the algorithms
            [--backend B] [--algorithms naive,flash,basic | --kernel basic] [--seq 256,1024] [--seq-k N]
            [--batch 1] [--heads 8] [--kv-heads 8] [--head-dim 64] [--causal]
            [--dtype f32] [--samples 5] [--tile tx,ty,rm,cn[,share+p-in-k+swizzle]] [--key-splits N] [--json FILE]
            [--tune] (search tiles per shape class first, save them for later runs)
            [--render a.json,b.json] (ours and peers' JSON as one table with time ratios)
            [--variant alibi|user-alibi|softcap:C|window:W|document:L] [--backward [--dq-tile tx,ty,rm,cn[,ds-in-v]]]
  explain   device-memory bytes per step (IO model) next to measured time
            (same flags as bench; default --seq 1024)
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  info: infoCommand,
  verify: verifyCommand,
  bench: benchCommand,
  explain: explainCommand,
};

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd ? 0 : 2;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    process.stderr.write(`unknown command '${cmd}'\n\n${USAGE}`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    return 1;
  }
}

// Dawn keeps handles alive; exit explicitly once the command is done.
main().then((code) => process.exit(code));
