/*
 * `webgpu-attention demo`: serves the demo site (walkthrough, benchmark,
 * playground) that ships built in the package's web/dist/, on localhost, and
 * prints its URL. 127.0.0.1 is a secure context, which WebGPU requires; a
 * file:// URL is not, which is why the page needs a server at all.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, UsageError } from './args.js';
import { serveStatic } from './static-server.js';

export const DEMO_FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
} as const;

/** The built site: web/dist two folders above this file (dist/cli/ → the package root). */
export const SITE_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** `--port N`: 0 (any free port) to 65535; default 4173 (Vite's preview port, as `npm run demo`). */
function portOf(value: string | undefined): number {
  if (value === undefined) return 4173;
  if (!/^\d+$/.test(value.trim()) || Number(value) > 65535) throw new UsageError(`--port takes 0 (a free port) to 65535, got '${value}'`);
  return Number(value);
}

/** Serves until the process is stopped (Ctrl-C); returns 1 at once if the site is not built or the port is taken. */
export async function demoCommand(argv: string[]): Promise<number> {
  const a = parse(argv, DEMO_FLAGS);
  const port = portOf(a.port);
  const host = a.host ?? '127.0.0.1';
  if (!host.trim()) throw new UsageError('--host takes a host name or address');
  if (!existsSync(`${SITE_DIR}index.html`)) {
    console.error(`the demo site is not built (no ${SITE_DIR}index.html); in a checkout run \`npm run build:web\``);
    return 1;
  }
  let served;
  try {
    served = await serveStatic(SITE_DIR, port, host);
  } catch (e) {
    console.error(`cannot serve on ${host}:${port}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  console.log(`webgpu-attention demo: ${served.url}`);
  console.error('serving the demo site; Ctrl-C to stop');
  await new Promise<void>((done) => {
    const stop = () => void served.close().then(done);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
