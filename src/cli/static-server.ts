/*
 * A small static file server (node:http, no dependency) for `webgpu-attention
 * demo`: serves one folder — the built demo site — with the MIME types a
 * browser insists on (a module script must be text/javascript, WebAssembly
 * streaming compilation needs application/wasm), and never a file outside that
 * folder (`..` segments, encoded or not, and absolute paths are refused).
 */
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';

/** File extension → Content-Type; anything else is application/octet-stream. */
export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The file under `root` that the URL path `urlPath` names (a folder → its
 * index.html), or null when the path is malformed or would leave `root`.
 * `root` must be absolute and resolved.
 */
export function resolveInside(root: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null; // a malformed %-escape
  }
  // Refuse rather than normalise: a request with `..`, a backslash or a NUL is not one the site makes.
  if (!path.startsWith('/') || path.includes('\0') || path.includes('\\') || path.split('/').includes('..')) return null;
  const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
  return file === root || file.startsWith(root + sep) ? file : null;
}

/** A running server: its URL (with the port actually bound) and a way to stop it. */
export interface StaticServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Serves `dir` on `host`:`port` (port 0: a free one) with GET and HEAD only.
 * Resolves once listening; rejects if the port cannot be bound (e.g. in use).
 */
export function serveStatic(dir: string, port: number, host: string): Promise<StaticServer> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      // The path as sent: new URL() would resolve `..` and turn `\` into `/` before resolveInside could refuse them.
      const pathname = (req.url ?? '/').split(/[?#]/)[0]!;
      let file = resolveInside(root, pathname);
      if (file === null) {
        res.writeHead(403, { 'content-type': MIME_TYPES['.txt']! }).end('forbidden\n');
        return;
      }
      try {
        if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
        const body = await readFile(file);
        const type = MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
        res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache' });
        res.end(req.method === 'HEAD' ? undefined : body);
      } catch {
        res.writeHead(404, { 'content-type': MIME_TYPES['.txt']! }).end('not found\n');
      }
    })();
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      // An IPv6 literal needs brackets in a URL.
      const shown = host.includes(':') ? `[${host}]` : host;
      ok({ url: `http://${shown}:${bound}/`, server, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
