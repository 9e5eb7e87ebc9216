import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { inboxMessages, latestCode } from '../support/inbox.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call, platformAdminToken, uniqueId } from '../support/partners.ts';
import { outboxAdmin, until } from '../support/outbox.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Changing the e-mail or phone through Keycloak itself (issue 15 §3, decision 0020). The account console
 * is no longer offered (decision 0031: its address leads to the portal), but Keycloak's own ways stay:
 * its "update email" page (the UPDATE_EMAIL action, which any authorization request can ask for with
 * `kc_action`) mails a link to the new address and changes nothing until it is opened; the account API
 * behind the console refuses a new e-mail or phone; the update-profile page of a phone-only account
 * sends the same link. The old address is told. The portal's own change is told too.
 *
 * Its own BFF database with the upstream outbox running, so what reaches the outbox (and the core,
 * the stack's) is this file's to observe.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const browser = useBrowser();
const keys = testKeyPrefix(uniqueId('console-email'));
let db: TestDatabase;
let bff: TestBff;
let adminToken: string;
const made: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('console_email');
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix, BFF_DATABASE_URL: db.url, UPSTREAM_OUTBOX_ENABLED: 'true', UPSTREAM_OUTBOX_INTERVAL_MS: '200' });
  adminToken = await platformAdminToken(stack);
  await until(async () => (await outbox()).feeds.length === 2);
});
afterAll(async () => {
  for (const id of made) await bff.container.accounts.delete(id).catch(() => undefined);
  await bff?.close();
  await keys.cleanup();
  await db?.drop();
});

const { outbox, rowsOf: outboxRowsOf } = outboxAdmin(() => ({ bffUrl: bff.url, adminToken }));

/** Signs in with Keycloak's password grant on `user-api` (the status, and the tokens when 200). */
async function passwordGrant(login: string, password: string): Promise<{ refusal?: string; accessToken?: string }> {
  const res = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'user-api', client_secret: stack.settings.userApiClientSecret, username: login, password }),
  });
  const body = (await res.json()) as { access_token?: string; error_description?: string };
  return body.access_token ? { accessToken: body.access_token } : { refusal: body.error_description ?? `HTTP ${res.status}` };
}

/**
 * Resolves once the recorder has handled every user event Keycloak stored so far: a canary member
 * changes its last name through the account API (a user event, like the console's), and the recorder
 * reads the user-event feed in order, so once the canary's row is there, everything before it was seen.
 */
let canaryChanges = 0;
async function recorderCaughtUp(): Promise<void> {
  const canary = canaryMember ?? (canaryMember = await member('en'));
  const before = (await outboxRowsOf(canary.id)).length;
  const { accessToken } = await passwordGrant(canary.username, canary.password);
  const account = `${stack.keycloakUrl}/realms/${realm}/account`;
  const me = (await (await fetch(account, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } })).json()) as Json;
  const saved = await fetch(account, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...me, lastName: `Canary${++canaryChanges}` }),
  });
  expect(saved.status).toBe(204);
  await until(async () => (await outboxRowsOf(canary.id)).length > before);
}
let canaryMember: Awaited<ReturnType<typeof member>> | undefined;

interface Mail {
  to: string[];
  subject: string;
  text: string;
}
const mailsTo = async (address: string): Promise<Mail[]> =>
  (await (await fetch(`${stack.inboxUrl}/api/mails?to=${encodeURIComponent(address)}`)).json()) as Mail[];
async function mailTo(address: string, subject: string): Promise<Mail> {
  let found: Mail | undefined;
  await expect.poll(async () => (found = (await mailsTo(address)).find((m) => m.subject === subject)), { timeout: 20_000 }).toBeDefined();
  return found!;
}

const kcUser = async (id: string) => (await admin.get<Json>(`/${realm}/users/${id}`))!;
const upstreamMember = async (upstreamUserId: string): Promise<Json> => {
  const res = await fetch(`${stack.upstreamUrl}/v1/users/${upstreamUserId}`, { headers: { authorization: `Bearer ${stack.settings.upstreamApiKey}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
};

/** A member linked to the upstream core (converted through the admin API), with a password, a confirmed e-mail and a phone. */
async function member(locale: 'en' | 'hi'): Promise<{ id: string; upstreamUserId: string; username: string; password: string; email: string; phone: string }> {
  const username = uniqueId('console').replace('-', '');
  const password = `Pw-${randomBytes(12).toString('base64url')}`;
  const email = `${username}@example.com`;
  const phone = `+9198${String(randomInt(10 ** 8)).padStart(8, '0')}`;
  const id = (await admin.post(`/${realm}/users`, {
    username,
    email,
    emailVerified: true,
    firstName: 'Kiran',
    lastName: 'Rao',
    enabled: true,
    attributes: { phone: [phone], phoneVerified: ['true'], locale: [locale] },
    credentials: [{ type: 'password', value: password, temporary: false }],
  }))!
    .split('/')
    .pop()!;
  made.push(id);
  const converted = await call(`${bff.url}/api/admin/v1/users/${id}/upstream-link`, 'PUT', { token: adminToken });
  expect(converted.status).toBe(201);
  return { id, upstreamUserId: converted.body.upstreamUserId, username, password, email, phone };
}

/**
 * An authorization request of the portal asking Keycloak for one of its actions (`kc_action`), signed
 * in with the identifier-first pages: Keycloak's own page for that action comes next.
 */
async function keycloakAction(page: Page, who: { username: string; password: string }, action: 'UPDATE_EMAIL' | 'UPDATE_PROFILE'): Promise<void> {
  const auth = new URL(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/auth`);
  const verifier = randomBytes(32).toString('base64url');
  for (const [k, v] of Object.entries({
    client_id: 'portal',
    redirect_uri: `${stack.settings.bffPublicUrl}/portal/`,
    response_type: 'code',
    scope: 'openid',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    kc_action: action,
  }))
    auth.searchParams.set(k, v);
  await page.goto(auth.href);
  await page.locator('#username').fill(who.username);
  await page.locator('#kc-login').click();
  await page.locator('#password').fill(who.password);
  await page.locator('#kc-login').click();
}

const texts = {
  en: {
    sentTitle: 'Check your new email address',
    updatedTitle: 'Email updated',
    confirmSubject: 'Confirm your new email address for Identity Platform',
    noticeSubject: 'The email address of your account was changed',
  },
  hi: {
    sentTitle: 'अपना नया ईमेल पता देखें',
    updatedTitle: 'ईमेल पता बदल गया',
    confirmSubject: 'पहचान प्लेटफ़ॉर्म के लिए अपने नए ईमेल पते की पुष्टि करें',
    noticeSubject: 'आपके खाते का ईमेल पता बदला गया',
  },
} as const;

describe("the e-mail and phone in Keycloak's own pages and API", () => {
  for (const [browserLocale, lang] of [
    ['en-GB', 'en'],
    ['hi-IN', 'hi'],
  ] as const) {
    it(`Keycloak's update-email page changes it only once the link sent to the new address is opened; nothing reaches the outbox before; the old address is told (${lang})`, async () => {
      const t = texts[lang];
      const who = await member(lang);
      const newEmail = `${who.username}.new@example.org`;
      const context: BrowserContext = await browser().newContext({ locale: browserLocale, viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      // Keycloak's update-email page (the UPDATE_EMAIL action).
      await keycloakAction(page, who, 'UPDATE_EMAIL');
      await page.locator('#kc-update-email-form').waitFor();
      await page.locator('input[name=email]').fill(newEmail);
      await screenshot(page, `account-email-1-new-address-${lang}`);
      await page.locator('#kc-submit').click();
      await expect.poll(() => page.locator('body').innerText()).toContain(t.sentTitle);
      expect(await page.locator('body').innerText()).toContain(newEmail);
      await screenshot(page, `account-email-2-link-sent-${lang}`);

      // Nothing has changed yet: not in Keycloak, not in the outbox, not in the core.
      const pending = await kcUser(who.id);
      expect(pending).toMatchObject({ email: who.email, emailVerified: true });
      await recorderCaughtUp();
      expect(await outboxRowsOf(who.id)).toEqual([]);
      expect((await upstreamMember(who.upstreamUserId)).email).toBe(who.email);
      // The new address signs no one in. The account itself now has Keycloak's UPDATE_EMAIL step
      // pending: the browser sign-in shows it (the pending address filled in), the password grant
      // refuses until the link is opened (the BFF reads that refusal as a right password, decision 0020).
      const grant = async (login: string) => (await passwordGrant(login, who.password)).refusal ?? 'signed in';
      expect(await grant(newEmail)).toBe('Invalid user credentials');
      expect(await grant(who.email)).toBe('Account is not fully set up');

      // The link, in the new address's inbox, in the account's language.
      const confirm = await mailTo(newEmail, t.confirmSubject);
      const link = /(https?:\/\/\S+\/login-actions\/action-token\S+)/.exec(confirm.text)?.[1];
      expect(link).toBeDefined();
      await page.goto(link!);
      await expect.poll(() => page.locator('body').innerText()).toContain(t.updatedTitle);
      await screenshot(page, `account-email-3-updated-${lang}`);
      await context.close();

      // Now it counts: Keycloak (verified), the outbox, the core; and the old address is told.
      expect(await kcUser(who.id)).toMatchObject({ email: newEmail, emailVerified: true });
      await until(async () => (await outboxRowsOf(who.id)).some((r) => r.status === 'delivered' && r.fields.includes('email')));
      expect((await upstreamMember(who.upstreamUserId)).email).toBe(newEmail);
      const notice = await mailTo(who.email, t.noticeSubject);
      expect(notice.text).toContain('Kiran');
      expect(notice.text).not.toContain(newEmail); // masked: the old address may no longer be the person's
      expect(notice.text).toContain(`${newEmail.slice(0, 1)}•••@example.org`);
      expect(await grant(newEmail)).toBe('signed in');
      expect(await grant(who.email)).toBe('Invalid user credentials');
    });
  }

  it('the account API behind the console refuses a new e-mail or phone sent directly, and nothing changes', async () => {
    const who = await member('en');
    const { accessToken: token } = await passwordGrant(who.username, who.password);
    const account = `${stack.keycloakUrl}/realms/${realm}/account`;
    const me = (await (await fetch(account, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } })).json()) as Json;
    for (const [field, change] of [
      ['email', { email: `${who.username}.squat@example.org` }],
      ['phone', { attributes: { ...me.attributes, phone: ['+919800000009'] } }],
    ] as const) {
      const res = await fetch(account, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...me, ...change }),
      });
      expect(res.status, field).toBe(400);
      expect(((await res.json()) as Json).errors).toEqual([expect.objectContaining({ field, errorMessage: 'error-user-attribute-read-only' })]);
    }
    expect(await kcUser(who.id)).toMatchObject({ email: who.email, emailVerified: true, attributes: expect.objectContaining({ phone: [who.phone] }) });
    await recorderCaughtUp();
    expect(await outboxRowsOf(who.id)).toEqual([]);
  });

  it("the portal's change (PUT /api/v1/user with a code) tells the old e-mail address and the old phone number too", async () => {
    const who = await member('en');
    const { accessToken } = await passwordGrant(who.username, who.password);
    const newEmail = `${who.username}.portal@example.org`;
    const newPhone = `+9196${String(randomInt(10 ** 8)).padStart(8, '0')}`;
    const proofFor = async (identifier: { email: string } | { phone: string }): Promise<string> => {
      const [kind, to] = 'email' in identifier ? (['mails', identifier.email] as const) : (['sms', identifier.phone] as const);
      const before = (await inboxMessages(stack, kind, to)).length;
      expect((await call(`${bff.url}/api/v1/otp`, 'POST', { body: { ...identifier, purpose: 'change-identifier' } })).status).toBe(202);
      const code = await latestCode(stack, kind, to, before);
      const verified = await call(`${bff.url}/api/v1/otp/verify`, 'POST', { body: { ...identifier, purpose: 'change-identifier', code } });
      expect(verified.status).toBe(200);
      return verified.body.proof as string;
    };
    const body = { email: newEmail, emailProof: await proofFor({ email: newEmail }), phone: newPhone, phoneProof: await proofFor({ phone: newPhone }) };
    const changed = await call(`${bff.url}/api/v1/user`, 'PUT', { token: accessToken!, body });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(await kcUser(who.id)).toMatchObject({ email: newEmail, emailVerified: true, attributes: expect.objectContaining({ phone: [newPhone] }) });

    const notice = await mailTo(who.email, texts.en.noticeSubject);
    expect(notice.text).toContain(`${newEmail.slice(0, 1)}•••@example.org`);
    expect(notice.text).not.toContain(newEmail);
    let sms: string | undefined;
    await expect
      .poll(async () => (sms = (await inboxMessages(stack, 'sms', who.phone)).map((m) => m.text).find((t) => t.includes('was changed to'))), {
        timeout: 20_000,
      })
      .toBeDefined();
    expect(sms).toContain(`${newPhone.slice(0, 3)}`);
    expect(sms).not.toContain(newPhone);
  });

  it('an account without an e-mail that adds one on the "update profile" page gets the same link first', async () => {
    // Phone-only accounts (sign-up by phone) have no e-mail: Keycloak's update-profile page offers the
    // field, and with verified update-email it sends the link instead of saving the address.
    const username = uniqueId('phoneonly').replace('-', '');
    const password = `Pw-${randomBytes(12).toString('base64url')}`;
    const id = (await admin.post(`/${realm}/users`, {
      username,
      firstName: 'Meera',
      enabled: true,
      attributes: { phone: [`+9197${String(randomInt(10 ** 8)).padStart(8, '0')}`], phoneVerified: ['true'] },
      credentials: [{ type: 'password', value: password, temporary: false }],
    }))!
      .split('/')
      .pop()!;
    made.push(id);
    const wanted = `${username}@example.org`;
    const page = await browser().newPage({ locale: 'en-GB' });
    await keycloakAction(page, { username, password }, 'UPDATE_PROFILE');
    await page.locator('input[name=email]').fill(wanted);
    await page.locator('input[type=submit], button[type=submit]').first().click();
    await expect.poll(() => page.locator('body').innerText()).toContain(texts.en.sentTitle);
    await screenshot(page, 'account-email-4-phone-only-link-sent-en');
    await page.close();
    expect((await kcUser(id)).email).toBeUndefined();
    await mailTo(wanted, texts.en.confirmSubject);
  });
});
