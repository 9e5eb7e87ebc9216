import { randomBytes, randomInt } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool } from '../../upstream/src/db.ts';
import { hashSecret } from '../../upstream/src/secrets.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { freePort } from '../support/ports.ts';

/**
 * The HTTP contract between Keycloak's lazy-migration authenticators and the BFF
 * (`POST /internal/v1/keycloak/upstream-login` and `/upstream-reset`, docs/decisions/0012), against
 * the real Keycloak, upstream core and PostgreSQL: who may call it, what bad bodies get, that an
 * import happens once, and that an outage imports nothing.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const admin = adminFor(stack);
const realm = stack.settings.platformRealm;
const SECRET = stack.settings.keycloakCallbackSecret;
const PASSWORD = 'Upstream#Pass2026';

let bff: TestBff;
let deadUpstreamBff: TestBff;
let upstreamDb: pg.Pool;
beforeAll(async () => {
  bff = await startTestBff(stack, {}, { captureLogs: true });
  // Nothing listens on this port: the upstream core is "down" for this BFF only.
  deadUpstreamBff = await startTestBff(stack, { UPSTREAM_URL: `http://127.0.0.1:${await freePort()}` });
  upstreamDb = createPool(stack.settings.upstreamDatabaseUrl, 'upstream_core');
});
afterAll(async () => {
  await bff?.close();
  await deadUpstreamBff?.close();
  await upstreamDb?.end();
});

async function upstreamOnlyMember(opts: { email?: boolean } = {}): Promise<{ id: string; username: string; email: string; phone: string }> {
  const sfx = randomBytes(4).toString('hex');
  const m = { username: `neha.${sfx}`, email: `neha.${sfx}@example.com`, phone: `+9198${String(randomInt(10 ** 8)).padStart(8, '0')}` };
  const { rows } = await upstreamDb.query<{ id: string }>(
    `INSERT INTO users (username, first_name, last_name, email, phone, status, password_hash)
     VALUES ($1, 'Neha', 'Joshi', $2, $3, 'active', $4) RETURNING id`,
    [m.username, opts.email === false ? null : m.email, m.phone, await hashSecret(PASSWORD)],
  );
  return { id: rows[0]!.id, ...m };
}

const accountsOf = async (upstreamUserId: string) =>
  ((await admin.get<Json[]>(`/${realm}/users?q=${encodeURIComponent(`upstreamUserId:${upstreamUserId}`)}&briefRepresentation=false`)) ?? []).filter(
    (u) => u.attributes?.upstreamUserId?.[0] === upstreamUserId,
  );
const externalIdOf = async (id: string) =>
  (await upstreamDb.query<{ external_id: string | null }>('SELECT external_id FROM users WHERE id = $1', [id])).rows[0]!.external_id;
const credentialTypes = async (userId: string) => ((await admin.get<Json[]>(`/${realm}/users/${userId}/credentials`)) ?? []).map((c) => c.type);

async function call(base: string, path: 'upstream-login' | 'upstream-reset', body: unknown, authorization: string | null = `Bearer ${SECRET}`) {
  const res = await fetch(`${base}/internal/v1/keycloak/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Json };
}

describe('who may call', () => {
  for (const [label, authorization] of [
    ['no credentials', null],
    ['a wrong secret', 'Bearer not-the-secret'],
    ['the secret in another scheme', `Basic ${SECRET}`],
  ] as const) {
    it(`refuses ${label} with 401 problem+json on both endpoints, importing nothing`, async () => {
      const member = await upstreamOnlyMember();
      const login = await call(bff.url, 'upstream-login', { login: member.username, password: PASSWORD }, authorization);
      const reset = await call(bff.url, 'upstream-reset', { login: member.username }, authorization);
      for (const res of [login, reset]) {
        expect(res.status).toBe(401);
        expect(res.type).toContain('application/problem+json');
        expect(res.body.code).toBe('UNAUTHENTICATED');
      }
      expect(await accountsOf(member.id)).toEqual([]);
      expect(await externalIdOf(member.id)).toBeNull();
    });
  }
});

describe('bad bodies', () => {
  it.each([
    ['upstream-login', {}, ['login', 'password']],
    ['upstream-login', { login: '  ', password: PASSWORD }, ['login']],
    ['upstream-login', { login: 'someone', password: '' }, ['password']],
    ['upstream-login', { login: 'someone', password: PASSWORD, extra: 1 }, ['extra']],
    ['upstream-reset', { login: 42 }, ['login']],
  ] as const)('%s %j: 400 naming %j', async (path, body, fields) => {
    const res = await call(bff.url, path, body);
    expect(res.status).toBe(400);
    expect(res.type).toContain('application/problem+json');
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.fields.map((f: Json) => f.field).sort()).toEqual([...fields].sort());
  });
});

describe('upstream-login', () => {
  it('imports once: concurrent and repeated calls answer the same account', async () => {
    const member = await upstreamOnlyMember();
    const answers = await Promise.all([
      call(bff.url, 'upstream-login', { login: member.username, password: PASSWORD }),
      call(bff.url, 'upstream-login', { login: member.email, password: PASSWORD }),
    ]);
    const again = await call(bff.url, 'upstream-login', { login: member.phone, password: PASSWORD });
    for (const res of [...answers, again]) expect(res).toMatchObject({ status: 200, body: { outcome: 'user' } });
    const [account, ...others] = await accountsOf(member.id);
    expect(others).toEqual([]);
    expect(new Set([...answers, again].map((r) => r.body.userId))).toEqual(new Set([account!.id]));
    expect(await externalIdOf(member.id)).toBe(account!.id);
    expect(await credentialTypes(account!.id)).toEqual(['password']);
  });

  it('answers none, importing nothing, on a wrong password or an unknown login', async () => {
    const member = await upstreamOnlyMember();
    expect((await call(bff.url, 'upstream-login', { login: member.username, password: 'Wrong#Pass2026' })).body).toEqual({ outcome: 'none' });
    expect((await call(bff.url, 'upstream-login', { login: `nobody.${member.username}`, password: PASSWORD })).body).toEqual({ outcome: 'none' });
    expect(await accountsOf(member.id)).toEqual([]);
    expect(await externalIdOf(member.id)).toBeNull();
  });

  it('stops asking the core after 5 wrong passwords of one login (Redis counter): the right one then imports nothing', async () => {
    const member = await upstreamOnlyMember();
    for (let i = 0; i < 5; i++) {
      expect((await call(bff.url, 'upstream-login', { login: member.username, password: `Wrong#Pass${i}` })).body).toEqual({ outcome: 'none' });
    }
    expect((await call(bff.url, 'upstream-login', { login: member.username, password: PASSWORD })).body).toEqual({ outcome: 'none' });
    expect(await accountsOf(member.id)).toEqual([]);
  });

  it('the upstream core down: 503 UPSTREAM_UNAVAILABLE and nothing imported; the retry imports', async () => {
    const member = await upstreamOnlyMember();
    const down = await call(deadUpstreamBff.url, 'upstream-login', { login: member.username, password: PASSWORD });
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(await accountsOf(member.id)).toEqual([]);
    expect((await call(bff.url, 'upstream-login', { login: member.username, password: PASSWORD })).body.outcome).toBe('user');
  });
});

describe('logs', () => {
  it('carry outcomes and ids, never the login or the password', async () => {
    const member = await upstreamOnlyMember();
    await call(bff.url, 'upstream-login', { login: member.phone, password: 'Wrong#Pass2026' });
    await call(bff.url, 'upstream-login', { login: member.email, password: PASSWORD });
    await call(bff.url, 'upstream-reset', { login: `x${member.username}` });
    const logs = bff.logs();
    expect(logs).toContain('upstream_login.refused');
    expect(logs).toContain('upstream_login.imported');
    for (const secret of [PASSWORD, 'Wrong#Pass2026', member.email, member.phone, member.username, SECRET]) expect(logs).not.toContain(secret);
  });
});

describe('upstream-reset', () => {
  it('imports the member without a password (linked); none for unknown logins and members without e-mail', async () => {
    const member = await upstreamOnlyMember();
    const res = await call(bff.url, 'upstream-reset', { login: member.phone });
    expect(res).toMatchObject({ status: 200, body: { outcome: 'user' } });
    expect(await credentialTypes(res.body.userId)).toEqual([]);
    expect(await externalIdOf(member.id)).toBe(res.body.userId);

    const noEmail = await upstreamOnlyMember({ email: false });
    expect((await call(bff.url, 'upstream-reset', { login: noEmail.username })).body).toEqual({ outcome: 'none' });
    expect((await call(bff.url, 'upstream-reset', { login: `nobody.${member.email}` })).body).toEqual({ outcome: 'none' });
    expect(await accountsOf(noEmail.id)).toEqual([]);
  });
});
