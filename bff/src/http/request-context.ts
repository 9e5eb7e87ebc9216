import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../kernel/logger.ts';
import type { ProblemNote } from './problem.ts';

const INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request id (a well-formed incoming X-Request-Id is kept, else a new one), a child logger carrying
 * it, one access-log line and the HTTP metrics. The access log names the route template, never the
 * concrete path or query: both can carry tokens (e.g. GET /api/auth/v1/{authToken}) and codes.
 * tokens and codes.
 */
export function requestContext(deps: { logger: Logger; duration: Histogram<'method' | 'route' | 'status'>; total: Counter<'method' | 'route' | 'status'> }) {
  return async (ctx: Context, next: Next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.logger = deps.logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const labels = { method: ctx.method, route: String(route), status: String(ctx.status) };
      deps.duration.observe(labels, seconds);
      deps.total.inc(labels);
      if (ctx.path !== '/healthz' && ctx.path !== '/metrics') {
        // A refused request is this one line (problem.ts): its problem code, no stack, nothing it sent.
        const problem = ctx.state.problem as ProblemNote | undefined;
        ctx.state.logger.info({ method: ctx.method, route: labels.route, status: ctx.status, ms: Math.round(seconds * 1000), ...problem }, 'request');
      }
    }
  };
}
