import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenIdOf } from '../../bff/src/flows/partner-enrollment/service.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call, clientCredentialsToken, platformAdminToken, registerPartner, uniqueId, type TestPartner } from '../support/partners.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';

/**
 * SPEC Flow 3's table, cell by cell (status and body), on the real BFF against the e2e stack's
 * Keycloak, upstream core, PostgreSQL and Redis; and what each step leaves in Keycloak, the mapping
 * table and Redis.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const issuer = `${stack.keycloakUrl}/realms/${realm}`;
const jwks = createRemoteJWKSet(new URL(`${issuer}/protocol/openid-connect/certs`));
const keys = testKeyPrefix(uniqueId('partner'));
const redis = new Redis(redisUrl, { lazyConnect: true });
const kcAdmin = adminFor(stack);
let bff: TestBff;
let adminToken: string;

/** One partner per trustAuth value; appKeys cover every settings row. */
let trusted: TestPartner;
let untrusted: TestPartner;
const appKey = {
  standard: uniqueId('std'),
  trustedAuto: uniqueId('auto-trusted'),
  consent: uniqueId('consent'),
  conflict: uniqueId('conflict'),
};

const PII = {
  firstName: 'Riya',
  lastName: 'Partner',
  dob: '1991-02-03',
  email: undefined as string | undefined,
  ssn: '123-45-6789',
  address: { line1: '1 Main St', city: 'Springfield', state: 'IL', postalCode: '62701' },
};
const piiFor = (dbpUserId: string) => ({ ...PII, email: `${dbpUserId.toLowerCase()}@partner.example` });

beforeAll(async () => {
  await redis.connect();
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix }, { captureLogs: true });
  adminToken = await platformAdminToken(stack);
  trusted = await registerPartner(stack, bff.url, adminToken, {
    trustAuth: true,
    appKeys: [{ appKey: appKey.trustedAuto, autoEnroll: true, kbaBypass: false }],
  });
  untrusted = await registerPartner(stack, bff.url, adminToken, {
    trustAuth: false,
    appKeys: [
      { appKey: appKey.standard, autoEnroll: false, kbaBypass: false },
      { appKey: appKey.consent, autoEnroll: true, kbaBypass: true },
      { appKey: appKey.conflict, autoEnroll: true, kbaBypass: false },
    ],
  });
});

afterAll(async () => {
  await bff?.close();
  await keys.cleanup();
  redis.disconnect();
});

const post = (partner: TestPartner, body: unknown, headers: Record<string, string> = {}) =>
  call(`${bff.url}/api/auth/v1`, 'POST', { token: partner.serverToken, body, headers });
const get = (authToken: string) => call(`${bff.url}/api/auth/v1/${authToken}`, 'GET');
const patch = (authToken: string) => call(`${bff.url}/api/auth/v1/${authToken}`, 'PATCH');

async function mappingOf(key: string, dbpUserId: string): Promise<string[]> {
  const rows = await bff.container.orm.em
    .getConnection()
    .execute<{ user_id: string }[]>('select user_id from partner_user_mapping where app_key = ? and dbp_user_id = ?', [key, dbpUserId]);
  return rows.map((r) => r.user_id);
}

async function expectUserToken(body: Json, userId: string) {
  expect(Object.keys(body).sort()).toEqual(['expiresAt', 'userToken']);
  const { payload } = await jwtVerify(body.userToken, jwks, { issuer });
  expect(payload.sub).toBe(userId);
  expect(payload.azp).toBe('partner-user-tokens');
  expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(15 * 60);
  expect(new Date(body.expiresAt).getTime()).toBe(payload.exp! * 1000);
}

function expectAuthToken(body: Json) {
  expect(Object.keys(body).sort()).toEqual(['authToken', 'expiresAt']);
  expect(body.authToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const ttl = new Date(body.expiresAt).getTime() - Date.now();
  expect(ttl).toBeGreaterThan(14 * 60_000);
  expect(ttl).toBeLessThanOrEqual(15 * 60_000);
}

describe('not enrolled, autoEnroll off (standard enrollment)', () => {
  it('POST 201 {authToken}; GET 202 {pii}; PATCH 404; no user, no mapping', async () => {
    const dbpUserId = uniqueId('u');
    const res = await post(untrusted, { appKey: appKey.standard, dbpUserId, pii: piiFor(dbpUserId) });
    expect(res.status).toBe(201);
    expectAuthToken(res.body);

    const shown = await get(res.body.authToken);
    expect(shown.status).toBe(202);
    expect(shown.body).toEqual({ pii: piiFor(dbpUserId) });
    // GET shows the form again (nothing is used up).
    expect((await get(res.body.authToken)).status).toBe(202);

    expect((await patch(res.body.authToken)).status).toBe(404);
    expect(await mappingOf(appKey.standard, dbpUserId)).toEqual([]);
  });
});

describe('not enrolled, autoEnroll on, trustAuth on', () => {
  it('POST creates and maps the user now (201); GET 200 {userToken} for that user; PATCH 404; POST again is 200', async () => {
    const dbpUserId = uniqueId('u');
    const res = await post(trusted, { appKey: appKey.trustedAuto, dbpUserId, pii: piiFor(dbpUserId) });
    expect(res.status).toBe(201);
    expectAuthToken(res.body);
    const [userId] = await mappingOf(appKey.trustedAuto, dbpUserId);
    expect(userId).toBeDefined();
    const user = (await kcAdmin.get<Json>(`/${realm}/users/${userId}`))!;
    expect(user).toMatchObject({ firstName: 'Riya', lastName: 'Partner', emailVerified: false, enabled: true });
    // The sign-up path (decision 0036): made by a partner's enrollment.
    expect(user.attributes.signUpType).toEqual(['partner']);
    // The PII e-mail is a contact candidate, not the account's e-mail (decision 0016; partner-identifiers.test.ts).
    expect(user.email).toBeUndefined();
    expect(user.attributes.partnerContactEmail).toEqual([`${dbpUserId.toLowerCase()}@partner.example`]);
    // PII beyond name, email and phone never reaches Keycloak.
    expect(JSON.stringify(user)).not.toMatch(/1991-02-03|6789|Main St|62701/);

    expect((await patch(res.body.authToken)).status).toBe(404);
    const exchanged = await get(res.body.authToken);
    expect(exchanged.status).toBe(200);
    await expectUserToken(exchanged.body, userId!);

    // The authToken was exchanged once: it is gone.
    expect((await get(res.body.authToken)).status).toBe(404);
  });
});

describe('a deleted account', () => {
  it('loses its partner mappings: the next POST for that DBP user is a new enrollment, not "enrolled" for a user who is gone', async () => {
    const dbpUserId = uniqueId('u');
    await post(trusted, { appKey: appKey.trustedAuto, dbpUserId, pii: piiFor(dbpUserId) });
    const [userId] = await mappingOf(appKey.trustedAuto, dbpUserId);
    // Enrolled: answered from the process's cache from now on.
    expect((await post(trusted, { appKey: appKey.trustedAuto, dbpUserId, pii: piiFor(dbpUserId) })).status).toBe(200);

    await bff.container.accounts.delete(userId!);
    expect(await mappingOf(appKey.trustedAuto, dbpUserId)).toEqual([]);
    expect(await kcAdmin.get(`/${realm}/users/${userId}`)).toBeUndefined();

    // The same details enroll the DBP user afresh, as a new account: the PII e-mail was never an
    // identifier, so nothing of it is reserved (decision 0016).
    const again = await post(trusted, { appKey: appKey.trustedAuto, dbpUserId, pii: piiFor(dbpUserId) });
    expect(again.status).toBe(201);
    const [newUserId] = await mappingOf(appKey.trustedAuto, dbpUserId);
    expect(newUserId).toBeDefined();
    expect(newUserId).not.toBe(userId);
  });
});

describe('enrolled (the mapping exists), any settings', () => {
  it.each([['autoEnroll on, trustAuth on', () => trusted, () => appKey.trustedAuto]])(
    '%s: POST 200 {authToken}; GET 200 {userToken}; PATCH 404',
    async (_label, partner, key) => {
      const dbpUserId = uniqueId('u');
      await post(partner(), { appKey: key(), dbpUserId, pii: piiFor(dbpUserId) });
      const [userId] = await mappingOf(key(), dbpUserId);

      const res = await post(partner(), { appKey: key(), dbpUserId, pii: piiFor(dbpUserId) });
      expect(res.status).toBe(200);
      expectAuthToken(res.body);
      expect((await patch(res.body.authToken)).status).toBe(404);
      const exchanged = await get(res.body.authToken);
      expect(exchanged.status).toBe(200);
      await expectUserToken(exchanged.body, userId!);
      expect(await mappingOf(key(), dbpUserId)).toEqual([userId]);
    },
  );

  it('an enrolled user of a consent-based appKey: POST 200, GET 200 {userToken}, PATCH 404', async () => {
    const dbpUserId = uniqueId('u');
    const first = await post(untrusted, { appKey: appKey.consent, dbpUserId, pii: piiFor(dbpUserId) });
    expect((await patch(first.body.authToken)).status).toBe(200);
    const [userId] = await mappingOf(appKey.consent, dbpUserId);

    const res = await post(untrusted, { appKey: appKey.consent, dbpUserId, pii: piiFor(dbpUserId) });
    expect(res.status).toBe(200);
    expect((await patch(res.body.authToken)).status).toBe(404);
    const exchanged = await get(res.body.authToken);
    expect(exchanged.status).toBe(200);
    await expectUserToken(exchanged.body, userId!);
  });
});

describe('not enrolled, autoEnroll on, trustAuth off, kbaBypass on (consent)', () => {
  it('POST 201; GET 203 without a body; PATCH creates and maps the user, 200 {userToken}; then 404', async () => {
    const dbpUserId = uniqueId('u');
    const res = await post(untrusted, { appKey: appKey.consent, dbpUserId, pii: piiFor(dbpUserId) });
    expect(res.status).toBe(201);
    expectAuthToken(res.body);
    expect(await mappingOf(appKey.consent, dbpUserId)).toEqual([]);

    const shown = await fetch(`${bff.url}/api/auth/v1/${res.body.authToken}`);
    expect(shown.status).toBe(203);
    expect(await shown.text()).toBe('');

    const consented = await patch(res.body.authToken);
    expect(consented.status).toBe(200);
    const [userId] = await mappingOf(appKey.consent, dbpUserId);
    await expectUserToken(consented.body, userId!);

    expect((await patch(res.body.authToken)).status).toBe(404);
    expect((await get(res.body.authToken)).status).toBe(404);
  });
});

describe('not enrolled, autoEnroll on, trustAuth off, kbaBypass off', () => {
  it('POST 409 PARTNER_SETTINGS_CONFLICT, and stores nothing', async () => {
    const dbpUserId = uniqueId('u');
    const before = await redis.keys(`${keys.prefix}partner:auth:*`);
    const res = await post(untrusted, { appKey: appKey.conflict, dbpUserId, pii: piiFor(dbpUserId) });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'PARTNER_SETTINGS_CONFLICT', status: 409 });
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await redis.keys(`${keys.prefix}partner:auth:*`)).toEqual(before);
    expect(await mappingOf(appKey.conflict, dbpUserId)).toEqual([]);
  });
});

describe('authToken storage', () => {
  it('is stored under its hash only, with the PII sealed (no plaintext), expiring with the token', async () => {
    const dbpUserId = uniqueId('u');
    const res = await post(untrusted, { appKey: appKey.standard, dbpUserId, pii: piiFor(dbpUserId) });
    const key = `${keys.prefix}partner:auth:${tokenIdOf(res.body.authToken)}`;
    const raw = (await redis.get(key))!;
    expect(raw).toBeTruthy();
    for (const plain of [
      'Riya',
      'Partner',
      '1991-02-03',
      '123-45-6789',
      '6789',
      'Main St',
      'Springfield',
      '62701',
      `${dbpUserId.toLowerCase()}@partner.example`,
      res.body.authToken,
    ]) {
      expect(raw, plain).not.toContain(plain);
    }
    expect(raw).toMatch(/"pii":"v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"/);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);
    expect(await redis.keys(`${keys.prefix}*${res.body.authToken}*`)).toEqual([]);
  });

  it('keeps no PII at all for a DBP user who is enrolled already', async () => {
    const dbpUserId = uniqueId('u');
    await post(trusted, { appKey: appKey.trustedAuto, dbpUserId, pii: piiFor(dbpUserId) });
    const res = await post(trusted, { appKey: appKey.trustedAuto, dbpUserId, pii: piiFor(dbpUserId) });
    expect(res.status).toBe(200);
    const raw = (await redis.get(`${keys.prefix}partner:auth:${tokenIdOf(res.body.authToken)}`))!;
    expect(JSON.parse(raw).snapshot.context.pii).toBeNull();
    expect((await get(res.body.authToken)).status).toBe(200);
  });

  it('a token that was never issued, or is malformed, is 404 on every route', async () => {
    for (const token of ['A'.repeat(43), 'short', 'x'.repeat(200)]) {
      expect((await get(token)).status).toBe(404);
      expect((await patch(token)).status).toBe(404);
      expect((await call(`${bff.url}/api/auth/v1/${token}/kba/answers`, 'POST', { body: { answers: [{ questionId: 'q', answer: 'a' }] } })).status).toBe(404);
    }
  });
});

describe('server token', () => {
  const body = () => ({ appKey: appKey.standard, dbpUserId: uniqueId('u'), pii: piiFor('x') });

  it('missing: 401, with the RFC 6750 challenge', async () => {
    const res = await call(`${bff.url}/api/auth/v1`, 'POST', { body: body() });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="bff"');
  });

  it('invalid (tampered signature, garbage, another realm): 403', async () => {
    const [h, p, s] = untrusted.serverToken.split('.') as [string, string, string];
    const tampered = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const otherRealm = await fetch(`${stack.keycloakUrl}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'admin-cli',
        username: stack.settings.keycloakAdminUser,
        password: stack.settings.keycloakAdminPassword,
      }),
    }).then(async (r) => ((await r.json()) as { access_token: string }).access_token);
    for (const token of [tampered, 'not.a.jwt', otherRealm]) {
      const res = await call(`${bff.url}/api/auth/v1`, 'POST', { token, body: body() });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    }
  });

  it('expired: 403', async () => {
    // A client whose tokens live one second; Keycloak's own clock decides when it has expired.
    const base = `/${realm}/clients`;
    const client = (await kcAdmin.get<Json[]>(`${base}?clientId=${untrusted.clientId}`))![0]!;
    await kcAdmin.put(`${base}/${client.id}`, { ...client, attributes: { ...client.attributes, 'access.token.lifespan': '1' } });
    let token: string;
    try {
      token = await clientCredentialsToken(stack, untrusted.clientId, untrusted.clientSecret);
    } finally {
      await kcAdmin.put(`${base}/${client.id}`, client);
    }
    // Past its exp and the verifier's 5 s clock tolerance.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    const res = await call(`${bff.url}/api/auth/v1`, 'POST', { token, body: body() });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
  });

  it("valid, but for another partner's appKey or an unknown appKey: 403", async () => {
    for (const key of [appKey.trustedAuto, 'no-such-app-key']) {
      const res = await post(untrusted, { ...body(), appKey: key });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    }
  });
});

describe('bad bodies', () => {
  it('400 naming each bad field, and nothing stored', async () => {
    const before = await redis.keys(`${keys.prefix}partner:auth:*`);
    const res = await post(untrusted, {
      appKey: appKey.standard,
      dbpUserId: '',
      pii: { firstName: '', dob: '1990-13-45', email: 'not-an-email', phone: '12345', ssn: '12', address: { line1: 'x', city: 'y' }, extra: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    const fields = (res.body.fields as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(
      expect.arrayContaining([
        'dbpUserId',
        'pii.address.postalCode',
        'pii.address.state',
        'pii.dob',
        'pii.email',
        'pii.extra',
        'pii.firstName',
        'pii.lastName',
        'pii.phone',
        'pii.ssn',
      ]),
    );
    // One vocabulary (http/validation.ts): an unknown field by its own path, missing told from wrong.
    expect(fields).not.toContain('pii');
    const reasons = (res.body.fields as { field: string; reason: string }[]).map((f) => `${f.field}:${f.reason}`);
    expect(reasons).toEqual(
      expect.arrayContaining(['dbpUserId:too_short', 'pii.extra:not_allowed', 'pii.lastName:required', 'pii.dob:invalid_format', 'pii.address.state:required']),
    );
    expect(JSON.stringify(res.body)).not.toContain('not-an-email');
    expect(await redis.keys(`${keys.prefix}partner:auth:*`)).toEqual(before);
  });

  it('400 for a body that is not JSON or misses pii', async () => {
    const res = await fetch(`${bff.url}/api/auth/v1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${untrusted.serverToken}`, 'content-type': 'application/json' },
      body: '{"appKey":',
    });
    expect(res.status).toBe(400);
    const missing = await post(untrusted, { appKey: appKey.standard, dbpUserId: 'u1' });
    expect(missing.status).toBe(400);
    expect(missing.body.fields).toEqual([expect.objectContaining({ field: 'pii', reason: 'required' })]);
    const wrongType = await post(untrusted, { appKey: appKey.standard, dbpUserId: 'u1', pii: 'Asha' });
    expect(wrongType.body.fields).toEqual([expect.objectContaining({ field: 'pii', reason: 'invalid_type' })]);
  });
});

describe('Idempotency-Key', () => {
  it('same key and body: the same answer; same key, other body: 422; a new key: a new token', async () => {
    const dbpUserId = uniqueId('u');
    const body = { appKey: appKey.standard, dbpUserId, pii: piiFor(dbpUserId) };
    const key = uniqueId('idem');
    const first = await post(untrusted, body, { 'Idempotency-Key': key });
    expect(first.status).toBe(201);
    // Same body with keys in another order is the same request.
    const again = await post(untrusted, { pii: body.pii, dbpUserId, appKey: appKey.standard }, { 'Idempotency-Key': key });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);

    const other = await post(untrusted, { ...body, dbpUserId: uniqueId('u') }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');

    const fresh = await post(untrusted, body, { 'Idempotency-Key': uniqueId('idem') });
    expect(fresh.body.authToken).not.toBe(first.body.authToken);
    // Another partner's identical key is another key.
    const stored = await redis.keys(`${keys.prefix}partner:idempotency:*`);
    for (const k of stored) expect(await redis.get(k)).not.toContain(first.body.authToken);
  });
});

describe('concurrency', () => {
  it('50 parallel POSTs for one new DBP user create exactly one user and one mapping', async () => {
    const dbpUserId = uniqueId('race');
    const body = { appKey: appKey.trustedAuto, dbpUserId, pii: piiFor(dbpUserId) };
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(trusted, body)));
    expect(answers.map((a) => a.status).filter((s) => s !== 201 && s !== 200)).toEqual([]);
    const mapped = await mappingOf(appKey.trustedAuto, dbpUserId);
    expect(mapped).toHaveLength(1);
    const users = await bff.container.identityDirectory.findUsersByAttribute('partnerContactEmail', `${dbpUserId.toLowerCase()}@partner.example`);
    expect(users.map((u) => u.id)).toEqual(mapped);
    const tokens = new Set(answers.map((a) => a.body.authToken));
    expect(tokens.size).toBe(50);
  });
});

describe('logs', () => {
  it('never hold PII, server tokens, client secrets or any JWT, after every test above', () => {
    const log = bff.logs();
    expect(log).toContain('"route":"/api/auth/v1"');
    const secrets = [PII.firstName, PII.dob, PII.ssn, PII.address.line1, PII.address.postalCode, '@partner.example'];
    secrets.push(trusted.serverToken, untrusted.serverToken, trusted.clientSecret, untrusted.clientSecret);
    for (const secret of secrets) expect(log.includes(secret), `log contains a secret (${secret.length} characters)`).toBe(false);
    expect(log).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./);
  });
});
