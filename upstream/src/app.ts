import { randomUUID } from 'node:crypto';
import type { Router } from '@koa/router';
import Koa from 'koa';
import { koaBody } from 'koa-body';
import type pg from 'pg';
import type pino from 'pino';
import { Problem } from './problem.ts';
import { createRouter } from './routes.ts';
import { constantTimeEquals } from './secrets.ts';

export interface UpstreamAppDeps {
  pool: pg.Pool;
  apiKey: string;
  logger: pino.Logger;
}

/**
 * The Koa application: request log -> problem mapping -> API key -> JSON body -> routes.
 * Building it connects to nothing, so the route table can be inspected without a database.
 */
export function createUpstreamApp(deps: UpstreamAppDeps): { app: Koa; router: Router } {
  const { pool, apiKey, logger } = deps;
  if (apiKey.length < 16) throw new Error('the upstream API key must have at least 16 characters');

  const app = new Koa();
  app.proxy = false;
  const router = createRouter(pool, logger);

  // Request log and error mapping. Only the route template is logged, never the raw URL or bodies.
  app.use(async (ctx, next) => {
    const started = performance.now();
    const incoming = ctx.get('x-request-id');
    const requestId = /^[A-Za-z0-9._-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', requestId);
    const log = logger.child({ requestId });
    ctx.state.log = log;
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new Problem('NOT_FOUND', 'no such route');
    } catch (error) {
      const problem = toProblem(error);
      if (problem.status >= 500) log.error({ error: safeError(error) }, 'request failed');
      ctx.status = problem.status;
      ctx.type = 'application/problem+json';
      ctx.body = problem.toBody();
      if (problem.code === 'UNAUTHENTICATED') ctx.set('WWW-Authenticate', 'Bearer');
    } finally {
      const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
      log.info(
        { method: ctx.method, route: route === undefined ? '(unmatched)' : String(route), status: ctx.status, ms: Math.round(performance.now() - started) },
        'request',
      );
    }
  });

  // Every route but /health needs the API key, checked before the body is read.
  app.use(async (ctx, next) => {
    if (ctx.path === '/health') return next();
    const header = ctx.get('authorization');
    const match = /^Bearer ([^\s]+)$/i.exec(header);
    if (!match?.[1] || !constantTimeEquals(match[1], apiKey)) {
      throw new Problem('UNAUTHENTICATED', 'a valid API key is required');
    }
    return next();
  });

  app.use(async (ctx, next) => {
    if (ctx.request.length !== undefined && ctx.request.length > 0 && !ctx.is('application/json')) {
      throw new Problem('UNSUPPORTED_MEDIA_TYPE', 'request bodies must be application/json');
    }
    return next();
  });
  app.use(koaBody({ json: true, jsonStrict: true, jsonLimit: '64kb', urlencoded: false, text: false, multipart: false }));
  app.use(router.routes());
  app.use(
    router.allowedMethods({
      throw: true,
      methodNotAllowed: () => new Problem('METHOD_NOT_ALLOWED', 'method not allowed on this route'),
      notImplemented: () => new Problem('NOT_IMPLEMENTED', 'method not implemented'),
    }),
  );

  return { app, router };
}

/** Anything thrown -> a problem. Unexpected errors become a bare 500; their details stay in the log. */
function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error;
  const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  if (status === 400) return new Problem('MALFORMED_JSON', 'the request body is not valid JSON');
  if (status === 413) return new Problem('PAYLOAD_TOO_LARGE', 'the request body is too large');
  if (status === 415) return new Problem('UNSUPPORTED_MEDIA_TYPE', 'unsupported request body encoding');
  if (isDatabaseDown(error)) return new Problem('UNAVAILABLE', 'the database is unavailable');
  return new Problem('INTERNAL', 'internal error');
}

function isDatabaseDown(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return (
    (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '53300'].includes(code)) ||
    (error instanceof Error && /timeout exceeded when trying to connect|Connection terminated/i.test(error.message))
  );
}

/**
 * What of an unexpected error may be logged: name, message, code, constraint and stack. PostgreSQL's
 * `detail` and `where` are left out: they can quote row values (emails, phones).
 */
export function safeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return { name: error.name, message: error.message, code, constraint, stack: error.stack };
}
