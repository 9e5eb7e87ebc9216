import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../kernel/errors.ts';
import { createLogger } from '../kernel/logger.ts';
import { createApp } from './app.ts';
import { PAGE_CSP, pagePolicy } from './security-headers.ts';
import { staticAssets } from './static-assets.ts';

/** Routes of every kind the BFF answers with: JSON, a page, a page with its own policy, errors, a file. */
function routes(): Router {
  const router = new Router({ prefix: '/t' });
  router.get('/json', (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/page', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = '<!DOCTYPE html><title>page</title>';
  });
  router.get('/page-that-sets-its-own', (ctx) => {
    // A route cannot loosen the policy behind the middleware's back: its header is replaced.
    ctx.set('Content-Security-Policy', 'default-src *; frame-ancestors *');
    ctx.set('X-Frame-Options', 'ALLOWALL');
    ctx.type = 'html';
    ctx.body = '<p>x</p>';
  });
  router.get('/framed-by', (ctx) => {
    pagePolicy(ctx, { 'connect-src': ["'self'", 'https://id.example'], 'frame-ancestors': ['https://bank.example', 'https://web.bank.example'] });
    ctx.type = 'html';
    ctx.body = '<p>x</p>';
  });
  router.get('/framed-by-nobody', (ctx) => {
    pagePolicy(ctx, { 'frame-ancestors': [] });
    ctx.type = 'html';
    ctx.body = '<p>x</p>';
  });
  router.get('/page-that-fails', (ctx) => {
    pagePolicy(ctx, { 'frame-ancestors': ['https://bank.example'] });
    throw new DomainError('NOT_FOUND', 'gone');
  });
  router.get('/crash', () => {
    throw new Error('boom');
  });
  return router;
}

let server: Server;
let base: string;
beforeAll(async () => {
  const app = createApp({
    logger: createLogger({ level: 'silent' }),
    readiness: [],
    readinessTimeoutMs: 100,
    openApi: { openapi: '3.1.0', info: { title: 'test', version: '0' }, paths: {} },
    routers: [routes()],
    assets: staticAssets({ 'app.js': { file: new URL(import.meta.url), type: 'text/javascript; charset=utf-8' } }),
  });
  server = createServer(app.callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const headersOf = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(base + path, init);
  await res.arrayBuffer();
  return { status: res.status, get: (name: string) => res.headers.get(name) };
};

const API_CSP = "default-src 'none'; frame-ancestors 'none'";

describe('every response carries the security headers', () => {
  it.each([
    ['JSON', '/t/json', 200, {}],
    ['a problem (404, no route)', '/nope', 404, {}],
    ['a problem (405)', '/t/json', 405, { method: 'DELETE' }],
    ['a problem (400, a form body)', '/t/json', 400, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }],
    ['a 500', '/t/crash', 500, {}],
    ['a static file', '/assets/app.js', 200, {}],
    ['the health check', '/healthz', 200, {}],
    ['the OpenAPI document', '/openapi.json', 200, {}],
  ] as const)('%s: nothing loads, no framing, no sniffing, no Referer', async (_, path, status, init) => {
    const res = await headersOf(path, init as RequestInit);
    expect(res.status).toBe(status);
    expect(res.get('content-security-policy')).toBe(API_CSP);
    expect(res.get('x-frame-options')).toBe('DENY');
    expect(res.get('x-content-type-options')).toBe('nosniff');
    expect(res.get('referrer-policy')).toBe('no-referrer');
  });

  it('an HTML page: the strict page policy (own origin only, nothing inline, no framing)', async () => {
    const res = await headersOf('/t/page');
    expect(res.get('content-security-policy')).toBe(PAGE_CSP);
    expect(PAGE_CSP).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(PAGE_CSP).not.toMatch(/unsafe-|\*|data:/);
    expect(res.get('x-frame-options')).toBe('DENY');
    expect(res.get('referrer-policy')).toBe('no-referrer');
  });

  it("a route's own CSP or X-Frame-Options header is replaced by the policy", async () => {
    const res = await headersOf('/t/page-that-sets-its-own');
    expect(res.get('content-security-policy')).toBe(PAGE_CSP);
    expect(res.get('x-frame-options')).toBe('DENY');
  });

  it('a page that names who may frame it: those origins, and no X-Frame-Options (it cannot name them)', async () => {
    const res = await headersOf('/t/framed-by');
    expect(res.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' https://id.example; form-action 'self'; " +
        "frame-ancestors https://bank.example https://web.bank.example; base-uri 'none'",
    );
    expect(res.get('x-frame-options')).toBeNull();
    expect(res.get('x-content-type-options')).toBe('nosniff');
  });

  it("an empty list of framing origins is 'none'", async () => {
    const res = await headersOf('/t/framed-by-nobody');
    expect(res.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.get('x-frame-options')).toBe('DENY');
  });

  it('a page that failed keeps its policy on the problem answer (still nothing to load)', async () => {
    const res = await headersOf('/t/page-that-fails');
    expect(res.status).toBe(404);
    expect(res.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.get('x-content-type-options')).toBe('nosniff');
  });
});
