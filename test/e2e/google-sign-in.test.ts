import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt, portalSignIn, type Tokens } from '../support/oidc.ts';

/**
 * Google sign-in through the `google-demo` stand-in realm, brokered exactly like Google (trusted
 * e-mail), with the platform's first- and post-broker-login flows and Keycloak's platform-bff-check
 * asking the BFF (running here, on the stack's BFF port). docs/decisions/0008-brokered-login-provisioning.md
 */
type Json = Record<string, any>;
const stack = inject('stack');
const admin = adminFor(stack);
const realm = stack.settings.platformRealm;
const PASSWORD = stack.settings.demoUserPassword;
const browser = useBrowser();

let bff: TestBff;
beforeAll(async () => {
  bff = await startTestBff(stack, {}, { atStackUrl: true });
});
afterAll(async () => {
  await bff?.close();
});

const redirectUri = `${stack.settings.bffPublicUrl}/portal/`;
const sfx = () => randomBytes(4).toString('hex');

/** The portal's "Sign in with Google": keycloak-js' idpHint sends Keycloak straight to the provider. */
const googleSignIn = (page: Page, interact: (p: Page) => Promise<void>): Promise<Tokens> => portalSignIn(stack, page, interact, { kc_idp_hint: 'google-demo' });

/** The same start, for logins that end on one of Keycloak's pages instead of back at the portal. */
async function openGoogleSignIn(page: Page): Promise<void> {
  const auth = new URL(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/auth`);
  auth.search = new URLSearchParams({
    client_id: 'portal',
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid',
    code_challenge: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
    code_challenge_method: 'S256',
    kc_idp_hint: 'google-demo',
  }).toString();
  await page.goto(auth.toString());
}

/** The stand-in's own login page (another realm: "Google"). */
async function atGoogle(page: Page, username: string, shot?: string): Promise<void> {
  await page.waitForURL(/\/realms\/google-demo\//);
  if (shot) await screenshot(page, shot);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#kc-login').click();
}

async function googleAccount(label: string, email: string): Promise<string> {
  const username = `g-${label}-${sfx()}`;
  await admin.post('/google-demo/users', {
    username,
    email,
    emailVerified: true,
    firstName: 'Test',
    lastName: label,
    enabled: true,
    credentials: [{ type: 'password', value: PASSWORD, temporary: false }],
  });
  return username;
}

/** An account made in the platform realm by an admin, as the brief's "existing account". */
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

const usersWithEmail = async (email: string) =>
  (await admin.get<Json[]>(`/${realm}/users?email=${encodeURIComponent(email)}&exact=true&briefRepresentation=false`)) ?? [];
const userNamed = async (username: string) => (await admin.get<Json[]>(`/${realm}/users?username=${encodeURIComponent(username)}&exact=true`)) ?? [];
const links = async (userId: string) => ((await admin.get<Json[]>(`/${realm}/users/${userId}/federated-identity`)) ?? []).map((l) => l.identityProvider);
const credentialTypes = async (userId: string) => ((await admin.get<Json[]>(`/${realm}/users/${userId}/credentials`)) ?? []).map((c) => c.type);
const tenants = async (userId: string) => ((await admin.get<Json[]>(`/${realm}/organizations/members/${userId}/organizations`)) ?? []).map((o) => o.alias);
const mailsTo = async (email: string) => (await (await fetch(`${stack.inboxUrl}/api/mails?to=${encodeURIComponent(email)}`)).json()) as unknown[];

async function upstream(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${stack.upstreamUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${stack.settings.upstreamApiKey}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}
const upstreamByEmail = async (email: string) => (await upstream('/v1/users/search', { method: 'POST', body: { email } })).body.items?.[0] as Json | undefined;

describe('first login through Google', () => {
  const email = 'priya.sharma@gmail.example';

  beforeAll(async () => {
    // Re-runs on a long-lived stack: take priya (realm-config/realms/google-demo/users) back to "never signed in".
    for (const u of await usersWithEmail(email)) await admin.delete(`/${realm}/users/${u.id}`);
    const profile = await upstreamByEmail(email);
    if (profile) await upstream(`/v1/users/${profile.id}`, { method: 'DELETE' });
  });

  it('creates the account: e-mail verified, no password, no required action, custodian member, upstream profile, no mail', async () => {
    const page = await browser().newPage();
    const tokens = await googleSignIn(page, (p) => atGoogle(p, 'priya.google', 'google-1-provider-login'));
    const id = decodeJwt(tokens.id_token);
    expect(id).toMatchObject({ email, email_verified: true, iss: `${stack.keycloakUrl}/realms/${realm}` });
    const userId = String(id.sub);

    const user = (await admin.get<Json>(`/${realm}/users/${userId}`))!;
    expect(user).toMatchObject({ email, emailVerified: true, enabled: true, firstName: 'Priya', lastName: 'Sharma', requiredActions: [] });
    expect(user.attributes.signUpType).toEqual(['google']);
    expect(await credentialTypes(userId)).toEqual([]);
    expect(await links(userId)).toEqual(['google-demo']);
    expect(await tenants(userId)).toEqual(['custodian']);

    const upstreamUserId = user.attributes.upstreamUserId?.[0];
    expect(upstreamUserId).toBeDefined();
    const profile = await upstream(`/v1/users/${upstreamUserId}`);
    expect(profile.body).toMatchObject({ externalId: userId, email, firstName: 'Priya', status: 'active' });
    expect(await mailsTo(email)).toEqual([]);

    await page.close();

    // The next login (another browser, no session) is an ordinary one: same account, nothing created twice.
    const later = await browser().newPage();
    const again = await googleSignIn(later, (p) => atGoogle(p, 'priya.google'));
    expect(decodeJwt(again.id_token).sub).toBe(userId);
    expect((await usersWithEmail(email)).map((u) => u.id)).toEqual([userId]);
    expect((await upstreamByEmail(email))?.id).toBe(upstreamUserId);
    await later.close();
  });
});

describe('an existing active account with the same e-mail', () => {
  it('is linked only after the person confirms and proves it with its password; a wrong password links nothing', async () => {
    const email = `lina-${sfx()}@example.test`;
    const accountId = await platformAccount(email);
    const googleUser = await googleAccount('link', email);
    const page = await browser().newPage();

    const tokens = await googleSignIn(page, async (p) => {
      await atGoogle(p, googleUser);
      // Keycloak does not link on the e-mail: it asks.
      await p.locator('#linkAccount').waitFor();
      await screenshot(p, 'google-2-confirm-link');
      expect(await links(accountId)).toEqual([]);
      await p.locator('#linkAccount').click();

      await p.locator('#password').waitFor();
      await screenshot(p, 'google-3-reauthenticate');
      await p.locator('#password').fill('Not-the-password-1');
      await p.locator('#kc-login').click();
      await p.locator('#input-error, .pf-v5-c-alert, [id^="input-error"]').first().waitFor();
      await screenshot(p, 'google-4-reauthenticate-wrong-password');
      expect(await links(accountId)).toEqual([]);

      await p.locator('#password').fill(PASSWORD);
      await p.locator('#kc-login').click();
    });

    expect(decodeJwt(tokens.id_token).sub).toBe(accountId);
    expect(await links(accountId)).toEqual(['google-demo']);
    expect((await usersWithEmail(email)).map((u) => u.id)).toEqual([accountId]);
    expect(await userNamed(googleUser)).toEqual([]);
    const user = (await admin.get<Json>(`/${realm}/users/${accountId}`))!;
    // Still the account it was: its sign-up type and password stay; it gained its tenant and upstream profile.
    expect(user.attributes.signUpType).toEqual(['selfSignUp']);
    expect(await credentialTypes(accountId)).toEqual(['password']);
    expect(await tenants(accountId)).toEqual(['custodian']);
    expect((await upstreamByEmail(email))?.externalId).toBe(accountId);
    await page.close();
  });
});

describe('accounts that cannot come back through Google', () => {
  it('a disabled account: Keycloak\'s "account disabled" page; nothing created or linked', async () => {
    const email = `disabled-${sfx()}@example.test`;
    const accountId = await platformAccount(email, { enabled: false });
    const googleUser = await googleAccount('disabled', email);
    const page = await browser().newPage();
    await openGoogleSignIn(page);
    await atGoogle(page, googleUser);
    await page.getByText('Account is disabled').waitFor();
    await screenshot(page, 'google-5-account-disabled');

    expect((await usersWithEmail(email)).map((u) => u.id)).toEqual([accountId]);
    expect(await links(accountId)).toEqual([]);
    expect(await userNamed(googleUser)).toEqual([]);
    await page.close();
  });

  it('a deleted account (upstream profile inactive): a clear page; no new Keycloak user', async () => {
    const email = `deleted-${sfx()}@example.test`;
    // Created and deleted the way the platform does it (DELETE /api/v1/user -> AccountService.delete).
    const created = await bff.container.accounts.create(
      { firstName: 'Dev', lastName: 'Deleted', email, emailVerified: true, phoneVerified: false, password: PASSWORD, signUpType: 'self' },
      { idempotencyKey: randomUUID() },
    );
    await bff.container.accounts.delete(created.userId);
    expect(await usersWithEmail(email)).toEqual([]);
    expect((await upstream(`/v1/users/${created.upstreamUserId}`)).body.status).toBe('inactive');

    const googleUser = await googleAccount('deleted', email);
    const page = await browser().newPage();
    await openGoogleSignIn(page);
    await atGoogle(page, googleUser);
    await page.getByText('This account has been closed').waitFor();
    await screenshot(page, 'google-6-account-closed');

    expect(await usersWithEmail(email)).toEqual([]);
    expect(await userNamed(googleUser)).toEqual([]);
    expect((await upstream(`/v1/users/${created.upstreamUserId}`)).body.status).toBe('inactive');
    await page.close();
  });
});

describe('when the BFF cannot answer', () => {
  it('before the account exists: a "try again" page, nothing created; trying again finishes the sign-up', async () => {
    const email = `outage-${sfx()}@example.test`;
    const googleUser = await googleAccount('outage', email);
    const page = await browser().newPage();
    bff.setReachable(false);
    try {
      const tokens = await googleSignIn(page, async (p) => {
        await atGoogle(p, googleUser);
        await p.locator('#platform-try-again').waitFor();
        await screenshot(p, 'google-7-try-again');
        expect(await p.locator('body').innerText()).toContain('We could not finish signing you in just now');
        expect(await usersWithEmail(email)).toEqual([]);
        bff.setReachable(true);
        await p.locator('#platform-try-again').click();
      });
      const userId = String(decodeJwt(tokens.id_token).sub);
      expect(await links(userId)).toEqual(['google-demo']);
      expect(await tenants(userId)).toEqual(['custodian']);
      expect((await upstreamByEmail(email))?.externalId).toBe(userId);
    } finally {
      bff.setReachable(true);
      await page.close();
    }
  });

  it('after the account was linked: trying again provisions it, nothing is left half-done', async () => {
    const email = `outage-link-${sfx()}@example.test`;
    const accountId = await platformAccount(email);
    const googleUser = await googleAccount('outage-link', email);
    const page = await browser().newPage();
    try {
      const tokens = await googleSignIn(page, async (p) => {
        await atGoogle(p, googleUser);
        await p.locator('#linkAccount').click();
        await p.locator('#password').fill(PASSWORD);
        bff.setReachable(false);
        await p.locator('#kc-login').click();
        await p.locator('#platform-try-again').waitFor();
        // Keycloak has linked the account; the BFF's part (tenant, upstream profile) is still to do.
        expect(await links(accountId)).toEqual(['google-demo']);
        expect(await tenants(accountId)).toEqual([]);
        expect(await upstreamByEmail(email)).toBeUndefined();
        bff.setReachable(true);
        await p.locator('#platform-try-again').click();
      });
      expect(decodeJwt(tokens.id_token).sub).toBe(accountId);
      expect(await tenants(accountId)).toEqual(['custodian']);
      expect((await upstreamByEmail(email))?.externalId).toBe(accountId);
    } finally {
      bff.setReachable(true);
      await page.close();
    }
  });
});
