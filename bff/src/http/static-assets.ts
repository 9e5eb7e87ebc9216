import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context, Next } from 'koa';

/** A file served at `/assets/<name>`: where it is on disk and its media type. */
export interface Asset {
  file: URL;
  type: string;
}

/**
 * Serves a fixed list of files at `/assets/<name>` (scripts, styles and images of the BFF's pages).
 * Files are read once, at start, so a missing one stops the BFF; nothing from the request ever
 * reaches the file system, so nothing outside the list can be served.
 */
export function staticAssets(assets: Record<string, Asset>) {
  const served = new Map<string, { body: Buffer; etag: string; type: string }>(
    Object.entries(assets).map(([name, asset]) => {
      const body = readFileSync(asset.file);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      return [`/assets/${name}`, { body, etag, type: asset.type }];
    }),
  );
  return async (ctx: Context, next: Next) => {
    const asset = served.get(ctx.path);
    if (!asset || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.status = 200;
    ctx.type = asset.type;
    ctx.etag = asset.etag;
    // Revalidated on every use (a 304 is cheap), so a deployment never leaves stale scripts behind.
    ctx.set('Cache-Control', 'no-cache');
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = asset.body;
  };
}
