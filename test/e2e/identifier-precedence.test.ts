import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IdentifierTakeoverSchema, type IdentifierTakeoverRecord } from '../../bff/src/accounts/identifier-takeover.entity.ts';
import { PlatformAccountService } from '../../bff/src/accounts/platform-account-service.ts';
import { HttpUpstreamCore } from '../../bff/src/adapters/upstream-core/http-upstream-core.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import { createLogger } from '../../bff/src/kernel/logger.ts';
import type { UpstreamCore } from '../../bff/src/ports/upstream-core.ts';
import { createPool } from '../../upstream/src/db.ts';
import { hashSecret } from '../../upstream/src/secrets.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { inboxMessages, latestCode } from '../support/inbox.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt, portalSignIn } from '../support/oidc.ts';
import { freePort } from '../support/ports.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Issue 15 §1, decision 0021: a proven identifier (OTP proof, confirmation link, a trusted IdP's
 * verified claim) always wins over an account that holds it unproven. That account loses it (kept
 * in its `retiredIdentifiers`, audited in `identifier_takeover`, the upstream core told, the account
 * told through its other verified identifier), the proven sign-up or change goes through, and the
 * identifier is never on two enabled accounts, also when the two race. A verified holder still
 * blocks. Real BFF against the e2e stack's Keycloak, upstream core, dev inbox, PostgreSQL and Redis.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const run = randomBytes(3).toString('hex');
const keys = testKeyPrefix(`idp-${run}`);
const PASSWORD = 'Correct-Horse-Battery-42';
const OTHER_PASSWORD = 'Another-Horse-Battery-43';
const createdUserIds: string[] = [];
const browser = useBrowser();
let bff: TestBff;
let upstreamDb: pg.Pool;

beforeAll(async () => {
  // Own Redis prefix (the per-IP limits start at zero), and room for this file's registrations and
  // sign-ups from one IP; no resend cooldown, so two proofs of one address can be had for the race.
  bff = await startTestBff(stack, {
    REDIS_PREFIX: keys.prefix,
    OTP_RESEND_COOLDOWN_SECONDS: '0',
    EMAIL_CONFIRMATION_COOLDOWN_SECONDS: '0',
    REGISTER_REQUESTS_PER_IP_PER_HOUR: '1000',
    SIGNUP_REQUESTS_PER_IP_PER_HOUR: '1000',
  });
  upstreamDb = createPool(stack.settings.upstreamDatabaseUrl, 'upstream_core');
});

afterAll(async () => {
  for (const id of createdUserIds) await bff?.container.accounts.delete(id).catch(() => undefined);
  await bff?.close();
  await upstreamDb?.end();
  await keys.cleanup();
});

// ------------------------------------------------------------------------------------------ helpers

interface Answer {
  status: number;
  body: Json;
}

async function api(method: string, path: string, opts: { body?: unknown; bearer?: string } = {}): Promise<Answer> {
  const res = await fetch(`${bff.url}${path}`, {
    method,
    headers: {
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}),
    },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

let counter = 0;
const newEmail = () => `precedence.${run}.${++counter}@example.com`;
/** A valid Indian mobile number (the default country), E.164. */
const newPhone = () => `+9198${String(randomInt(10_000_000, 99_999_999))}`;

/** A proof for `identifier` through the OTP API, the code read from the dev inbox. */
async function proofFor(identifier: { kind: 'email' | 'phone'; value: string }, purpose: 'sign-up' | 'change-identifier' = 'sign-up'): Promise<string> {
  const kind = identifier.kind === 'email' ? 'mails' : 'sms';
  const before = (await inboxMessages(stack, kind, identifier.value)).length;
  const sent = await api('POST', '/api/v1/otp', { body: { [identifier.kind]: identifier.value, purpose } });
  expect(sent.status, JSON.stringify(sent.body)).toBe(202);
  const code = await latestCode(stack, kind, identifier.value, before);
  const verified = await api('POST', '/api/v1/otp/verify', { body: { [identifier.kind]: identifier.value, purpose, code } });
  expect(verified.status, JSON.stringify(verified.body)).toBe(200);
  return verified.body.proof as string;
}

async function signUp(identifier: { kind: 'email' | 'phone'; value: string }, proof: string, firstName = 'Proven'): Promise<Answer> {
  const res = await api('POST', '/api/v1/signup', {
    body: { firstName, userType: 'teacher', [identifier.kind]: identifier.value, password: OTHER_PASSWORD, proof },
  });
  if (res.status === 201) createdUserIds.push(res.body.userId as string);
  return res;
}

/**
 * `POST /api/v1/auth/register`, which answers before its account exists (issue 15 §2 owns that
 * answer); waits for its outcome, a mail to the address (the link, or the "address taken" notice),
 * and returns the unconfirmed account it made, if it made one.
 */
async function register(email: string): Promise<{ status: number; userId: string | null }> {
  const before = (await inboxMessages(stack, 'mails', email)).length;
  const res = await api('POST', '/api/v1/auth/register', { body: { firstName: 'Squatter', lastName: `Reg${run}`, email, password: PASSWORD } });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
  if (res.status < 300) await registrationDone(email, before);
  return { status: res.status, userId: await unconfirmedHolder(email) };
}

/** The background part of a registration (issue 15 §2) is done once its mail (link or notice) arrived. */
async function registrationDone(email: string, mailsBefore: number): Promise<void> {
  await expect.poll(async () => (await inboxMessages(stack, 'mails', email)).length, { timeout: 15_000 }).toBeGreaterThan(mailsBefore);
}

/** The account holding `email` unconfirmed (one a registration made), if any. */
async function unconfirmedHolder(email: string): Promise<string | null> {
  const [user] = await usersWithEmail(email);
  if (!user || user.emailVerified) return null;
  createdUserIds.push(user.id as string);
  return user.id as string;
}

interface Mail {
  subject: string;
  text: string;
}
async function mailsTo(email: string, count: number): Promise<Mail[]> {
  await expect.poll(async () => (await inboxMessages(stack, 'mails', email)).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(count);
  return (await inboxMessages(stack, 'mails', email)) as unknown as Mail[];
}
const confirmationToken = (mail: Mail): string => /\/api\/v1\/auth\/confirm\?token=([A-Za-z0-9_-]+)/.exec(mail.text)![1]!;

const kcUser = async (id: string) => (await admin.get<Json>(`/${realm}/users/${id}`))!;
const usersWithEmail = async (email: string) =>
  (await admin.get<Json[]>(`/${realm}/users?email=${encodeURIComponent(email)}&exact=true&briefRepresentation=false`)) ?? [];
const usersWithPhone = async (phone: string) =>
  ((await admin.get<Json[]>(`/${realm}/users?q=${encodeURIComponent(`phone:${phone}`)}&briefRepresentation=false`)) ?? []).filter(
    (u) => u.attributes?.phone?.[0] === phone,
  );

async function upstream(path: string, init: { method?: string; body?: unknown } = {}): Promise<Json | null> {
  const res = await fetch(`${stack.upstreamUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${stack.settings.upstreamApiKey}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return res.status === 404 ? null : ((await res.json()) as Json);
}
const upstreamOf = (userId: string) => upstream(`/v1/users/by-external-id/${userId}`);
const upstreamHolder = async (lookup: { email: string } | { phone: string }) =>
  ((await upstream('/v1/users/search', { method: 'POST', body: lookup }))?.items?.[0] as Json | undefined) ?? null;

const takeoversOf = (loserUserId: string): Promise<IdentifierTakeoverRecord[]> =>
  bff.container.orm.em.fork().find(IdentifierTakeoverSchema, { loserUserId }, { orderBy: { at: 'asc' } });

/** The invariant: at most one enabled account holds the identifier, and it is `winner`, verified. */
async function heldOnlyBy(identifier: { kind: 'email' | 'phone'; value: string }, winner: string): Promise<void> {
  const holders = identifier.kind === 'email' ? await usersWithEmail(identifier.value) : await usersWithPhone(identifier.value);
  expect(holders.map((u) => u.id)).toEqual([winner]);
  const [holder] = holders;
  if (identifier.kind === 'email') expect(holder!.emailVerified).toBe(true);
  else expect(holder!.attributes.phoneVerified).toEqual(['true']);
  expect((await upstreamHolder({ [identifier.kind]: identifier.value } as { email: string }))?.externalId).toBe(winner);
}

/** Registers, opens the mailed link, signs in: a confirmed account with tokens. */
async function confirmedAccount(): Promise<{ id: string; email: string; accessToken: string }> {
  const email = newEmail();
  const { userId } = await register(email);
  expect(userId).not.toBeNull();
  const [mail] = await mailsTo(email, 1);
  expect((await api('GET', `/api/v1/auth/confirm?token=${confirmationToken(mail!)}`)).status).toBe(200);
  const login = await api('POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  return { id: userId!, email, accessToken: login.body.accessToken as string };
}

/** An upstream-only member (as the core's own data has them), imported the way Keycloak's first login does. */
async function importedMember(phone: string): Promise<string> {
  const username = `member.${run}.${++counter}`;
  await upstreamDb.query(
    `INSERT INTO users (username, first_name, last_name, email, phone, status, password_hash) VALUES ($1, 'Neha', 'Member', NULL, $2, 'active', $3)`,
    [username, phone, await hashSecret(PASSWORD)],
  );
  const res = await fetch(`${bff.url}/internal/v1/keycloak/upstream-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.settings.keycloakCallbackSecret}` },
    body: JSON.stringify({ login: username, password: PASSWORD }),
  });
  const body = (await res.json()) as Json;
  expect(body, JSON.stringify(body)).toMatchObject({ outcome: 'user' });
  createdUserIds.push(body.userId as string);
  return body.userId as string;
}

// ------------------------------------------------------------------------------------------ e-mail

describe('an e-mail address held unproven', () => {
  it('register, then an OTP sign-up with the same address: the sign-up gets it verified; the registered account loses it (history, audit, upstream), and its link confirms nothing', async () => {
    const email = newEmail();
    const squatter = await register(email);
    expect(squatter.userId).not.toBeNull();
    const [linkMail] = await mailsTo(email, 1);
    const staleToken = confirmationToken(linkMail!);

    const proof = await proofFor({ kind: 'email', value: email });
    // A sign-up its password policy refuses takes nothing (the new account's password is checked first).
    const weak = await api('POST', '/api/v1/signup', { body: { firstName: 'Proven', userType: 'teacher', email, password: 'short', proof } });
    expect(weak.status).toBe(400);
    expect((await usersWithEmail(email)).map((u) => u.id)).toEqual([squatter.userId]);
    expect(await takeoversOf(squatter.userId!)).toEqual([]);

    const created = await signUp({ kind: 'email', value: email }, proof);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ email, emailVerified: true });
    const winner = created.body.userId as string;

    // The registered account: still there and enabled, without the address, which its history keeps.
    const loser = await kcUser(squatter.userId!);
    expect(loser.email).toBeUndefined();
    expect(loser.emailVerified).toBe(false);
    expect(loser.enabled).toBe(true);
    expect(loser.attributes.retiredIdentifiers).toEqual([`email:${email}`]);
    expect((await upstreamOf(squatter.userId!))!.email).toBeNull();
    await heldOnlyBy({ kind: 'email', value: email }, winner);

    // The audit: who lost what to which operation, the address only masked and keyed-hashed.
    const [takeover, ...more] = await takeoversOf(squatter.userId!);
    expect(more).toEqual([]);
    expect(takeover).toMatchObject({
      status: 'done',
      operation: 'sign-up',
      kind: 'email',
      winnerUserId: winner,
      notifiedVia: 'none',
      identifierMasked: `p•••@example.com`,
    });
    expect(takeover!.doneAt).toBeInstanceOf(Date);
    expect(JSON.stringify(takeover)).not.toContain(email);

    // The link mailed to the registration no longer confirms anything, and never takes the address back.
    const stale = await api('GET', `/api/v1/auth/confirm?token=${staleToken}`);
    expect(stale.status).toBe(400);
    expect(stale.body.fields.map((f: Json) => `${f.field}:${f.reason}`)).toEqual(['query.token:invalid_or_expired']);
    expect((await kcUser(squatter.userId!)).email).toBeUndefined();
    await heldOnlyBy({ kind: 'email', value: email }, winner);

    // The address signs in to the proven account only: the registration's password is not its password.
    expect((await api('POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } })).status).toBe(401);
    expect((await api('POST', '/api/v1/auth/login', { body: { email, password: OTHER_PASSWORD } })).status).toBe(200);
    // And an unproven registration cannot take it back.
    expect((await register(email)).userId).toBeNull();
    await heldOnlyBy({ kind: 'email', value: email }, winner);
  });

  it('a portal e-mail change (PUT /api/v1/user with a proof) takes the address from an account holding it unproven; a bad proof takes nothing', async () => {
    const email = newEmail();
    const squatter = await register(email);
    const person = await confirmedAccount();

    const forged = await api('PUT', '/api/v1/user', { bearer: person.accessToken, body: { email, emailProof: 'forged-proof-value' } });
    expect(forged.status).toBe(400);
    expect((await kcUser(squatter.userId!)).email).toBe(email);
    expect(await takeoversOf(squatter.userId!)).toEqual([]);

    const changed = await api('PUT', '/api/v1/user', {
      bearer: person.accessToken,
      body: { email, emailProof: await proofFor({ kind: 'email', value: email }, 'change-identifier') },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ email, emailVerified: true });
    expect(await kcUser(squatter.userId!)).toMatchObject({ emailVerified: false, attributes: { retiredIdentifiers: [`email:${email}`] } });
    expect((await kcUser(squatter.userId!)).email).toBeUndefined();
    expect((await upstreamOf(squatter.userId!))!.email).toBeNull();
    expect((await upstreamOf(person.id))!.email).toBe(email);
    await heldOnlyBy({ kind: 'email', value: email }, person.id);
    expect(await takeoversOf(squatter.userId!)).toMatchObject([{ status: 'done', operation: 'profile-change', winnerUserId: person.id }]);
  });

  it('an account with a verified phone is told by SMS (address masked) when it loses its unproven e-mail', async () => {
    const phone = newPhone();
    const holder = await signUp({ kind: 'phone', value: phone }, await proofFor({ kind: 'phone', value: phone }), 'Phone');
    expect(holder.status).toBe(201);
    const email = newEmail();
    // An address typed in by an admin: not proven.
    await admin.put(`/${realm}/users/${holder.body.userId}`, { ...(await kcUser(holder.body.userId as string)), email, emailVerified: false });
    const smsBefore = (await inboxMessages(stack, 'sms', phone)).length;

    const created = await signUp({ kind: 'email', value: email }, await proofFor({ kind: 'email', value: email }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await heldOnlyBy({ kind: 'email', value: email }, created.body.userId as string);
    await expect.poll(async () => (await inboxMessages(stack, 'sms', phone)).length, { timeout: 10_000 }).toBe(smsBefore + 1);
    const notice = (await inboxMessages(stack, 'sms', phone)).at(-1)!.text;
    expect(notice).toContain('p•••@example.com');
    expect(notice).not.toContain(email);
    expect(await takeoversOf(holder.body.userId as string)).toMatchObject([{ status: 'done', notifiedVia: 'sms' }]);
  });
});

// -------------------------------------------------------------------------------------------- phone

describe('a phone number held unproven', () => {
  it('a member imported at first login (phone from the core, not proven) loses it to an OTP sign-up with that phone; the core is told', async () => {
    const phone = newPhone();
    const member = await importedMember(phone);
    expect((await kcUser(member)).attributes).toMatchObject({ phone: [phone], phoneVerified: ['false'] });

    const created = await signUp({ kind: 'phone', value: phone }, await proofFor({ kind: 'phone', value: phone }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ phone, phoneVerified: true });
    const loser = await kcUser(member);
    expect(loser.attributes.phone).toBeUndefined();
    expect(loser.attributes.phoneVerified).toBeUndefined();
    expect(loser.attributes.retiredIdentifiers).toEqual([`phone:${phone}`]);
    expect(loser.enabled).toBe(true);
    // The member's profile in the core no longer has it; the new account's does.
    expect((await upstream(`/v1/users/${loser.attributes.upstreamUserId[0]}`))!.phone).toBeNull();
    await heldOnlyBy({ kind: 'phone', value: phone }, created.body.userId as string);
    // The member has no proven address: nobody to tell.
    expect(await takeoversOf(member)).toMatchObject([{ status: 'done', operation: 'sign-up', kind: 'phone', notifiedVia: 'none' }]);
  });

  it('an account with a confirmed e-mail is told by mail (number masked) when it loses an unproven phone to a portal change', async () => {
    const holder = await confirmedAccount();
    const phone = newPhone();
    // A number typed in by an admin: not proven.
    const user = await kcUser(holder.id);
    await admin.put(`/${realm}/users/${holder.id}`, { ...user, attributes: { ...user.attributes, phone: [phone], phoneVerified: ['false'] } });
    const person = await confirmedAccount();

    const changed = await api('PUT', '/api/v1/user', {
      bearer: person.accessToken,
      body: { phone, phoneProof: await proofFor({ kind: 'phone', value: phone }, 'change-identifier') },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ phone, phoneVerified: true });
    await heldOnlyBy({ kind: 'phone', value: phone }, person.id);
    expect((await kcUser(holder.id)).attributes).toMatchObject({ retiredIdentifiers: [`phone:${phone}`] });
    // Told at its confirmed address (the second mail after the confirmation link), the number masked.
    const [, notice] = await mailsTo(holder.email, 2);
    expect(notice!.subject).toBe('A phone number was removed from your account');
    expect(notice!.text).toContain(`${phone.slice(0, 3)} ••••• •••${phone.slice(-2)}`);
    expect(notice!.text).not.toContain(phone);
    expect(await takeoversOf(holder.id)).toMatchObject([{ status: 'done', operation: 'profile-change', notifiedVia: 'email' }]);
  });
});

// ---------------------------------------------------------------------------------- races and limits

describe('races', () => {
  it('register racing a proven sign-up for the same address (5 times): the proven one always holds it, never two enabled accounts', async () => {
    for (let i = 0; i < 5; i++) {
      const email = newEmail();
      const proof = await proofFor({ kind: 'email', value: email });
      const mailsBefore = (await inboxMessages(stack, 'mails', email)).length;
      const [registered, created] = await Promise.all([
        api('POST', '/api/v1/auth/register', { body: { firstName: 'Racer', lastName: `Reg${run}`, email, password: PASSWORD } }),
        signUp({ kind: 'email', value: email }, proof),
      ]);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(registered.status, JSON.stringify(registered.body)).toBeLessThan(500);
      if (registered.status < 300) await registrationDone(email, mailsBefore);
      const winner = created.body.userId as string;
      await heldOnlyBy({ kind: 'email', value: email }, winner);
      // When the registration came first, its account lost the address (and says so); otherwise it made none.
      const takeovers = await bff.container.orm.em.fork().find(IdentifierTakeoverSchema, { winnerUserId: winner });
      for (const t of takeovers) {
        createdUserIds.push(t.loserUserId);
        expect(t.status).toBe('done');
        expect((await kcUser(t.loserUserId)).attributes.retiredIdentifiers).toEqual([`email:${email}`]);
      }
      expect(takeovers.length).toBeLessThanOrEqual(1);
    }
  });

  it('two proofs racing for the same address: one account gets it, the other a clear 409', async () => {
    const email = newEmail();
    const first = await proofFor({ kind: 'email', value: email });
    const second = await proofFor({ kind: 'email', value: email });
    const answers = await Promise.all([signUp({ kind: 'email', value: email }, first, 'First'), signUp({ kind: 'email', value: email }, second, 'Second')]);
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 409]);
    const refused = answers.find((a) => a.status === 409)!;
    expect(refused.body).toMatchObject({ code: 'ACCOUNT_EXISTS', fields: [{ field: 'email', reason: 'taken' }] });
    await heldOnlyBy({ kind: 'email', value: email }, answers.find((a) => a.status === 201)!.body.userId as string);
  });
});

describe('what still blocks', () => {
  it('a verified holder: a proven sign-up for its address (or phone) gets 409 and changes nothing', async () => {
    const holder = await confirmedAccount();
    const refused = await signUp({ kind: 'email', value: holder.email }, await proofFor({ kind: 'email', value: holder.email }));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'ACCOUNT_EXISTS', fields: [{ field: 'email', reason: 'taken' }] });
    await heldOnlyBy({ kind: 'email', value: holder.email }, holder.id);
    expect((await kcUser(holder.id)).attributes.retiredIdentifiers).toBeUndefined();
    expect(await takeoversOf(holder.id)).toEqual([]);

    const phone = newPhone();
    const phoneHolder = await signUp({ kind: 'phone', value: phone }, await proofFor({ kind: 'phone', value: phone }));
    expect(phoneHolder.status).toBe(201);
    const again = await signUp({ kind: 'phone', value: phone }, await proofFor({ kind: 'phone', value: phone }));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'ACCOUNT_EXISTS', fields: [{ field: 'phone', reason: 'taken' }] });
    await heldOnlyBy({ kind: 'phone', value: phone }, phoneHolder.body.userId as string);
  });

  it('an unproven claim never takes an identifier from anyone: the account service refuses it whether its holder proved it or not', async () => {
    const unproven = newEmail();
    const squatter = await register(unproven);
    const proven = await confirmedAccount();
    for (const email of [unproven, proven.email]) {
      const refused = await bff.container.accounts
        .create(
          { firstName: 'Late', email, emailVerified: false, phoneVerified: false, password: PASSWORD, signUpType: 'api' },
          { idempotencyKey: randomUUID() },
        )
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(DomainError);
      expect(refused).toMatchObject({ code: 'ACCOUNT_EXISTS', fields: [{ field: 'email', reason: 'taken' }] });
    }
    expect((await usersWithEmail(unproven)).map((u) => u.id)).toEqual([squatter.userId]);
    await heldOnlyBy({ kind: 'email', value: proven.email }, proven.id);
  });
});

// --------------------------------------------------------------------------------------- resumable

describe('a takeover interrupted half-way', () => {
  it('the upstream core failing while the holder is stripped: 503, nothing lost; the retry finishes the same audit row and the sign-up', async () => {
    const email = newEmail();
    const squatter = await register(email);
    const proof = await proofFor({ kind: 'email', value: email });
    const dead = new HttpUpstreamCore({ baseUrl: `http://127.0.0.1:${await freePort()}`, apiKey: 'x'.repeat(16), retry: { maxAttempts: 1 } });
    // The real core, except that profile changes (the holder's upstream profile) cannot be made.
    const failing = new Proxy(bff.container.upstreamCore, {
      get(target, name: string | symbol) {
        const value = Reflect.get(name === 'updateProfile' ? dead : target, name) as unknown;
        return typeof value === 'function' ? value.bind(name === 'updateProfile' ? dead : target) : value;
      },
    }) as UpstreamCore;
    const broken = new PlatformAccountService({
      directory: bff.container.identityDirectory,
      upstream: failing,
      em: bff.container.orm.em,
      logger: createLogger({ level: 'silent' }),
      identifierHashKey: bff.container.config.otpHashKey,
      encryption: bff.container.fieldEncryption,
    });
    const input = { firstName: 'Proven', email, emailVerified: true, phoneVerified: false, password: OTHER_PASSWORD, signUpType: 'self' as const };
    const key = `sign-up:${proof}`;
    const failed = await broken.create(input, { idempotencyKey: key }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    // Nothing lost: the holder still has the address, nothing else holds it, the takeover is pending.
    expect((await usersWithEmail(email)).map((u) => u.id)).toEqual([squatter.userId]);
    expect(await takeoversOf(squatter.userId!)).toMatchObject([{ status: 'pending', operation: 'sign-up' }]);

    // The person's retry (the same proof, through the API) finishes that row and the sign-up.
    const created = await signUp({ kind: 'email', value: email }, proof);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await heldOnlyBy({ kind: 'email', value: email }, created.body.userId as string);
    const rows = await takeoversOf(squatter.userId!);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'done', winnerUserId: created.body.userId });
    expect((await kcUser(squatter.userId!)).attributes.retiredIdentifiers).toEqual([`email:${email}`]);
    // A replay of the finished sign-up takes nothing more.
    expect((await signUp({ kind: 'email', value: email }, proof)).status).toBe(200);
    expect(await takeoversOf(squatter.userId!)).toHaveLength(1);
  });
});

// ------------------------------------------------------------------------------------------ Google

describe("a trusted identity provider's verified e-mail", () => {
  let atStackUrl: TestBff;
  beforeAll(async () => {
    // Keycloak's platform-bff-check calls the BFF at the stack's URL.
    atStackUrl = await startTestBff(stack, { REDIS_PREFIX: keys.prefix }, { atStackUrl: true });
  });
  afterAll(async () => {
    await atStackUrl?.close();
  });

  it('a first login through Google with an address an account holds unproven: a new account with it verified; the holder loses it', async () => {
    const email = newEmail();
    const squatter = await register(email);
    const googleUser = `g-precedence-${run}-${counter}`;
    await admin.post('/google-demo/users', {
      username: googleUser,
      email,
      emailVerified: true,
      firstName: 'Google',
      lastName: 'Owner',
      enabled: true,
      credentials: [{ type: 'password', value: stack.settings.demoUserPassword, temporary: false }],
    });
    const page = await browser().newPage();
    const tokens = await portalSignIn(
      stack,
      page,
      async (p) => {
        await p.waitForURL(/\/realms\/google-demo\//);
        await p.locator('#username').fill(googleUser);
        await p.locator('#password').fill(stack.settings.demoUserPassword);
        await p.locator('#kc-login').click();
      },
      { kc_idp_hint: 'google-demo' },
    );
    await page.close();
    // Keycloak made the person's own account: no "link to the existing account" page for someone else's.
    const winner = String(decodeJwt(tokens.id_token).sub);
    createdUserIds.push(winner);
    expect(winner).not.toBe(squatter.userId);
    expect(decodeJwt(tokens.id_token)).toMatchObject({ email, email_verified: true });
    await heldOnlyBy({ kind: 'email', value: email }, winner);
    expect((await kcUser(squatter.userId!)).attributes.retiredIdentifiers).toEqual([`email:${email}`]);
    expect(await takeoversOf(squatter.userId!)).toMatchObject([{ status: 'done', operation: 'identity-provider', winnerUserId: null }]);
  });
});
