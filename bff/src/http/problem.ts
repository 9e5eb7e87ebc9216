import type { Context, Next } from 'koa';
import { DomainError, isDomainError, type ErrorCode } from '../kernel/errors.ts';
import { safeError } from '../kernel/logger.ts';

/**
 * The one table from error codes to HTTP. Domain code throws DomainError with a code; nothing else
 * decides statuses. Unexpected errors become a generic 500 that reveals nothing.
 */
export const ERROR_TABLE: Record<ErrorCode, { status: number; title: string }> = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication is required' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  EMAIL_NOT_CONFIRMED: { status: 403, title: 'The email address is not confirmed yet' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  CONFLICT: { status: 409, title: 'Conflicts with the current state' },
  ACCOUNT_EXISTS: { status: 409, title: 'An account with these details already exists' },
  FLOW_CONFLICT: { status: 409, title: 'The flow was changed by another request; reload it' },
  PARTNER_SETTINGS_CONFLICT: { status: 409, title: "The appKey's settings and the partner's settings disagree" },
  FLOW_EXPIRED: { status: 410, title: 'The flow has expired; start a new one' },
  FLOW_OUTDATED: { status: 410, title: 'The flow was started by an older version; start a new one' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'This Idempotency-Key was used with another request' },
  KBA_FAILED: { status: 422, title: 'The answers are not right' },
  IDENTITY_NOT_VERIFIABLE: { status: 422, title: 'These details cannot be verified' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal error' },
  IDENTITY_DIRECTORY_FAILED: { status: 502, title: 'The identity provider failed' },
  UPSTREAM_FAILED: { status: 502, title: 'The upstream core system failed' },
  IDENTITY_DIRECTORY_UNAVAILABLE: { status: 503, title: 'The identity provider is unavailable; try again' },
  UPSTREAM_UNAVAILABLE: { status: 503, title: 'The upstream core system is unavailable; try again' },
  DEPENDENCY_UNAVAILABLE: { status: 503, title: 'A dependency is unavailable; try again' },
  DELIVERY_FAILED: { status: 503, title: 'The message could not be delivered; try again' },
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  requestId?: string;
  fields?: { field: string; reason: string; message: string }[];
  [extra: string]: unknown;
}

export function toProblem(err: DomainError, requestId?: string): Problem {
  const { status, title } = ERROR_TABLE[err.code];
  const clientError = status < 500;
  // 5xx messages, fields and details are replaced by the title: they may carry internals. Only a
  // retry hint survives, so clients of a 503 know when to come back.
  const detail = clientError ? err.message : title;
  const retryAfterSeconds = err.details.retryAfterSeconds;
  const extra = clientError ? err.details : typeof retryAfterSeconds === 'number' ? { retryAfterSeconds } : {};
  return {
    // Details first: they never overwrite the standard members.
    ...extra,
    type: `urn:problem:${err.code.toLowerCase().replaceAll('_', '-')}`,
    title,
    status,
    code: err.code,
    detail,
    ...(requestId ? { requestId } : {}),
    ...(clientError && err.fields.length > 0 ? { fields: err.fields } : {}),
  };
}

export function sendProblem(ctx: Context, problem: Problem): void {
  ctx.status = problem.status;
  ctx.type = 'application/problem+json';
  ctx.body = problem;
  if (problem.code === 'RATE_LIMITED' && typeof problem.retryAfterSeconds === 'number') ctx.set('Retry-After', String(problem.retryAfterSeconds));
  if (problem.status === 503) ctx.set('Retry-After', String(problem.retryAfterSeconds ?? 5));
}

/** What the access log adds for a request that ended in a problem: the code and `field:reason` pairs, never values. */
export interface ProblemNote {
  errorCode: ErrorCode;
  fields?: string[];
}

/**
 * Koa middleware: any thrown error leaves as problem+json. Only a 5xx is logged here, at error level
 * with its stack: it is ours to fix. A client error (any 4xx of the table, body-parser refusals
 * included) is the client's: it gets no line of its own, only its code and the names of the refused
 * fields on the request's one access-log line (`ctx.state.problem`, see request-context.ts), so
 * malformed requests cannot fill the logs with stacks or echo what they sent.
 */
export function problemMiddleware() {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new DomainError('NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
      }
    } catch (err) {
      const domain = isDomainError(err) ? err : fromFrameworkError(err);
      const note: ProblemNote = { errorCode: domain.code };
      if (ERROR_TABLE[domain.code].status >= 500) {
        ctx.state.logger?.error({ err: safeError(err), errorCode: domain.code }, 'request failed');
      } else if (domain.fields.length > 0) {
        note.fields = domain.fields.map((f) => `${f.field}:${f.reason}`);
      }
      ctx.state.problem = note;
      sendProblem(ctx, toProblem(domain, ctx.state.requestId));
    }
  };
}

/** Koa/koa-body errors (malformed JSON, too large) carry `status`; keep their 4xx, hide the rest. */
function fromFrameworkError(err: unknown): DomainError {
  const status = (err as { status?: unknown })?.status;
  if (status === 405 || status === 501) return new DomainError('METHOD_NOT_ALLOWED', 'This method is not allowed on this path');
  if (status === 400 || status === 413 || status === 415 || status === 422) {
    return new DomainError('VALIDATION_FAILED', 'The request body could not be read', {
      fields: [{ field: 'body', reason: status === 413 ? 'too_large' : 'malformed', message: 'Send a JSON body of reasonable size' }],
    });
  }
  return new DomainError('INTERNAL', 'Internal error', { cause: err });
}

/** Kept here for callers of the HTTP layer; defined with the logger. */
export { safeError };
