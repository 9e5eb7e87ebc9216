import { createHash, randomBytes, randomInt } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setUpAuthenticatorApp } from '../support/authenticator-app.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt, portalSignIn } from '../support/oidc.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';
import { latestCode } from '../support/inbox.ts';

/**
 * The user-management API (seed 001) on the real BFF, against the e2e stack's Keycloak, upstream
 * core, Redis and mail inbox: every route, its error answers, and what each one leaves in Keycloak,
 * the upstream core and Redis.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const browser = useBrowser();
const run = randomBytes(3).toString('hex');
const PASSWORD = 'Correct-Horse-Battery-42';
const keys = testKeyPrefix(`um-${run}`);
const redis = new Redis(redisUrl, { lazyConnect: true });
const createdUserIds: string[] = [];
let bff: TestBff;
const ROOMY = { REGISTER_REQUESTS_PER_IP_PER_HOUR: '10000' };

beforeAll(async () => {
  await redis.connect();
  // Own Redis prefix: the per-IP limits (every request here comes from 127.0.0.1) start at zero on
  // every run. No resend cooldown here; the throttling test runs a BFF with the defaults. This file
  // registers far more people from one address than the registration limit lets through (those limits
  // have their own tests in rate-limits.test.ts).
  bff = await startTestBff(stack, { ...ROOMY, REDIS_PREFIX: keys.prefix, EMAIL_CONFIRMATION_COOLDOWN_SECONDS: '0' });
});

afterAll(async () => {
  for (const id of createdUserIds) await bff.container.accounts.delete(id).catch(() => undefined);
  await bff?.close();
  await keys.cleanup();
  redis.disconnect();
});

// ------------------------------------------------------------------------------------------ helpers

interface Answer {
  status: number;
  body: Json;
  headers: Headers;
}

async function call(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; bearer?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}),
      ...opts.headers,
    },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {}, headers: res.headers };
}
const api = (method: string, path: string, opts?: Parameters<typeof call>[3]) => call(bff.url, method, path, opts);

let counter = 0;
function person(overrides: Json = {}) {
  counter++;
  return { firstName: 'Test', lastName: `Um${run}n${counter}`, email: `um.${run}.${counter}@example.com`, password: PASSWORD, ...overrides };
}

interface Mail {
  to: string[];
  subject: string;
  text: string;
}
const mailsTo = async (email: string): Promise<Mail[]> => (await (await fetch(`${stack.inboxUrl}/api/mails?to=${encodeURIComponent(email)}`)).json()) as Mail[];

/** The inbox stores a mail a moment after SMTP accepted it: poll until `count` are there. */
async function waitForMails(email: string, count: number): Promise<Mail[]> {
  for (let i = 0; i < 100; i++) {
    const mails = await mailsTo(email);
    if (mails.length >= count) return mails;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected ${count} mail(s) to ${email}, got ${(await mailsTo(email)).length}`);
}

const tokenOf = (mail: Mail): string => {
  const match = /\/api\/v1\/auth\/confirm\?token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!match) throw new Error('no confirmation link in the mail');
  return match[1]!;
};
const linkKey = (token: string) => `${keys.prefix}user-management:confirm:${createHash('sha256').update(token).digest('hex')}`;

const accountsWith = async (email: string) => (await admin.get<Json[]>(`/${realm}/users?email=${encodeURIComponent(email)}&exact=true`))!;

/**
 * Registers: 202 and one body for every address (decision 0019); the account and its mail are made
 * after the answer, so this waits for the BFF's background work, then finds the account in Keycloak.
 */
async function register(body: Json, headers?: Record<string, string>, on: TestBff = bff): Promise<{ id: string; username: string }> {
  const res = await call(on.url, 'POST', '/api/v1/auth/register', { body, ...(headers ? { headers } : {}) });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body).toEqual({ status: 'accepted' });
  await on.container.background.idle();
  const [user] = await accountsWith(String(body.email).trim().toLowerCase());
  expect(user, 'the registration made an account').toBeDefined();
  if (!createdUserIds.includes(user!.id as string)) createdUserIds.push(user!.id as string);
  return { id: user!.id as string, username: user!.username as string };
}

/** What two answers may differ in and still be the same answer: the request id and the clock. */
const sameAnswerHeaders = (h: Headers) => [...h.entries()].filter(([name]) => name !== 'x-request-id' && name !== 'date').sort();

/** Registers, opens the mailed link, signs in: an ordinary confirmed user with tokens. */
async function confirmedUser(overrides: Json = {}) {
  const p = person(overrides);
  const { id } = await register(p);
  const [mail] = await waitForMails(p.email, 1);
  expect((await api('GET', `/api/v1/auth/confirm?token=${tokenOf(mail!)}`)).status).toBe(200);
  const login = await api('POST', '/api/v1/auth/login', { body: { email: p.email, password: p.password } });
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  return { ...p, id: id as string, tokens: login.body as { accessToken: string; refreshToken: string } };
}

const kcUser = (id: string) => admin.get<Json>(`/${realm}/users/${id}`);
const upstreamUser = async (externalId: string): Promise<Json> => {
  const res = await fetch(`${stack.upstreamUrl}/v1/users/by-external-id/${externalId}`, {
    headers: { authorization: `Bearer ${stack.settings.upstreamApiKey}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
};
const fieldsOf = (body: Json) => (body.fields as { field: string; reason: string }[]).map((f) => `${f.field}:${f.reason}`).sort();

// -------------------------------------------------------------------------- register, confirm, login

describe('register, confirm, login', () => {
  it('registers, mails a link valid 24 hours, refuses login until it is opened, then gives Keycloak tokens', async () => {
    const p = person();
    const created = await register({ ...p, email: ` ${p.email.toUpperCase()} ` });

    const user = (await kcUser(created.id))!;
    expect(user).toMatchObject({ username: created.username, email: p.email, emailVerified: false, enabled: true, firstName: 'Test', lastName: p.lastName });
    expect(user.attributes.signUpType).toEqual(['apiRegistration']);
    expect((await upstreamUser(created.id)).status).toBe('active');

    const [mail] = await waitForMails(p.email, 1);
    expect(mail!.subject).toBe('Confirm your email address');
    expect(mail!.text).toContain(`${bff.url}/api/v1/auth/confirm?token=`);
    expect(mail!.text).toContain('valid for 24 hours');
    const token = tokenOf(mail!);
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(32);
    // Only a hash of the token is stored, expiring with the link.
    const ttl = await redis.pttl(linkKey(token));
    expect(ttl).toBeGreaterThan(23 * 3600_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3600_000);
    expect(await redis.keys(`${keys.prefix}*${token}*`)).toEqual([]);

    const early = await api('POST', '/api/v1/auth/login', { body: { email: p.email, password: PASSWORD } });
    expect(early.status).toBe(403);
    expect(early.body).toMatchObject({ code: 'EMAIL_NOT_CONFIRMED', detail: expect.stringContaining('/api/v1/auth/send') });
    expect(early.body.accessToken).toBeUndefined();
    // The session Keycloak opened for that password check was ended.
    expect(await admin.get<Json[]>(`/${realm}/users/${created.id}/sessions`)).toEqual([]);
    // A wrong password still gets the plain 401: the 403 needs the right one.
    expect((await api('POST', '/api/v1/auth/login', { body: { email: p.email, password: 'Wrong-Password-123' } })).status).toBe(401);

    const confirmed = await api('GET', `/api/v1/auth/confirm?token=${token}`);
    expect(confirmed).toMatchObject({ status: 200, body: { status: 'confirmed' } });
    expect((await kcUser(created.id))!.emailVerified).toBe(true);
    const again = await api('GET', `/api/v1/auth/confirm?token=${token}`);
    expect(again.status).toBe(400);
    expect(fieldsOf(again.body)).toEqual(['query.token:invalid_or_expired']);

    const login = await api('POST', '/api/v1/auth/login', { body: { email: p.email, password: PASSWORD } });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.any(String) });
    const claims = decodeJwt(login.body.accessToken as string);
    // Keycloak counts expires_in from "now", which may already be a second past iat.
    expect(Number(claims.exp) - Number(claims.iat)).toBe(300);
    expect(login.body.expiresIn).toBeGreaterThanOrEqual(298);
    expect(login.body.expiresIn).toBeLessThanOrEqual(300);
    expect(claims).toMatchObject({ iss: `${stack.keycloakUrl}/realms/${realm}`, sub: created.id, azp: 'user-api', email_verified: true });
    expect(claims.aud).toContain('bff');

    const profile = await api('GET', '/api/v1/user', { bearer: login.body.accessToken as string });
    expect(profile.status).toBe(200);
    expect(profile.body).toEqual({
      id: created.id,
      username: created.username,
      firstName: 'Test',
      lastName: p.lastName,
      email: p.email,
      emailVerified: true,
      phone: null,
      phoneVerified: false,
      createdAt: expect.any(String),
      tenant: { alias: 'custodian', name: expect.any(String) },
      // Never chosen (the portal's picker sets it).
      language: null,
      // Not given at registration (optional there; decision 0036).
      userType: null,
      identityProviders: [],
    });
  });

  it('answers bad registrations with 400 naming each field, and creates nothing', async () => {
    const p = person();
    const bad = await api('POST', '/api/v1/auth/register', { body: { email: 'not-an-email', password: '', role: 'platform-admin', emailVerified: true } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    expect(fieldsOf(bad.body)).toEqual(['email:invalid_format', 'emailVerified:not_allowed', 'firstName:required', 'password:too_short', 'role:not_allowed']);

    // The realm policy's rules that need no account are checked before answering, alike for every address.
    const weak = await api('POST', '/api/v1/auth/register', { body: { ...p, password: 'short1' } });
    expect(weak.status).toBe(400);
    expect(fieldsOf(weak.body)).toEqual(['password:policy']);
    const asEmail = await api('POST', '/api/v1/auth/register', { body: { ...p, password: p.email.toUpperCase() } });
    expect(fieldsOf(asEmail.body)).toEqual(['password:policy']);
    const holder = await confirmedUser();
    const weakForKnown = await api('POST', '/api/v1/auth/register', { body: { ...p, email: holder.email, password: 'short1' } });
    expect({ status: weakForKnown.status, body: { ...weakForKnown.body, requestId: undefined } }).toEqual({
      status: 400,
      body: { ...weak.body, requestId: undefined },
    });
    await bff.container.background.idle();
    expect(await accountsWith(p.email)).toEqual([]);
    expect(await mailsTo(p.email)).toEqual([]);
    expect(await mailsTo(holder.email)).toHaveLength(1);

    const notJson = await fetch(`${bff.url}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"firstName":' });
    expect(notJson.status).toBe(400);
  });

  it('answers an address that has an account exactly like a new one; its holder is told by mail, nothing is created, no link is sent', async () => {
    const holder = await confirmedUser();
    const fresh = person();
    // Same names and password for both, so the bodies differ only in the address.
    const known = await api('POST', '/api/v1/auth/register', { body: { ...fresh, email: holder.email.toUpperCase() } });
    const unknown = await api('POST', '/api/v1/auth/register', { body: fresh });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(known.body).toEqual(unknown.body);
    expect(sameAnswerHeaders(known.headers)).toEqual(sameAnswerHeaders(unknown.headers));
    await bff.container.background.idle();

    // The holder: still the only account with the address, unchanged, and one more mail: the notice, no link.
    expect((await accountsWith(holder.email)).map((u) => u.id)).toEqual([holder.id]);
    expect(await kcUser(holder.id)).toMatchObject({ firstName: 'Test', lastName: holder.lastName, emailVerified: true, enabled: true });
    const mails = await waitForMails(holder.email, 2);
    expect(mails).toHaveLength(2);
    const notice = mails.find((m) => m.subject === 'Someone tried to create an account with your email address');
    expect(notice, JSON.stringify(mails.map((m) => m.subject))).toBeDefined();
    expect(notice!.text).toContain(`Hello Test,`);
    expect(notice!.text).toContain(`sign in at ${bff.url}/portal/`);
    expect(notice!.text).toContain('Forgot password?');
    expect(notice!.text).not.toContain('/api/v1/auth/confirm');
    // The new address: its account and its link.
    const [created] = await accountsWith(fresh.email);
    createdUserIds.push(created!.id as string);
    expect(created).toMatchObject({ emailVerified: false, lastName: fresh.lastName });
    expect((await waitForMails(fresh.email, 1))[0]!.subject).toBe('Confirm your email address');
  });

  it('tells the holder once per Idempotency-Key, in Hindi when asked, and never mails a link for a taken address', async () => {
    const holder = await confirmedUser();
    const key = `um-${run}-${randomBytes(8).toString('hex')}`;
    const body = { ...person(), email: holder.email };
    const headers = { 'idempotency-key': key, 'accept-language': 'hi-IN,hi;q=0.9' };
    for (let i = 0; i < 3; i++) expect((await api('POST', '/api/v1/auth/register', { body, headers })).status).toBe(202);
    await bff.container.background.idle();
    const mails = await waitForMails(holder.email, 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(await mailsTo(holder.email)).toHaveLength(2);
    expect(mails[1]!.subject).toBe('किसी ने आपके ईमेल पते से खाता बनाने की कोशिश की');
    expect(mails[1]!.text).toContain(`${bff.url}/portal/`);
    expect((await accountsWith(holder.email)).map((u) => u.id)).toEqual([holder.id]);
  });

  it('with an Idempotency-Key, a repeat answers like the first and mails once; the key cannot be reused for another body', async () => {
    const p = person();
    const key = `um-${run}-${randomBytes(8).toString('hex')}`;
    const first = await register(p, { 'idempotency-key': key });
    const repeat = await api('POST', '/api/v1/auth/register', { body: p, headers: { 'idempotency-key': key } });
    expect(repeat).toMatchObject({ status: 202, body: { status: 'accepted' } });
    await bff.container.background.idle();
    expect((await accountsWith(p.email)).map((u) => u.id)).toEqual([first.id]);
    await waitForMails(p.email, 1);
    // The repeat sent nothing more: a later resend arrives as the second mail.
    expect((await api('POST', '/api/v1/auth/send', { body: { email: p.email } })).status).toBe(202);
    expect(await waitForMails(p.email, 2)).toHaveLength(2);

    const other = await api('POST', '/api/v1/auth/register', { body: person(), headers: { 'idempotency-key': key } });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ code: 'CONFLICT', reason: 'idempotency_key_reused' });
    const badKey = await api('POST', '/api/v1/auth/register', { body: person(), headers: { 'idempotency-key': 'tab\there' } });
    expect(badKey.status).toBe(400);
    expect(fieldsOf(badKey.body)).toEqual(['header.Idempotency-Key:invalid_format']);
  });

  it('refuses an expired link and a link whose account changed its email; a resend gives a working one', async () => {
    const p = person();
    const { id } = await register(p);
    const [mail] = await waitForMails(p.email, 1);
    const token = tokenOf(mail!);
    // Let Redis expire the link (the 24 hours, shortened).
    await redis.pexpire(linkKey(token), 1);
    while ((await redis.exists(linkKey(token))) === 1) await new Promise((r) => setTimeout(r, 5));
    const expired = await api('GET', `/api/v1/auth/confirm?token=${token}`);
    expect(expired.status).toBe(400);
    expect(fieldsOf(expired.body)).toEqual(['query.token:invalid_or_expired']);
    expect((await kcUser(id))!.emailVerified).toBe(false);
    expect((await api('POST', '/api/v1/auth/login', { body: { email: p.email, password: PASSWORD } })).status).toBe(403);

    expect(await api('POST', '/api/v1/auth/send', { body: { email: p.email } })).toMatchObject({ status: 202, body: { status: 'accepted' } });
    const mails = await waitForMails(p.email, 2);
    const fresh = tokenOf(mails[1]!);
    expect(fresh).not.toBe(token);

    // The address changed since the link was sent: the link no longer confirms anything.
    await admin.put(`/${realm}/users/${id}`, { ...(await kcUser(id)), email: `changed.${run}.${counter}@example.com` });
    const stale = await api('GET', `/api/v1/auth/confirm?token=${fresh}`);
    expect(stale.status).toBe(400);
    expect((await kcUser(id))!.emailVerified).toBe(false);

    const malformed = await api('GET', '/api/v1/auth/confirm?token=%3Cscript%3E');
    expect(fieldsOf(malformed.body)).toEqual(['query.token:invalid_format']);
    expect(fieldsOf((await api('GET', '/api/v1/auth/confirm')).body)).toEqual(['query.token:required']);
  });

  it('a person clicking the link in a browser gets a page in our look (English or Hindi), with the same outcome and status', async () => {
    const p = person();
    const created = await register(p);
    const [mail] = await waitForMails(p.email, 1);
    const link = `${bff.url}/api/v1/auth/confirm?token=${tokenOf(mail!)}`;
    const visit = async (locale: string, check: (page: Page, status: number) => Promise<void>) => {
      const context = await browser().newContext({ locale });
      try {
        const page = await context.newPage();
        const res = await page.goto(link);
        await check(page, res!.status());
        expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
      } finally {
        await context.close();
      }
    };
    await visit('hi-IN', async (page, status) => {
      expect(status).toBe(200);
      expect(await page.locator('#confirmation').getAttribute('data-outcome')).toBe('confirmed');
      expect(await page.locator('h1').textContent()).toBe('ईमेल पते की पुष्टि हो गई');
      expect(await page.locator('#sign-in').getAttribute('href')).toBe('/portal/?lang=hi');
      await screenshot(page, 'user-management-confirmed-hi');
    });
    expect((await kcUser(created.id as string))!.emailVerified).toBe(true);
    await visit('en-US', async (page, status) => {
      expect(status).toBe(400);
      expect(await page.locator('#confirmation').getAttribute('data-outcome')).toBe('invalid');
      expect(await page.locator('h1').textContent()).toBe('This link cannot be used');
      // A way forward: sign in (if it was confirmed already), or ask for a new link.
      expect(await page.locator('#sign-in').getAttribute('href')).toBe('/portal/?lang=en');
      expect(await page.locator('#new-link').isVisible()).toBe(true);
      await screenshot(page, 'user-management-confirm-used-en');
    });
  });

  it('answers a resend the same whether the address is unknown, unconfirmed or confirmed, and mails only the unconfirmed one', async () => {
    const unconfirmed = person();
    await register(unconfirmed);
    const confirmed = await confirmedUser();
    const unknown = person();
    const answers = [];
    for (const email of [unknown.email, unconfirmed.email, confirmed.email]) {
      const res = await api('POST', '/api/v1/auth/send', { body: { email } });
      answers.push({ status: res.status, body: res.body });
    }
    expect(answers).toEqual(Array(3).fill({ status: 202, body: { status: 'accepted' } }));
    expect(await waitForMails(unconfirmed.email, 2)).toHaveLength(2);
    expect(await mailsTo(unknown.email)).toEqual([]);
    expect(await mailsTo(confirmed.email)).toHaveLength(1);
    expect(fieldsOf((await api('POST', '/api/v1/auth/send', { body: { email: 'nope', extra: 1 } })).body)).toEqual([
      'email:invalid_format',
      'extra:not_allowed',
    ]);
  });

  it('throttles resends per address and per client IP with 429 and Retry-After, known or unknown address alike', async () => {
    const throttled = testKeyPrefix(`um-throttle-${run}`);
    const strict = await startTestBff(stack, { REDIS_PREFIX: throttled.prefix, EMAIL_CONFIRMATION_REQUESTS_PER_IP_PER_HOUR: '3' });
    try {
      const known = person();
      await register(known);
      const send = (email: string) => call(strict.url, 'POST', '/api/v1/auth/send', { body: { email } });
      expect((await send(known.email)).status).toBe(202);
      const cooling = await send(known.email);
      expect(cooling.status).toBe(429);
      expect(cooling.body.code).toBe('RATE_LIMITED');
      const wait = Number(cooling.headers.get('retry-after'));
      expect(wait).toBeGreaterThanOrEqual(1);
      expect(wait).toBeLessThanOrEqual(60);
      expect((await send(person().email)).status).toBe(202);
      const ipLimited = await send(person().email);
      expect(ipLimited.status).toBe(429);
      expect(Number(ipLimited.headers.get('retry-after'))).toBeGreaterThan(60);
    } finally {
      await strict.close();
      await throttled.cleanup();
    }
    // Unknown addresses get the same cooldown as known ones (no account enumeration by throttling).
    const other = testKeyPrefix(`um-throttle2-${run}`);
    const fresh = await startTestBff(stack, { REDIS_PREFIX: other.prefix });
    try {
      const email = person().email;
      expect((await call(fresh.url, 'POST', '/api/v1/auth/send', { body: { email } })).status).toBe(202);
      expect((await call(fresh.url, 'POST', '/api/v1/auth/send', { body: { email } })).status).toBe(429);
    } finally {
      await fresh.close();
      await other.cleanup();
    }
  });

  it('answers wrong passwords and unknown emails alike with 401', async () => {
    const u = await confirmedUser();
    const wrong = await api('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'Wrong-Password-123' } });
    const unknown = await api('POST', '/api/v1/auth/login', { body: { email: person().email, password: PASSWORD } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect({ ...wrong.body, requestId: undefined }).toEqual({ ...unknown.body, requestId: undefined });
    expect(fieldsOf((await api('POST', '/api/v1/auth/login', { body: { email: u.email } })).body)).toEqual(['password:required']);
  });

  it('an account with an authenticator app signs in with its code; without it, the right password answers like an unknown account', async () => {
    const u = await confirmedUser();
    const app = await setUpAuthenticatorApp(stack, browser(), { userId: u.id, login: u.email, password: PASSWORD }, 'authenticator-app-setup');
    // One refusal only: two within a second would trip the realm's quick-login lockout.
    const withoutCode = await api('POST', '/api/v1/auth/login', { body: { email: u.email, password: PASSWORD } });
    const unknown = await api('POST', '/api/v1/auth/login', { body: { email: person().email, password: PASSWORD, otp: app.nextCode() } });
    expect(withoutCode.status).toBe(401);
    expect({ ...withoutCode.body, requestId: undefined }).toEqual({ ...unknown.body, requestId: undefined });
    expect(fieldsOf((await api('POST', '/api/v1/auth/login', { body: { email: u.email, password: PASSWORD, otp: '12345' } })).body)).toEqual([
      'otp:invalid_format',
    ]);
    const login = await api('POST', '/api/v1/auth/login', { body: { email: u.email, password: PASSWORD, otp: app.nextCode() } });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    expect(decodeJwt(login.body.accessToken).sub).toBe(u.id);
  });
});

describe('the user-api client (decision 0006)', () => {
  it('is confidential and can do nothing but the password grant', async () => {
    const [client] = (await admin.get<Json[]>(`/${realm}/clients?clientId=user-api`))!;
    expect(client).toMatchObject({
      publicClient: false,
      directAccessGrantsEnabled: true,
      standardFlowEnabled: false,
      implicitFlowEnabled: false,
      serviceAccountsEnabled: false,
    });
    const grant = (secret: string) =>
      fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'user-api', client_secret: secret }),
      });
    // No service account, and nobody without the secret.
    const noServiceAccount = await grant(bff.container.config.userApiClientSecret);
    expect(await noServiceAccount.json()).toMatchObject({ error_description: 'Client not enabled to retrieve service account' });
    const wrongSecret = await grant('not-the-secret');
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ error_description: 'Invalid client or Invalid client credentials' });
  });
});

// ---------------------------------------------------------------------------------- refresh, logout

describe('refresh and logout', () => {
  it('refreshes with the refresh token as bearer; after logout no refresh token of the session works', async () => {
    const u = await confirmedUser();
    const refreshed = await api('GET', '/api/v1/auth/refresh', { bearer: u.tokens.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect(decodeJwt(refreshed.body.accessToken as string).sub).toBe(u.id);
    expect(await admin.get<Json[]>(`/${realm}/users/${u.id}/sessions`)).toHaveLength(1);

    expect((await api('POST', '/api/v1/auth/logout', { bearer: refreshed.body.refreshToken as string })).status).toBe(204);
    expect(await admin.get<Json[]>(`/${realm}/users/${u.id}/sessions`)).toEqual([]);
    for (const token of [refreshed.body.refreshToken as string, u.tokens.refreshToken]) {
      const after = await api('GET', '/api/v1/auth/refresh', { bearer: token });
      expect(after.status).toBe(401);
      expect(after.body.code).toBe('UNAUTHENTICATED');
      expect(after.headers.get('www-authenticate')).toBe('Bearer realm="bff", error="invalid_token"');
    }
    // Ending an ended session succeeds.
    expect((await api('POST', '/api/v1/auth/logout', { bearer: u.tokens.refreshToken })).status).toBe(204);
  });

  it('answers a missing or foreign refresh token with 401 and a Bearer challenge', async () => {
    const missing = await api('GET', '/api/v1/auth/refresh');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="bff"');
    expect((await api('POST', '/api/v1/auth/logout')).status).toBe(401);
    expect((await api('GET', '/api/v1/auth/refresh', { bearer: 'not.a.token' })).status).toBe(401);
    expect((await api('POST', '/api/v1/auth/logout', { bearer: 'not.a.token' })).status).toBe(401);
    // An access token is not a refresh token.
    const u = await confirmedUser();
    expect((await api('GET', '/api/v1/auth/refresh', { bearer: u.tokens.accessToken })).status).toBe(401);
  });
});

// ----------------------------------------------------------------------------------------- profile

describe('GET /api/v1/user', () => {
  it('needs a valid access token for this API: none, garbage and a partner server token get 401', async () => {
    const none = await api('GET', '/api/v1/user');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="bff"');
    const garbage = await api('GET', '/api/v1/user', { bearer: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' });
    expect(garbage.status).toBe(401);
    expect(garbage.headers.get('www-authenticate')).toBe('Bearer realm="bff", error="invalid_token"');

    // Partner server tokens carry audience bff too, but they are nobody's user token.
    const res = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'partner-demo-bank', client_secret: stack.settings.demoPartnerClientSecret }),
    });
    const partnerToken = ((await res.json()) as { access_token: string }).access_token;
    expect(decodeJwt(partnerToken).aud).toContain('bff');
    expect((await api('GET', '/api/v1/user', { bearer: partnerToken })).status).toBe(401);
  });

  it('shows the identity providers linked to the account', async () => {
    const u = await confirmedUser();
    await admin.post(`/${realm}/users/${u.id}/federated-identity/state-demo`, {
      identityProvider: 'state-demo',
      userId: `sd-${run}`,
      userName: `state.${run}`,
    });
    const profile = await api('GET', '/api/v1/user', { bearer: u.tokens.accessToken });
    expect(profile.body.identityProviders).toEqual([{ provider: 'state-demo', username: `state.${run}` }]);
  });

  it("takes the portal's keycloak-js tokens (audience bff on the portal client)", async () => {
    const page: Page = await browser().newPage();
    const tokens = await portalSignIn(stack, page, async (p) => {
      await p.locator('#username').fill('asha');
      // Identifier-first (organizations): username, then password.
      await p.locator('#kc-login').click();
      await p.locator('#password').waitFor();
      await p.locator('#password').fill(stack.settings.demoUserPassword);
      await p.locator('#kc-login').click();
    });
    await page.close();
    expect(decodeJwt(tokens.access_token)).toMatchObject({ azp: 'portal', aud: expect.arrayContaining(['bff']) });
    const profile = await api('GET', '/api/v1/user', { bearer: tokens.access_token });
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ username: 'asha', email: 'asha.verma@example.com', emailVerified: true, tenant: { alias: 'custodian' } });
  });
});

describe('PUT /api/v1/user', () => {
  it('changes names in Keycloak and the upstream profile; null clears the last name', async () => {
    const u = await confirmedUser();
    const res = await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { firstName: '  Renamed ', lastName: null } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: u.id, firstName: 'Renamed', lastName: null, email: u.email, emailVerified: true });
    const user = (await kcUser(u.id))!;
    expect(user.firstName).toBe('Renamed');
    expect(user.lastName ?? null).toBeNull();
    expect(await upstreamUser(u.id)).toMatchObject({ firstName: 'Renamed', lastName: null });
  });

  it('refuses fields that are not its own to change (id, username, roles, ...) by name, and changes nothing', async () => {
    const u = await confirmedUser();
    const other = await confirmedUser();
    const before = (await kcUser(u.id))!;
    const res = await api('PUT', '/api/v1/user', {
      bearer: u.tokens.accessToken,
      body: { id: other.id, username: 'taken.over', realmRoles: ['platform-admin'], enabled: false, emailVerified: true, firstName: 'Mallory' },
    });
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual([
      'emailVerified:not_allowed',
      'enabled:not_allowed',
      'id:not_allowed',
      'realmRoles:not_allowed',
      'username:not_allowed',
    ]);
    expect(await kcUser(u.id)).toEqual(before);
    expect((await kcUser(other.id))!.firstName).toBe('Test');
    const roles = (await admin.get<Json[]>(`/${realm}/users/${u.id}/role-mappings/realm`))!.map((r) => r.name);
    expect(roles).not.toContain('platform-admin');

    expect(fieldsOf((await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: {} })).body)).toEqual(['body:empty']);
    expect((await api('PUT', '/api/v1/user', { body: { firstName: 'Nobody' } })).status).toBe(401);
  });

  it('needs an OTP proof for exactly the new email or phone; with one, stores it verified in Keycloak and upstream', async () => {
    const u = await confirmedUser();
    const newEmail = `um.${run}.new${counter}@example.com`;
    const noProof = await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { email: newEmail } });
    expect(fieldsOf(noProof.body)).toEqual(['emailProof:required']);
    const forged = await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { email: newEmail, emailProof: 'forged-proof-value' } });
    expect(forged.status).toBe(400);
    expect(forged.body.fields.map((f: Json) => f.field)).toEqual(['emailProof']);
    // A proof for another address does not do either.
    const elsewhere = await otpProof({ kind: 'email', value: `um.${run}.elsewhere@example.com` });
    expect((await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { email: newEmail, emailProof: elsewhere } })).status).toBe(400);
    expect((await kcUser(u.id))!.email).toBe(u.email);

    const emailProof = await otpProof({ kind: 'email', value: newEmail });
    const changed = await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { email: newEmail.toUpperCase(), emailProof } });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ email: newEmail, emailVerified: true });
    expect(await kcUser(u.id)).toMatchObject({ email: newEmail, emailVerified: true });
    expect((await upstreamUser(u.id)).email).toBe(newEmail);
    // Single use: once the address is free again, its used proof does not give it to anyone else.
    const later = `um.${run}.later${counter}@example.com`;
    const moved = await api('PUT', '/api/v1/user', {
      bearer: u.tokens.accessToken,
      body: { email: later, emailProof: await otpProof({ kind: 'email', value: later }) },
    });
    expect(moved.body.email).toBe(later);
    const other = await confirmedUser();
    const reused = await api('PUT', '/api/v1/user', { bearer: other.tokens.accessToken, body: { email: newEmail, emailProof } });
    expect(reused.status).toBe(400);
    expect(reused.body.fields.map((f: Json) => f.field)).toEqual(['emailProof']);
    expect((await kcUser(other.id))!.email).toBe(other.email);

    const national = `98${String(randomInt(10_000_000, 99_999_999))}`;
    const e164 = `+91${national}`;
    const phoneProof = await otpProof({ kind: 'phone', value: e164 });
    const withPhone = await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { phone: national, phoneProof } });
    expect(withPhone.status, JSON.stringify(withPhone.body)).toBe(200);
    expect(withPhone.body).toMatchObject({ phone: e164, phoneVerified: true });
    expect((await kcUser(u.id))!.attributes).toMatchObject({ phone: [e164], phoneVerified: ['true'] });
    expect((await upstreamUser(u.id)).phone).toBe(e164);

    const removed = await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { phone: null } });
    expect(removed.body).toMatchObject({ phone: null, phoneVerified: false });
    expect((await kcUser(u.id))!.attributes.phone).toBeUndefined();
    expect((await upstreamUser(u.id)).phone).toBeNull();
    expect(fieldsOf((await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { phone: '12' } })).body)).toEqual(['phone:invalid_format']);
  });

  it('refuses an email that belongs to another account with 409, before using the proof', async () => {
    const u = await confirmedUser();
    const other = await confirmedUser();
    const proof = await otpProof({ kind: 'email', value: other.email });
    const res = await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { email: other.email, emailProof: proof } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'ACCOUNT_EXISTS', fields: [{ field: 'email', reason: 'taken' }] });
    expect((await kcUser(u.id))!.email).toBe(u.email);
    // The proof was not spent on a change that could not happen.
    await expect(bff.container.otp.check(proof, { kind: 'email', value: other.email }, 'change-identifier', 'emailProof')).resolves.toBeUndefined();
  });

  it("verifies the account's own unverified email with its proof (the portal's \"Verify\"); a verified one spends nothing; sets the account's language", async () => {
    const u = await confirmedUser();
    const proof = await otpProof({ kind: 'email', value: u.email });
    // Verified already: sending it with a proof changes nothing and leaves the proof unspent.
    const same = await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { email: u.email, emailProof: proof } });
    expect(same.status, JSON.stringify(same.body)).toBe(200);
    await expect(bff.container.otp.check(proof, { kind: 'email', value: u.email }, 'change-identifier', 'emailProof')).resolves.toBeUndefined();
    // As a member imported by the lazy migration holds it: the address, not verified. The proof verifies it.
    await admin.put(`/${realm}/users/${u.id}`, { ...(await kcUser(u.id))!, emailVerified: false });
    const verified = await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { email: u.email, emailProof: proof } });
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body).toMatchObject({ email: u.email, emailVerified: true });
    expect(await kcUser(u.id)).toMatchObject({ email: u.email, emailVerified: true });
    // Nothing was replaced: the address is not told it changed.
    expect((await mailsTo(u.email)).some((m) => m.subject === 'The email address of your account was changed')).toBe(false);

    // The account's language: Keycloak's locale, answered by GET; only ours.
    const hindi = await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { language: 'hi' } });
    expect(hindi.body).toMatchObject({ language: 'hi' });
    expect((await kcUser(u.id))!.attributes.locale).toEqual(['hi']);
    expect(fieldsOf((await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: { language: 'fr' } })).body)).toEqual(['language:invalid_value']);
  });

  it('changes nothing when the upstream core is down (503); the retry with the same proof then works', async () => {
    const u = await confirmedUser();
    const newEmail = `um.${run}.retry${counter}@example.com`;
    const change = { firstName: 'Unreachable', email: newEmail, emailProof: await otpProof({ kind: 'email', value: newEmail }) };
    const down = await startTestBff(stack, { ...ROOMY, REDIS_PREFIX: keys.prefix, UPSTREAM_URL: 'http://127.0.0.1:9', UPSTREAM_RETRIES: '0' });
    try {
      const res = await call(down.url, 'PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: change });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(res.headers.get('retry-after')).not.toBeNull();
    } finally {
      await down.close();
    }
    expect(await kcUser(u.id)).toMatchObject({ firstName: 'Test', email: u.email });
    expect(await upstreamUser(u.id)).toMatchObject({ firstName: 'Test', email: u.email });

    const retried = await api('PUT', '/api/v1/user', { bearer: u.tokens.accessToken, body: change });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(await kcUser(u.id)).toMatchObject({ firstName: 'Unreachable', email: newEmail, emailVerified: true });
    expect(await upstreamUser(u.id)).toMatchObject({ firstName: 'Unreachable', email: newEmail });
  });
});

describe('DELETE /api/v1/user', () => {
  it('removes the Keycloak user, ends its sessions and deactivates the upstream profile', async () => {
    const u = await confirmedUser();
    expect((await upstreamUser(u.id)).status).toBe('active');
    expect((await api('DELETE', '/api/v1/user', { bearer: u.tokens.accessToken })).status).toBe(204);
    expect(await kcUser(u.id)).toBeUndefined();
    expect((await upstreamUser(u.id)).status).toBe('inactive');
    expect((await api('GET', '/api/v1/auth/refresh', { bearer: u.tokens.refreshToken })).status).toBe(401);
    // The access token is still unexpired, but its account is gone.
    expect((await api('GET', '/api/v1/user', { bearer: u.tokens.accessToken })).status).toBe(401);
    expect((await api('DELETE', '/api/v1/user', { bearer: u.tokens.accessToken })).status).toBe(401);
    expect((await api('DELETE', '/api/v1/user')).status).toBe(401);
  });
});

// ------------------------------------------------------------------------------------------- admin

describe('GET /api/v1/users', () => {
  it('is for platform admins only: an ordinary user gets 403, no token 401', async () => {
    const u = await confirmedUser();
    const res = await api('GET', '/api/v1/users', { bearer: u.tokens.accessToken });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
    expect((await api('GET', '/api/v1/users')).status).toBe(401);
  });

  it('lists users a page at a time with the total, filtered by name, email and status', async () => {
    const marker = `Zq${run}`;
    const a = await confirmedUser({ lastName: marker });
    const b = await confirmedUser({ lastName: marker });
    const c = await confirmedUser({ lastName: marker });
    await admin.put(`/${realm}/users/${c.id}`, { ...(await kcUser(c.id)), enabled: false });

    const login = await api('POST', '/api/v1/auth/login', { body: { email: 'admin@identity-platform.local', password: stack.settings.demoUserPassword } });
    expect(login.status).toBe(200);
    const bearer = login.body.accessToken as string;
    const list = (query: string) => api('GET', `/api/v1/users?${query}`, { bearer });

    const page1 = await list(`name=${marker}&pageSize=2`);
    expect(page1.status).toBe(200);
    expect(page1.body).toMatchObject({ page: 1, pageSize: 2, total: 3 });
    expect(page1.body.items).toHaveLength(2);
    const page2 = await list(`name=${marker}&pageSize=2&page=2`);
    expect(page2.body).toMatchObject({ page: 2, total: 3 });
    expect(page2.body.items).toHaveLength(1);
    expect([...page1.body.items, ...page2.body.items].map((i: Json) => i.id).sort()).toEqual([a.id, b.id, c.id].sort());
    expect(page1.body.items[0]).toEqual({
      id: expect.any(String),
      username: expect.any(String),
      firstName: 'Test',
      lastName: marker,
      email: expect.stringContaining('@example.com'),
      emailVerified: true,
      phone: null,
      phoneVerified: false,
      enabled: expect.any(Boolean),
      createdAt: expect.any(String),
    });

    const disabled = await list(`name=${marker}&status=disabled`);
    expect(disabled.body).toMatchObject({ total: 1, items: [{ id: c.id, enabled: false }] });
    const enabled = await list(`name=${marker}&status=enabled`);
    expect(enabled.body.total).toBe(2);
    expect(enabled.body.items.map((i: Json) => i.id).sort()).toEqual([a.id, b.id].sort());
    const byEmail = await list(`email=${encodeURIComponent(b.email)}`);
    expect(byEmail.body).toMatchObject({ total: 1, items: [{ id: b.id }] });
    const both = await list(`name=test%20${marker}&email=${encodeURIComponent(a.email.split('@')[0]!)}`);
    expect(both.body.items.map((i: Json) => i.id)).toEqual([a.id]);
    expect((await list(`name=${marker}&page=9`)).body).toMatchObject({ total: 3, items: [] });
    // Service accounts are not people.
    expect((await list('pageSize=100&name=service-account')).body.total).toBe(0);

    const bad = await list('pageSize=1000&status=gone&sort=name');
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad.body)).toEqual(['query.pageSize:out_of_range', 'query.sort:not_allowed', 'query.status:invalid_value']);
  });
});

// --------------------------------------------------------------------------------- dependency faults

describe('when a dependency fails half-way', () => {
  it('a registration whose upstream step failed (answered 202, nothing mailed) completes on a later attempt, with one account', async () => {
    const p = person();
    const down = await startTestBff(
      stack,
      { ...ROOMY, REDIS_PREFIX: keys.prefix, UPSTREAM_URL: 'http://127.0.0.1:9', UPSTREAM_RETRIES: '0' },
      { captureLogs: true },
    );
    try {
      // The answer does not wait for (or tell) what happens next.
      const res = await call(down.url, 'POST', '/api/v1/auth/register', { body: p });
      expect(res).toMatchObject({ status: 202, body: { status: 'accepted' } });
      await down.container.background.idle();
      expect(down.logs()).toContain('background task failed');
      expect(down.logs()).not.toContain(p.email);
    } finally {
      await down.close();
    }
    const enabledUsers = async () => (await admin.get<Json[]>(`/${realm}/users?email=${encodeURIComponent(p.email)}&exact=true`))!.filter((x) => x.enabled);
    expect(await enabledUsers()).toEqual([]);
    expect(await mailsTo(p.email)).toEqual([]);
    await register(p);
    expect(await enabledUsers()).toHaveLength(1);
    expect(await waitForMails(p.email, 1)).toHaveLength(1);
  });

  it('a confirmation while Keycloak is unreachable answers 503 and leaves the link working', async () => {
    const p = person();
    const { id } = await register(p);
    const [mail] = await waitForMails(p.email, 1);
    const token = tokenOf(mail!);
    const noKeycloak = await startTestBff(stack, { ...ROOMY, REDIS_PREFIX: keys.prefix, KEYCLOAK_URL: 'http://127.0.0.1:9' });
    try {
      const res = await call(noKeycloak.url, 'GET', `/api/v1/auth/confirm?token=${token}`);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('IDENTITY_DIRECTORY_UNAVAILABLE');
    } finally {
      await noKeycloak.close();
    }
    expect((await kcUser(id))!.emailVerified).toBe(false);
    expect((await api('GET', `/api/v1/auth/confirm?token=${token}`)).status).toBe(200);
    expect((await kcUser(id))!.emailVerified).toBe(true);
  });

  it('a registration whose mail failed mails the link when repeated with its Idempotency-Key', async () => {
    const p = person();
    const key = `um-${run}-${randomBytes(8).toString('hex')}`;
    const noMail = await startTestBff(stack, { ...ROOMY, REDIS_PREFIX: keys.prefix, SMTP_PORT: '9' });
    try {
      const res = await call(noMail.url, 'POST', '/api/v1/auth/register', { body: p, headers: { 'idempotency-key': key } });
      expect(res.status).toBe(202);
    } finally {
      await noMail.close();
    }
    expect(await mailsTo(p.email)).toEqual([]);
    const again = await register(p, { 'idempotency-key': key });
    expect((await kcUser(again.id))!.emailVerified).toBe(false);
    const [mail] = await waitForMails(p.email, 1);
    expect((await api('GET', `/api/v1/auth/confirm?token=${tokenOf(mail!)}`)).status).toBe(200);
  });
});

/** A verification proof for `identifier` through the OTP API, the way a client gets one. */
async function otpProof(identifier: { kind: 'email' | 'phone'; value: string }): Promise<string> {
  const sent = await api('POST', '/api/v1/otp', { body: { [identifier.kind]: identifier.value, purpose: 'change-identifier' } });
  expect(sent.status, JSON.stringify(sent.body)).toBeLessThan(300);
  const code = await latestCode(stack, identifier.kind === 'email' ? 'mails' : 'sms', identifier.value);
  const verified = await api('POST', '/api/v1/otp/verify', { body: { [identifier.kind]: identifier.value, purpose: 'change-identifier', code } });
  expect(verified.status, JSON.stringify(verified.body)).toBe(200);
  return verified.body.proof as string;
}
