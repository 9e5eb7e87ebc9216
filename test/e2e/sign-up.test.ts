import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildContainer, type Container } from '../../bff/src/composition-root.ts';
import { loadConfig } from '../../bff/src/config.ts';
import { createLogger } from '../../bff/src/kernel/logger.ts';
import { migrateUp } from '../../bff/src/persistence/migrate.ts';
import { createOrm } from '../../bff/src/persistence/orm.ts';
import { RedisEphemeralStore } from '../../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { SignInTickets } from '../../bff/src/flows/sign-up/sign-in-tickets.ts';
import { bffEnv } from '../../stack/stack.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';
import { freePort } from '../support/ports.ts';

/**
 * Self sign-up through the BFF's HTTP API against the real stack: codes read from the dev inbox
 * (mail and SMS sink), accounts checked in Keycloak and the upstream core, and the BFF's own log
 * captured to show that no code, identifier, password or proof reaches it.
 */
const stack = inject('stack');
const keys = testKeyPrefix('signup');
const logLines: string[] = [];
/** Everything secret or personal this file sends; none of it may appear in the log. */
const secrets = new Set<string>();
const createdUserIds: string[] = [];
const PASSWORD = 'Correct-Horse-Battery-42';
const run = randomBytes(3).toString('hex');

interface RunningBff {
  url: string;
  container: Container;
  close(): Promise<void>;
}

/** The real BFF in-process (like test/support/bff.ts), logging into `logLines`, with its own Redis prefix. */
async function startBff(env: Record<string, string> = {}): Promise<RunningBff> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({
    ...bffEnv(stack.settings, stack.upstreamUrl),
    NODE_ENV: 'test',
    BFF_PUBLIC_URL: url,
    REDIS_PREFIX: keys.prefix,
    UPSTREAM_OUTBOX_ENABLED: 'false',
    ...env,
  });
  const orm = await createOrm({ databaseUrl: config.databaseUrl });
  await migrateUp(orm);
  await orm.close();
  const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void logLines.push(line) } });
  const container = await buildContainer(config, { logger });
  server.on('request', container.app.callback());
  return {
    url,
    container,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await container.close();
    },
  };
}

let bff: RunningBff;

beforeAll(async () => {
  bff = await startBff();
});

afterAll(async () => {
  for (const id of createdUserIds) await bff?.container.accounts.delete(id).catch(() => undefined);
  await bff?.close();
  await keys.cleanup();
});

/** Every sign-up names one of the realm's user types (decision 0036; its absence and bad values: sign-up-types.test.ts). */
const withUserType = (path: string, body: unknown) =>
  path.startsWith('/api/v1/signup') && typeof body === 'object' && body !== null && !('userType' in body) ? { userType: 'teacher', ...body } : body;

async function post(path: string, body: unknown, base = bff.url) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(withUserType(path, body)),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

const fieldsOf = (body: Record<string, unknown>) => ((body.fields ?? []) as { field: string; reason: string }[]).map((f) => `${f.field}:${f.reason}`);

let counter = 0;
function newEmail(): string {
  const email = `signup.${run}.${++counter}@example.com`;
  secrets.add(email);
  return email;
}
/** A valid Indian mobile number, national form and E.164. */
function newPhone(): { national: string; e164: string } {
  const digits = `9${String(randomBytes(4).readUInt32BE() % 1e9).padStart(9, '0')}`;
  secrets.add(digits);
  secrets.add(`+91${digits}`);
  return { national: `${digits.slice(0, 5)} ${digits.slice(5)}`, e164: `+91${digits}` };
}

/** The code of the last mail or SMS the dev inbox received for `to`. */
async function codeFor(to: string): Promise<string> {
  const kind = to.includes('@') ? 'mails' : 'sms';
  const res = await fetch(`${stack.inboxUrl}/api/${kind}?to=${encodeURIComponent(to)}`);
  const messages = (await res.json()) as { text: string }[];
  const code = /\b(\d{6})\b/.exec(messages.at(-1)?.text ?? '')?.[1];
  if (!code) throw new Error(`no code was sent to this ${kind === 'mails' ? 'address' : 'phone'}`);
  secrets.add(code);
  return code;
}

/** Send a code, read it from the inbox, exchange it: the proof. */
async function proofFor(identifier: { email: string } | { phone: string }, inboxAddress: string): Promise<string> {
  const sent = await post('/api/v1/otp', identifier);
  expect(sent.status, JSON.stringify(sent.body)).toBe(202);
  const verified = await post('/api/v1/otp/verify', { ...identifier, code: await codeFor(inboxAddress) });
  expect(verified.status, JSON.stringify(verified.body)).toBe(200);
  const proof = verified.body.proof as string;
  secrets.add(proof);
  return proof;
}

async function signUp(body: Record<string, unknown>) {
  const res = await post('/api/v1/signup', body);
  if (res.status === 201) createdUserIds.push(res.body.userId as string);
  return res;
}

describe('self sign-up over HTTP', () => {
  it('with an email: code by mail, proof, account created verified and enabled everywhere; the identical request replays it', async () => {
    const email = newEmail();
    const sent = await post('/api/v1/otp', { email: `  ${email.toUpperCase()} ` });
    expect(sent).toMatchObject({ status: 202, body: { channel: 'email', expiresInSeconds: 600, resendAfterSeconds: 60 } });
    const code = await codeFor(email);
    expect(code).toMatch(/^\d{6}$/);
    const verified = await post('/api/v1/otp/verify', { email, code });
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({ proof: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresInSeconds: 900 });
    const proof = verified.body.proof as string;
    secrets.add(proof);

    const request = { firstName: 'MD MANZARUL HAQUE', email, password: PASSWORD, proof };
    const created = await signUp(request);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({
      userId: expect.any(String),
      username: expect.stringMatching(/^md_manzarul_haque\d{4}$/),
      email,
      emailVerified: true,
      phoneVerified: false,
    });
    const user = await bff.container.identityDirectory.getUser(created.body.userId as string);
    expect(user).toMatchObject({ email, emailVerified: true, enabled: true, attributes: { signUpType: ['selfSignUp'] } });
    expect(await bff.container.upstreamCore.getUser(user!.attributes.upstreamUserId![0]!)).toMatchObject({ email, externalId: user!.id });

    const again = await post('/api/v1/signup', request);
    expect(again).toMatchObject({ status: 200, body: created.body });
  });

  it('with a phone in national form: SMS in E.164, phoneVerified, channel and organisation memberships', async () => {
    const phone = newPhone();
    const proof = await proofFor({ phone: phone.national }, phone.e164);
    const created = await signUp({
      firstName: 'राहुल शर्मा',
      phone: `0${phone.national.replace(' ', '-')}`,
      password: PASSWORD,
      channel: 'state-demo',
      organisationId: 'org_state_demo_school_1',
      proof,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      phone: phone.e164,
      emailVerified: false,
      phoneVerified: true,
      username: expect.stringMatching(/^rahul_sharma\d{4}$/),
    });
    const user = await bff.container.identityDirectory.getUser(created.body.userId as string);
    expect(user).toMatchObject({ enabled: true, attributes: { phone: [phone.e164], phoneVerified: ['true'] } });
    const upstreamId = user!.attributes.upstreamUserId![0]!;
    const memberships = await bff.container.upstreamCore.listMemberships(upstreamId);
    expect(memberships.map((m) => [m.organisationId, m.roles]).sort()).toEqual([
      ['org_state_demo', ['PUBLIC']],
      ['org_state_demo_school_1', ['PUBLIC']],
    ]);
  });

  it('refuses both or neither identifier, on every endpoint, naming email and phone', async () => {
    const email = newEmail();
    const phone = newPhone();
    const both = { email, phone: phone.e164 };
    for (const [path, extra] of [
      ['/api/v1/otp', {}],
      ['/api/v1/otp/verify', { code: '123456' }],
      ['/api/v1/signup', { firstName: 'A', password: PASSWORD, proof: 'x' }],
    ] as const) {
      const withBoth = await post(path, { ...both, ...extra });
      expect(withBoth.status, path).toBe(400);
      expect(fieldsOf(withBoth.body), path).toEqual(['email:one_of', 'phone:one_of']);
      const withNeither = await post(path, extra);
      expect(withNeither.status, path).toBe(400);
      expect(fieldsOf(withNeither.body), path).toEqual(['email:required', 'phone:required']);
    }
    expect(await fetch(`${stack.inboxUrl}/api/mails?to=${encodeURIComponent(email)}`).then((r) => r.json())).toEqual([]);
  });

  it('refuses a phone that is not a number, a missing name and fields the API does not take', async () => {
    const badPhone = await post('/api/v1/otp', { phone: '12345' });
    expect(badPhone.status).toBe(400);
    expect(badPhone.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(badPhone.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(fieldsOf(badPhone.body)).toEqual(['phone:invalid_format']);
    const noName = await post('/api/v1/signup', { email: newEmail(), password: PASSWORD, proof: 'p', emailVerified: true });
    expect(fieldsOf(noName.body).sort()).toEqual(['emailVerified:not_allowed', 'firstName:required']);
  });

  it('reports a weak password before anything is created; the same proof then works with a good one', async () => {
    const email = newEmail();
    const proof = await proofFor({ email }, email);
    const weak = await signUp({ firstName: 'Weak', email, password: 'short', proof, username: `weak_${run}` });
    expect(weak.status).toBe(400);
    expect(weak.body.fields).toEqual([{ field: 'password', reason: 'policy', message: expect.stringMatching(/minimum length/) }]);
    expect(await bff.container.identityDirectory.findUsersByEmail(email)).toEqual([]);
    expect(await bff.container.identityDirectory.findUserByUsername(`weak_${run}`)).toBeNull();
    expect(await bff.container.upstreamCore.findUser({ email })).toBeNull();
    expect(await bff.container.upstreamCore.findUser({ username: `weak_${run}` })).toBeNull();

    const fixed = await signUp({ firstName: 'Weak', email, password: PASSWORD, proof, username: `weak_${run}` });
    expect(fixed.status, JSON.stringify(fixed.body)).toBe(201);
  });

  it('refuses a taken username with 409 naming it, and creates nothing', async () => {
    const first = newEmail();
    const taken = await signUp({
      firstName: 'First',
      email: first,
      password: PASSWORD,
      proof: await proofFor({ email: first }, first),
      username: `taken_${run}`,
    });
    expect(taken.status).toBe(201);
    const second = newEmail();
    const refused = await signUp({
      firstName: 'Second',
      email: second,
      password: PASSWORD,
      proof: await proofFor({ email: second }, second),
      username: `TAKEN_${run}`,
    });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'ACCOUNT_EXISTS', fields: [{ field: 'username', reason: 'taken' }] });
    expect(await bff.container.identityDirectory.findUsersByEmail(second)).toEqual([]);
  });

  it('refuses an unknown or inactive channel and an organisation outside the channel, naming them', async () => {
    const email = newEmail();
    const proof = await proofFor({ email }, email);
    const base = { firstName: 'Org', email, password: PASSWORD, proof };
    for (const [extra, expected] of [
      [{ channel: 'no-such-channel' }, ['channel:unknown']],
      [{ channel: 'state-retired' }, ['channel:inactive']],
      [{ organisationId: 'org_state_demo_school_2' }, ['organisationId:inactive']],
      [{ channel: 'custodian', organisationId: 'org_state_demo_school_1' }, ['organisationId:not_in_channel']],
    ] as const) {
      const res = await signUp({ ...base, ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(fieldsOf(res.body)).toEqual(expected);
    }
    expect(await bff.container.identityDirectory.findUsersByEmail(email)).toEqual([]);
  });

  it('refuses a proof issued for another identifier', async () => {
    const mine = newEmail();
    const proof = await proofFor({ email: mine }, mine);
    const res = await signUp({ firstName: 'Thief', email: newEmail(), password: PASSWORD, proof });
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual(['proof:proof_invalid']);
    expect((await signUp({ firstName: 'Guess', email: newEmail(), password: PASSWORD, proof: 'not-a-real-proof' })).status).toBe(400);
  });

  it('uses a proof for one account only, and a code once', async () => {
    const email = newEmail();
    await post('/api/v1/otp', { email });
    const code = await codeFor(email);
    const verified = await post('/api/v1/otp/verify', { email, code });
    const proof = verified.body.proof as string;
    secrets.add(proof);
    expect((await post('/api/v1/otp/verify', { email, code })).status).toBe(400);
    expect((await signUp({ firstName: 'Once', email, password: PASSWORD, proof })).status).toBe(201);
    const second = await signUp({ firstName: 'Twice', email, password: PASSWORD, proof, username: `twice_${run}` });
    expect(second.status).toBe(400);
    expect(fieldsOf(second.body)).toEqual(['proof:used']);
  });

  it('answers 429 with Retry-After to a second code within the cooldown', async () => {
    const email = newEmail();
    expect((await post('/api/v1/otp', { email })).status).toBe(202);
    const again = await post('/api/v1/otp', { email });
    expect(again.status).toBe(429);
    expect(again.body).toMatchObject({ code: 'RATE_LIMITED' });
    const retryAfter = Number(again.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('does not reveal whether an account uses the identifier', async () => {
    // A Keycloak account (demo data), a profile only the upstream core has, and nobody's address.
    expect(await bff.container.identityDirectory.findUsersByEmail('admin@identity-platform.local')).toHaveLength(1);
    const upstreamOnly = newEmail();
    await bff.container.upstreamCore.createUser({ externalId: randomUUID(), firstName: 'Upstream', email: upstreamOnly });
    const answers = await Promise.all(['admin@identity-platform.local', upstreamOnly, newEmail()].map((email) => post('/api/v1/otp', { email })));
    for (const answer of answers) {
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual({ channel: 'email', expiresInSeconds: 600, resendAfterSeconds: 60 });
    }
  });

  it('reports an SMS gateway that is down as 503 DELIVERY_FAILED and leaves no usable code', async () => {
    const dead = await freePort();
    const deadKeys = testKeyPrefix('signup-dead');
    const broken = await startBff({ SMS_GATEWAY_URL: `http://127.0.0.1:${dead}/sms`, REDIS_PREFIX: deadKeys.prefix });
    try {
      const phone = newPhone();
      const res = await post('/api/v1/otp', { phone: phone.e164 }, broken.url);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'DELIVERY_FAILED' });
      expect(res.headers.get('retry-after')).toBeTruthy();
      const redis = new Redis(redisUrl);
      try {
        expect(await redis.keys(`${deadKeys.prefix}otp:code:*`)).toEqual([]);
      } finally {
        redis.disconnect();
      }
      // No cooldown was left either: asking again is allowed (and fails the same way).
      expect((await post('/api/v1/otp', { phone: phone.e164 }, broken.url)).status).toBe(503);
    } finally {
      await broken.close();
      await deadKeys.cleanup();
    }
  });

  it("with a returnUrl: answers Keycloak's continue URL, whose ticket signs in the new account once (issue 17 §3)", async () => {
    const email = newEmail();
    const proof = await proofFor({ email }, email);
    const returnUrl = `/realms/${stack.settings.platformRealm}/login-actions/restart?client_id=portal&tab_id=tabE2E1&client_data=eyJydSI6IngifQ`;
    const created = await signUp({ firstName: 'Uma', lastName: 'शर्मा', email, password: PASSWORD, proof, returnUrl, language: 'hi' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.username).toMatch(/^uma_sharma\d{4}$/);
    const user = await bff.container.identityDirectory.getUser(created.body.userId as string);
    expect(user).toMatchObject({ firstName: 'Uma', lastName: 'शर्मा', attributes: { locale: ['hi'] } });
    const url = new URL(created.body.continueUrl as string);
    expect(url.origin + url.pathname).toBe(`${stack.keycloakUrl}/realms/${stack.settings.platformRealm}/platform-sign-up/continue`);
    expect(Object.fromEntries([...url.searchParams].filter(([k]) => k !== 'ticket'))).toEqual({
      client_id: 'portal',
      tab_id: 'tabE2E1',
      client_data: 'eyJydSI6IngifQ',
    });
    const ticket = url.searchParams.get('ticket')!;
    secrets.add(ticket);
    const redeem = (tabId: string) =>
      fetch(`${bff.url}/internal/v1/keycloak/sign-up/ticket`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.settings.keycloakCallbackSecret}` },
        body: JSON.stringify({ ticket, tabId }),
      });
    expect((await redeem('tabE2E1').then((r) => r.json())) as unknown).toEqual({ userId: created.body.userId });
    expect((await redeem('tabE2E1')).status).toBe(404);
    // Without a returnUrl, no ticket; a returnUrl that is not Keycloak's restart URL is refused before anything.
    const other = newEmail();
    const otherProof = await proofFor({ email: other }, other);
    const refused = await signUp({ firstName: 'Uma', email: other, password: PASSWORD, proof: otherProof, returnUrl: 'https://evil.example/' });
    expect(refused.status).toBe(400);
    expect(fieldsOf(refused.body)).toEqual(['returnUrl:invalid_format']);
    const plain = await signUp({ firstName: 'Uma', email: other, password: PASSWORD, proof: otherProof });
    expect(plain.status).toBe(201);
    expect(plain.body.continueUrl).toBeUndefined();
  });

  it('never logged a code, identifier, password or proof', () => {
    const log = logLines.join('');
    expect(logLines.length).toBeGreaterThan(10);
    expect(log).toContain('"route":"/api/v1/signup"');
    secrets.add(PASSWORD);
    for (const secret of secrets) expect(log.includes(secret), `log contains a secret (${secret.length} characters)`).toBe(false);
  });
});

describe('POST /internal/v1/keycloak/sign-up/ticket (Keycloak redeems a sign-in ticket, issue 17 §3)', () => {
  const SECRET = stack.settings.keycloakCallbackSecret;
  let redis: Redis;
  let tickets: SignInTickets;
  beforeAll(() => {
    redis = new Redis(redisUrl);
    // The BFF's own store (same Redis prefix): tickets minted here are the BFF's.
    tickets = new SignInTickets({ store: new RedisEphemeralStore({ redis, keyPrefix: keys.prefix }), ttlSeconds: 300 });
  });
  afterAll(() => redis?.disconnect());

  async function redeem(body: unknown, authorization: string | null = `Bearer ${SECRET}`) {
    const res = await fetch(`${bff.url}/internal/v1/keycloak/sign-up/ticket`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
  }

  it('needs the shared secret: without it nothing is redeemed (the ticket still works afterwards)', async () => {
    const userId = randomUUID();
    const ticket = await tickets.mint({ userId, tabId: 'tab1' });
    for (const authorization of [null, 'Bearer not-the-secret', `Basic ${SECRET}`]) {
      const refused = await redeem({ ticket, tabId: 'tab1' }, authorization);
      expect(refused.status).toBe(401);
      expect(refused.type).toMatch(/^application\/problem\+json/);
      expect(refused.body.code).toBe('UNAUTHENTICATED');
    }
    expect(await redeem({ ticket, tabId: 'tab1' })).toMatchObject({ status: 200, body: { userId } });
  });

  it('answers once; a replay, an unknown ticket and another tab get the same 404', async () => {
    const userId = randomUUID();
    const ticket = await tickets.mint({ userId, tabId: 'tab2' });
    const first = await redeem({ ticket, tabId: 'tab2' });
    expect(first).toEqual({ status: 200, type: expect.stringMatching(/^application\/json/), body: { userId } });
    const replay = await redeem({ ticket, tabId: 'tab2' });
    const unknown = await redeem({ ticket: randomBytes(32).toString('base64url'), tabId: 'tab2' });
    const otherTab = await redeem({ ticket: await tickets.mint({ userId, tabId: 'tab3' }), tabId: 'tab2' });
    for (const res of [replay, unknown, otherTab]) {
      expect(res.status).toBe(404);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect({ code: res.body.code, detail: res.body.detail }).toEqual({ code: replay.body.code, detail: replay.body.detail });
    }
    expect(replay.body.code).toBe('NOT_FOUND');
  });

  it('refuses a malformed body naming the fields', async () => {
    const res = await redeem({ ticket: 'x', extra: 1 });
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body).sort()).toEqual(['extra:not_allowed', 'tabId:required']);
  });
});

describe('POST /api/v1/signup/check (every problem before a code is sent, issue 17 §2)', () => {
  const check = (body: unknown) => post('/api/v1/signup/check', body);
  const inbox = async (to: string) =>
    (await fetch(`${stack.inboxUrl}/api/${to.includes('@') ? 'mails' : 'sms'}?to=${encodeURIComponent(to)}`).then((r) => r.json())) as unknown[];

  it('answers the identifier the code will go to, normalised and as it is shown; sends nothing, creates nothing', async () => {
    const email = newEmail();
    expect(await check({ firstName: 'Asha', email: ` ${email.toUpperCase()}`, password: PASSWORD })).toMatchObject({
      status: 200,
      body: { identifier: { kind: 'email', value: email, display: email } },
    });
    const phone = newPhone();
    expect(await check({ firstName: 'Asha', lastName: 'Verma', phone: phone.national, password: PASSWORD, username: `asha_${run}` })).toMatchObject({
      status: 200,
      body: { identifier: { kind: 'phone', value: phone.e164, display: `+91 ${phone.national}` } },
    });
    expect(await inbox(email)).toEqual([]);
    expect(await inbox(phone.e164)).toEqual([]);
    expect(await bff.container.identityDirectory.findUsersByEmail(email)).toEqual([]);
  });

  it('names every problem at once: names, identifier, username, every password rule broken', async () => {
    const res = await check({ firstName: ' ', lastName: '<b>', email: 'not-an-address', username: 'A', password: 'short' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(fieldsOf(res.body).sort()).toEqual([
      'email:invalid_format',
      'firstName:required',
      'lastName:invalid_characters',
      'password:too_short',
      'username:invalid_format',
    ]);
    // Neither identifier, and a weak password: both told in the one answer.
    expect(fieldsOf((await check({ firstName: 'Asha', password: 'x' })).body).sort()).toEqual(['email:required', 'password:too_short', 'phone:required']);
    // The password rules that need the username or the e-mail are checked with them.
    const email = newEmail();
    const mine = await check({ firstName: 'Asha', email, username: `asha_${run}`, password: `my-asha_${run}-pw` });
    expect(fieldsOf(mine.body)).toEqual(['password:contains_username']);
    expect(fieldsOf((await check({ firstName: 'Asha', email, password: email.toUpperCase() })).body)).toEqual(['password:is_email']);
    // Fields the API does not take, and a proof, are not part of a check.
    expect(fieldsOf((await check({ firstName: 'Asha', email, password: PASSWORD, proof: 'x', emailVerified: true })).body).sort()).toEqual([
      'emailVerified:not_allowed',
      'proof:not_allowed',
    ]);
  });

  it('tells a taken username (Keycloak or the upstream core), and the channel and organisation problems', async () => {
    const first = newEmail();
    const made = await signUp({ firstName: 'Taken', email: first, password: PASSWORD, proof: await proofFor({ email: first }, first), username: `chk_${run}` });
    expect(made.status).toBe(201);
    await bff.container.upstreamCore.createUser({ externalId: randomUUID(), firstName: 'Upstream', username: `chkup_${run}` });
    for (const username of [`chk_${run}`, `CHK_${run}`, `chkup_${run}`]) {
      const res = await check({ firstName: 'Asha', email: newEmail(), username, password: PASSWORD });
      expect(fieldsOf(res.body), username).toEqual(['username:taken']);
    }
    const orgs = await check({
      firstName: 'Asha',
      email: newEmail(),
      password: PASSWORD,
      channel: 'no-such-channel',
      organisationId: 'org_state_demo_school_2',
    });
    expect(fieldsOf(orgs.body).sort()).toEqual(['channel:unknown', 'organisationId:inactive']);
  });

  it('answers the same for e-mail addresses and phones with and without an account (no enumeration)', async () => {
    const holder = newEmail();
    const holderPhone = newPhone();
    const made = await signUp({ firstName: 'Held', email: holder, password: PASSWORD, proof: await proofFor({ email: holder }, holder) });
    expect(made.status).toBe(201);
    const phoneMade = await signUp({
      firstName: 'Held',
      phone: holderPhone.e164,
      password: PASSWORD,
      proof: await proofFor({ phone: holderPhone.e164 }, holderPhone.e164),
    });
    expect(phoneMade.status).toBe(201);
    const answer = async (identifier: Record<string, string>) => {
      const res = await check({ firstName: 'Asha', password: PASSWORD, ...identifier });
      return { status: res.status, keys: Object.keys(res.body), kind: (res.body.identifier as Record<string, string>).kind };
    };
    expect(await answer({ email: holder })).toEqual(await answer({ email: newEmail() }));
    expect(await answer({ email: 'admin@identity-platform.local' })).toEqual(await answer({ email: newEmail() }));
    expect(await answer({ phone: holderPhone.e164 })).toEqual(await answer({ phone: newPhone().e164 }));
    // And refusals too: a bad password with a held address gets the same problem as with a free one.
    const bad = async (email: string) => fieldsOf((await check({ firstName: 'A', email, password: 'x' })).body);
    expect(await bad(holder)).toEqual(await bad(newEmail()));
  });

  it('is limited per client IP (429 with Retry-After), apart from account creation', async () => {
    const limitedKeys = testKeyPrefix('signup-check-limit');
    const limited = await startBff({ SIGNUP_CHECKS_PER_IP_PER_HOUR: '2', REDIS_PREFIX: limitedKeys.prefix });
    try {
      const body = { firstName: 'Asha', email: newEmail(), password: PASSWORD };
      expect((await post('/api/v1/signup/check', body, limited.url)).status).toBe(200);
      expect((await post('/api/v1/signup/check', { ...body, password: 'x' }, limited.url)).status).toBe(400);
      const third = await post('/api/v1/signup/check', body, limited.url);
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      // The code routes and creation keep their own limits.
      expect((await post('/api/v1/otp', { email: newEmail() }, limited.url)).status).toBe(202);
    } finally {
      await limited.close();
      await limitedKeys.cleanup();
    }
  });
});
