import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call, platformAdminToken, registerPartner, uniqueId, type TestPartner } from '../support/partners.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Issue 14 §1: a userToken is least-privilege. It names the user and the partner it was issued for,
 * carries the one audience `platform-partner-api` and no role, and works only on the platform API for
 * partners (GET /api/partner/v1/user): Keycloak's Account REST API, the Admin API, userinfo and the
 * BFF's own user and admin routes refuse it. The table of every client's tokens: docs/tokens.md.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const issuer = `${stack.keycloakUrl}/realms/${realm}`;
const jwks = createRemoteJWKSet(new URL(`${issuer}/protocol/openid-connect/certs`));
const keys = testKeyPrefix(uniqueId('user-token'));
const kcAdmin = adminFor(stack);
let bff: TestBff;
let adminToken: string;
let bankA: TestPartner;
let bankB: TestPartner;
const appKeyA = uniqueId('ut-a');
const appKeyB = uniqueId('ut-b');

const PII = { firstName: 'Uma', lastName: 'Token', dob: '1988-08-08' };

beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix });
  adminToken = await platformAdminToken(stack);
  bankA = await registerPartner(stack, bff.url, adminToken, { trustAuth: true, appKeys: [{ appKey: appKeyA, autoEnroll: true, kbaBypass: false }] });
  bankB = await registerPartner(stack, bff.url, adminToken, { trustAuth: true, appKeys: [{ appKey: appKeyB, autoEnroll: true, kbaBypass: false }] });
});

afterAll(async () => {
  await bff?.close();
  await keys.cleanup();
});

/** Enrolls a DBP user at once (autoEnroll + trustAuth) and exchanges the authToken: the userToken and its user. */
async function userTokenFor(partner: TestPartner, appKey: string): Promise<{ userToken: string; userId: string }> {
  const dbpUserId = uniqueId('dbp');
  const posted = await call(`${bff.url}/api/auth/v1`, 'POST', { token: partner.serverToken, body: { appKey, dbpUserId, pii: PII } });
  expect(posted.status).toBe(201);
  const got = await call(`${bff.url}/api/auth/v1/${posted.body.authToken}`, 'GET');
  expect(got.status).toBe(200);
  return { userToken: got.body.userToken, userId: String(decodeJwt(got.body.userToken).sub) };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}`, accept: 'application/json' });

describe('the userToken', () => {
  it('names the user and the partner, has the one audience platform-partner-api, and carries no role or profile', async () => {
    const { userToken, userId } = await userTokenFor(bankA, appKeyA);
    const { payload } = await jwtVerify(userToken, jwks, { issuer, audience: 'platform-partner-api' });
    expect(payload.sub).toBe(userId);
    expect(payload.azp).toBe('partner-user-tokens');
    expect(payload.act).toEqual({ client_id: bankA.clientId });
    expect([payload.aud].flat()).toEqual(['platform-partner-api']);
    expect(String(payload.scope).split(' ').sort()).toEqual(['partner-user']);
    for (const claim of ['realm_access', 'resource_access', 'email', 'name', 'preferred_username', 'given_name', 'allowed-origins']) {
      expect(payload, claim).not.toHaveProperty(claim);
    }
    // Another partner's token names that partner: every use is attributable.
    const other = await userTokenFor(bankB, appKeyB);
    expect(decodeJwt(other.userToken).act).toEqual({ client_id: bankB.clientId });
  });

  it("is refused by Keycloak's Account REST API (read and write), the Admin API and userinfo", async () => {
    const { userToken, userId } = await userTokenFor(bankA, appKeyA);
    const before = (await kcAdmin.get<Json>(`/${realm}/users/${userId}`))!;

    const account = `${issuer}/account`;
    expect([401, 403]).toContain((await fetch(account, { headers: bearer(userToken) })).status);
    expect([401, 403]).toContain((await fetch(`${account}/credentials`, { headers: bearer(userToken) })).status);
    const write = await fetch(account, {
      method: 'POST',
      headers: { ...bearer(userToken), 'content-type': 'application/json' },
      body: JSON.stringify({ username: before.username, firstName: 'Taken', lastName: 'Over', email: 'attacker@evil.example' }),
    });
    expect([401, 403]).toContain(write.status);
    const after = (await kcAdmin.get<Json>(`/${realm}/users/${userId}`))!;
    expect(after.email).toBe(before.email);
    expect(after.firstName).toBe(before.firstName);

    expect([401, 403]).toContain((await fetch(`${stack.keycloakUrl}/admin/realms/${realm}/users`, { headers: bearer(userToken) })).status);
    expect([401, 403]).toContain((await fetch(`${stack.keycloakUrl}/admin/realms/${realm}/users/${userId}`, { headers: bearer(userToken) })).status);
    expect([401, 403]).toContain((await fetch(`${issuer}/protocol/openid-connect/userinfo`, { headers: bearer(userToken) })).status);
  });

  it("is refused by the BFF's user, admin and partner-server routes", async () => {
    const { userToken } = await userTokenFor(bankA, appKeyA);
    expect((await call(`${bff.url}/api/v1/user`, 'GET', { token: userToken })).status).toBe(401);
    expect((await call(`${bff.url}/api/v1/user`, 'PUT', { token: userToken, body: { firstName: 'X' } })).status).toBe(401);
    expect((await call(`${bff.url}/api/v1/user`, 'DELETE', { token: userToken })).status).toBe(401);
    expect([401, 403]).toContain((await call(`${bff.url}/api/v1/users`, 'GET', { token: userToken })).status);
    expect([401, 403]).toContain((await call(`${bff.url}/api/admin/v1/partners`, 'GET', { token: userToken })).status);
    // Not a server token either: the partner API wants audience bff.
    const asServer = await call(`${bff.url}/api/auth/v1`, 'POST', { token: userToken, body: { appKey: appKeyA, dbpUserId: uniqueId('dbp'), pii: PII } });
    expect(asServer.status).toBe(403);
  });

  it("is accepted by GET /api/partner/v1/user, which answers for the token's user and partner only", async () => {
    const { userToken, userId } = await userTokenFor(bankA, appKeyA);
    const res = await call(`${bff.url}/api/partner/v1/user`, 'GET', { token: userToken });
    expect(res.status).toBe(200);
    const user = (await kcAdmin.get<Json>(`/${realm}/users/${userId}`))!;
    expect(res.body).toEqual({ userId, username: user.username, firstName: 'Uma', lastName: 'Token', partner: { clientId: bankA.clientId } });
  });
});

describe("a partner cannot get a user's token from Keycloak itself", () => {
  it('its client has no JWT authorization grant, no token exchange and no password grant', async () => {
    const { userId } = await userTokenFor(bankA, appKeyA);
    const tokenEndpoint = `${issuer}/protocol/openid-connect/token`;
    const attempt = (params: Record<string, string>) =>
      fetch(tokenEndpoint, { method: 'POST', body: new URLSearchParams({ client_id: bankA.clientId, client_secret: bankA.clientSecret, ...params }) });
    // An assertion it signed itself, naming the user: the partner has no key Keycloak trusts.
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(
      JSON.stringify({
        iss: 'https://bff.identity-platform.invalid/partner-assertions',
        sub: userId,
        aud: issuer,
        exp: Math.floor(Date.now() / 1000) + 30,
        jti: uniqueId('j'),
      }),
    ).toString('base64url');
    const jwtGrant = await attempt({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${header}.${body}.` });
    expect(jwtGrant.status).toBeGreaterThanOrEqual(400);
    expect(jwtGrant.status).toBeLessThan(500);
    const exchange = await attempt({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: bankA.serverToken,
      requested_subject: userId,
    });
    expect(exchange.status).toBeGreaterThanOrEqual(400);
    expect(exchange.status).toBeLessThan(500);
    // And the userToken client's own secret is the BFF's, not the partner's.
    const asUserTokenClient = await fetch(tokenEndpoint, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'partner-user-tokens', client_secret: bankA.clientSecret }),
    });
    expect(asUserTokenClient.status).toBe(401);
  });
});

describe('GET /api/partner/v1/user refuses everything but a live userToken', () => {
  it('no token 401 with a Bearer challenge; a partner server token, a platform-admin token or a changed userToken 401', async () => {
    const none = await call(`${bff.url}/api/partner/v1/user`, 'GET');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await call(`${bff.url}/api/partner/v1/user`, 'GET', { token: bankA.serverToken })).status).toBe(401);
    expect((await call(`${bff.url}/api/partner/v1/user`, 'GET', { token: adminToken })).status).toBe(401);
    const { userToken } = await userTokenFor(bankA, appKeyA);
    const [h, p, s] = userToken.split('.');
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(userToken), act: { client_id: bankB.clientId } })).toString('base64url');
    const res = await call(`${bff.url}/api/partner/v1/user`, 'GET', { token: `${h}.${forged}.${s}` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('invalid_token');
    expect(p).toBeTruthy();
  });

  it("a disabled partner's userTokens stop working (403); a disabled user's too (401)", async () => {
    const bank = await registerPartner(stack, bff.url, adminToken, {
      trustAuth: true,
      appKeys: [{ appKey: uniqueId('ut-c'), autoEnroll: true, kbaBypass: false }],
    });
    const partner = (await call(`${bff.url}/api/admin/v1/partners/${bank.clientId}`, 'GET', { token: adminToken })).body;
    const { userToken, userId } = await userTokenFor(bank, partner.appKeys[0].appKey);
    expect((await call(`${bff.url}/api/partner/v1/user`, 'GET', { token: userToken })).status).toBe(200);

    await kcAdmin.put(`/${realm}/users/${userId}`, { enabled: false });
    expect((await call(`${bff.url}/api/partner/v1/user`, 'GET', { token: userToken })).status).toBe(401);
    await kcAdmin.put(`/${realm}/users/${userId}`, { enabled: true });

    expect((await call(`${bff.url}/api/admin/v1/partners/${bank.clientId}`, 'PATCH', { token: adminToken, body: { enabled: false } })).status).toBe(200);
    expect((await call(`${bff.url}/api/partner/v1/user`, 'GET', { token: userToken })).status).toBe(403);
  });
});
