import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../http/app.ts';
import { DomainError } from '../../kernel/errors.ts';
import { createLogger } from '../../kernel/logger.ts';
import type { DirectoryUser } from '../../ports/identity-directory.ts';
import { brokeredLoginRouter } from './routes.ts';

const SECRET = 'test-keycloak-callback-secret';
const EMAIL = 'closed@example.test';

const logLines: string[] = [];
let upstreamDown = false;
const provisioned: string[] = [];
const user: DirectoryUser = { id: 'kc-1', username: 'priya', emailVerified: true, enabled: true, attributes: {} };

let server: Server;
let url: string;

beforeAll(async () => {
  const router = brokeredLoginRouter({
    callbackSecret: SECRET,
    defaultTenant: 'custodian',
    directory: {
      getUser: async (id) => (id === user.id ? user : null),
      findUsersByEmail: async () => [],
      organizationsOf: async () => [],
    },
    upstream: {
      findUser: async (lookup) => {
        if (upstreamDown) throw new DomainError('UPSTREAM_UNAVAILABLE', 'connect ECONNREFUSED');
        return 'email' in lookup && lookup.email === EMAIL
          ? {
              id: 'up-9',
              externalId: null,
              username: null,
              firstName: 'C',
              lastName: null,
              email: EMAIL,
              phone: null,
              status: 'inactive',
              hasPassword: false,
              createdAt: new Date(0),
              updatedAt: new Date(0),
            }
          : null;
      },
      getUser: async () => null,
      getUserByExternalId: async () => null,
    },
    accounts: {
      ensureProvisioned: async (userId) => {
        provisioned.push(userId);
        return { upstreamUserId: 'up-1', created: true };
      },
      yieldToProven: async () => undefined,
    },
  });
  const app = createApp({
    logger: createLogger({ level: 'info', destination: { write: (line: string) => void logLines.push(line) } }),
    readiness: [],
    readinessTimeoutMs: 100,
    openApi: { openapi: '3.1.0', info: { title: 'test', version: '0' }, paths: {} },
    routers: [router],
  });
  server = createServer(app.callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/internal/v1/keycloak/brokered-login`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const post = (body: unknown, secret: string | null = SECRET) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret === null ? {} : { authorization: `Bearer ${secret}` }) },
    body: JSON.stringify(body),
  });

const firstLogin = { stage: 'before-account', identityProvider: 'google-demo', brokeredUserId: 'sub-1', brokeredEmail: 'new@example.test' };

describe('POST /internal/v1/keycloak/brokered-login', () => {
  it('is 401 without the shared secret, or with another one, and changes nothing', async () => {
    for (const secret of [null, 'wrong-secret', `${SECRET}x`, '']) {
      const res = await post({ stage: 'after-login', identityProvider: 'google', brokeredUserId: 'sub-1', userId: 'kc-1' }, secret);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    expect(provisioned).toEqual([]);
  });

  it('answers the decision: continue, or refuse with a reason', async () => {
    const ok = await post(firstLogin);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ outcome: 'continue' });

    const closed = await post({ ...firstLogin, brokeredEmail: EMAIL });
    expect(await closed.json()).toEqual({ outcome: 'refuse', reason: 'account-closed' });
  });

  it('provisions after the login', async () => {
    const res = await post({ stage: 'after-login', identityProvider: 'google', brokeredUserId: 'sub-1', brokeredEmail: null, userId: 'kc-1' });
    expect(await res.json()).toEqual({ outcome: 'continue' });
    expect(provisioned).toEqual(['kc-1']);
  });

  it('is 400 naming the bad fields', async () => {
    const res = await post({ stage: 'after-login', identityProvider: '', brokeredUserId: 'sub-1' });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { code: string; fields: { field: string }[] };
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.fields.map((f) => f.field).sort()).toEqual(['identityProvider', 'userId']);

    const stage = await post({ ...firstLogin, stage: 'sometime' });
    expect(((await stage.json()) as { fields: { field: string }[] }).fields.map((f) => f.field)).toEqual(['stage']);
  });

  it('is 503 when a dependency is down, and logs no e-mail address', async () => {
    upstreamDown = true;
    try {
      const res = await post(firstLogin);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    } finally {
      upstreamDown = false;
    }
    expect(logLines.join('\n')).not.toContain('@example.test');
    expect(logLines.some((l) => l.includes('brokered login decision'))).toBe(true);
  });
});
