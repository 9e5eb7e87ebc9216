import { randomBytes, randomInt } from 'node:crypto';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool } from '../../upstream/src/db.ts';
import { hashSecret } from '../../upstream/src/secrets.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { inboxMessages, latestCode } from '../support/inbox.ts';
import { call, platformAdminToken, registerPartner, uniqueId } from '../support/partners.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';

/**
 * Issue 15 §6, decision 0022: no personal data in clear at rest. The main flows run end to end
 * through the BFF's APIs with distinctive values (OTP sign-up by e-mail and by phone, register +
 * confirm, an identifier change, the state claim, partner enrollment, an upstream login, an outbox
 * resync). Then the whole BFF database (every row of every table, as JSON) and every Redis key of
 * the BFF's prefix (names and values, whatever the type) are dumped, and none of the names, e-mail
 * addresses, phone numbers (E.164 and national), birth dates, usernames or state ids may occur in
 * them, in any letter case. The BFF runs on its own database and Redis prefix so the dump is its own.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const SECRET = stack.settings.keycloakCallbackSecret;
const PASSWORD = 'Correct-Horse-Battery-42';
const keys = testKeyPrefix('pii');
const redis = new Redis(redisUrl, { lazyConnect: true });
const createdUserIds: string[] = [];
let db: TestDatabase;
let bff: TestBff;
let upstreamDb: pg.Pool;
let adminToken: string;

/** Everything personal this file submits; none of it may be found at rest. */
const needles = new Map<string, string>();
const letters = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + randomInt(26))).join('');
/** A name no ciphertext or hash will contain by chance: 12 letters. */
const name = (label: string) => {
  const value = `${label[0]!.toUpperCase()}${letters(11)}`;
  needles.set(value, `name (${label})`);
  return value;
};
const email = (label: string) => {
  const value = `${letters(10)}.${label}@example.com`;
  needles.set(value, `e-mail (${label})`);
  return value;
};
/** An Indian mobile number: E.164, and the national forms people type. */
const phone = (label: string) => {
  const national = `9${String(randomInt(10 ** 9)).padStart(9, '0')}`;
  const formatted = `${national.slice(0, 5)} ${national.slice(5)}`;
  // The national digits are inside the E.164 form too, so this one needle finds both.
  needles.set(national, `phone (${label})`);
  needles.set(formatted, `phone (${label}, formatted)`);
  return { e164: `+91${national}`, national, formatted };
};
const birthDate = (label: string) => {
  const [y, m, d] = [1950 + randomInt(50), 1 + randomInt(12), 1 + randomInt(28)];
  const [mm, dd] = [String(m).padStart(2, '0'), String(d).padStart(2, '0')];
  for (const form of [`${y}-${mm}-${dd}`, `${dd}/${mm}/${y}`, `${mm}/${dd}/${y}`, `${y}${mm}${dd}`]) needles.set(form, `birth date (${label})`);
  return `${y}-${mm}-${dd}`;
};
const other = (value: string, what: string) => {
  needles.set(value, what);
  return value;
};

beforeAll(async () => {
  await redis.connect();
  db = await createTestDatabase('pii_at_rest');
  bff = await startTestBff(stack, { BFF_DATABASE_URL: db.url, REDIS_PREFIX: keys.prefix });
  upstreamDb = createPool(stack.settings.upstreamDatabaseUrl, 'upstream_core');
  adminToken = await platformAdminToken(stack);
});

afterAll(async () => {
  for (const id of createdUserIds) await bff?.container.accounts.delete(id).catch(() => undefined);
  await bff?.close();
  await db?.drop();
  await upstreamDb?.end();
  await keys.cleanup();
  redis.disconnect();
});

const api = (method: string, path: string, opts: { body?: unknown; token?: string; headers?: Record<string, string> } = {}) =>
  call(`${bff.url}${path}`, method, opts);

/** OTP send -> code from the dev inbox -> verify: the proof. `typed` is what the person types. */
async function proofFor(
  identifier: { email: string } | { phone: string },
  inbox: string,
  purpose: 'sign-up' | 'change-identifier' = 'sign-up',
): Promise<string> {
  const kind = 'email' in identifier ? 'mails' : 'sms';
  const before = (await inboxMessages(stack, kind, inbox)).length;
  const sent = await api('POST', '/api/v1/otp', { body: { ...identifier, purpose } });
  expect(sent.status, JSON.stringify(sent.body)).toBe(202);
  const verified = await api('POST', '/api/v1/otp/verify', { body: { ...identifier, purpose, code: await latestCode(stack, kind, inbox, before) } });
  expect(verified.status, JSON.stringify(verified.body)).toBe(200);
  return String(verified.body.proof);
}

async function confirmationToken(to: string): Promise<string> {
  let token: string | undefined;
  await expect
    .poll(
      async () => {
        const mails = await inboxMessages(stack, 'mails', to);
        token = /\/api\/v1\/auth\/confirm\?token=([A-Za-z0-9_-]+)/.exec(mails.at(-1)?.text ?? '')?.[1];
        return token;
      },
      { timeout: 20_000 },
    )
    .toBeDefined();
  return token!;
}

const state = { custodianEmail: '', registeredUserId: '', partnerUserId: '' };

describe('the main flows, with distinctive values', () => {
  it('sign-up with OTP: by e-mail (chosen username) and by phone (national form, generated username)', async () => {
    const byEmail = { firstName: name('sign-up e-mail'), email: email('signup'), username: other(`zq${letters(10)}`, 'chosen username') };
    const proof = await proofFor({ email: byEmail.email }, byEmail.email);
    const created = await api('POST', '/api/v1/signup', { body: { ...byEmail, userType: 'teacher', password: PASSWORD, proof } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    createdUserIds.push(created.body.userId);
    state.custodianEmail = byEmail.email;

    const tel = phone('sign-up');
    const byPhone = { firstName: name('sign-up phone') };
    const phoneProof = await proofFor({ phone: tel.formatted }, tel.e164);
    const viaPhone = await api('POST', '/api/v1/signup', {
      body: { ...byPhone, userType: 'other', phone: tel.formatted, password: PASSWORD, proof: phoneProof },
    });
    expect(viaPhone.status, JSON.stringify(viaPhone.body)).toBe(201);
    createdUserIds.push(viaPhone.body.userId);
    expect(viaPhone.body.username).toContain(byPhone.firstName.toLowerCase());

    // A code sent and verified but never used: its proof waits in Redis.
    const unused = email('unused-proof');
    await proofFor({ email: unused }, unused);
  });

  it('register + confirm + login, another registration left unconfirmed, and an identifier change with proofs', async () => {
    const person = { firstName: name('register'), lastName: name('register last'), email: email('register'), password: PASSWORD };
    const registered = await api('POST', '/api/v1/auth/register', { body: person, headers: { 'Idempotency-Key': uniqueId('reg') } });
    expect([201, 202], JSON.stringify(registered.body)).toContain(registered.status);
    const confirmed = await api('GET', `/api/v1/auth/confirm?token=${await confirmationToken(person.email)}`);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    const login = await api('POST', '/api/v1/auth/login', { body: { email: person.email, password: PASSWORD } });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const token = String(login.body.accessToken);
    const profile = await api('GET', '/api/v1/user', { token });
    state.registeredUserId = String(profile.body.id);
    createdUserIds.push(state.registeredUserId);

    // Left unconfirmed: its link waits in Redis; a resend request leaves throttle keys.
    const pending = { firstName: name('unconfirmed'), lastName: name('unconfirmed last'), email: email('unconfirmed'), password: PASSWORD };
    expect([201, 202]).toContain((await api('POST', '/api/v1/auth/register', { body: pending })).status);
    await confirmationToken(pending.email);
    await api('POST', '/api/v1/auth/send', { body: { email: pending.email } });

    // The portal's identifier change: a new e-mail and phone, each with its proof, and a new name.
    const newEmail = email('changed');
    const newPhone = phone('changed');
    const emailProof = await proofFor({ email: newEmail }, newEmail, 'change-identifier');
    const phoneProof = await proofFor({ phone: newPhone.national }, newPhone.e164, 'change-identifier');
    const changed = await api('PUT', '/api/v1/user', {
      token,
      body: { firstName: name('changed'), email: newEmail, emailProof, phone: newPhone.national, phoneProof },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ email: newEmail, phone: newPhone.e164 });
  });

  it('the state claim: one flow claims the custodian account to the end, another waits for its code', async () => {
    const returnUrl = `${stack.keycloakUrl}/realms/${stack.settings.platformRealm}/login-actions/first-broker-login?session_code=t&execution=t&tab_id=t`;
    const person = {
      identityProvider: 'state-demo',
      brokeredUserId: `brokered-${randomBytes(6).toString('hex')}`,
      brokeredUsername: other(`st.${letters(10)}`, 'state username'),
      firstName: name('state'),
      lastName: name('state last'),
      stateUserId: other(`SD-${letters(10).toUpperCase()}`, 'state user id'),
      loginSession: `${randomBytes(16).toString('hex')}.tab-1`,
      email: state.custodianEmail,
      phone: phone('state IdP').e164,
    };
    const started = await call(`${bff.url}/internal/v1/keycloak/state-claim`, 'POST', { token: SECRET, body: { ...person, returnUrl } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const flowId = String(started.body.flowId);
    expect((await api('POST', `/state-claim/${flowId}/answer`, { body: { answer: 'mine' } })).status).toBe(200);
    const right = await api('POST', `/state-claim/${flowId}/password`, { body: { password: PASSWORD } });
    expect(right.status, JSON.stringify(right.body)).toBe(200);
    // Claimed at once (decision 0030): the page that says so leads back to Keycloak with the handoff.
    const finished = await (await fetch(`${bff.url}${String(right.body.location)}`)).text();
    const handoffId = new URL(/id="continue" href="([^"]+)"/.exec(finished)![1]!.replaceAll('&amp;', '&')).searchParams.get('handoff')!;
    const done = await call(`${bff.url}/internal/v1/keycloak/state-claim/${flowId}/complete`, 'POST', { token: SECRET, body: { ...person, handoffId } });
    expect(done.status, JSON.stringify(done.body)).toBe(200);

    // The IdP asserted no identifier: the person types one and is sent a code; the flow waits.
    const waiting = {
      ...person,
      brokeredUserId: `brokered-${randomBytes(6).toString('hex')}`,
      brokeredUsername: other(`st.${letters(10)}`, 'state username (waiting)'),
      firstName: name('state waiting'),
      lastName: name('state waiting last'),
      stateUserId: other(`SD-${letters(10).toUpperCase()}`, 'state user id (waiting)'),
      email: null,
      phone: null,
    };
    const second = await call(`${bff.url}/internal/v1/keycloak/state-claim`, 'POST', { token: SECRET, body: { ...waiting, returnUrl } });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    const typed = email('state-typed');
    const asked = await api('POST', `/state-claim/${second.body.flowId}/identifier`, { body: { identifier: typed } });
    expect(asked.status, JSON.stringify(asked.body)).toBe(200);
  });

  it('partner enrollment: an auto-enrolled user (with an Idempotency-Key) and a standard one waiting with its PII', async () => {
    const appKeys = { auto: uniqueId('auto'), standard: uniqueId('std') };
    const partner = await registerPartner(stack, bff.url, adminToken, {
      trustAuth: true,
      appKeys: [{ appKey: appKeys.auto, autoEnroll: true, kbaBypass: false }],
    });
    const standard = await registerPartner(stack, bff.url, adminToken, {
      trustAuth: false,
      appKeys: [{ appKey: appKeys.standard, autoEnroll: false, kbaBypass: false }],
    });
    const pii = (label: string) => ({
      firstName: name(`partner ${label}`),
      lastName: name(`partner ${label} last`),
      dob: birthDate(`partner ${label}`),
      email: email(`partner-${label}`),
      phone: phone(`partner ${label}`).e164,
      ssn: other(`${100 + randomInt(800)}-${10 + randomInt(89)}-${1000 + randomInt(8999)}`, `ssn (${label})`),
      address: {
        line1: other(`${1 + randomInt(900)} ${name(`street ${label}`)} Road`, `address (${label})`),
        city: 'Springfield',
        state: 'IL',
        postalCode: '62701',
      },
    });

    const auto = await call(`${bff.url}/api/auth/v1`, 'POST', {
      token: partner.serverToken,
      body: { appKey: appKeys.auto, dbpUserId: uniqueId('dbp'), pii: pii('auto') },
      headers: { 'Idempotency-Key': uniqueId('idem') },
    });
    expect(auto.status, JSON.stringify(auto.body)).toBe(201);
    const [mapping] = await bff.container.orm.em.getConnection().execute<{ user_id: string }[]>('select user_id from partner_user_mapping');
    state.partnerUserId = mapping!.user_id;
    createdUserIds.push(state.partnerUserId);

    const waiting = await call(`${bff.url}/api/auth/v1`, 'POST', {
      token: standard.serverToken,
      body: { appKey: appKeys.standard, dbpUserId: uniqueId('dbp'), pii: pii('standard') },
    });
    expect(waiting.status, JSON.stringify(waiting.body)).toBe(201);
    expect((await call(`${bff.url}/api/auth/v1/${waiting.body.authToken}`, 'GET')).status).toBe(202);
  });

  it('an upstream-only member signs in (lazy migration), after one wrong password', async () => {
    const member = {
      username: other(`m.${letters(10)}`, 'upstream username'),
      firstName: name('member'),
      lastName: name('member last'),
      email: email('member'),
      phone: phone('member').e164,
    };
    await upstreamDb.query(
      `INSERT INTO users (username, first_name, last_name, email, phone, status, password_hash) VALUES ($1, $2, $3, $4, $5, 'active', $6)`,
      [member.username, member.firstName, member.lastName, member.email, member.phone, await hashSecret(PASSWORD)],
    );
    const internal = (body: Json) => call(`${bff.url}/internal/v1/keycloak/upstream-login`, 'POST', { token: SECRET, body });
    expect((await internal({ login: member.email, password: 'Wrong#Pass2026' })).body).toEqual({ outcome: 'none' });
    const imported = await internal({ login: member.email, password: PASSWORD });
    expect(imported.body, JSON.stringify(imported.body)).toMatchObject({ outcome: 'user' });
    createdUserIds.push(String(imported.body.userId));
  });

  it('the upstream outbox: an admin resync queues the changed member and the partner member (payloads held until delivered)', async () => {
    for (const userId of [state.registeredUserId, state.partnerUserId]) {
      const res = await api('POST', `/api/admin/v1/users/${userId}/upstream-resync`, { token: adminToken });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body.rows.length).toBeGreaterThan(0);
    }
  });
});

describe('what the BFF keeps at rest', () => {
  it('holds none of it in clear: not in any row of any table, not in any Redis key name or value', async () => {
    const sql = <T>(q: string) => bff.container.orm.em.getConnection().execute<T[]>(q);
    const tables = (
      await sql<{ table_name: string }>(
        `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
      )
    ).map((t) => t.table_name);
    const rows: { where: string; text: string }[] = [];
    const counts: Record<string, number> = {};
    for (const table of tables) {
      const dumped = await sql<{ row: string }>(`select row_to_json(t)::text as row from "${table}" t`);
      counts[table] = dumped.length;
      for (const { row } of dumped) rows.push({ where: `table ${table}`, text: row });
    }
    // Not vacuous: the places that used to hold the data in clear hold rows now.
    for (const table of ['flow', 'identifier_handoff', 'state_claim_audit', 'account_creation', 'upstream_outbox', 'partner_user_mapping']) {
      expect(counts[table], `rows in ${table}`).toBeGreaterThan(0);
    }
    expect(counts.flow).toBeGreaterThanOrEqual(2);

    let cursor = '0';
    const redisKeys: string[] = [];
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${keys.prefix}*`, 'COUNT', 1000);
      cursor = next;
      redisKeys.push(...batch);
    } while (cursor !== '0');
    for (const key of redisKeys) {
      const type = await redis.type(key);
      const value =
        type === 'string'
          ? await redis.get(key)
          : type === 'hash'
            ? JSON.stringify(await redis.hgetall(key))
            : type === 'set'
              ? JSON.stringify(await redis.smembers(key))
              : type === 'zset'
                ? JSON.stringify(await redis.zrange(key, '0', '-1', 'WITHSCORES'))
                : type === 'list'
                  ? JSON.stringify(await redis.lrange(key, 0, -1))
                  : type === 'stream'
                    ? JSON.stringify(await redis.xrange(key, '-', '+'))
                    : '';
      rows.push({ where: `redis ${type} ${key.slice(keys.prefix.length).replace(/:[^:]{16,}$/, ':…')}`, text: `${key}\n${value ?? ''}` });
    }
    const kinds = redisKeys.map((k) => k.slice(keys.prefix.length));
    for (const kind of [
      'user-management:confirm:',
      'user-management:proof-used:',
      'user-management:register-key:',
      'otp:proof:',
      'partner:auth:',
      'partner:idempotency:',
    ]) {
      expect(
        kinds.some((k) => k.startsWith(kind)),
        `a Redis key ${kind}*`,
      ).toBe(true);
    }

    expect(needles.size).toBeGreaterThan(40);
    const found: string[] = [];
    for (const { where, text } of rows) {
      const haystack = text.toLowerCase();
      for (const [needle, what] of needles) if (haystack.includes(needle.toLowerCase())) found.push(`${what} in ${where}`);
    }
    expect(found).toEqual([]);
  });
});
