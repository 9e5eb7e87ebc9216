import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

/** An in-memory pino destination: every line written, parsed. */
function capture() {
  const lines: string[] = [];
  const destination = { write: (chunk: string) => void lines.push(chunk) };
  const logger = createLogger({ level: 'trace', destination });
  return { logger, lines, text: () => lines.join('') };
}

const SECRETS = {
  password: 'Pa55word-value',
  otp: '493817',
  token: 'eyJhbGciOiJSUzI1NiJ9.token-value',
  authorization: 'Bearer authz-header-value',
  cookie: 'KEYCLOAK_SESSION=cookie-value',
  email: 'ada.lovelace@example.org',
  phone: '+15550100777',
  dob: '1815-12-10',
  ssn: '078-05-1120',
  apiKey: 'upstream-api-key-value',
  clientSecret: 'client-secret-value',
};

describe('createLogger redaction', () => {
  it.each([
    ['top-level fields', { password: SECRETS.password, otp: SECRETS.otp, token: SECRETS.token, email: SECRETS.email, phone: SECRETS.phone }],
    ['one level down', { user: { password: SECRETS.password, email: SECRETS.email, phone: SECRETS.phone }, body: { otp: SECRETS.otp, code: SECRETS.otp } }],
    ['nested pii', { pii: { email: SECRETS.email, phone: SECRETS.phone, dob: SECRETS.dob, ssn: SECRETS.ssn } }],
    ['pii inside a claim', { claim: { pii: { email: SECRETS.email, dob: SECRETS.dob } } }],
    ['deeper than one level', { flow: { context: { password: SECRETS.password, pii: { email: SECRETS.email } } } }],
    ['tokens by their usual names', { tokens: { accessToken: SECRETS.token, refreshToken: SECRETS.token, idToken: SECRETS.token } }],
    ['request headers', { req: { method: 'GET', headers: { authorization: SECRETS.authorization, cookie: SECRETS.cookie, 'x-api-key': SECRETS.apiKey } } }],
    ['headers logged on their own', { headers: { Authorization: SECRETS.authorization, Cookie: SECRETS.cookie } }],
    ['config-like objects', { config: { clientSecret: SECRETS.clientSecret, apiKey: SECRETS.apiKey } }],
    ['objects inside arrays', { users: [{ email: SECRETS.email, phone: SECRETS.phone }] }],
  ])('redacts %s', (_name, object) => {
    const { logger, text, lines } = capture();
    logger.info(object, 'something happened');
    expect(lines).toHaveLength(1);
    const out = text();
    expect(out).toContain('something happened');
    for (const value of Object.values(SECRETS)) expect(out).not.toContain(value);
  });

  it('redacts in child loggers and keeps the rest of the line intact', () => {
    const { logger, lines } = capture();
    logger.child({ requestId: 'req-123' }).warn({ flowId: 'flow-9', password: SECRETS.password, pii: { email: SECRETS.email } }, 'flow step');
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'warn', name: 'bff', requestId: 'req-123', flowId: 'flow-9', msg: 'flow step' });
    expect(line.password).toBe('[redacted]');
    expect(line.pii).toBe('[redacted]');
    expect(typeof line.time).toBe('string');
  });

  it('redacts child bindings too', () => {
    const { logger, text } = capture();
    logger.child({ user: { email: SECRETS.email } }).info('bound');
    expect(text()).toContain('bound');
    expect(text()).not.toContain(SECRETS.email);
  });

  it('redacts bindings of grandchildren', () => {
    const { logger, text } = capture();
    logger
      .child({ component: 'x' })
      .child({ session: { token: SECRETS.token } })
      .info('bound twice');
    expect(text()).toContain('"component":"x"');
    expect(text()).not.toContain(SECRETS.token);
  });

  it('keeps ids, outcomes and errors readable, and never mutates the logged object', () => {
    const { logger, lines } = capture();
    const object = { flowId: 'f-1', status: 503, errorCode: 'UPSTREAM_UNAVAILABLE', user: { id: 'u-1', email: SECRETS.email }, err: new Error('boom') };
    logger.error(object, 'failed');
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ flowId: 'f-1', status: 503, errorCode: 'UPSTREAM_UNAVAILABLE', user: { id: 'u-1', email: '[redacted]' } });
    expect(line.err).toMatchObject({ type: 'Error', message: 'boom' });
    expect(object.user.email).toBe(SECRETS.email);
  });

  it('logs errors as type, message, code and stack only: never their other properties', () => {
    const { logger, lines } = capture();
    const dbError = Object.assign(new TypeError('duplicate key value violates unique constraint'), {
      code: '23505',
      detail: `Key (email)=(${SECRETS.email}) already exists.`,
    });
    logger.error({ err: dbError }, 'insert failed');
    logger.error({ error: dbError }, 'insert failed');
    for (const raw of lines) {
      const line = JSON.parse(raw) as Record<string, Record<string, unknown>>;
      const logged = line.err ?? line.error;
      expect(logged).toMatchObject({ type: 'TypeError', message: 'duplicate key value violates unique constraint', errorCode: '23505' });
      expect(String(logged?.stack)).toContain('TypeError');
    }
    expect(lines.join('')).not.toContain(SECRETS.email);
  });

  it('survives circular objects without leaking what is inside them', () => {
    const { logger, text } = capture();
    const a: Record<string, unknown> = { id: 'a' };
    a.self = a;
    a.inner = { password: SECRETS.password };
    logger.info(a, 'circular');
    expect(text()).toContain('circular');
    expect(text()).not.toContain(SECRETS.password);
  });

  it('writes nothing below the configured level', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (c: string) => void lines.push(c) } });
    logger.info({ a: 1 }, 'quiet');
    logger.warn({ a: 1 }, 'loud');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('loud');
  });
});
