import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt } from '../support/oidc.ts';

/**
 * Native-app Google sign-in (issue 19 §2, decision 0037): `POST /api/v1/google/token` with an id_token
 * of the `google-demo` realm, the stand-in for Google. Real id_tokens come from that realm's
 * `platform-broker` client (the client id the platform has at "Google", so `aud` is ours), by the
 * authorization code flow a Google SDK does. Tokens with made-up claims (expired, another audience,
 * `email_verified: false`) are signed by a key this test adds to the stand-in realm's JWKS, as Google's
 * own keys would sign them; a key that is not in the JWKS proves the signature is checked.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const admin = adminFor(stack);
const realm = stack.settings.platformRealm;
const PASSWORD = stack.settings.demoUserPassword;
const GOOGLE = `${stack.keycloakUrl}/realms/google-demo`;
const sfx = () => randomBytes(4).toString('hex');

let bff: TestBff;
/** This file makes more sign-ins from 127.0.0.1 than the default hourly limit; the limit has its own test. */
const ROOMY = { GOOGLE_NATIVE_SIGN_INS_PER_IP_PER_HOUR: '1000' };
let inJwks: { key: KeyObject; kid: string };
let keyComponentId: string | undefined;

beforeAll(async () => {
  // Before the BFF reads the JWKS the first time: a key of the stand-in "Google", low priority so the
  // realm keeps signing its own tokens with its own key.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const googleRealm = (await admin.get<Json>('/google-demo'))!;
  keyComponentId = await admin.post('/google-demo/components', {
    name: `google-native-test-${sfx()}`,
    providerId: 'rsa',
    providerType: 'org.keycloak.keys.KeyProvider',
    parentId: googleRealm.id,
    config: {
      priority: ['1'],
      enabled: ['true'],
      active: ['true'],
      algorithm: ['RS256'],
      keyUse: ['SIG'],
      privateKey: [privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()],
    },
  });
  const n = privateKey.export({ format: 'jwk' }).n;
  const jwks = (await (await fetch(`${GOOGLE}/protocol/openid-connect/certs`)).json()) as { keys: Json[] };
  const kid = jwks.keys.find((k) => k.n === n)?.kid as string | undefined;
  if (!kid) throw new Error('the test key is not in the stand-in JWKS');
  inJwks = { key: privateKey, kid };
  bff = await startTestBff(stack, ROOMY);
});
afterAll(async () => {
  await bff?.close();
  if (keyComponentId) await admin.delete(`/google-demo/components/${keyComponentId}`);
});

// --- "Google" -------------------------------------------------------------------------------------

async function googleAccount(email: string, over: Json = {}): Promise<{ username: string; sub: string }> {
  const username = `gn-${sfx()}`;
  const sub = await admin.post('/google-demo/users', {
    username,
    email,
    emailVerified: true,
    firstName: 'Asha',
    lastName: 'Native',
    enabled: true,
    credentials: [{ type: 'password', value: PASSWORD, temporary: false }],
    ...over,
  });
  if (!sub) throw new Error('no google-demo user id');
  return { username, sub };
}

/** Cookies of one browser-less sign-in at the stand-in realm. */
class Jar {
  readonly #cookies = new Map<string, string>();
  header = () => [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  take(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (pair && at > 0) this.#cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
  }
}

/** A real id_token of `platform-broker` at the stand-in, as Google's SDK gets one (code + PKCE). */
async function googleIdToken(username: string): Promise<string> {
  const jar = new Jar();
  const verifier = randomBytes(32).toString('base64url');
  const redirectUri = `${stack.keycloakUrl}/realms/${realm}/broker/google-demo/endpoint`;
  const auth = new URL(`${GOOGLE}/protocol/openid-connect/auth`);
  auth.search = new URLSearchParams({
    client_id: 'platform-broker',
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid email profile',
    state: sfx(),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const page = await fetch(auth, { redirect: 'manual' });
  jar.take(page);
  const html = await page.text();
  const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(html)?.[1] ?? /action="([^"]*login-actions\/authenticate[^"]*)"/.exec(html)?.[1];
  if (!action) throw new Error(`no login form at the stand-in (HTTP ${page.status})`);
  const login = await fetch(action.replaceAll('&amp;', '&'), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ username, password: PASSWORD, credentialId: '' }).toString(),
  });
  const code = new URL(login.headers.get('location') ?? 'http://x/').searchParams.get('code');
  if (!code) throw new Error(`the stand-in did not sign ${username} in (HTTP ${login.status})`);
  const res = await fetch(`${GOOGLE}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: 'platform-broker',
      client_secret: stack.settings.googleDemoClientSecret,
    }).toString(),
  });
  const body = (await res.json()) as Json;
  if (typeof body.id_token !== 'string') throw new Error(`no id_token (HTTP ${res.status})`);
  return body.id_token;
}

/** An id_token with the claims given, signed by a key in the stand-in's JWKS (or by `key`). */
async function mintedIdToken(claims: Json, opts: { key?: KeyObject; kid?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email_verified: true, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? inJwks.kid, typ: 'JWT' })
    .setIssuer(claims.iss ?? GOOGLE)
    .setAudience(claims.aud ?? 'platform-broker')
    .setSubject(claims.sub ?? `minted-${sfx()}`)
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(opts.key ?? inJwks.key);
}

// --- the platform -----------------------------------------------------------------------------------

async function exchange(idToken: unknown, target: TestBff = bff): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${target.url}/api/v1/google/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(idToken === undefined ? {} : { idToken }),
  });
  return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
}

const usersWithEmail = async (email: string) =>
  (await admin.get<Json[]>(`/${realm}/users?email=${encodeURIComponent(email)}&exact=true&briefRepresentation=false`)) ?? [];
const links = async (userId: string) => (await admin.get<Json[]>(`/${realm}/users/${userId}/federated-identity`)) ?? [];
const credentialTypes = async (userId: string) => ((await admin.get<Json[]>(`/${realm}/users/${userId}/credentials`)) ?? []).map((c) => c.type);
const tenants = async (userId: string) => ((await admin.get<Json[]>(`/${realm}/organizations/members/${userId}/organizations`)) ?? []).map((o) => o.alias);
const mailsTo = async (email: string) => (await (await fetch(`${stack.inboxUrl}/api/mails?to=${encodeURIComponent(email)}`)).json()) as unknown[];
async function upstream(path: string, init: { method?: string; body?: unknown } = {}): Promise<Json> {
  const res = await fetch(`${stack.upstreamUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${stack.settings.upstreamApiKey}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return text ? (JSON.parse(text) as Json) : {};
}

async function platformAccount(email: string, over: Json = {}): Promise<string> {
  const id = await admin.post(`/${realm}/users`, {
    username: `p-${sfx()}`,
    email,
    emailVerified: true,
    firstName: 'Lina',
    lastName: 'Existing',
    enabled: true,
    attributes: { signUpType: ['selfSignUp'] },
    credentials: [{ type: 'password', value: PASSWORD, temporary: false }],
    ...over,
  });
  if (!id) throw new Error('no user id');
  return id;
}

describe('POST /api/v1/google/token', () => {
  it('creates the account of a new Google identity: e-mail verified, no password, google sign-up, upstream profile, linked, no mail; Keycloak tokens', async () => {
    const email = `asha-${sfx()}@gmail.example`;
    const google = await googleAccount(email);
    const res = await exchange(await googleIdToken(google.username));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ created: true, tokenType: 'Bearer' });
    expect(res.headers.get('cache-control')).toBe('no-store');
    const userId = String(res.body.userId);

    // The tokens are Keycloak's, of the new account, for the google-native client.
    const access = decodeJwt(res.body.accessToken);
    expect(access).toMatchObject({ iss: `${stack.keycloakUrl}/realms/${realm}`, sub: userId, azp: 'google-native' });
    const userinfo = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/userinfo`, {
      headers: { authorization: `Bearer ${res.body.accessToken}` },
    });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({ sub: userId, email, email_verified: true });

    const user = (await admin.get<Json>(`/${realm}/users/${userId}`))!;
    expect(user).toMatchObject({ email, emailVerified: true, enabled: true, firstName: 'Asha', lastName: 'Native', requiredActions: [] });
    expect(user.attributes.signUpType).toEqual(['google']);
    expect(await credentialTypes(userId)).toEqual([]);
    expect((await links(userId)).map((l) => [l.identityProvider, l.userId])).toEqual([['google-demo', google.sub]]);
    expect(await tenants(userId)).toEqual(['custodian']);
    const profile = await upstream(`/v1/users/${user.attributes.upstreamUserId?.[0]}`);
    expect(profile).toMatchObject({ externalId: userId, email, firstName: 'Asha', status: 'active' });
    expect(await mailsTo(email)).toEqual([]);

    // Signing in again (a new id_token of the same Google identity): the same account, nothing new.
    const again = await exchange(await googleIdToken(google.username));
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ created: false, userId });
    expect(decodeJwt(again.body.accessToken).sub).toBe(userId);
    expect((await usersWithEmail(email)).map((u) => u.id)).toEqual([userId]);
  });

  it('finishes a creation whose link was lost: the next sign-in of the same Google identity links the same account', async () => {
    const email = `relink-${sfx()}@gmail.example`;
    const google = await googleAccount(email);
    const first = await exchange(await googleIdToken(google.username));
    expect(first.status).toBe(201);
    const userId = String(first.body.userId);
    // As if Keycloak had gone away between the creation and the link.
    await admin.delete(`/${realm}/users/${userId}/federated-identity/google-demo`);
    expect(await links(userId)).toEqual([]);
    const again = await exchange(await googleIdToken(google.username));
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ created: false, userId });
    expect((await links(userId)).map((l) => [l.identityProvider, l.userId])).toEqual([['google-demo', google.sub]]);
    expect((await usersWithEmail(email)).map((u) => u.id)).toEqual([userId]);
  });

  it('refuses a replayed id_token (shared by every BFF process), changing nothing', async () => {
    const email = `replay-${sfx()}@gmail.example`;
    const google = await googleAccount(email);
    const idToken = await googleIdToken(google.username);
    const first = await exchange(idToken);
    expect(first.status).toBe(201);
    const replay = await exchange(idToken);
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'replayed' });
    expect(replay.body.accessToken).toBeUndefined();

    // Another BFF process with the same Redis refuses it too.
    const other = await startTestBff(stack, ROOMY);
    try {
      expect((await exchange(idToken, other)).body).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'replayed' });
    } finally {
      await other.close();
    }
  });

  it('refuses a token for another application, an expired one, a forged one, another issuer, and a bad body: 401/400, nothing created', async () => {
    const email = `bad-${sfx()}@gmail.example`;
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, string][] = [
      ['another app', await mintedIdToken({ email, aud: 'someone-elses-app' }), 'audience'],
      ['expired', await mintedIdToken({ email, iat: now - 7200, exp: now - 3600 }), 'expired'],
      ['another issuer', await mintedIdToken({ email, iss: 'https://accounts.evil.example' }), 'issuer'],
      [
        'a key not in the JWKS',
        await mintedIdToken({ email }, { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, kid: inJwks.kid }),
        'signature',
      ],
    ];
    for (const [what, token, reason] of cases) {
      const res = await exchange(token);
      expect(res.status, what).toBe(401);
      expect(res.body, what).toMatchObject({ code: 'UNAUTHENTICATED', reason });
    }
    // alg=none and garbage never reach the verifier's trust.
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: GOOGLE, aud: 'platform-broker', sub: 'x', email, email_verified: true, exp: now + 600 })).toString('base64url')}.x`;
    expect((await exchange(unsigned)).status).toBe(401);
    const missing = await exchange(undefined);
    expect(missing.status).toBe(400);
    expect(missing.body.fields).toEqual([expect.objectContaining({ field: 'idToken', reason: 'required' })]);
    expect((await exchange('not a JWT, but long enough to be one')).body.fields).toEqual([
      expect.objectContaining({ field: 'idToken', reason: 'invalid_format' }),
    ]);
    expect(await usersWithEmail(email)).toEqual([]);
  });

  it('refuses an id_token whose e-mail Google does not vouch for (email_verified false): 403, nothing created', async () => {
    const email = `unverified-${sfx()}@gmail.example`;
    const res = await exchange(await mintedIdToken({ email, email_verified: false, given_name: 'Un' }));
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'FORBIDDEN', reason: 'email_not_verified' });
    expect(await usersWithEmail(email)).toEqual([]);
  });

  it('does not take over an existing account whose e-mail is unproven: 409, account unchanged, nothing created', async () => {
    const email = `old-${sfx()}@gmail.example`;
    const accountId = await platformAccount(email, { emailVerified: false });
    const google = await googleAccount(email);
    const res = await exchange(await googleIdToken(google.username));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'CONFLICT', reason: 'email_unverified_account' });
    const users = await usersWithEmail(email);
    expect(users.map((u) => [u.id, u.emailVerified])).toEqual([[accountId, false]]);
    expect(await links(accountId)).toEqual([]);
    expect(await credentialTypes(accountId)).toEqual(['password']);
  });

  it('does not link an existing verified account on the e-mail alone: 409 link_required, nothing linked', async () => {
    const email = `linked-${sfx()}@gmail.example`;
    const accountId = await platformAccount(email);
    const google = await googleAccount(email);
    const res = await exchange(await googleIdToken(google.username));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'CONFLICT', reason: 'link_required' });
    expect(await links(accountId)).toEqual([]);
    expect((await usersWithEmail(email)).map((u) => u.id)).toEqual([accountId]);
  });

  it('refuses a disabled account, linked or found by e-mail: 403, nothing created or enabled', async () => {
    // Linked (signed up here before), then disabled by an admin.
    const email = `disabled-${sfx()}@gmail.example`;
    const google = await googleAccount(email);
    const created = await exchange(await googleIdToken(google.username));
    expect(created.status).toBe(201);
    const userId = String(created.body.userId);
    const user = (await admin.get<Json>(`/${realm}/users/${userId}`))!;
    await admin.put(`/${realm}/users/${userId}`, { ...user, enabled: false });
    const refused = await exchange(await googleIdToken(google.username));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'FORBIDDEN', reason: 'account_disabled' });
    expect(refused.body.accessToken).toBeUndefined();
    expect((await admin.get<Json>(`/${realm}/users/${userId}`))!.enabled).toBe(false);

    // Not linked: an account with the e-mail that is disabled.
    const other = `disabled-by-email-${sfx()}@gmail.example`;
    const accountId = await platformAccount(other, { enabled: false });
    const google2 = await googleAccount(other);
    const byEmail = await exchange(await googleIdToken(google2.username));
    expect(byEmail.status).toBe(403);
    expect(byEmail.body).toMatchObject({ code: 'FORBIDDEN', reason: 'account_disabled' });
    expect((await usersWithEmail(other)).map((u) => [u.id, u.enabled])).toEqual([[accountId, false]]);
  });

  it('refuses a deleted account: 403 account_closed, nothing created', async () => {
    const email = `deleted-${sfx()}@gmail.example`;
    const google = await googleAccount(email);
    const created = await exchange(await googleIdToken(google.username));
    expect(created.status).toBe(201);
    await bff.container.accounts.delete(String(created.body.userId));
    const res = await exchange(await googleIdToken(google.username));
    // The upstream core keeps the deactivated profile with the e-mail: a closed account.
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body).toMatchObject({ code: 'FORBIDDEN', reason: 'account_closed' });
    expect(await usersWithEmail(email)).toEqual([]);
  });

  it("a Google id_token is not a token of the platform's APIs, and the tokens returned carry no roles", async () => {
    const email = `apis-${sfx()}@gmail.example`;
    const google = await googleAccount(email);
    const idToken = await googleIdToken(google.username);
    const user = await fetch(`${bff.url}/api/v1/user`, { headers: { authorization: `Bearer ${idToken}` } });
    expect([401, 403]).toContain(user.status);
    const userinfo = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/userinfo`, { headers: { authorization: `Bearer ${idToken}` } });
    expect(userinfo.status).toBe(401);

    const res = await exchange(idToken);
    expect(res.status).toBe(201);
    const access = decodeJwt<Json>(res.body.accessToken);
    expect(access.realm_access).toBeUndefined();
    expect(access.resource_access).toBeUndefined();
    // Keycloak's account API refuses it (no account audience, no manage-account).
    const account = await fetch(`${stack.keycloakUrl}/realms/${realm}/account/`, {
      headers: { authorization: `Bearer ${res.body.accessToken}`, accept: 'application/json' },
    });
    expect([401, 403]).toContain(account.status);
  });

  it('is limited per client IP (429 with Retry-After), bad tokens counted too', async () => {
    const limited = await startTestBff(stack, { GOOGLE_NATIVE_SIGN_INS_PER_IP_PER_HOUR: '2', REDIS_PREFIX: `gn-limit-${sfx()}:` });
    try {
      const bad = await mintedIdToken({ email: `limit-${sfx()}@gmail.example`, aud: 'someone-elses-app' });
      expect((await exchange(bad, limited)).status).toBe(401);
      expect((await exchange(bad, limited)).status).toBe(401);
      const third = await exchange(bad, limited);
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
