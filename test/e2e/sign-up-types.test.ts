import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { latestCode } from '../support/inbox.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt } from '../support/oidc.ts';
import { call } from '../support/partners.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Issue 18, "user types and sign-up types" (decision 0036), against the real stack:
 * - `userType`: the realm's list (user profile options) served and enforced by the BFF, asked at
 *   sign-up, taken by registration, shown and changed through the profile API (the portal's), in
 *   tokens as `user_type` only for a client that asks for the scope `user-type`;
 * - `signUpType`: set by self sign-up and API registration here (the other paths' tests are listed in
 *   decision 0036), and read-only for the person: neither Keycloak's account REST API nor the BFF
 *   changes it.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const keys = testKeyPrefix('sign-up-types');
const PASSWORD = 'Correct-Horse-Battery-42';
const run = randomBytes(3).toString('hex');
const createdUserIds: string[] = [];
let bff: TestBff;
let counter = 0;

beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix });
});

afterAll(async () => {
  for (const id of createdUserIds) await bff?.container.accounts.delete(id).catch(() => undefined);
  await bff?.close();
  await keys.cleanup();
});

const api = (method: string, path: string, opts: { body?: unknown; token?: string } = {}) => call(`${bff.url}${path}`, method, opts);
const fieldsOf = (body: Json) => ((body.fields ?? []) as { field: string; reason: string }[]).map((f) => `${f.field}:${f.reason}`).sort();
const newEmail = () => `types.${run}.${++counter}@example.com`;
const kcUser = async (id: string) => (await admin.get<Json>(`/${realm}/users/${id}`))!;
const usersByEmail = async (email: string) => (await admin.get<Json[]>(`/${realm}/users?email=${encodeURIComponent(email)}&exact=true`))!;

async function proofFor(email: string): Promise<string> {
  expect((await api('POST', '/api/v1/otp', { body: { email } })).status).toBe(202);
  const verified = await api('POST', '/api/v1/otp/verify', { body: { email, code: await latestCode(stack, 'mails', email) } });
  expect(verified.status, JSON.stringify(verified.body)).toBe(200);
  return verified.body.proof as string;
}

/** A confirmed account made through the account service (self sign-up), with the user-api tokens of a password sign-in. */
async function signedInAccount(userType?: string): Promise<{ id: string; email: string; accessToken: string }> {
  const email = newEmail();
  const { userId } = await bff.container.accounts.create(
    { firstName: 'Typed', email, emailVerified: true, phoneVerified: false, password: PASSWORD, signUpType: 'self', ...(userType ? { userType } : {}) },
    { idempotencyKey: `sign-up-types:${email}` },
  );
  createdUserIds.push(userId);
  const login = await api('POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  return { id: userId, email, accessToken: login.body.accessToken as string };
}

/** Keycloak's password grant of the user-api client, optionally asking for scopes. */
async function userApiToken(email: string, scope?: string): Promise<Json> {
  const res = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'user-api',
      client_secret: stack.settings.userApiClientSecret,
      username: email,
      password: PASSWORD,
      scope: ['openid', ...(scope ? [scope] : [])].join(' '),
    }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

describe('userType: the realm list, asked at sign-up', () => {
  it("GET /api/v1/user-types is the realm's user profile options, labelled in English and Hindi", async () => {
    const res = await api('GET', '/api/v1/user-types');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [
        { value: 'teacher', label: { en: 'Teacher', hi: 'शिक्षक' } },
        { value: 'other', label: { en: 'Other', hi: 'अन्य' } },
      ],
    });
  });

  it('sign-up requires one of them (400 naming userType, nothing sent or created), stores it with signUpType selfSignUp', async () => {
    const email = newEmail();
    const details = { firstName: 'Asha', email, password: PASSWORD };

    const missing = await api('POST', '/api/v1/signup/check', { body: details });
    expect(missing.status).toBe(400);
    expect(fieldsOf(missing.body)).toEqual(['userType:required']);
    const unknown = await api('POST', '/api/v1/signup/check', { body: { ...details, userType: 'principal' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.fields).toEqual([{ field: 'userType', reason: 'invalid_value', message: 'One of: teacher, other' }]);
    // Told with the other problems at once, like every detail.
    const both = await api('POST', '/api/v1/signup/check', { body: { ...details, userType: 'principal', username: '!' } });
    expect(fieldsOf(both.body)).toEqual(['userType:invalid_value', 'username:invalid_format']);
    expect((await api('POST', '/api/v1/signup/check', { body: { ...details, userType: 'teacher' } })).status).toBe(200);

    const proof = await proofFor(email);
    const refused = await api('POST', '/api/v1/signup', { body: { ...details, userType: 'Teacher', proof } });
    expect(refused.status).toBe(400);
    expect(fieldsOf(refused.body)).toEqual(['userType:invalid_value']);
    expect(fieldsOf((await api('POST', '/api/v1/signup', { body: { ...details, proof } })).body)).toEqual(['userType:required']);
    expect(await usersByEmail(email)).toEqual([]);

    const created = await api('POST', '/api/v1/signup', { body: { ...details, userType: 'teacher', proof } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    createdUserIds.push(created.body.userId);
    const user = await kcUser(created.body.userId);
    expect(user.attributes).toMatchObject({ userType: ['teacher'], signUpType: ['selfSignUp'] });
  });

  it('registration (seed 001) takes it optionally: an unknown one is 400 before anything is accepted; stored with signUpType apiRegistration', async () => {
    const email = newEmail();
    const body = { firstName: 'Ravi', email, password: PASSWORD };
    const bad = await api('POST', '/api/v1/auth/register', { body: { ...body, userType: 'principal' } });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad.body)).toEqual(['userType:invalid_value']);

    expect((await api('POST', '/api/v1/auth/register', { body: { ...body, userType: 'other' } })).status).toBe(202);
    let user: Json | undefined;
    // The registration completes after the 202, in the background.
    await expect
      .poll(
        async () => {
          user = (await usersByEmail(email))[0];
          return user?.attributes?.upstreamUserId?.length ?? 0;
        },
        { timeout: 20_000 },
      )
      .toBe(1);
    createdUserIds.push(user!.id);
    expect(user!.attributes).toMatchObject({ userType: ['other'], signUpType: ['apiRegistration'] });
  });
});

describe('userType: the profile (the portal) shows and changes it', () => {
  it('GET /api/v1/user shows it; PUT changes it (Keycloak only); an unknown value is 400 naming userType and changes nothing', async () => {
    const account = await signedInAccount();
    const before = await api('GET', '/api/v1/user', { token: account.accessToken });
    expect(before.body.userType).toBeNull();

    const chosen = await api('PUT', '/api/v1/user', { token: account.accessToken, body: { userType: 'teacher' } });
    expect(chosen.status, JSON.stringify(chosen.body)).toBe(200);
    expect(chosen.body.userType).toBe('teacher');
    expect((await kcUser(account.id)).attributes).toMatchObject({ userType: ['teacher'], signUpType: ['selfSignUp'] });

    const bad = await api('PUT', '/api/v1/user', { token: account.accessToken, body: { userType: 'principal', firstName: 'Changed' } });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad.body)).toEqual(['userType:invalid_value']);
    const after = await kcUser(account.id);
    expect(after.attributes.userType).toEqual(['teacher']);
    expect(after.firstName).toBe('Typed');
    expect(fieldsOf((await api('PUT', '/api/v1/user', { token: account.accessToken, body: { userType: '' } })).body)).toEqual(['userType:required']);
  });

  it('is in tokens as user_type only for a client that asks for the scope user-type', async () => {
    const account = await signedInAccount('other');
    const plain = await userApiToken(account.email);
    expect(decodeJwt(plain.access_token).user_type).toBeUndefined();
    expect(decodeJwt(plain.id_token).user_type).toBeUndefined();
    const asked = await userApiToken(account.email, 'user-type');
    expect(asked.scope.split(' ')).toContain('user-type');
    expect(decodeJwt(asked.access_token).user_type).toBe('other');
    expect(decodeJwt(asked.id_token).user_type).toBe('other');
    // A scope the client does not have is not granted: the partner clients and userTokens stay without it.
    const clients = (await admin.get<Json[]>(`/${realm}/clients?max=1000`))!;
    const withScope = clients.filter((c) => [...(c.defaultClientScopes ?? []), ...(c.optionalClientScopes ?? [])].includes('user-type')).map((c) => c.clientId);
    expect(withScope.sort()).toEqual(['portal', 'user-api']);
  });
});

describe('signUpType: read-only for the person, visible to admins', () => {
  it("Keycloak's account REST API changes userType but not signUpType", async () => {
    const account = await signedInAccount('teacher');
    const token = (await userApiToken(account.email)).access_token as string;
    const url = `${stack.keycloakUrl}/realms/${realm}/account`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' };
    const mine = (await (await fetch(url, { headers })).json()) as Json;
    expect(mine.attributes.userType).toEqual(['teacher']);
    // Not even shown to the person (view: admin only).
    expect(mine.attributes.signUpType).toBeUndefined();

    const forged = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ ...mine, attributes: { ...mine.attributes, signUpType: ['partner'], userType: ['other'] } }),
    });
    // Refused whole, naming the attribute: nothing of the request is applied.
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ field: 'signUpType', errorMessage: 'error-user-attribute-read-only' });
    expect((await kcUser(account.id)).attributes).toMatchObject({ signUpType: ['selfSignUp'], userType: ['teacher'] });

    const own = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ ...mine, attributes: { ...mine.attributes, userType: ['other'] } }) });
    expect(own.status).toBe(204);
    expect((await kcUser(account.id)).attributes).toMatchObject({ userType: ['other'], signUpType: ['selfSignUp'] });
  });

  it("the BFF's profile API refuses it by name and changes nothing", async () => {
    const account = await signedInAccount();
    const res = await api('PUT', '/api/v1/user', { token: account.accessToken, body: { signUpType: 'partner', firstName: 'Typed' } });
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual(['signUpType:not_allowed']);
    expect((await kcUser(account.id)).attributes.signUpType).toEqual(['selfSignUp']);
  });

  it("the realm's user profile: userType seen and edited by admins and the person, signUpType by admins only, both labelled in English and Hindi", async () => {
    const profile = (await admin.get<Json>(`/${realm}/users/profile`))!;
    const attribute = (name: string) => (profile.attributes as Json[]).find((a) => a.name === name)!;
    expect(attribute('userType')).toMatchObject({
      displayName: `\${profile.attributes.userType}`,
      validations: { options: { options: ['teacher', 'other'] } },
      annotations: { inputType: 'select' },
      permissions: { view: expect.arrayContaining(['admin', 'user']), edit: expect.arrayContaining(['admin', 'user']) },
    });
    // Not required: accounts made by admins, imports and brokered sign-ins have none until chosen.
    expect(attribute('userType').required).toBeUndefined();
    expect(attribute('signUpType').permissions).toEqual({ view: ['admin'], edit: ['admin'] });
    for (const language of ['en', 'hi']) {
      const texts = (await admin.get<Record<string, string>>(`/${realm}/localization/${language}`))!;
      for (const name of ['userType', 'signUpType']) {
        const { displayName, annotations } = attribute(name);
        for (const label of [displayName, ...Object.values(annotations.inputOptionLabels as Record<string, string>)]) {
          const key = /^\$\{(.+)\}$/.exec(label)?.[1];
          expect(key && texts[key], `${language} ${label}`).toBeTruthy();
        }
      }
      expect(Object.keys(attribute('signUpType').annotations.inputOptionLabels)).toEqual(attribute('signUpType').validations.options.options);
    }
  });
});
