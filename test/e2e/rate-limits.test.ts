import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { latestCode } from '../support/inbox.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call } from '../support/partners.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * The limits of the routes that check credentials or send messages (issue 15 §2, decision 0019), on
 * the real BFF against the e2e stack's Keycloak, Redis and inbox: each limit answers 429 with
 * Retry-After and changes nothing; limits are shared by BFF processes; the client address comes from
 * X-Forwarded-For only through trusted proxies. Each BFF here gets its own Redis prefix and small limits.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const admin = adminFor(stack);
const realm = stack.settings.platformRealm;
const run = randomBytes(3).toString('hex');
const PASSWORD = 'Correct-Horse-Battery-42';
const started: { bff: TestBff; cleanup: () => Promise<void> }[] = [];
const createdUserIds: string[] = [];

afterAll(async () => {
  const [first] = started;
  for (const id of createdUserIds) await first?.bff.container.accounts.delete(id).catch(() => undefined);
  for (const s of started) {
    await s.bff.close();
    await s.cleanup();
  }
});

/** A BFF with its own Redis prefix (so its counters start at zero), or sharing `prefix` with another. */
async function bffWith(env: Record<string, string>, prefix?: string): Promise<TestBff> {
  const keys = prefix ? null : testKeyPrefix(`rl-${run}`);
  const bff = await startTestBff(stack, { REDIS_PREFIX: prefix ?? keys!.prefix, ...env });
  started.push({ bff, cleanup: keys ? () => keys.cleanup() : async () => undefined });
  return bff;
}
const prefixOf = (bff: TestBff) => bff.container.config.redisPrefix;

let counter = 0;
const newEmail = () => `rl.${run}.${++counter}@example.com`;
const from = (ip: string) => ({ 'x-forwarded-for': ip });

/** A confirmed account made the way sign-up makes them. */
async function account(bff: TestBff): Promise<{ id: string; email: string }> {
  const email = newEmail();
  const { userId } = await bff.container.accounts.create(
    { firstName: 'Limited', lastName: `Rl${run}`, email, emailVerified: true, phoneVerified: false, password: PASSWORD, signUpType: 'self' },
    { idempotencyKey: randomUUID() },
  );
  createdUserIds.push(userId);
  return { id: userId, email };
}

const accountsWith = async (email: string) => (await admin.get<Json[]>(`/${realm}/users?email=${encodeURIComponent(email)}&exact=true`))!;
const mailsTo = async (email: string) =>
  (await (await fetch(`${stack.inboxUrl}/api/mails?to=${encodeURIComponent(email)}`)).json()) as { subject: string; text: string }[];

function expectLimited(res: { status: number; body: Json; headers: Headers }, limit: string, atLeastSeconds = 3000) {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.body).toMatchObject({ code: 'RATE_LIMITED', limit });
  const wait = Number(res.headers.get('retry-after'));
  expect(wait).toBeGreaterThan(atLeastSeconds);
  expect(wait).toBeLessThanOrEqual(3600);
  expect(res.body.retryAfterSeconds).toBe(wait);
}

const login = (bff: TestBff, email: string, password: string, ip?: string) =>
  call(`${bff.url}/api/v1/auth/login`, 'POST', { body: { email, password }, ...(ip ? { headers: from(ip) } : {}) });
const badLink = (bff: TestBff, headers: Record<string, string> = {}) =>
  call(`${bff.url}/api/v1/auth/confirm?token=${randomBytes(32).toString('base64url')}`, 'GET', { headers });

describe('POST /api/v1/auth/register', () => {
  it('over the per-address or per-IP limit: 429 with Retry-After, nothing created, nothing mailed', async () => {
    const bff = await bffWith({ REGISTER_REQUESTS_PER_IP_PER_HOUR: '3', REGISTER_REQUESTS_PER_EMAIL_PER_HOUR: '1' });
    const register = (email: string) =>
      call(`${bff.url}/api/v1/auth/register`, 'POST', { body: { firstName: 'Limited', lastName: `Rl${run}`, email, password: PASSWORD } });
    const [a, b, c] = [newEmail(), newEmail(), newEmail()];
    expect((await register(a)).status).toBe(202);
    expectLimited(await register(a), 'register-email');
    expect((await register(b)).status).toBe(202);
    // Three requests from this IP so far (the refused one too): the fourth is one too many.
    expectLimited(await register(c), 'register-ip');
    await bff.container.background.idle();
    for (const email of [a, b]) {
      const [user] = await accountsWith(email);
      createdUserIds.push(user!.id as string);
    }
    expect(await accountsWith(a)).toHaveLength(1);
    expect(await accountsWith(c)).toEqual([]);
    await sleep(300);
    expect(await mailsTo(a)).toHaveLength(1);
    expect(await mailsTo(c)).toEqual([]);
  });
});

describe('POST /api/v1/auth/login', () => {
  it('limits refused passwords per email from one network and per network; a right password uses nothing up; other networks are not locked out', async () => {
    const bff = await bffWith({ TRUSTED_PROXIES: '127.0.0.1', LOGIN_FAILURES_PER_EMAIL_AND_IP_PER_HOUR: '2', LOGIN_FAILURES_PER_IP_PER_HOUR: '4' });
    const victim = await account(bff);
    const attacker = '203.0.113.10';
    for (let i = 0; i < 3; i++) expect((await login(bff, victim.email, PASSWORD, attacker)).status).toBe(200);
    expect((await login(bff, victim.email, 'Wrong-Password-1', attacker)).status).toBe(401);
    // Keycloak's own quick-login check locks an account on two failures within a second.
    await sleep(1100);
    expect((await login(bff, victim.email, 'Wrong-Password-2', attacker)).status).toBe(401);
    await sleep(1100);
    // Over the pair's limit: refused without asking Keycloak, even with the right password.
    expectLimited(await login(bff, victim.email, 'Wrong-Password-3', attacker), 'login-failures-email-ip');
    expectLimited(await login(bff, victim.email, PASSWORD, attacker), 'login-failures-email-ip');
    const bruteForce = await admin.get<Json>(`/${realm}/attack-detection/brute-force/users/${victim.id}`);
    expect(bruteForce).toMatchObject({ numFailures: 2, disabled: false });
    // The owner, from their own network, signs in: the attacker's guesses locked nobody else out.
    expect((await login(bff, victim.email, PASSWORD, '198.51.100.20')).status).toBe(200);

    // Per network, over every address, known or not: two more refused, then 429.
    expect((await login(bff, newEmail(), 'Wrong-Password-4', attacker)).status).toBe(401);
    expect((await login(bff, newEmail(), 'Wrong-Password-5', attacker)).status).toBe(401);
    const known = await login(bff, victim.email, PASSWORD, '203.0.113.10');
    const unknown = await login(bff, newEmail(), PASSWORD, '203.0.113.10');
    expectLimited(unknown, 'password-failures-ip');
    // The limit answers alike whether the address has an account.
    expect(known.status).toBe(429);
    expect(unknown.body.limit).toBe('password-failures-ip');
  });

  it('is one limit for two BFF processes sharing Redis', async () => {
    const env = { LOGIN_FAILURES_PER_IP_PER_HOUR: '3' };
    const one = await bffWith(env);
    const two = await bffWith(env, prefixOf(one));
    expect((await login(one, newEmail(), 'Wrong-Password-1')).status).toBe(401);
    expect((await login(two, newEmail(), 'Wrong-Password-2')).status).toBe(401);
    expect((await login(one, newEmail(), 'Wrong-Password-3')).status).toBe(401);
    expectLimited(await login(two, newEmail(), 'Wrong-Password-4'), 'password-failures-ip');
    expectLimited(await login(one, newEmail(), 'Wrong-Password-5'), 'password-failures-ip');
  });
});

describe('GET /api/v1/auth/confirm', () => {
  it('limits links that are not valid per IP; then even a good link confirms nothing (JSON and page) until the window ends', async () => {
    const bff = await bffWith({ CONFIRM_FAILURES_PER_IP_PER_HOUR: '2' });
    const email = newEmail();
    expect((await call(`${bff.url}/api/v1/auth/register`, 'POST', { body: { firstName: 'Limited', email, password: PASSWORD } })).status).toBe(202);
    await bff.container.background.idle();
    const [user] = await accountsWith(email);
    createdUserIds.push(user!.id as string);
    await expect.poll(async () => (await mailsTo(email)).length, { timeout: 10_000 }).toBe(1);
    const token = /confirm\?token=([A-Za-z0-9_-]+)/.exec((await mailsTo(email))[0]!.text)![1]!;

    expect((await badLink(bff)).status).toBe(400);
    expect((await badLink(bff)).status).toBe(400);
    expectLimited(await badLink(bff), 'confirm-failures-ip');
    expectLimited(await call(`${bff.url}/api/v1/auth/confirm?token=${token}`, 'GET'), 'confirm-failures-ip');
    const page = await fetch(`${bff.url}/api/v1/auth/confirm?token=${token}`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(429);
    expect(Number(page.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect(await page.text()).toContain('data-outcome="unavailable"');
    expect((await admin.get<Json>(`/${realm}/users/${user!.id}`))!.emailVerified).toBe(false);
  });
});

describe('GET /api/v1/auth/refresh and POST /api/v1/auth/logout', () => {
  it('limit refresh tokens Keycloak refuses per IP, together; the limited request spends no good token', async () => {
    const bff = await bffWith({ TRUSTED_PROXIES: '127.0.0.1', REFRESH_FAILURES_PER_IP_PER_HOUR: '2' });
    const person = await account(bff);
    const signedIn = await login(bff, person.email, PASSWORD);
    expect(signedIn.status).toBe(200);
    const refreshToken = signedIn.body.refreshToken as string;
    const guesser = from('203.0.113.30');
    expect((await call(`${bff.url}/api/v1/auth/refresh`, 'GET', { token: 'not.a.token', headers: guesser })).status).toBe(401);
    expect((await call(`${bff.url}/api/v1/auth/logout`, 'POST', { token: 'not.a.token', headers: guesser })).status).toBe(401);
    expectLimited(await call(`${bff.url}/api/v1/auth/refresh`, 'GET', { token: refreshToken, headers: guesser }), 'refresh-failures-ip');
    expectLimited(await call(`${bff.url}/api/v1/auth/logout`, 'POST', { token: refreshToken, headers: guesser }), 'refresh-failures-ip');
    // Neither reached Keycloak: the session lives and the token works from elsewhere.
    expect(await admin.get<Json[]>(`/${realm}/users/${person.id}/sessions`)).toHaveLength(1);
    expect((await call(`${bff.url}/api/v1/auth/refresh`, 'GET', { token: refreshToken, headers: from('198.51.100.30') })).status).toBe(200);
  });
});

describe('POST /api/v1/signup', () => {
  it('limits requests per IP, and creations per proven identifier counted only once its proof is good', async () => {
    const bff = await bffWith({ TRUSTED_PROXIES: '127.0.0.1', SIGNUP_REQUESTS_PER_IP_PER_HOUR: '2', SIGNUP_REQUESTS_PER_IDENTIFIER_PER_HOUR: '1' });
    const signUp = (body: Json, ip: string) => call(`${bff.url}/api/v1/signup`, 'POST', { body, headers: from(ip) });
    const email = newEmail();
    const forged = { firstName: 'Limited', userType: 'other', email, password: PASSWORD, proof: randomBytes(32).toString('base64url') };
    // A stranger with forged proofs uses up their own network's budget, not the address's.
    expect((await signUp(forged, '203.0.113.40')).status).toBe(400);
    expect((await signUp(forged, '203.0.113.40')).status).toBe(400);
    expectLimited(await signUp(forged, '203.0.113.40'), 'signup-ip');

    const owner = '198.51.100.40';
    expect((await call(`${bff.url}/api/v1/otp`, 'POST', { body: { email }, headers: from(owner) })).status).toBe(202);
    const code = await latestCode(stack, 'mails', email);
    const verified = await call(`${bff.url}/api/v1/otp/verify`, 'POST', { body: { email, code }, headers: from(owner) });
    expect(verified.status).toBe(200);
    const body = { firstName: 'Limited', userType: 'other', email, password: PASSWORD, proof: verified.body.proof };
    const created = await signUp(body, owner);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    createdUserIds.push(created.body.userId as string);
    expectLimited(await signUp(body, owner), 'signup-identifier');
    expect(await accountsWith(email)).toHaveLength(1);
  });
});

describe('POST /api/v1/otp (its own limits, through the same client address)', () => {
  it('counts codes per client IP as the trusted proxy reports it', async () => {
    const bff = await bffWith({ TRUSTED_PROXIES: '127.0.0.1', OTP_SENDS_PER_IP_PER_HOUR: '1' });
    const send = (ip: string) => call(`${bff.url}/api/v1/otp`, 'POST', { body: { email: newEmail() }, headers: from(ip) });
    expect((await send('198.51.100.50')).status).toBe(202);
    const limited = await send('198.51.100.50');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect((await send('198.51.100.51')).status).toBe(202);
    // Writing another address in front of the proxy's gains nothing.
    expect((await send('198.51.100.99, 198.51.100.50')).status).toBe(429);
  });
});

describe('the state claim password step', () => {
  const secret = stack.settings.keycloakCallbackSecret;
  const returnUrl = `${stack.keycloakUrl}/realms/${realm}/login-actions/first-broker-login?session_code=test&execution=test&tab_id=test`;

  /** A custodian account with `email` and a claim flow (as Keycloak starts it) at its password step. */
  async function flowAtPassword(bff: TestBff): Promise<string> {
    const { email } = await account(bff);
    const started = await call(`${bff.url}/internal/v1/keycloak/state-claim`, 'POST', {
      token: secret,
      body: {
        identityProvider: 'state-demo',
        brokeredUserId: `brokered-${randomBytes(6).toString('hex')}`,
        brokeredUsername: 'state.person',
        firstName: 'Stateperson',
        lastName: 'Limited',
        stateUserId: `SD-${randomBytes(3).toString('hex')}`,
        loginSession: `${randomBytes(16).toString('hex')}.tab-1`,
        email,
        returnUrl,
      },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const flowId = String(started.body.flowId);
    expect((await call(`${bff.url}/state-claim/${flowId}/answer`, 'POST', { body: { answer: 'mine' } })).status).toBe(200);
    return flowId;
  }

  it("counts wrong passwords against the client IP with the API login's; over it, 429 and no try spent", async () => {
    const bff = await bffWith({ TRUSTED_PROXIES: '127.0.0.1', LOGIN_FAILURES_PER_IP_PER_HOUR: '2' });
    const person = from('203.0.113.60');
    const first = await flowAtPassword(bff);
    const wrong = await call(`${bff.url}/state-claim/${first}/password`, 'POST', { body: { password: 'Not-the-password-1' }, headers: person });
    // Back to the password page (it shows "wrong password"), not decided yet.
    expect(wrong.status).toBe(200);
    expect(wrong.body.location).toMatch(new RegExp(`^/state-claim/${first}\\?`));
    expect((await login(bff, newEmail(), 'Wrong-Password-1', '203.0.113.60')).status).toBe(401);

    const second = await flowAtPassword(bff);
    const limited = await call(`${bff.url}/state-claim/${second}/password`, 'POST', { body: { password: PASSWORD }, headers: person });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect(limited.body.location).toContain('error=rate-limited');
    // From another network the same flow goes on with both its tries: one wrong (had the 429 spent a
    // try, this would be the second and last), then the right password claims the account.
    const elsewhere = from('198.51.100.60');
    const again = await call(`${bff.url}/state-claim/${second}/password`, 'POST', { body: { password: 'Not-the-password-2' }, headers: elsewhere });
    expect(again.status).toBe(200);
    expect(again.body.location).toMatch(new RegExp(`^/state-claim/${second}\\?`));
    const right = await call(`${bff.url}/state-claim/${second}/password`, 'POST', { body: { password: PASSWORD }, headers: elsewhere });
    expect(right.status).toBe(200);
    // Claimed: the page that says so (decision 0030) leads back to Keycloak with the handoff.
    expect(await (await fetch(`${bff.url}${right.body.location}`)).text()).toContain('handoff=');
  });
});

describe('X-Forwarded-For', () => {
  it('is ignored without trusted proxies: every request counts against the TCP peer', async () => {
    const bff = await bffWith({ CONFIRM_FAILURES_PER_IP_PER_HOUR: '2' });
    expect((await badLink(bff, from('198.51.100.1'))).status).toBe(400);
    expect((await badLink(bff, from('198.51.100.2'))).status).toBe(400);
    expectLimited(await badLink(bff, from('198.51.100.3')), 'confirm-failures-ip');
  });

  it('is ignored when the peer is not one of the trusted proxies', async () => {
    const bff = await bffWith({ TRUSTED_PROXIES: '10.0.0.0/8,192.0.2.1', CONFIRM_FAILURES_PER_IP_PER_HOUR: '2' });
    expect((await badLink(bff, from('198.51.100.1'))).status).toBe(400);
    expect((await badLink(bff, from('198.51.100.2'))).status).toBe(400);
    expectLimited(await badLink(bff, from('198.51.100.3')), 'confirm-failures-ip');
  });

  it('is honoured through trusted hops only: read from the right, trusted proxies skipped, what the client wrote ignored', async () => {
    const bff = await bffWith({ TRUSTED_PROXIES: '127.0.0.1,10.0.0.0/8', CONFIRM_FAILURES_PER_IP_PER_HOUR: '2' });
    expect((await badLink(bff, from('198.51.100.1'))).status).toBe(400);
    // Through a second trusted proxy (10.1.2.3) it is the same client.
    expect((await badLink(bff, from('198.51.100.1, 10.1.2.3'))).status).toBe(400);
    expectLimited(await badLink(bff, from('198.51.100.1')), 'confirm-failures-ip');
    // Addresses the client wrote in front do not make it someone else.
    expectLimited(await badLink(bff, from('6.6.6.6, 198.51.100.1')), 'confirm-failures-ip');
    expectLimited(await badLink(bff, from('6.6.6.6, 198.51.100.1, 10.9.9.9')), 'confirm-failures-ip');
    // Another client behind the proxies has its own budget, and so has the proxy itself.
    expect((await badLink(bff, from('198.51.100.2'))).status).toBe(400);
    expect((await badLink(bff, from('2001:db8:1:2::5, 10.1.2.3'))).status).toBe(400);
    expect((await badLink(bff)).status).toBe(400);
  });
});
