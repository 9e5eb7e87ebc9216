import Koa from 'koa';
import { koaBody } from 'koa-body';
import Router from '@koa/router';
import { DomainError } from '../kernel/errors.ts';
import type { Logger } from '../kernel/logger.ts';
import type { StreamedBody } from './feature.ts';
import { healthRouter, type ReadinessCheck } from './health.ts';
import type { Registry } from 'prom-client';
import { AddressSet } from '../kernel/ip-ranges.ts';
import { clientAddressMiddleware } from './client-address.ts';
import { createMetrics } from './metrics.ts';
import { openApiRouter, type RouteInfo } from './openapi.ts';
import { problemMiddleware } from './problem.ts';
import { requestContext } from './request-context.ts';
import { securityHeaders } from './security-headers.ts';

export interface AppDeps {
  logger: Logger;
  readiness: ReadinessCheck[];
  readinessTimeoutMs: number;
  openApi: Record<string, unknown>;
  /** Routers of the flows (one per flow folder), mounted after the platform routes. */
  routers: Router[];
  /** Files of the BFF's own pages (`/assets/...`, see static-assets.ts); not routes, so not in the OpenAPI. */
  assets?: Koa.Middleware;
  /** Adds the components' own metrics (e.g. outbox gauges) to the app's `/metrics` registry. */
  registerMetrics?: (registry: Registry) => void;
  /** Reverse proxies whose X-Forwarded-For is believed (TRUSTED_PROXIES; see client-address.ts). None by default. */
  trustedProxies?: AddressSet;
  /** Routes that read a non-JSON body as a stream themselves (Feature.streamedBodies). */
  streamedBodies?: StreamedBody[];
}

/** The routers each app was built with, for `listRoutes` (tests compare them with the OpenAPI document). */
const routersOfApp = new WeakMap<Koa, readonly Router[]>();

/**
 * Every route of an app built by `createApp` (platform and flow routers alike), or of a list of
 * routers, with its parameters (`:name`, and a wildcard `*name`) as OpenAPI templates (`{name}`).
 * HEAD, which the router adds to every GET, is left out.
 */
export function listRoutes(source: Koa | readonly Router[]): RouteInfo[] {
  const routers = Array.isArray(source) ? source : routersOfApp.get(source as Koa);
  if (!routers) throw new Error('listRoutes: this app was not built by createApp');
  const routes = new Map<string, RouteInfo>();
  for (const router of routers) {
    for (const layer of router.stack) {
      // Layers without methods are router.use() middleware, not routes.
      if (layer.methods.length === 0) continue;
      const path = typeof layer.path === 'string' ? layer.path.replace(/[:*](\w+)/g, '{$1}') : String(layer.path);
      for (const method of layer.methods) {
        if (method === 'HEAD' && layer.methods.includes('GET')) continue;
        routes.set(`${method} ${path}`, { method, path });
      }
    }
  }
  return [...routes.values()].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

/**
 * Every API takes JSON. Refusing other bodies keeps plain HTML forms on other sites (which can only
 * send form-encoded, multipart or text bodies, without a CORS preflight) from driving our endpoints
 * through visitors' browsers.
 */
const jsonBodiesOnly =
  (streamed: readonly StreamedBody[]): Koa.Middleware =>
  async (ctx, next) => {
    const hasBody = ctx.request.length > 0 || ctx.get('Transfer-Encoding') !== '';
    // A streamed type is not one a form can send (it needs a CORS preflight), and koa-body leaves it unread.
    if (hasBody && streamed.some((s) => ctx.method === (s.method ?? 'POST') && s.path.test(ctx.path) && ctx.is(s.type))) return next();
    if (hasBody && !ctx.is('application/json', 'application/*+json')) {
      throw new DomainError('VALIDATION_FAILED', 'Send the body as application/json', {
        fields: [{ field: 'body', reason: 'unsupported_media_type', message: 'The body must be JSON (Content-Type: application/json)' }],
      });
    }
    await next();
  };

/** Builds the Koa app from already constructed dependencies; it constructs nothing itself. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  const trustedProxies = deps.trustedProxies ?? new AddressSet([]);
  // Koa's own X-Forwarded-* reading, only behind trusted proxies; the client address itself comes
  // from clientAddressMiddleware (Koa would take the leftmost X-Forwarded-For entry, which the client wrote).
  app.proxy = trustedProxies.size > 0;
  const metrics = createMetrics();
  deps.registerMetrics?.(metrics.registry);
  const platformRouters = [healthRouter(deps.readiness, deps.readinessTimeoutMs), metrics.router, openApiRouter(deps.openApi)];
  routersOfApp.set(app, [...platformRouters, ...deps.routers]);
  app.use(clientAddressMiddleware(trustedProxies));
  app.use(requestContext({ logger: deps.logger, duration: metrics.duration, total: metrics.total }));
  // Outside problemMiddleware, so problem answers and 404s carry them too.
  app.use(securityHeaders());
  app.use(problemMiddleware());
  app.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  if (deps.assets) app.use(deps.assets);
  app.use(jsonBodiesOnly(deps.streamedBodies ?? []));
  app.use(koaBody({ json: true, multipart: false, urlencoded: false, jsonLimit: '64kb', text: false }));
  // One router holding every route: a request is matched once, instead of passing a router (and its
  // allowedMethods) per flow on its way, which cost the partner POST tens of microseconds.
  const root = new Router();
  for (const router of [...platformRouters, ...deps.routers]) root.use(router.routes());
  app.use(root.routes()).use(root.allowedMethods({ throw: true }));
  app.on('error', () => {
    // Errors are logged by problemMiddleware; Koa's default handler would print stacks to stderr.
  });
  return app;
}
