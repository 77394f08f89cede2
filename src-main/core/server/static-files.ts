import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HTML_CSP, SECURITY_HEADERS, sendError } from './http-responses.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

/** Content-Type for a file name; unknown extensions are served as opaque bytes. */
export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Where `vite build` puts the dashboard (dist/renderer), found from this module both when it runs
 * from the sources (src-main/core/server) and when compiled (dist/src-main/core/server).
 */
export function defaultStaticDir(moduleDir: string = path.dirname(fileURLToPath(import.meta.url))): string {
  const top = path.resolve(moduleDir, '..', '..', '..');
  return path.basename(top) === 'dist' ? path.join(top, 'renderer') : path.join(top, 'dist', 'renderer');
}

/** Shown at / until the dashboard is built, so a fresh checkout still answers sensibly. */
export const PLACEHOLDER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Warden</title></head>
<body><h1>Warden is running — dashboard not built; run npm run build</h1>
<p>The API is at <code>/api/status</code> (bearer token) and the health check at <code>/healthz</code>.</p></body></html>
`;

/**
 * The URL path as a file path under the root, or null when it must be refused: undecodable,
 * NUL, backslash, any `..` segment (also when percent-encoded) or a result outside the root.
 */
export function resolveUnder(root: string, rawUrl: string): string | null {
  const rawPath = rawUrl.split(/[?#]/, 1)[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return null;
  if (decoded.split('/').includes('..')) return null;
  const file = path.resolve(root, `.${decoded}`);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

/** Serves the built dashboard: GET and HEAD, SPA fallback to index.html, no escaping the root. */
export class StaticFiles {
  private readonly root: string;

  constructor(root: string = defaultStaticDir()) {
    this.root = path.resolve(root);
  }

  /** Answer one request for a dashboard file. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
      return;
    }
    const file = resolveUnder(this.root, req.url ?? '/');
    if (file === null) {
      sendError(res, 404, 'not found');
      return;
    }
    const found = await this.existingFile(file);
    if (found) {
      this.send(req, res, found.path, found.size, file.startsWith(path.join(this.root, 'assets') + path.sep));
      return;
    }
    // Client-side routes (no extension) get the app; a missing asset is a plain 404.
    if (path.extname(file) !== '') {
      sendError(res, 404, 'not found');
      return;
    }
    const index = await this.existingFile(path.join(this.root, 'index.html'));
    if (index) this.send(req, res, index.path, index.size, false);
    else this.sendPlaceholder(req, res);
  }

  /** A regular file's real path and size, if it exists inside the root (symlinks out are refused). */
  private async existingFile(file: string): Promise<{ path: string; size: number } | null> {
    try {
      const real = await fs.promises.realpath(file);
      const realRoot = await fs.promises.realpath(this.root);
      if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return null;
      const stat = await fs.promises.stat(real);
      if (stat.isDirectory()) return this.existingFile(path.join(real, 'index.html'));
      return stat.isFile() ? { path: real, size: stat.size } : null;
    } catch {
      return null;
    }
  }

  private send(req: IncomingMessage, res: ServerResponse, file: string, size: number, immutable: boolean): void {
    const type = contentTypeFor(file);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': type,
      'Content-Length': size,
      // Vite puts content hashes in /assets/ names: those never change; everything else is revalidated.
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...(type.startsWith('text/html') ? { 'Content-Security-Policy': HTML_CSP } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = fs.createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  private sendPlaceholder(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(PLACEHOLDER_HTML),
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': HTML_CSP,
    });
    res.end(req.method === 'HEAD' ? undefined : PLACEHOLDER_HTML);
  }
}
