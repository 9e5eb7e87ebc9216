import { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { startUpstreamServer, type RunningUpstreamServer } from '../../upstream/src/server.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenIdOf } from '../../bff/src/flows/partner-enrollment/service.ts';
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
let upstreamDb: pg.Pool;

/** A person the upstream core can verify, seeded through its contract. */
async function seedIdentity(person: { firstName: string; lastName: string; dob: string }, answers = { street: 'Maple Avenue', car: 'Honda' }) {
  const recordId = uniqueId('rec');
  const res = await fetch(`${upstream.url}/v1/identity-records/${recordId}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${stack.settings.upstreamApiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      ...person,
      ssnLast4: '6789',
      questions: [
        { id: 'previous-street', text: 'On which street did you live in 2015?', answer: answers.street },
        { id: 'car-make', text: 'Which make was the car you financed in 2018?', answer: answers.car },
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
  upstreamDb = new pg.Pool({ connectionString: stack.settings.upstreamDatabaseUrl, max: 2 });
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix, UPSTREAM_URL: upstream.url });
  const adminToken = await platformAdminToken(stack);
  partner = await registerPartner(stack, bff.url, adminToken, {
    trustAuth: false,
    appKeys: [{ appKey: appKey.standard, autoEnroll: false, kbaBypass: false }],
  });
  trusted = await registerPartner(stack, bff.url, adminToken, {
    trustAuth: true,
    appKeys: [{ appKey: appKey.trustedAuto, autoEnroll: true, kbaBypass: false }],
  });
});

afterAll(async () => {
  await bff?.close();
  await upstream?.close();
  await upstreamDb?.end();
  const db = new pg.Client({ connectionString: stack.settings.upstreamDatabaseUrl });
  await db.connect();
  await db.query(`drop schema if exists "${upstreamSchema}" cascade`);
  await db.end();
  await keys.cleanup();
  redis.disconnect();
});

async function newStandardToken(person: Json, url = bff.url, by: { partner: TestPartner; appKey: string } = { partner, appKey: appKey.standard }) {
  const dbpUserId = uniqueId('u');
  const res = await call(`${url}/api/auth/v1`, 'POST', { token: by.partner.serverToken, body: { appKey: by.appKey, dbpUserId, pii: person } });
  expect(res.status).toBe(201);
  return { dbpUserId, authToken: res.body.authToken as string };
}

async function mappingOf(key: string, dbpUserId: string): Promise<string[]> {
  const rows = await bff.container.orm.em
    .getConnection()
    .execute<{ user_id: string }[]>('select user_id from partner_user_mapping where app_key = ? and dbp_user_id = ?', [key, dbpUserId]);
  return rows.map((r) => r.user_id);
}

/** The reference core's verification sessions for a person: one per start that reached it and found them. */
async function verificationsOf(lastName: string): Promise<{ attempts: number; status: string }[]> {
  const { rows } = await upstreamDb.query<{ attempts: number; status: string }>(
    `select v.attempts, v.status from "${upstreamSchema}".identity_verifications v
       join "${upstreamSchema}".identity_records r on r.id = v.record_id
      where r.last_name = $1 order by v.created_at`,
    [lastName],
  );
  return rows;
}

/** The KBA start audit rows of one authToken (found by its SHA-256, as an investigator would), oldest first. */
async function auditOf(authToken: string): Promise<Json[]> {
  return bff.container.orm.em
    .getConnection()
    .execute<Json[]>('select * from partner_kba_start_audit where token_id = ? order by at, id', [tokenIdOf(authToken)]);
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
    expect(notFound.body).toMatchObject({ code: 'IDENTITY_NOT_VERIFIABLE', startsLeft: 2 });

    const email = `${dbpUserId.toLowerCase()}@partner.example`;
    const asked = await kba(authToken, { ...person, ssn: '123-45-6789', email });
    expect(asked.status).toBe(200);
    expect(asked.body).toEqual({
      questions: [
        { id: 'previous-street', text: 'On which street did you live in 2015?' },
        { id: 'car-make', text: 'Which make was the car you financed in 2018?' },
      ],
      attemptsLeft: 3,
      startsLeft: 1,
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
    const last = await answer(
      authToken,
      RIGHT.map((a) => ({ ...a, answer: 'nope' })),
    );
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

describe('KBA starts: limited per authToken and per partner, audited (issue 14 §3)', () => {
  const nobody = () => ({ firstName: 'Nobody', lastName: uniqueId('Probe'), dob: '1960-01-01' });

  it('per authToken: beyond PARTNER_KBA_STARTS_PER_TOKEN (3) a 429 with Retry-After, before the core is asked, known identity or not', async () => {
    const known = { firstName: 'Rae', lastName: uniqueId('Cap'), dob: '1981-03-03' };
    await seedIdentity(known);
    const { authToken } = await newStandardToken(known);
    const probes = [nobody(), nobody()];
    for (const [i, probe] of probes.entries()) {
      const res = await kba(authToken, probe);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'IDENTITY_NOT_VERIFIABLE', startsLeft: 2 - i });
    }
    const asked = await kba(authToken, known);
    expect(asked.status).toBe(200);
    // Nothing to address another verification with: its id never leaves the BFF.
    expect(Object.keys(asked.body).sort()).toEqual(['attemptsLeft', 'questions', 'startsLeft']);
    expect(asked.body.startsLeft).toBe(0);
    expect(await verificationsOf(known.lastName)).toHaveLength(1);

    // The attacker's fourth probe, of a person the core knows, and of one it does not: the same 429.
    const refusedKnown = await kba(authToken, known);
    const refusedUnknown = await kba(authToken, nobody());
    for (const refused of [refusedKnown, refusedUnknown]) {
      expect(refused.status).toBe(429);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.body.code).toBe('RATE_LIMITED');
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(900); // until the authToken expires
      expect(refused.body.retryAfterSeconds).toBe(retryAfter);
    }
    expect(refusedUnknown.body.detail).toBe(refusedKnown.body.detail);
    // The core was not asked: no new verification session for the known person.
    expect(await verificationsOf(known.lastName)).toEqual([{ attempts: 0, status: 'pending' }]);

    // Refused starts changed nothing: the form still shows the details that got the questions, and
    // those questions are still the ones to answer.
    expect((await call(`${bff.url}/api/auth/v1/${authToken}`, 'GET')).body.pii).toMatchObject({ lastName: known.lastName });
    expect((await answer(authToken, RIGHT)).status).toBe(200);

    const rows = await auditOf(authToken);
    expect(rows.map((r) => [r.outcome, r.refused_by])).toEqual([
      ['not_verifiable', null],
      ['not_verifiable', null],
      ['questions', null],
      ['rate_limited', 'token'],
      ['rate_limited', 'token'],
    ]);
    for (const row of rows) expect(row).toMatchObject({ client_id: partner.clientId, app_key: appKey.standard, token_id: tokenIdOf(authToken) });
    // No PII (and not the token): the columns are these, and no value carries what was sent.
    expect(Object.keys(rows[0]!).sort()).toEqual(['app_key', 'at', 'client_id', 'id', 'outcome', 'refused_by', 'token_id']);
    const stored = JSON.stringify(rows);
    for (const secret of [authToken, known.lastName, known.dob, known.firstName, ...probes.map((p) => p.lastName), 'Nobody']) {
      expect(stored).not.toContain(secret);
    }
  });

  it('a token that used its starts while awaiting enrollment can neither start nor answer', async () => {
    const { authToken } = await newStandardToken(nobody());
    for (let i = 0; i < 3; i++) expect((await kba(authToken, nobody())).status).toBe(422);
    expect((await kba(authToken, nobody())).status).toBe(429);
    expect((await answer(authToken, RIGHT)).status).toBe(404);
    expect((await call(`${bff.url}/api/auth/v1/${authToken}`, 'GET')).status).toBe(202);
  });

  it("answers go to the verification the token started last: the earlier person's answers fail, and their session is untouched", async () => {
    const first = { firstName: 'Ivy', lastName: uniqueId('First'), dob: '1975-05-05' };
    const second = { firstName: 'Ivo', lastName: uniqueId('Second'), dob: '1976-06-06' };
    await seedIdentity(first);
    await seedIdentity(second, { street: 'Elm Road', car: 'Toyota' });
    const { dbpUserId, authToken } = await newStandardToken(first);
    expect((await kba(authToken, first)).status).toBe(200);
    expect((await kba(authToken, second)).status).toBe(200);

    // The first person's right answers, sent after the second start, are checked against the second.
    const stale = await answer(authToken, RIGHT);
    expect(stale.status).toBe(422);
    expect(stale.body).toMatchObject({ code: 'KBA_FAILED', attemptsLeft: 2 });
    // No body field can name a verification.
    const named = await call(`${bff.url}/api/auth/v1/${authToken}/kba/answers`, 'POST', {
      body: { answers: RIGHT, verificationId: '00000000-0000-4000-8000-000000000000' },
    });
    expect(named.status).toBe(400);
    expect(JSON.stringify(named.body.fields)).toContain('verificationId');

    const done = await answer(authToken, [
      { questionId: 'previous-street', answer: 'Elm Road' },
      { questionId: 'car-make', answer: 'Toyota' },
    ]);
    expect(done.status).toBe(200);
    const [userId] = await mappingOf(appKey.standard, dbpUserId);
    expect((await kcAdmin.get<Json>(`/${realm}/users/${userId}`))!.lastName).toBe(second.lastName);
    expect(await verificationsOf(first.lastName)).toEqual([{ attempts: 0, status: 'pending' }]);
    expect(await verificationsOf(second.lastName)).toEqual([{ attempts: 2, status: 'passed' }]);
  });

  it('per partner and hour: the count is shared by two BFF processes; beyond it 429 for any token of that partner; another partner is unaffected', async () => {
    const env = { REDIS_PREFIX: keys.prefix, UPSTREAM_URL: upstream.url, PARTNER_KBA_STARTS_PER_CLIENT_PER_HOUR: '3' };
    const [one, two] = await Promise.all([startTestBff(stack, env), startTestBff(stack, env)]);
    try {
      const adminToken = await platformAdminToken(stack);
      const keysOf = { capped: uniqueId('cap'), other: uniqueId('oth') };
      const capped = {
        partner: await registerPartner(stack, bff.url, adminToken, {
          trustAuth: false,
          appKeys: [{ appKey: keysOf.capped, autoEnroll: false, kbaBypass: false }],
        }),
        appKey: keysOf.capped,
      };
      const other = {
        partner: await registerPartner(stack, bff.url, adminToken, {
          trustAuth: false,
          appKeys: [{ appKey: keysOf.other, autoEnroll: false, kbaBypass: false }],
        }),
        appKey: keysOf.other,
      };
      const known = { firstName: 'Noa', lastName: uniqueId('Hour'), dob: '1992-02-02' };
      await seedIdentity(known);

      const tokens = [];
      for (let i = 0; i < 4; i++) tokens.push((await newStandardToken(known, i % 2 ? two.url : one.url, capped)).authToken);
      // Three starts of three tokens, alternating between the processes: the partner's hour is used up.
      expect((await kba(tokens[0]!, nobody(), one.url)).status).toBe(422);
      expect((await kba(tokens[1]!, nobody(), two.url)).status).toBe(422);
      expect((await kba(tokens[2]!, nobody(), one.url)).status).toBe(422);
      // A fresh token (all its own starts left) on the other process, for a person the core knows.
      const refused = await kba(tokens[3]!, known, two.url);
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('RATE_LIMITED');
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      expect((await kba(tokens[0]!, known, one.url)).status).toBe(429);
      expect(await verificationsOf(known.lastName)).toEqual([]);

      // Another partner, on either process: its own hour.
      const theirs = await newStandardToken(known, one.url, other);
      const asked = await kba(theirs.authToken, known, two.url);
      expect(asked.status).toBe(200);
      expect(await verificationsOf(known.lastName)).toHaveLength(1);

      expect((await auditOf(tokens[3]!)).map((r) => [r.client_id, r.app_key, r.outcome, r.refused_by])).toEqual([
        [capped.partner.clientId, keysOf.capped, 'rate_limited', 'partner'],
      ]);
      expect((await auditOf(tokens[0]!)).map((r) => [r.outcome, r.refused_by])).toEqual([
        ['not_verifiable', null],
        ['rate_limited', 'partner'],
      ]);
      expect((await auditOf(theirs.authToken)).map((r) => [r.client_id, r.outcome])).toEqual([[other.partner.clientId, 'questions']]);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});

describe('outages: 503, nothing half-written, the authToken still usable', () => {
  it('upstream core down: KBA questions 503, the token still shows the form; autoEnroll + trustAuth POST 503 with no user, mapping or token', async () => {
    const down = await startTestBff(stack, {
      REDIS_PREFIX: keys.prefix,
      UPSTREAM_URL: 'http://127.0.0.1:9',
      UPSTREAM_RETRIES: '0',
      UPSTREAM_TIMEOUT_MS: '500',
    });
    try {
      const person = { firstName: 'Ola', lastName: uniqueId('Down'), dob: '1970-01-02' };
      await seedIdentity(person);
      const { authToken } = await newStandardToken(person);
      const res = await kba(authToken, person, down.url);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect((await call(`${bff.url}/api/auth/v1/${authToken}`, 'GET')).status).toBe(202);
      // The failed start did not use up one of the token's (audited as failed all the same).
      const back = await kba(authToken, person);
      expect([back.status, back.body.startsLeft]).toEqual([200, 2]);
      expect((await auditOf(authToken)).map((r) => r.outcome)).toEqual(['failed', 'questions']);

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
      const noKeys = await call(`${down.url}/api/auth/v1`, 'POST', {
        token: trusted.serverToken,
        body: { appKey: appKey.trustedAuto, dbpUserId, pii: person },
      });
      expect(noKeys.status).toBe(503);
    } finally {
      await down.close();
    }
    expect((await call(`${bff.url}/api/auth/v1/${post.body.authToken}`, 'GET')).status).toBe(200);
  });
});
