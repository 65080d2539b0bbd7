import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TemplatedApp } from 'uWebSockets.js';
import { ClientError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { route, type Reply } from '../transport/http-route.ts';
import { routeTableOf } from '../transport/route-table.ts';
import { unroutedReply } from '../transport/unrouted.ts';

/** Where `npm run build -w console` (SvelteKit adapter-static) writes the console. */
export const defaultConsoleDir = fileURLToPath(new URL('../../../console/build/', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
};

/** Hashed file names under `_app/immutable/` never change content: browsers may keep them for a year. */
const immutable = 'public, max-age=31536000, immutable';
/** Everything else (index.html, version.json, favicon) is revalidated, so a new build is picked up at once. */
const revalidate = 'no-cache';

/**
 * Headers for the HTML shell. The first page load carries `?token=` in its URL: `no-referrer` keeps it out of the
 * Referer of every asset request; the console must not be framed (an emergency broadcast button is a clickjacking
 * target). Script and style sources are pinned by the CSP meta tag SvelteKit writes into the page with hashes.
 */
const htmlHeaders = {
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
};

/** What a request path maps to inside the build. */
export type AssetTarget =
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly immutable: boolean;
      /** what it means when no such file exists: a client route (SPA shell) or a missing asset (404) */
      readonly ifMissing: 'app' | 'not_found';
    }
  /** a client route: answer with the SPA shell */
  | { readonly kind: 'app' }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'bad_request'; readonly reason: string };

/**
 * Maps a raw request path to a file under `root`, never outside it.
 *
 * Paths are percent-decoded once; `..`, empty-after-decoding tricks, NUL bytes, backslashes and dot-files are refused
 * before the file system is asked. A path that looks like a file (has an extension) or lies under `/_app/` and is
 * missing is a 404; anything else is a client route and gets the SPA shell.
 * @example resolveAsset('/srv/console', '/_app/immutable/entry/start.js') // { kind: 'file', path: '/srv/console/_app/immutable/entry/start.js', immutable: true, ifMissing: 'not_found' }
 * @example resolveAsset('/srv/console', '/ops/expo') // { kind: 'file', path: '/srv/console/ops/expo', immutable: false, ifMissing: 'app' }
 * @example resolveAsset('/srv/console', '/%2e%2e/etc/passwd') // { kind: 'bad_request', reason: 'path traversal is not allowed' }
 */
export function resolveAsset(root: string, rawPath: string): AssetTarget {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { kind: 'bad_request', reason: 'malformed percent-encoding in the path' };
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) {
    return { kind: 'bad_request', reason: 'invalid path' };
  }
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return { kind: 'bad_request', reason: 'path traversal is not allowed' };
  if (segments.some((s) => s.startsWith('.'))) return { kind: 'not_found' };
  if (segments.length === 0) return { kind: 'app' };
  const base = resolve(root);
  const path = resolve(base, ...segments);
  // Belt and braces: whatever the segments were, the result must stay inside the build.
  if (!path.startsWith(base + sep)) return { kind: 'bad_request', reason: 'path traversal is not allowed' };
  const last = segments[segments.length - 1]!;
  const looksLikeFile = segments[0] === '_app' || last.includes('.');
  return {
    kind: 'file',
    path,
    immutable: segments[0] === '_app' && segments[1] === 'immutable',
    ifMissing: looksLikeFile ? 'not_found' : 'app',
  };
}

interface CachedFile {
  readonly body: Buffer;
  readonly mtimeMs: number;
  readonly size: number;
}

/**
 * The console's static build served by the hub at `/`, so `npm start` stays one process on one port.
 *
 * Registered as `GET /*`: uWS matches static and parametric routes (`/healthz`, `/api/v1/...`, `/ws`, `/yjs/...`)
 * before a wildcard, so this only sees what no other route claimed. Unknown `/api/` paths stay JSON 404s.
 */
export class ConsoleAssets {
  readonly #root: string;
  readonly #cache = new Map<string, CachedFile>();

  constructor(root: string = defaultConsoleDir) {
    this.#root = resolve(root);
  }

  async reply(rawPath: string): Promise<Reply> {
    if (isApiPath(rawPath)) throw new ClientError('not_found', `no route for ${rawPath}`);
    const target = resolveAsset(this.#root, rawPath);
    switch (target.kind) {
      case 'bad_request':
        return text(400, target.reason);
      case 'not_found':
        return text(404, 'not found');
      case 'app':
        return this.#shell();
      case 'file': {
        const file = await this.#read(target.path);
        if (file) return this.#file(target.path, file, target.immutable);
        return target.ifMissing === 'app' ? this.#shell() : text(404, 'not found');
      }
    }
  }

  async #shell(): Promise<Reply> {
    const index = resolve(this.#root, 'index.html');
    const file = await this.#read(index);
    if (!file) return notBuilt(this.#root);
    return this.#file(index, file, false);
  }

  #file(path: string, file: CachedFile, isImmutable: boolean): Reply {
    const type = contentTypes[extname(path).toLowerCase()] ?? 'application/octet-stream';
    const headers: Record<string, string> = {
      'cache-control': isImmutable ? immutable : revalidate,
      'x-content-type-options': 'nosniff',
      ...(type.startsWith('text/html') ? htmlHeaders : {}),
    };
    return { status: 200, body: file.body, contentType: type, headers };
  }

  /** The file's bytes, from memory while its size and mtime are unchanged; undefined when it is not a file. */
  async #read(path: string): Promise<CachedFile | undefined> {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const cached = this.#cache.get(path);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached;
    const body = await readFile(path).catch(() => undefined);
    if (!body) return undefined;
    const file = { body, mtimeMs: info.mtimeMs, size: info.size };
    this.#cache.set(path, file);
    return file;
  }
}

/**
 * `GET /*`: the console build (see {@link ConsoleAssets}).
 * @example registerConsoleAssets(app, { log }); // serves console/build
 */
export function registerConsoleAssets(
  app: TemplatedApp,
  deps: { log: Logger; dir?: string; onStatus?: (status: number) => void },
): void {
  const assets = new ConsoleAssets(deps.dir);
  const table = routeTableOf(app);
  // An `/api/` path no GET route claimed is a JSON 404, or a 405 when other methods route it.
  route(app, 'get', '/*', { log: deps.log, onStatus: deps.onStatus }, (req) => (isApiPath(req.path) ? unroutedReply(table, 'GET', req.path) : assets.reply(req.path)));
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

function text(status: number, body: string): Reply {
  return { status, body, contentType: 'text/plain; charset=utf-8', headers: { 'x-content-type-options': 'nosniff' } };
}

function notBuilt(root: string): Reply {
  return {
    status: 503,
    contentType: 'text/html; charset=utf-8',
    headers: { ...htmlHeaders, 'cache-control': 'no-store' },
    body: `<!doctype html><html lang="en"><meta charset="utf-8"><title>opshub: console not built</title>
<body style="font:18px system-ui;max-width:42rem;margin:3rem auto;background:#070b14;color:#f5f7fc">
<h1>The hub is running; the console is not built</h1>
<p>No console build in <code>${escapeHtml(root)}</code>. <code>npm start</code> builds it when it is missing or stale;
or run <code>npm run build -w console</code>, then reload.</p>
<p>Health: <a style="color:#62cbff" href="/healthz">/healthz</a> · Metrics: <a style="color:#62cbff" href="/metrics">/metrics</a></p>
</body></html>`,
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
