import { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { startUpstreamServer, type RunningUpstreamServer } from '../../upstream/src/server.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenIdOf } from '../../bff/src/flows/partner-enrollment/auth-token-store.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call, platformAdminToken, registerPartner, uniqueId, type TestPartner } from '../support/partners.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';

/**
 * The standard enrollment (autoEnroll off): prefilled PII, KBA questions from the upstream core,
 * answers, userToken; limited tries; and what an outage of the upstream core or Keycloak leaves
 * behind (nothing half-written, the authToken still usable). The upstream core is a reference server
 * of this file's own (own schema in the stack's upstream database), so the identity records it seeds
 * and the code it runs are this checkout's.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const keys = testKeyPrefix(uniqueId('partner-kba'));
const redis = new Redis(redisUrl, { lazyConnect: true });
const kcAdmin = adminFor(stack);
let bff: TestBff;
let partner: TestPartner;
const appKey = { standard: uniqueId('std'), trustedAuto: uniqueId('auto') };
let trusted: TestPartner;
let upstream: RunningUpstreamServer;
const upstreamSchema = `upstream_${uniqueId('kba').replace('-', '_')}`;

/** A person the upstream core can verify, seeded through its contract. */
async function seedIdentity(person: { firstName: string; lastName: string; dob: string }) {
  const recordId = uniqueId('rec');
  const res = await fetch(`${upstream.url}/v1/identity-records/${recordId}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${stack.settings.upstreamApiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      ...person,
      ssnLast4: '6789',
      questions: [
        { id: 'previous-street', text: 'On which street did you live in 2015?', answer: 'Maple Avenue' },
        { id: 'car-make', text: 'Which make was the car you financed in 2018?', answer: 'Honda' },
      ],
    }),
  });
  expect(res.status).toBe(200);
}

const RIGHT = [
  { questionId: 'previous-street', answer: '  maple   AVENUE ' },
  { questionId: 'car-make', answer: 'Honda' },
];
const WRONG = [
  { questionId: 'previous-street', answer: 'Oak Street' },
  { questionId: 'car-make', answer: 'Honda' },
];

beforeAll(async () => {
  await redis.connect();
  upstream = await startUpstreamServer({
    databaseUrl: stack.settings.upstreamDatabaseUrl,
    schema: upstreamSchema,
    port: 0,
    apiKey: stack.settings.upstreamApiKey,
    logger: pino({ level: 'silent' }),
  });
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix, UPSTREAM_URL: upstream.url });
  const adminToken = await platformAdminToken(stack);
  partner = await registerPartner(stack, bff.url, adminToken, { trustAuth: false, appKeys: [{ appKey: appKey.standard, autoEnroll: false, kbaBypass: false }] });
  trusted = await registerPartner(stack, bff.url, adminToken, { trustAuth: true, appKeys: [{ appKey: appKey.trustedAuto, autoEnroll: true, kbaBypass: false }] });
});

afterAll(async () => {
  await bff?.close();
  await upstream?.close();
  const db = new pg.Client({ connectionString: stack.settings.upstreamDatabaseUrl });
  await db.connect();
  await db.query(`drop schema if exists "${upstreamSchema}" cascade`);
  await db.end();
  await keys.cleanup();
  redis.disconnect();
});

async function newStandardToken(person: Json, url = bff.url) {
  const dbpUserId = uniqueId('u');
  const res = await call(`${url}/api/auth/v1`, 'POST', { token: partner.serverToken, body: { appKey: appKey.standard, dbpUserId, pii: person } });
  expect(res.status).toBe(201);
  return { dbpUserId, authToken: res.body.authToken as string };
}

async function mappingOf(key: string, dbpUserId: string): Promise<string[]> {
  const rows = await bff.container.orm.em
    .getConnection()
    .execute<{ user_id: string }[]>('select user_id from partner_user_mapping where app_key = ? and dbp_user_id = ?', [key, dbpUserId]);
  return rows.map((r) => r.user_id);
}

const kba = (authToken: string, pii: Json, url = bff.url) => call(`${url}/api/auth/v1/${authToken}/kba`, 'POST', { body: { pii } });
const answer = (authToken: string, answers: Json[], url = bff.url) => call(`${url}/api/auth/v1/${authToken}/kba/answers`, 'POST', { body: { answers } });

describe('standard enrollment with KBA', () => {
  it('confirmed PII -> questions; right answers -> user created with the confirmed PII, mapped, userToken; token used up', async () => {
    const person = { firstName: 'Jordan', lastName: uniqueId('Lee'), dob: '1990-04-12' };
    await seedIdentity(person);
    // The partner sent a typo in the first name; the user corrects it on the prefilled form.
    const { dbpUserId, authToken } = await newStandardToken({ ...person, firstName: 'Jordn', ssn: '123-45-6789' });
    expect((await call(`${bff.url}/api/auth/v1/${authToken}`, 'GET')).body.pii.firstName).toBe('Jordn');

    const notFound = await kba(authToken, { ...person, firstName: 'Jordn', ssn: '123-45-6789' });
    expect(notFound.status).toBe(422);
    expect(notFound.body.code).toBe('IDENTITY_NOT_VERIFIABLE');

    const email = `${dbpUserId.toLowerCase()}@partner.example`;
    const asked = await kba(authToken, { ...person, ssn: '123-45-6789', email });
    expect(asked.status).toBe(200);
    expect(asked.body).toEqual({
      questions: [
        { id: 'previous-street', text: 'On which street did you live in 2015?' },
        { id: 'car-make', text: 'Which make was the car you financed in 2018?' },
      ],
      attemptsLeft: 3,
    });
    // The form shows what the user confirmed now.
    expect((await call(`${bff.url}/api/auth/v1/${authToken}`, 'GET')).body.pii).toMatchObject({ firstName: 'Jordan', email });
    expect(await mappingOf(appKey.standard, dbpUserId)).toEqual([]);

    const done = await answer(authToken, RIGHT);
    expect(done.status).toBe(200);
    expect(Object.keys(done.body).sort()).toEqual(['expiresAt', 'userToken']);
    const [userId] = await mappingOf(appKey.standard, dbpUserId);
    const user = (await kcAdmin.get<Json>(`/${realm}/users/${userId}`))!;
    expect(user).toMatchObject({ firstName: 'Jordan', lastName: person.lastName });
    // What the user typed at KBA is a contact candidate, not the account's e-mail (decision 0016).
    expect(user.email).toBeUndefined();
    expect(user.attributes.partnerContactEmail).toEqual([email]);
    expect(JSON.parse(Buffer.from(done.body.userToken.split('.')[1], 'base64url').toString()).sub).toBe(userId);

    expect((await call(`${bff.url}/api/auth/v1/${authToken}`, 'GET')).status).toBe(404);
    expect(await redis.exists(`${keys.prefix}partner:auth:${tokenIdOf(authToken)}`)).toBe(0);

    // Enrolled now: the next POST for this DBP user is a 200 whose GET gives a userToken.
    const again = await call(`${bff.url}/api/auth/v1`, 'POST', { token: partner.serverToken, body: { appKey: appKey.standard, dbpUserId, pii: person } });
    expect(again.status).toBe(200);
    expect((await call(`${bff.url}/api/auth/v1/${again.body.authToken}`, 'GET')).status).toBe(200);
  });

  it('wrong answers: 422 KBA_FAILED with the tries left; the last wrong set kills the token; nobody is enrolled', async () => {
    const person = { firstName: 'Sam', lastName: uniqueId('Wrong'), dob: '1985-07-01' };
    await seedIdentity(person);
    const { dbpUserId, authToken } = await newStandardToken(person);
    expect((await kba(authToken, person)).status).toBe(200);
    for (const left of [2, 1]) {
      const res = await answer(authToken, WRONG);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'KBA_FAILED', attemptsLeft: left });
    }
    const last = await answer(authToken, RIGHT.map((a) => ({ ...a, answer: 'nope' })));
    expect(last.status).toBe(422);
    expect(last.body).toMatchObject({ code: 'KBA_FAILED', attemptsLeft: 0 });
    expect((await answer(authToken, RIGHT)).status).toBe(404);
    expect((await call(`${bff.url}/api/auth/v1/${authToken}`, 'GET')).status).toBe(404);
    expect(await mappingOf(appKey.standard, dbpUserId)).toEqual([]);
  });

  it('answers before questions, or KBA on a token of another kind: 404; bad answers: 400 naming the field', async () => {
    const person = { firstName: 'Ana', lastName: uniqueId('Order'), dob: '1979-11-30' };
    const { authToken } = await newStandardToken(person);
    expect((await answer(authToken, RIGHT)).status).toBe(404);
    const bad = await answer(authToken, [{ questionId: 'Bad Id', answer: '' }]);
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: Json) => f.field).sort()).toEqual(['answers.0.answer', 'answers.0.questionId']);
    const badPii = await kba(authToken, { firstName: 'Ana' });
    expect(badPii.status).toBe(400);
    expect(badPii.body.fields.map((f: Json) => f.field).sort()).toEqual(['pii.dob', 'pii.lastName']);
  });
});

describe('outages: 503, nothing half-written, the authToken still usable', () => {
  it('upstream core down: KBA questions 503, the token still shows the form; autoEnroll + trustAuth POST 503 with no user, mapping or token', async () => {
    const down = await startTestBff(stack, { REDIS_PREFIX: keys.prefix, UPSTREAM_URL: 'http://127.0.0.1:9', UPSTREAM_RETRIES: '0', UPSTREAM_TIMEOUT_MS: '500' });
    try {
      const person = { firstName: 'Ola', lastName: uniqueId('Down'), dob: '1970-01-02' };
      await seedIdentity(person);
      const { authToken } = await newStandardToken(person);
      const res = await kba(authToken, person, down.url);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect((await call(`${bff.url}/api/auth/v1/${authToken}`, 'GET')).status).toBe(202);
      expect((await kba(authToken, person)).status).toBe(200);

      const dbpUserId = uniqueId('u');
      const email = `${dbpUserId.toLowerCase()}@partner.example`;
      const before = await redis.keys(`${keys.prefix}partner:auth:*`);
      const post = await call(`${down.url}/api/auth/v1`, 'POST', {
        token: trusted.serverToken,
        body: { appKey: appKey.trustedAuto, dbpUserId, pii: { ...person, email } },
      });
      expect(post.status).toBe(503);
      expect(await mappingOf(appKey.trustedAuto, dbpUserId)).toEqual([]);
      expect(await redis.keys(`${keys.prefix}partner:auth:*`)).toEqual(before);
      expect(await bff.container.identityDirectory.findUsersByAttribute('partnerContactEmail', email)).toEqual([]);

      // The same request once the core is back: enrolled, one user.
      const retried = await call(`${bff.url}/api/auth/v1`, 'POST', {
        token: trusted.serverToken,
        body: { appKey: appKey.trustedAuto, dbpUserId, pii: { ...person, email } },
      });
      expect(retried.status).toBe(201);
      expect(await mappingOf(appKey.trustedAuto, dbpUserId)).toHaveLength(1);
    } finally {
      await down.close();
    }
  });

  it('Keycloak refuses the userToken grant (misconfigured client): GET 502, and the authToken is not used up', async () => {
    const dbpUserId = uniqueId('u');
    const person = { firstName: 'Lou', lastName: uniqueId('Kc'), dob: '1977-07-07', email: `${dbpUserId.toLowerCase()}@partner.example` };
    const post = await call(`${bff.url}/api/auth/v1`, 'POST', { token: trusted.serverToken, body: { appKey: appKey.trustedAuto, dbpUserId, pii: person } });
    expect(post.status).toBe(201);
    const wrong = await startTestBff(stack, { REDIS_PREFIX: keys.prefix, UPSTREAM_URL: upstream.url, PARTNER_USER_TOKEN_CLIENT_SECRET: 'not-the-secret' });
    try {
      const res = await call(`${wrong.url}/api/auth/v1/${post.body.authToken}`, 'GET');
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('IDENTITY_DIRECTORY_FAILED');
      expect(JSON.stringify(res.body)).not.toMatch(/invalid_client|partner-user-tokens/);
    } finally {
      await wrong.close();
    }
    expect((await call(`${bff.url}/api/auth/v1/${post.body.authToken}`, 'GET')).status).toBe(200);
  });

  it('Keycloak down: GET of an enrolled user 503, and the authToken is not used up', async () => {
    const dbpUserId = uniqueId('u');
    const person = { firstName: 'Kim', lastName: uniqueId('Kc'), dob: '1988-08-08', email: `${dbpUserId.toLowerCase()}@partner.example` };
    const post = await call(`${bff.url}/api/auth/v1`, 'POST', { token: trusted.serverToken, body: { appKey: appKey.trustedAuto, dbpUserId, pii: person } });
    expect(post.status).toBe(201);
    const down = await startTestBff(stack, { REDIS_PREFIX: keys.prefix, UPSTREAM_URL: upstream.url, KEYCLOAK_URL: 'http://localhost:9' });
    try {
      const res = await call(`${down.url}/api/auth/v1/${post.body.authToken}`, 'GET');
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('IDENTITY_DIRECTORY_UNAVAILABLE');
      // Server tokens cannot be checked without the realm's keys: 503, not 403.
      const noKeys = await call(`${down.url}/api/auth/v1`, 'POST', { token: trusted.serverToken, body: { appKey: appKey.trustedAuto, dbpUserId, pii: person } });
      expect(noKeys.status).toBe(503);
    } finally {
      await down.close();
    }
    expect((await call(`${bff.url}/api/auth/v1/${post.body.authToken}`, 'GET')).status).toBe(200);
  });
});
