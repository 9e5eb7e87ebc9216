import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { inboxMessages, latestCode } from '../support/inbox.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call, platformAdminToken, registerPartner, uniqueId, type TestPartner } from '../support/partners.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Issue 14 §2, decision 0016: an e-mail or phone a partner supplies (or a user types at the KBA step)
 * is a contact candidate on the new account, never its identifier. So it never blocks the real owner
 * (OTP sign-up, register), never makes an enrollment fail, and never links the DBP user to an account
 * that holds it. Real BFF against the e2e stack's Keycloak, upstream core, dev inbox, PostgreSQL, Redis.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const kcAdmin = adminFor(stack);
const keys = testKeyPrefix(uniqueId('partner-ids'));
const PASSWORD = 'Correct-Horse-Battery-42';
let bff: TestBff;
let trusted: TestPartner;
let untrusted: TestPartner;
const appKey = { trustedAuto: uniqueId('auto-trusted'), consent: uniqueId('consent'), standard: uniqueId('std') };
const createdUserIds: string[] = [];

beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix });
  const adminToken = await platformAdminToken(stack);
  trusted = await registerPartner(stack, bff.url, adminToken, {
    trustAuth: true,
    appKeys: [{ appKey: appKey.trustedAuto, autoEnroll: true, kbaBypass: false }],
  });
  untrusted = await registerPartner(stack, bff.url, adminToken, {
    trustAuth: false,
    appKeys: [
      { appKey: appKey.consent, autoEnroll: true, kbaBypass: true },
      { appKey: appKey.standard, autoEnroll: false, kbaBypass: false },
    ],
  });
});

afterAll(async () => {
  for (const id of createdUserIds) await bff?.container.accounts.delete(id).catch(() => undefined);
  await bff?.close();
  await keys.cleanup();
});

const run = randomBytes(3).toString('hex');
let counter = 0;
const newEmail = () => `owner.${run}.${++counter}@example.com`;
/** A valid Indian mobile number (the sign-up's default country), E.164. */
const newPhone = () => `+919${String(randomBytes(4).readUInt32BE() % 1e9).padStart(9, '0')}`;

const person = (extra: Json = {}) => ({ firstName: 'Riya', lastName: uniqueId('Partner'), dob: '1991-02-03', ...extra });

async function mappingOf(key: string, dbpUserId: string): Promise<string[]> {
  const rows = await bff.container.orm.em
    .getConnection()
    .execute<{ user_id: string }[]>('select user_id from partner_user_mapping where app_key = ? and dbp_user_id = ?', [key, dbpUserId]);
  return rows.map((r) => r.user_id);
}

const kcUser = async (id: string) => (await kcAdmin.get<Json>(`/${realm}/users/${id}`))!;
const usersWithEmail = async (email: string) => (await kcAdmin.get<Json[]>(`/${realm}/users?email=${encodeURIComponent(email)}&exact=true`))!;
const usersWithPhone = (phone: string) => bff.container.identityDirectory.findUsersByAttribute('phone', phone);

/** Enrolls a DBP user with `pii` on the trustAuth path (POST) or the consent path (POST, PATCH); the new user's id. */
async function enroll(path: 'trustAuth' | 'consent', pii: Json): Promise<{ dbpUserId: string; userId: string }> {
  const dbpUserId = uniqueId('u');
  const [partner, key] = path === 'trustAuth' ? [trusted, appKey.trustedAuto] : [untrusted, appKey.consent];
  const res = await call(`${bff.url}/api/auth/v1`, 'POST', { token: partner.serverToken, body: { appKey: key, dbpUserId, pii } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  if (path === 'consent') {
    const consented = await call(`${bff.url}/api/auth/v1/${res.body.authToken}`, 'PATCH');
    expect(consented.status, JSON.stringify(consented.body)).toBe(200);
  }
  const [userId] = await mappingOf(key, dbpUserId);
  expect(userId).toBeDefined();
  createdUserIds.push(userId!);
  return { dbpUserId, userId: userId! };
}

/** The partner's user: no e-mail and no phone of any kind, the PII's as admin-only candidates, and nothing of it upstream. */
async function expectCandidatesOnly(userId: string, candidates: { email?: string; phone?: string }) {
  const user = await kcUser(userId);
  expect(user.email).toBeUndefined();
  expect(user.emailVerified).toBe(false);
  expect(user.attributes.phone).toBeUndefined();
  expect(user.attributes.phoneVerified).toBeUndefined();
  expect(user.attributes.partnerContactEmail).toEqual(candidates.email ? [candidates.email] : undefined);
  expect(user.attributes.partnerContactPhone).toEqual(candidates.phone ? [candidates.phone] : undefined);
  expect(user.enabled).toBe(true);
  const profile = (await bff.container.upstreamCore.getUser(user.attributes.upstreamUserId[0]))!;
  expect(profile).toMatchObject({ externalId: userId, email: null, phone: null });
}

/** OTP send, code from the dev inbox, verify: the proof for `identifier`. */
async function proofFor(identifier: { email: string } | { phone: string }): Promise<string> {
  const [kind, to] = 'email' in identifier ? (['mails', identifier.email] as const) : (['sms', identifier.phone] as const);
  const before = (await inboxMessages(stack, kind, to)).length;
  const sent = await call(`${bff.url}/api/v1/otp`, 'POST', { body: identifier });
  expect(sent.status, JSON.stringify(sent.body)).toBe(202);
  const verified = await call(`${bff.url}/api/v1/otp/verify`, 'POST', { body: { ...identifier, code: await latestCode(stack, kind, to, before) } });
  expect(verified.status, JSON.stringify(verified.body)).toBe(200);
  return verified.body.proof as string;
}

async function signUp(identifier: { email: string } | { phone: string }, proof: string) {
  const res = await call(`${bff.url}/api/v1/signup`, 'POST', {
    body: { firstName: 'Real Owner', userType: 'other', ...identifier, password: PASSWORD, proof },
  });
  if (res.status === 201) createdUserIds.push(res.body.userId);
  return res;
}

describe('a partner-supplied e-mail and phone are contact candidates, never identifiers', () => {
  for (const path of ['trustAuth', 'consent'] as const) {
    it(`${path} path: the new user holds them only as candidates; the real owner then signs up with each by OTP (201, verified)`, async () => {
      const email = newEmail();
      const phone = newPhone();
      const { userId } = await enroll(path, person({ email, phone }));
      await expectCandidatesOnly(userId, { email, phone });
      // Nothing finds the partner's user by these values: they identify nobody.
      expect(await usersWithEmail(email)).toEqual([]);
      expect(await usersWithPhone(phone)).toEqual([]);

      const byEmail = await signUp({ email }, await proofFor({ email }));
      expect(byEmail.status, JSON.stringify(byEmail.body)).toBe(201);
      expect(byEmail.body).toMatchObject({ email, emailVerified: true });
      expect(byEmail.body.userId).not.toBe(userId);
      expect((await usersWithEmail(email)).map((u) => u.id)).toEqual([byEmail.body.userId]);

      const byPhone = await signUp({ phone }, await proofFor({ phone }));
      expect(byPhone.status, JSON.stringify(byPhone.body)).toBe(201);
      expect(byPhone.body.userId).not.toBe(userId);
      const phoneOwner = await kcUser(byPhone.body.userId);
      expect(phoneOwner.attributes).toMatchObject({ phone: [phone], phoneVerified: ['true'] });
      expect((await usersWithPhone(phone)).map((u) => u.id)).toEqual([byPhone.body.userId]);

      // The partner's user is as it was: the owners' sign-ups took nothing from it, and it got nothing.
      await expectCandidatesOnly(userId, { email, phone });
    });
  }

  it('POST /api/v1/auth/register with an e-mail a partner supplied: a separate account, the confirmation goes to that address', async () => {
    const email = newEmail();
    const { userId } = await enroll('trustAuth', person({ email }));
    const mailsBefore = (await inboxMessages(stack, 'mails', email)).length;
    const res = await call(`${bff.url}/api/v1/auth/register`, 'POST', { body: { firstName: 'Real', lastName: 'Owner', email, password: PASSWORD } });
    // The same answer for every address (decision 0019); the account is made after it.
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    await bff.container.background.idle();
    const owners = await usersWithEmail(email);
    expect(owners).toHaveLength(1);
    createdUserIds.push(owners[0]!.id);
    expect(owners[0]).toMatchObject({ emailVerified: false });
    expect(owners[0]!.id).not.toBe(userId);
    await expect.poll(async () => (await inboxMessages(stack, 'mails', email)).length, { timeout: 20_000 }).toBe(mailsBefore + 1);
    expect((await inboxMessages(stack, 'mails', email)).some((m) => m.text.includes('/api/v1/auth/confirm?token='))).toBe(true);
    await expectCandidatesOnly(userId, { email });
  });

  it("a candidate is no way in: neither Keycloak's forgot-password nor the BFF's confirmation mails it, and no login finds it", async () => {
    const email = newEmail();
    await enroll('trustAuth', person({ email }));
    // Control: the same requests for an account that holds its e-mail do send mail (both send before answering).
    const control = newEmail();
    const holder = await bff.container.accounts.create(
      { firstName: 'Control', email: control, emailVerified: true, phoneVerified: false, password: PASSWORD, signUpType: 'self' },
      { idempotencyKey: randomUUID() },
    );
    createdUserIds.push(holder.userId);

    // Keycloak's reset flow asks the BFF at the stack's URL about upstream-only members (decision 0012).
    const atStackUrl = await startTestBff(stack, { REDIS_PREFIX: keys.prefix }, { atStackUrl: true });
    try {
      for (const address of [email, control]) await forgotPassword(address);
    } finally {
      await atStackUrl.close();
    }
    expect((await call(`${bff.url}/api/v1/auth/send`, 'POST', { body: { email } })).status).toBe(202);
    const login = await call(`${bff.url}/api/v1/auth/login`, 'POST', { body: { email, password: PASSWORD } });
    expect(login.status).toBe(401);
    await expect.poll(async () => (await inboxMessages(stack, 'mails', control)).length, { timeout: 20_000 }).toBe(1);
    expect(await inboxMessages(stack, 'mails', email)).toEqual([]);
  });
});

/** Keycloak's "Forgot password?" page, submitted with `email` (it answers the same whether or not anyone has it). */
async function forgotPassword(email: string): Promise<void> {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      jar.set(pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const authorize = new URL(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/auth`);
  authorize.search = new URLSearchParams({
    client_id: 'portal',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: `${stack.settings.bffPublicUrl}/portal/`,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  }).toString();
  let res = await fetch(authorize, { redirect: 'manual' });
  expect(res.status).toBe(200);
  keep(res);
  res = await fetch(`${stack.keycloakUrl}/realms/${realm}/login-actions/reset-credentials?client_id=portal`, { headers: { cookie: cookie() } });
  keep(res);
  const action = /action="([^"]+)"/.exec(await res.text())?.[1]?.replaceAll('&amp;', '&');
  expect(action).toContain('reset-credentials');
  res = await fetch(action!, {
    method: 'POST',
    headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: email }),
    redirect: 'manual',
  });
  expect(res.status).toBeLessThan(400);
}

describe('PII that an existing account holds', () => {
  /** What an enrollment must not touch on the holder's account. */
  const snapshot = async (id: string) => {
    const { access: _access, ...user } = await kcUser(id);
    const links = await kcAdmin.get<Json[]>(`/${realm}/users/${id}/federated-identity`);
    return { user, links };
  };

  for (const path of ['trustAuth', 'consent'] as const) {
    it(`${path} path: the enrollment succeeds with a NEW account; the holder's account is unchanged and never mapped`, async () => {
      const email = newEmail();
      const phone = newPhone();
      const holder = await bff.container.accounts.create(
        { firstName: 'Holder', email, phone, emailVerified: true, phoneVerified: true, password: PASSWORD, signUpType: 'self' },
        { idempotencyKey: randomUUID() },
      );
      createdUserIds.push(holder.userId);
      const before = await snapshot(holder.userId);

      const { dbpUserId, userId } = await enroll(path, person({ email, phone }));
      expect(userId).not.toBe(holder.userId);
      await expectCandidatesOnly(userId, { email, phone });
      expect(await snapshot(holder.userId)).toEqual(before);
      expect(before.links).toEqual([]);
      expect((await usersWithEmail(email)).map((u) => u.id)).toEqual([holder.userId]);
      expect((await usersWithPhone(phone)).map((u) => u.id)).toEqual([holder.userId]);

      // The DBP user is enrolled (the SPEC table's "enrolled" row), as the new account.
      const [partner, key] = path === 'trustAuth' ? [trusted, appKey.trustedAuto] : [untrusted, appKey.consent];
      const again = await call(`${bff.url}/api/auth/v1`, 'POST', {
        token: partner.serverToken,
        body: { appKey: key, dbpUserId, pii: person({ email, phone }) },
      });
      expect(again.status).toBe(200);
      const exchanged = await call(`${bff.url}/api/auth/v1/${again.body.authToken}`, 'GET');
      expect(exchanged.status).toBe(200);
      expect(JSON.parse(Buffer.from(exchanged.body.userToken.split('.')[1], 'base64url').toString()).sub).toBe(userId);
      expect(await mappingOf(key, dbpUserId)).toEqual([userId]);
    });
  }

  it('held by another profile in the upstream core: the enrollment still succeeds (nothing of it is sent upstream)', async () => {
    const email = newEmail();
    const phone = newPhone();
    const upstreamOnly = await bff.container.upstreamCore.createUser({
      externalId: randomUUID(),
      firstName: 'Upstream',
      lastName: null,
      username: null,
      email,
      phone,
    });
    try {
      const { userId } = await enroll('trustAuth', person({ email, phone }));
      await expectCandidatesOnly(userId, { email, phone });
      expect((await bff.container.upstreamCore.getUser(upstreamOnly.user.id))!).toMatchObject({ email, phone, status: 'active' });
    } finally {
      await bff.container.upstreamCore.deleteUser(upstreamOnly.user.id);
    }
  });
});

describe('enrollment and sign-up of the same address at the same moment', () => {
  it('consent PATCH and the OTP sign-ups of its e-mail and phone all succeed; only the sign-ups hold them, verified', async () => {
    const email = newEmail();
    const phone = newPhone();
    const dbpUserId = uniqueId('race');
    const posted = await call(`${bff.url}/api/auth/v1`, 'POST', {
      token: untrusted.serverToken,
      body: { appKey: appKey.consent, dbpUserId, pii: person({ email, phone }) },
    });
    expect(posted.status).toBe(201);
    const [emailProof, phoneProof] = [await proofFor({ email }), await proofFor({ phone })];

    const [consented, byEmail, byPhone] = await Promise.all([
      call(`${bff.url}/api/auth/v1/${posted.body.authToken}`, 'PATCH'),
      signUp({ email }, emailProof),
      signUp({ phone }, phoneProof),
    ]);
    expect(consented.status, JSON.stringify(consented.body)).toBe(200);
    expect(byEmail.status, JSON.stringify(byEmail.body)).toBe(201);
    expect(byPhone.status, JSON.stringify(byPhone.body)).toBe(201);

    const [userId] = await mappingOf(appKey.consent, dbpUserId);
    createdUserIds.push(userId!);
    await expectCandidatesOnly(userId!, { email, phone });
    expect(await kcUser(byEmail.body.userId)).toMatchObject({ email, emailVerified: true, enabled: true });
    expect((await kcUser(byPhone.body.userId)).attributes).toMatchObject({ phone: [phone], phoneVerified: ['true'] });
    expect((await usersWithEmail(email)).map((u) => u.id)).toEqual([byEmail.body.userId]);
    expect((await usersWithPhone(phone)).map((u) => u.id)).toEqual([byPhone.body.userId]);
  });
});

describe('standard enrollment (KBA)', () => {
  it('the e-mail and phone typed at POST …/kba replace the partner’s as candidates and become no identifier either', async () => {
    const typedEmail = newEmail();
    const typedPhone = newPhone();
    const who = person({ firstName: 'Jordan' });
    // An identity the upstream core can ask questions about.
    const seeded = await fetch(`${stack.upstreamUrl}/v1/identity-records/${uniqueId('rec')}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${stack.settings.upstreamApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        ...who,
        ssnLast4: '6789',
        questions: [{ id: 'previous-street', text: 'On which street did you live in 2015?', answer: 'Maple Avenue' }],
      }),
    });
    expect(seeded.status).toBe(200);

    const dbpUserId = uniqueId('u');
    const posted = await call(`${bff.url}/api/auth/v1`, 'POST', {
      token: untrusted.serverToken,
      body: { appKey: appKey.standard, dbpUserId, pii: { ...who, email: newEmail() } },
    });
    expect(posted.status).toBe(201);
    const asked = await call(`${bff.url}/api/auth/v1/${posted.body.authToken}/kba`, 'POST', {
      body: { pii: { ...who, ssn: '123-45-6789', email: typedEmail, phone: typedPhone } },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(200);
    const done = await call(`${bff.url}/api/auth/v1/${posted.body.authToken}/kba/answers`, 'POST', {
      body: { answers: [{ questionId: 'previous-street', answer: 'Maple Avenue' }] },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);

    const [userId] = await mappingOf(appKey.standard, dbpUserId);
    createdUserIds.push(userId!);
    await expectCandidatesOnly(userId!, { email: typedEmail, phone: typedPhone });
    expect(await usersWithEmail(typedEmail)).toEqual([]);

    const byEmail = await signUp({ email: typedEmail }, await proofFor({ email: typedEmail }));
    expect(byEmail.status, JSON.stringify(byEmail.body)).toBe(201);
    expect(byEmail.body.userId).not.toBe(userId);
  });
});

describe('the realm', () => {
  it('declares the candidates admin-only, with validators and no uniqueness, labelled in English and Hindi', async () => {
    const profile = (await kcAdmin.get<Json>(`/${realm}/users/profile`))!;
    for (const name of ['partnerContactEmail', 'partnerContactPhone']) {
      const attr = profile.attributes.find((a: Json) => a.name === name);
      expect(attr, name).toBeDefined();
      expect(attr.permissions).toEqual({ view: ['admin'], edit: ['admin'] });
      expect(attr.required).toBeUndefined();
      expect(attr.multivalued).toBe(false);
      expect(attr.displayName).toBe(`\${profile.attributes.${name}}`);
    }
    const attr = (name: string) => profile.attributes.find((a: Json) => a.name === name);
    expect(Object.keys(attr('partnerContactEmail').validations).sort()).toEqual(['email', 'length']);
    expect(attr('partnerContactPhone').validations.pattern.pattern).toBe('^\\+[1-9][0-9]{6,14}$');
    // An admin cannot store something that is not an address or a phone number there either.
    const { userId } = await enroll('trustAuth', person());
    const user = await kcUser(userId);
    const refused = await fetch(`${stack.keycloakUrl}/admin/realms/${realm}/users/${userId}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${await adminToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...user, attributes: { ...user.attributes, partnerContactEmail: ['not an address'], partnerContactPhone: ['12345'] } }),
    });
    expect(refused.status).toBe(400);
    expect((await kcUser(userId)).attributes.partnerContactEmail).toBeUndefined();
  });
});

async function adminToken(): Promise<string> {
  const res = await fetch(`${stack.keycloakUrl}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'admin-cli',
      username: stack.settings.keycloakAdminUser,
      password: stack.settings.keycloakAdminPassword,
    }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}
