import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../kernel/errors.ts';
import { createLogger } from '../kernel/logger.ts';
import { createApp, listRoutes } from './app.ts';
import type { ReadinessCheck } from './health.ts';

const READINESS_TIMEOUT_MS = 100;

/** Readiness checks whose behaviour each test sets. */
const checkBehaviour: Record<string, 'up' | 'fail' | 'hang'> = {};
const readiness: ReadinessCheck[] = ['keycloak', 'postgres', 'redis'].map((name) => ({
  name,
  check: () => {
    const b = checkBehaviour[name] ?? 'up';
    if (b === 'fail') return Promise.reject(new Error(`${name} refused`));
    if (b === 'hang') return new Promise<void>(() => {});
    return Promise.resolve();
  },
}));

/** Routes standing in for a flow router. */
function testRouter(): Router {
  const router = new Router({ prefix: '/test' });
  router.post('/echo', (ctx) => {
    ctx.body = { got: ctx.request.body ?? null };
  });
  router.get('/items/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  router.get('/boom', () => {
    throw new Error('connect ECONNREFUSED 10.0.0.7:5432 user=bff password=hunter2');
  });
  router.post('/validate', () => {
    throw new DomainError('VALIDATION_FAILED', 'The date of birth is not valid', {
      fields: [{ field: 'pii.dob', reason: 'invalid_format', message: 'Use YYYY-MM-DD' }],
    });
  });
  return router;
}

const logLines: string[] = [];
const logs = () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
let server: Server;
let base: string;

beforeAll(async () => {
  const app = createApp({
    logger: createLogger({ level: 'info', destination: { write: (line: string) => void logLines.push(line) } }),
    readiness,
    readinessTimeoutMs: READINESS_TIMEOUT_MS,
    openApi: { openapi: '3.1.0', info: { title: 'test', version: '0' }, paths: {} },
    routers: [testRouter()],
  });
  server = createServer(app.callback());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  for (const k of Object.keys(checkBehaviour)) delete checkBehaviour[k];
  logLines.length = 0;
});

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(base + path, init);
  const text = await res.text();
  const body = res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : text;
  return { status: res.status, headers: res.headers, body, text };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids', () => {
  it('generates one when the client sends none', async () => {
    const a = await call('/healthz');
    const b = await call('/healthz');
    expect(a.headers.get('x-request-id')).toMatch(UUID);
    expect(b.headers.get('x-request-id')).toMatch(UUID);
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
  });

  it('echoes a well-formed incoming id', async () => {
    const r = await call('/healthz', { headers: { 'X-Request-Id': 'lb-1234.abc:def_9-z' } });
    expect(r.headers.get('x-request-id')).toBe('lb-1234.abc:def_9-z');
  });

  it.each([
    ['too long', 'a'.repeat(300)],
    ['with spaces', 'abc def'],
    ['with markup', '<script>alert(1)</script>'],
    ['with a log-injection attempt', 'abc\\n{"level":"fatal"}'],
  ])('replaces a malformed incoming id (%s)', async (_name, incoming) => {
    const r = await call('/readyz', { headers: { 'X-Request-Id': incoming } });
    const id = r.headers.get('x-request-id');
    expect(id).toMatch(UUID);
    expect(logs().find((l) => l.msg === 'request')?.requestId).toBe(id);
    expect(logLines.join('')).not.toContain(incoming);
  });
});

describe('errors as problem+json', () => {
  it('404 for an unknown route, with the request id', async () => {
    const r = await call('/nope');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status: 404, code: 'NOT_FOUND', requestId: r.headers.get('x-request-id') });
  });

  it('405 for a wrong method on a known path', async () => {
    const r = await call('/healthz', { method: 'POST' });
    expect(r.status).toBe(405);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
  });

  it('400 naming `body` for malformed JSON, before the route runs', async () => {
    const r = await call('/test/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a": ' });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'body', reason: 'malformed' }] });
  });

  it('400 naming `body` for a JSON body over the limit', async () => {
    const r = await call('/test/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 'x'.repeat(70_000) }) });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'body', reason: 'too_large' }] });
  });

  it.each([
    ['a form post', 'application/x-www-form-urlencoded', 'a=1'],
    ['a text/plain form post', 'text/plain', '{"a":1}'],
    ['a multipart form post', 'multipart/form-data; boundary=x', '--x--'],
  ])('400 naming `body` for %s: cross-site forms cannot drive the API', async (_name, type, body) => {
    const r = await call('/test/echo', { method: 'POST', headers: { 'content-type': type }, body });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'body', reason: 'unsupported_media_type' }] });
  });

  it('parses a well-formed JSON body', async () => {
    const r = await call('/test/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ got: { a: 1 } });
  });

  it('500 INTERNAL for an unexpected error, revealing nothing of it, and logs it', async () => {
    const r = await call('/test/boom');
    expect(r.status).toBe(500);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status: 500, code: 'INTERNAL', requestId: r.headers.get('x-request-id') });
    for (const leak of ['ECONNREFUSED', '10.0.0.7', 'hunter2', 'password', 'Error:', '.ts:']) expect(r.text).not.toContain(leak);
    const failed = logs().find((l) => l.msg === 'request failed');
    expect(failed).toMatchObject({ requestId: r.headers.get('x-request-id'), errorCode: 'INTERNAL', err: { type: 'Error' } });
  });

  it('400 with the fields of a DomainError VALIDATION_FAILED', async () => {
    const r = await call('/test/validate', { method: 'POST' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      detail: 'The date of birth is not valid',
      fields: [{ field: 'pii.dob', reason: 'invalid_format', message: 'Use YYYY-MM-DD' }],
    });
  });

  it('sets safe headers on every response', async () => {
    for (const path of ['/healthz', '/nope', '/test/boom']) {
      const r = await call(path);
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(r.headers.get('cache-control'), path).toBe('no-store');
    }
  });
});

describe('health and readiness', () => {
  it('/healthz is ok without calling dependencies', async () => {
    checkBehaviour.postgres = 'fail';
    const r = await call('/healthz');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ok' });
  });

  it('/readyz is 200 when every check is up', async () => {
    const r = await call('/readyz');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: 'ready',
      checks: { keycloak: { status: 'up' }, postgres: { status: 'up' }, redis: { status: 'up' } },
    });
  });

  it('/readyz is 503 naming the failing check', async () => {
    checkBehaviour.redis = 'fail';
    const r = await call('/readyz');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({
      status: 'not_ready',
      checks: { keycloak: { status: 'up' }, postgres: { status: 'up' }, redis: { status: 'down' } },
    });
    // The reason stays in the logs side: the body does not echo the error.
    expect(r.text).not.toContain('refused');
  });

  it('/readyz answers 503 after the timeout when a check hangs', async () => {
    checkBehaviour.keycloak = 'hang';
    // Answering at all is the point: a hanging check would leave this call to the test timeout.
    const r = await call('/readyz');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ checks: { keycloak: { status: 'down' }, postgres: { status: 'up' } } });
    const ms = (r.body as { checks: { keycloak: { ms: number } } }).checks.keycloak.ms;
    expect(ms).toBeGreaterThanOrEqual(READINESS_TIMEOUT_MS - 5);
  });
});

describe('metrics', () => {
  it('exposes request durations labelled by route template, not by concrete path', async () => {
    await call('/test/items/item-zq');
    await call('/nope-zq');
    const r = await call('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = r.text;
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/test\/items\/:id",status="200"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="unmatched",status="404"\} \d+/);
    // Not a number: the process metrics are numbers that could contain any digit string.
    expect(text).not.toContain('zq');
  });
});

describe('access log', () => {
  it('one line per request with request id, method, route template and status, never the concrete path or query', async () => {
    const r = await call('/test/items/secret-path-token?token=secret123&code=987654', { headers: { 'X-Request-Id': 'trace-42' } });
    expect(r.status).toBe(200);
    const line = logs().find((l) => l.msg === 'request');
    expect(line).toMatchObject({ requestId: 'trace-42', method: 'GET', route: '/test/items/:id', status: 200 });
    expect(line).not.toHaveProperty('path');
    expect(typeof line?.ms).toBe('number');
    const all = logLines.join('');
    expect(all).not.toContain('secret-path-token');
    expect(all).not.toContain('secret123');
    expect(all).not.toContain('987654');
  });

  it('keeps query strings of unknown routes and health probes out of the logs too', async () => {
    await call('/nope?token=secret123');
    await call('/healthz?token=secret123');
    await call('/readyz?token=secret123');
    expect(
      logs()
        .filter((l) => l.msg === 'request')
        .map((l) => l.route),
    ).toEqual(['unmatched', '/readyz']);
    expect(logLines.join('')).not.toContain('secret123');
  });
});

describe('logs of refused requests (issue 15 §7)', () => {
  /** Every line logged for the request with this id. */
  const linesOf = (requestId: string | null) => logs().filter((l) => l.requestId === requestId);
  const post = (path: string, body: string, requestId: string) =>
    call(path, { method: 'POST', headers: { 'content-type': 'application/json', 'X-Request-Id': requestId }, body });

  it.each([
    ['malformed JSON', '{"email": "mallory.flood@example.com", "junk": ', 'body:malformed', 'mallory.flood'],
    ['a body over the limit', JSON.stringify({ email: 'mallory.flood@example.com', pad: 'Z'.repeat(70_000) }), 'body:too_large', 'ZZZZZZZZ'],
  ])('%s: one info line with the request id and the problem code, no stack, nothing of the body', async (_name, body, field, echo) => {
    const r = await post('/test/echo', body, `refused-${field}`);
    expect(r.status).toBe(400);
    const lines = linesOf(`refused-${field}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'request', status: 400, errorCode: 'VALIDATION_FAILED', fields: [field] });
    expect(lines[0]).not.toHaveProperty('err');
    const text = logLines.join('');
    for (const leak of ['stack', 'at ', '.ts:', 'SyntaxError', 'Unexpected', echo]) expect(text).not.toContain(leak);
  });

  it('a DomainError 4xx and a wrong method: the access line alone, carrying the code and the refused fields', async () => {
    await call('/test/validate', { method: 'POST', headers: { 'X-Request-Id': 'refused-domain' } });
    await call('/test/items/1', { method: 'POST', headers: { 'X-Request-Id': 'refused-method' } });
    expect(linesOf('refused-domain')).toEqual([
      expect.objectContaining({ level: 'info', status: 400, errorCode: 'VALIDATION_FAILED', fields: ['pii.dob:invalid_format'] }),
    ]);
    expect(linesOf('refused-method')).toEqual([expect.objectContaining({ level: 'info', status: 405, errorCode: 'METHOD_NOT_ALLOWED' })]);
    expect(logs().filter((l) => l.level !== 'info')).toEqual([]);
  });

  it('a 500 is logged at error level with its stack, besides the access line', async () => {
    await call('/test/boom', { headers: { 'X-Request-Id': 'failed-500' } });
    const [failed, access] = linesOf('failed-500');
    expect(failed).toMatchObject({
      level: 'error',
      msg: 'request failed',
      errorCode: 'INTERNAL',
      err: { type: 'Error', stack: expect.stringContaining('app.test.ts') },
    });
    expect(access).toMatchObject({ level: 'info', msg: 'request', status: 500, errorCode: 'INTERNAL' });
  });
});

describe('listRoutes', () => {
  it('lists platform and flow routes of the app as OpenAPI paths, without HEAD', () => {
    const router = testRouter();
    const routes = listRoutes([router]);
    expect(routes).toEqual([
      { method: 'GET', path: '/test/boom' },
      { method: 'POST', path: '/test/echo' },
      { method: 'GET', path: '/test/items/{id}' },
      { method: 'POST', path: '/test/validate' },
    ]);
  });
});
