/*
 * What a CPU peer of `bench --peers` is (cpu-peers.ts runs them): a loaded library
 * that prepares one shape and runs it, and how a peer's optional package is
 * imported — a dynamic import whose failure becomes PeerMissingError (one line
 * for the user, never a crash). WEBGPU_ATTENTION_HIDE_PEERS=pkg[,pkg] makes the
 * named packages count as missing (tests, and runs that want fewer peers).
 */
import type { BenchShape, benchInputs } from './bench.js';

/** Q, K, V of one shape (bhnd, f32). */
export type PeerInputs = ReturnType<typeof benchInputs>;

/** One shape made ready on a peer: `run` computes O once (bhnd, f32) and returns it on the host. */
export interface PeerCall {
  run(): Promise<Float32Array>;
  release(): Promise<void>;
}

/** A peer library, loaded and set to its thread count. */
export interface CpuPeer {
  /** Row name: 'onnxruntime-web', 'onnxruntime-node', 'tfjs-wasm'. */
  readonly name: string;
  readonly version: string;
  /** Threads the peer actually runs with (tfjs-wasm has none in Node: 1). */
  readonly threads: number;
  /** How it runs, for the note column (e.g. "wasm SIMD, opset-23 Attention"). */
  readonly how: string;
  /** Builds the call for one shape (not timed: session creation, uploads). */
  prepare(shape: BenchShape, inputs: PeerInputs): Promise<PeerCall>;
}

/** How to load one peer; `load` throws PeerMissingError when a package cannot be imported. */
export interface PeerSpec {
  readonly name: string;
  /** The npm packages it needs, at the versions the project tests (package.json devDependencies). */
  readonly packages: readonly string[];
  load(threads: number): Promise<CpuPeer>;
}

/** A peer's package is not installed (or hidden by WEBGPU_ATTENTION_HIDE_PEERS). */
export class PeerMissingError extends Error {
  override readonly name = 'PeerMissingError';
  constructor(
    readonly pkg: string,
    readonly hidden: boolean,
  ) {
    super(`${pkg} is ${hidden ? 'hidden by WEBGPU_ATTENTION_HIDE_PEERS' : 'not installed'}`);
  }
}

/** Package names listed in WEBGPU_ATTENTION_HIDE_PEERS (comma-separated). */
function hiddenPackages(): string[] {
  const env = typeof process === 'undefined' ? undefined : process.env.WEBGPU_ATTENTION_HIDE_PEERS;
  return (env ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * `import(pkg)`, or PeerMissingError when it is not installed or hidden. The specifier is
 * a plain string, so neither TypeScript nor a bundler needs the package to be present.
 */
export async function importPeer(pkg: string): Promise<unknown> {
  if (hiddenPackages().includes(pkg)) throw new PeerMissingError(pkg, true);
  try {
    return await import(pkg);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new PeerMissingError(pkg, false);
    throw e;
  }
}
