#!/usr/bin/env node
/*
 * webgpu-attention CLI: info | verify | bench | explain | demo, plus --version and
 * --help (overall or per command). Exit codes: 0 done, 1 a failure (a case
 * failed, an error while running), 2 a usage error (caught before any device
 * opens; the message names the flag and the value).
 */
import { mkdirSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { benchCommand } from './bench.js';
import { demoCommand } from './demo.js';
import { explainCommand } from './explain.js';
import { infoCommand } from './info.js';
import { UsageError } from './args.js';
import { verifyCommand } from './verify.js';
import { commandUsage, isCommand, usage, version, type CommandName } from './usage.js';

const COMMANDS: Record<CommandName, (argv: string[]) => Promise<number>> = {
  info: infoCommand,
  verify: verifyCommand,
  bench: benchCommand,
  explain: explainCommand,
  demo: demoCommand,
};

const HELP = ['--help', '-h'];

/**
 * Without XDG_RUNTIME_DIR (containers, CI, ssh sessions) the Vulkan loader's window-system
 * probing prints "XDG_RUNTIME_DIR is invalid or not set" twice before the first adapter
 * request, on every run. The CLI opens no windows: a private folder of its own quiets it.
 */
function quietRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  try {
    const dir = join(tmpdir(), `webgpu-attention-runtime-${userInfo().uid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  } catch {
    // Only two lines of noise are at stake.
  }
}

async function main(): Promise<number> {
  quietRuntimeDir();
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (!cmd || HELP.includes(cmd) || cmd === 'help') {
    // `help bench` is `bench --help`; anything else after help is a usage error.
    const words = cmd === 'help' ? rest.filter((w) => !HELP.includes(w)) : [];
    const [topic] = words;
    if (words.length > 1 || (topic !== undefined && !isCommand(topic))) {
      process.stderr.write(`${words.length > 1 ? `help takes one command name, got '${words.join(' ')}'` : `unknown command '${topic}'`}\n\n${usage()}`);
      return 2;
    }
    process.stdout.write(topic ? commandUsage(topic) : usage());
    return cmd ? 0 : 2;
  }
  if (!isCommand(cmd)) {
    process.stderr.write(`unknown command '${cmd}'\n\n${usage()}`);
    return 2;
  }
  if (rest.some((a) => HELP.includes(a))) {
    process.stdout.write(commandUsage(cmd));
    return 0;
  }
  try {
    return await COMMANDS[cmd](rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`webgpu-attention ${cmd}: ${e.message}\n\n${commandUsage(cmd)}`);
      return 2;
    }
    process.stderr.write(`${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    return 1;
  }
}

// Dawn keeps handles alive; exit explicitly once the command is done.
main().then((code) => process.exit(code));
