import type { Context } from 'koa';
import { describe, expect, it } from 'vitest';
import { DomainError, type ErrorCode } from '../kernel/errors.ts';
import { ERROR_TABLE, sendProblem, toProblem } from './problem.ts';

// Every member of the ErrorCode union, checked at compile time both ways: a code added to the union
// but not here fails the typecheck (`satisfies`), and one listed here but not in the union too.
const ALL_CODES = {
  VALIDATION_FAILED: true,
  NOT_FOUND: true,
  METHOD_NOT_ALLOWED: true,
  UNAUTHENTICATED: true,
  FORBIDDEN: true,
  CONFLICT: true,
  FLOW_EXPIRED: true,
  FLOW_CONFLICT: true,
  FLOW_OUTDATED: true,
  RATE_LIMITED: true,
  ACCOUNT_EXISTS: true,
  PARTNER_SETTINGS_CONFLICT: true,
  IDEMPOTENCY_KEY_REUSED: true,
  KBA_FAILED: true,
  IDENTITY_NOT_VERIFIABLE: true,
  EMAIL_NOT_CONFIRMED: true,
  IDENTITY_DIRECTORY_UNAVAILABLE: true,
  IDENTITY_DIRECTORY_FAILED: true,
  UPSTREAM_UNAVAILABLE: true,
  UPSTREAM_FAILED: true,
  DEPENDENCY_UNAVAILABLE: true,
  DELIVERY_FAILED: true,
  PAYLOAD_TOO_LARGE: true,
  INTERNAL: true,
} as const satisfies Record<ErrorCode, true>;
const codes = Object.keys(ALL_CODES) as ErrorCode[];

/** The few Context members sendProblem touches. */
function fakeContext() {
  const headers: Record<string, string> = {};
  const ctx = { status: 404, type: '', body: undefined as unknown, set: (k: string, v: string) => void (headers[k.toLowerCase()] = v) };
  return { ctx, headers, asContext: ctx as unknown as Context };
}

describe('ERROR_TABLE', () => {
  it('has exactly one entry per error code, each with an error status and a title', () => {
    expect(Object.keys(ERROR_TABLE).sort()).toEqual([...codes].sort());
    for (const code of codes) {
      const { status, title } = ERROR_TABLE[code];
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
      expect(title.length, code).toBeGreaterThan(0);
    }
  });

  it('maps the codes clients depend on to their statuses', () => {
    expect(ERROR_TABLE.VALIDATION_FAILED.status).toBe(400);
    expect(ERROR_TABLE.NOT_FOUND.status).toBe(404);
    expect(ERROR_TABLE.FLOW_EXPIRED.status).toBe(410);
    expect(ERROR_TABLE.EMAIL_NOT_CONFIRMED.status).toBe(403);
    expect(ERROR_TABLE.RATE_LIMITED.status).toBe(429);
    expect(ERROR_TABLE.INTERNAL.status).toBe(500);
    expect(ERROR_TABLE.UPSTREAM_UNAVAILABLE.status).toBe(503);
  });
});

describe('toProblem', () => {
  const fields = [{ field: 'pii.dob', reason: 'invalid_format', message: 'Use YYYY-MM-DD' }];

  it.each(codes.filter((c) => ERROR_TABLE[c].status < 500))('%s (4xx) keeps its message, fields and details', (code) => {
    const p = toProblem(new DomainError(code, 'Specific message for the client', { fields, details: { flowId: 'f-1' } }), 'req-1');
    expect(p).toMatchObject({
      status: ERROR_TABLE[code].status,
      code,
      title: ERROR_TABLE[code].title,
      detail: 'Specific message for the client',
      requestId: 'req-1',
      fields,
      flowId: 'f-1',
    });
    expect(p.type).toBe(`urn:problem:${code.toLowerCase().replaceAll('_', '-')}`);
  });

  it.each(codes.filter((c) => ERROR_TABLE[c].status >= 500))('%s (5xx) replaces the message by the title and reveals no internals', (code) => {
    const cause = new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
    const err = new DomainError(code, 'SELECT * FROM secret_table failed', {
      cause,
      fields: [{ field: 'internal.column', reason: 'db', message: 'column secret_table.x' }],
      details: { query: 'SELECT * FROM secret_table' },
    });
    const p = toProblem(err, 'req-2');
    expect(p.detail).toBe(ERROR_TABLE[code].title);
    expect(p.requestId).toBe('req-2');
    expect(p).not.toHaveProperty('cause');
    expect(p).not.toHaveProperty('stack');
    expect(p).not.toHaveProperty('fields');
    const json = JSON.stringify(p);
    for (const secret of ['secret_table', 'ECONNREFUSED', 'hunter2', 'at ']) expect(json).not.toContain(secret);
  });

  it('keeps safe details of UNAVAILABLE errors (retryAfterSeconds), which clients need to retry', () => {
    const p = toProblem(new DomainError('UPSTREAM_UNAVAILABLE', 'pool exhausted', { details: { retryAfterSeconds: 30 } }));
    expect(p.retryAfterSeconds).toBe(30);
    expect(p.detail).toBe(ERROR_TABLE.UPSTREAM_UNAVAILABLE.title);
  });

  it('does not let details overwrite the standard members', () => {
    const p = toProblem(new DomainError('CONFLICT', 'x', { details: { status: 200, code: 'OK', title: 't', detail: 'd', type: 'about:blank' } }));
    expect(p).toMatchObject({ status: 409, code: 'CONFLICT', title: ERROR_TABLE.CONFLICT.title, detail: 'x', type: 'urn:problem:conflict' });
  });

  it('omits requestId and fields when there are none', () => {
    const p = toProblem(new DomainError('NOT_FOUND', 'gone'));
    expect(p).not.toHaveProperty('requestId');
    expect(p).not.toHaveProperty('fields');
  });
});

describe('sendProblem', () => {
  it('writes status, problem+json type and body', () => {
    const { ctx, asContext, headers } = fakeContext();
    const problem = toProblem(new DomainError('FORBIDDEN', 'nope'), 'r');
    sendProblem(asContext, problem);
    expect(ctx.status).toBe(403);
    expect(ctx.type).toBe('application/problem+json');
    expect(ctx.body).toBe(problem);
    expect(headers['retry-after']).toBeUndefined();
  });

  it('sets Retry-After on RATE_LIMITED from details.retryAfterSeconds', () => {
    const { ctx, asContext, headers } = fakeContext();
    sendProblem(asContext, toProblem(new DomainError('RATE_LIMITED', 'slow down', { details: { retryAfterSeconds: 42 } })));
    expect(ctx.status).toBe(429);
    expect(headers['retry-after']).toBe('42');
  });

  it('sets Retry-After on every 503, from details or a default', () => {
    for (const code of codes.filter((c) => ERROR_TABLE[c].status === 503)) {
      const a = fakeContext();
      sendProblem(a.asContext, toProblem(new DomainError(code, 'down', { details: { retryAfterSeconds: 7 } })));
      expect(a.headers['retry-after'], code).toBe('7');
      const b = fakeContext();
      sendProblem(b.asContext, toProblem(new DomainError(code, 'down')));
      expect(Number(b.headers['retry-after']), code).toBeGreaterThan(0);
    }
  });
});
