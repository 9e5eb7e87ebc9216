import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeycloakUserTokens } from '../../bff/src/adapters/keycloak/keycloak-user-tokens.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt } from '../support/oidc.ts';
import { call, uniqueId } from '../support/partners.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Tokens and account state (issue 15 §5), on the real BFF against the stack's Keycloak:
 * - refresh tokens rotate, and a spent one sent again ends its session (realm `revokeRefreshToken`,
 *   `refreshTokenMaxReuse: 0`; the BFF ends the session Keycloak keeps; decision 0006);
 * - an account disabled (or deleted) after its access token was issued is signed out on every route
 *   that acts for it, the admin routes included, although the token has not expired.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const keys = testKeyPrefix(uniqueId('tokens-state'));
const made: string[] = [];
let bff: TestBff;

beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix });
});
afterAll(async () => {
  for (const id of made) await admin.delete(`/${realm}/users/${id}`).catch(() => undefined);
  await bff?.close();
  await keys.cleanup();
});

/** A confirmed account made in Keycloak (prospective: no upstream profile), optionally a platform admin. */
async function account(opts: { platformAdmin?: boolean } = {}): Promise<{ id: string; username: string; password: string }> {
  const username = uniqueId('tok').replace('-', '');
  const password = `Pw-${randomBytes(12).toString('base64url')}`;
  const id = (await admin.post(`/${realm}/users`, {
    username,
    email: `${username}@example.com`,
    emailVerified: true,
    firstName: 'Tara',
    enabled: true,
    credentials: [{ type: 'password', value: password, temporary: false }],
  }))!
    .split('/')
    .pop()!;
  made.push(id);
  if (opts.platformAdmin) await admin.post(`/${realm}/users/${id}/role-mappings/realm`, [(await admin.get<Json>(`/${realm}/roles/platform-admin`))!]);
  return { id, username, password };
}

/** Signs in through the BFF's API (Keycloak's password grant on `user-api`): one Keycloak session. */
async function signIn(who: { username: string; password: string }): Promise<{ accessToken: string; refreshToken: string }> {
  const res = await call(`${bff.url}/api/v1/auth/login`, 'POST', { body: { email: `${who.username}@example.com`, password: who.password } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { accessToken: string; refreshToken: string };
}

const api = (method: string, path: string, token?: string, body?: unknown) =>
  call(`${bff.url}${path}`, method, { ...(token ? { token } : {}), ...(body === undefined ? {} : { body }) });
const refresh = (refreshToken: string) => api('GET', '/api/v1/auth/refresh', refreshToken);
const sessionsOf = async (userId: string) => (await admin.get<Json[]>(`/${realm}/users/${userId}/sessions`)) ?? [];
const setEnabled = async (userId: string, enabled: boolean) =>
  admin.put(`/${realm}/users/${userId}`, { ...(await admin.get<Json>(`/${realm}/users/${userId}`)), enabled });

describe('refresh-token rotation with reuse detection', () => {
  it('rotates: each refresh answers a new refresh token, which works in turn', async () => {
    const who = await account();
    const first = await signIn(who);
    const second = await refresh(first.refreshToken);
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    const third = await refresh(second.body.refreshToken);
    expect(third.status).toBe(200);
    expect(decodeJwt<Json>(third.body.accessToken).sub).toBe(who.id);
  });

  it('a spent refresh token sent again is 401 and ends that session: the rotated token dies with it, another session lives on', async () => {
    const who = await account();
    const stolen = await signIn(who);
    const other = await signIn(who); // the same person on another device
    expect(await sessionsOf(who.id)).toHaveLength(2);
    const legit = await refresh(stolen.refreshToken);
    expect(legit.status).toBe(200);

    // The copy is replayed.
    const replay = await refresh(stolen.refreshToken);
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('UNAUTHENTICATED');
    expect(replay.headers.get('www-authenticate')).toBe('Bearer realm="bff", error="invalid_token"');
    // Keycloak only revokes that client's tokens of the session; the BFF ended the session itself.
    const left = await sessionsOf(who.id);
    expect(left).toHaveLength(1);
    expect(left[0]!.id).toBe(decodeJwt<Json>(other.accessToken).sid);
    expect((await refresh(legit.body.refreshToken)).status).toBe(401);
    // Keycloak's own endpoints refuse the ended session's access token; the BFF checks it locally
    // (signature, expiry, account state) and takes it until it expires (accessTokenLifespan, 5 min).
    const userinfo = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/userinfo`, {
      headers: { authorization: `Bearer ${legit.body.accessToken}` },
    });
    expect(userinfo.status).toBeGreaterThanOrEqual(400);

    expect((await refresh(other.refreshToken)).status).toBe(200);
  });

  it('an older token of the rotation replayed after a newer one was used ends the session too', async () => {
    const who = await account();
    const t1 = await signIn(who);
    const t2 = await refresh(t1.refreshToken);
    // Keycloak compares issue times in whole seconds: let the next token be issued a second later.
    await new Promise((r) => setTimeout(r, 1100));
    const t3 = await refresh(t2.body.refreshToken);
    expect(t3.status).toBe(200);
    expect((await refresh(t1.refreshToken)).status).toBe(401);
    expect(await sessionsOf(who.id)).toEqual([]);
    expect((await refresh(t3.body.refreshToken)).status).toBe(401);
  });
});

describe('an account disabled after its token was issued', () => {
  it('is signed out of GET, PUT and DELETE /api/v1/user and of the refresh, and nothing changes', async () => {
    const who = await account();
    const tokens = await signIn(who);
    expect((await api('GET', '/api/v1/user', tokens.accessToken)).status).toBe(200);
    await setEnabled(who.id, false);

    for (const [method, body] of [['GET'], ['PUT', { firstName: 'Changed' }], ['DELETE']] as const) {
      const res = await api(method, '/api/v1/user', tokens.accessToken, body);
      expect(res.status, `${method} /api/v1/user`).toBe(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="bff", error="invalid_token"');
    }
    expect((await refresh(tokens.refreshToken)).status).toBe(401);
    // Still there, still disabled, name unchanged: the admin's decision stands.
    expect(await admin.get<Json>(`/${realm}/users/${who.id}`)).toMatchObject({ enabled: false, firstName: 'Tara' });
  });

  it('a deleted account is signed out too (DELETE with its token again is 401, not 204)', async () => {
    const who = await account();
    const tokens = await signIn(who);
    expect((await api('DELETE', '/api/v1/user', tokens.accessToken)).status).toBe(204);
    expect((await api('DELETE', '/api/v1/user', tokens.accessToken)).status).toBe(401);
    expect((await api('GET', '/api/v1/user', tokens.accessToken)).status).toBe(401);
  });

  it("a disabled platform admin's token opens no admin route; enabled again, it does", async () => {
    const who = await account({ platformAdmin: true });
    const { accessToken } = await signIn(who);
    const reads = ['/api/v1/users?pageSize=1', '/api/admin/v1/partners', '/api/admin/v1/upstream-outbox?limit=1', '/api/admin/v1/state-claims/audit?max=1'];
    for (const path of reads) expect((await api('GET', path, accessToken)).status, path).toBe(200);

    await setEnabled(who.id, false);
    for (const path of reads) {
      const res = await api('GET', path, accessToken);
      expect(res.status, path).toBe(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
    }
    // A write: no partner is registered.
    const clientId = uniqueId('disabled-admin-bank');
    const register = await api('POST', '/api/admin/v1/partners', accessToken, { clientId, name: 'Should not exist' });
    expect(register.status).toBe(401);
    expect(await admin.get<Json[]>(`/${realm}/clients?clientId=${clientId}`)).toEqual([]);

    // The same token, unexpired, works again once the account is enabled: it is the state that counts.
    await setEnabled(who.id, true);
    for (const path of reads) expect((await api('GET', path, accessToken)).status, path).toBe(200);
  });
});

describe("Keycloak's password grant on an account with a step pending", () => {
  it('a right password is told apart from a wrong one (account_action_required): the state claim must not count it as a failed try', async () => {
    const who = await account();
    // What a pending e-mail change leaves (decision 0020): Keycloak then puts UPDATE_EMAIL on the account.
    await admin.put(`/${realm}/users/${who.id}`, {
      ...(await admin.get<Json>(`/${realm}/users/${who.id}`)),
      attributes: { 'kc.email.pending': [`${who.username}.new@example.org`] },
    });
    const tokens = new KeycloakUserTokens({
      issuer: `${stack.keycloakUrl}/realms/${realm}`,
      clientId: 'user-api',
      clientSecret: stack.settings.userApiClientSecret,
    });
    const refusal = (password: string) =>
      tokens.passwordGrant(who.username, password).then(
        () => 'signed in',
        (err: { code?: string; details?: Json }) => `${err.code}:${err.details?.reason ?? '-'}`,
      );
    expect(await refusal(who.password)).toBe('UNAUTHENTICATED:account_action_required');
    expect(await refusal('Not-the-password-1')).toBe('UNAUTHENTICATED:-');
  });
});
