import Koa from 'koa';
import { koaBody } from 'koa-body';
import type Router from '@koa/router';
import type { Logger } from '../kernel/logger.ts';
import { healthRouter, type ReadinessCheck } from './health.ts';
import { createMetrics } from './metrics.ts';
import { openApiRouter } from './openapi.ts';
import { problemMiddleware } from './problem.ts';
import { requestContext } from './request-context.ts';

export interface AppDeps {
  logger: Logger;
  readiness: ReadinessCheck[];
  readinessTimeoutMs: number;
  openApi: Record<string, unknown>;
  /** Per-request unit of work (MikroORM RequestContext), applied to API routes only. */
  unitOfWork?: Koa.Middleware;
  /** Routers of the flows (one per flow folder), mounted after the platform routes. */
  routers: Router[];
}

/** Builds the Koa app from already constructed dependencies; it constructs nothing itself. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  const metrics = createMetrics();
  app.use(requestContext({ logger: deps.logger, duration: metrics.duration, total: metrics.total }));
  app.use(problemMiddleware());
  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  app.use(koaBody({ json: true, multipart: false, urlencoded: true, jsonLimit: '64kb', formLimit: '64kb', text: false }));
  for (const router of [healthRouter(deps.readiness, deps.readinessTimeoutMs), metrics.router, openApiRouter(deps.openApi)]) {
    app.use(router.routes()).use(router.allowedMethods({ throw: true }));
  }
  if (deps.unitOfWork) app.use(deps.unitOfWork);
  for (const router of deps.routers) app.use(router.routes()).use(router.allowedMethods({ throw: true }));
  app.on('error', () => {
    // Errors are logged by problemMiddleware; Koa's default handler would print stacks to stderr.
  });
  return app;
}
