import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { TOTP } from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keycloakVersion } from '../../stack/keycloak.ts';
import { cacheDir, themesDir } from '../../stack/paths.ts';
import type { InboxMail } from '../../stack/inbox.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { checkPage, openContext, type Viewport } from '../support/page-check.ts';

/**
 * Every page Keycloak shows a person, and its error states, in English at desktop width and in Hindi
 * at phone width (issue 17 §5-8, §10, §13, §14; docs/decisions/0032-keycloak-pages.md). Each is
 * checked by checkPage (screenshot, axe-core, no English words on a Hindi page), and each test asserts
 * what the page must offer: a way forward on error pages, the password rules before the first try,
 * linking Google without a red error, a visible focus ring, the language kept in Keycloak's mails.
 */
type Json = Record<string, any>;
type Lang = 'en' | 'hi';
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const browser = useBrowser();
const PASSWORD = 'Pages#Keycloak2026';
const NEW_PASSWORD = 'Pages#Changed2026';
const portalUrl = `${stack.settings.bffPublicUrl}/portal/`;
const sfx = () => randomBytes(3).toString('hex');

/** (en, desktop) and (hi, phone): the two ways every page is walked. */
const VARIANTS: { lang: Lang; viewport: Viewport }[] = [
  { lang: 'en', viewport: 'desktop' },
  { lang: 'hi', viewport: 'phone' },
];

/**
 * Latin-script words a Hindi page may show besides page-check's brand names: the state identity
 * provider's configured name (a proper name; Keycloak shows identity-provider names as configured).
 */
const STATE_NAME = ['State'];

/** The portal's authorization request (authorization code + PKCE), as keycloak-js sends it. */
function authUrl(over: Record<string, string> = {}): string {
  const url = new URL(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/auth`);
  url.search = new URLSearchParams({
    client_id: 'portal',
    redirect_uri: portalUrl,
    response_type: 'code',
    scope: 'openid',
    code_challenge: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
    code_challenge_method: 'S256',
    ...over,
  }).toString();
  return url.toString();
}

/** A browser context at the variant's width and language; the portal's pages are stubbed (signed in = back there). */
async function contextFor(v: { lang: Lang; viewport: Viewport }, b: Browser = browser()): Promise<BrowserContext> {
  const context = await openContext(b, v);
  await context.route(`${portalUrl}**`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<html lang="en"><title>portal</title></html>' }),
  );
  return context;
}

async function account(over: Json = {}): Promise<{ id: string; username: string; email: string }> {
  const username = `kp-${sfx()}`;
  const email = `${username}@example.test`;
  const id = await admin.post(`/${realm}/users`, {
    username,
    email,
    emailVerified: true,
    firstName: 'Kavi',
    lastName: 'Pages',
    enabled: true,
    credentials: [{ type: 'password', value: PASSWORD, temporary: false }],
    ...over,
  });
  if (!id) throw new Error('no user id');
  return { id, username, email };
}

async function mailsTo(to: string): Promise<InboxMail[]> {
  return (await (await fetch(`${stack.inboxUrl}/api/mails?to=${encodeURIComponent(to)}`)).json()) as InboxMail[];
}

/** The next mail to `to` after the first `seen` ones. */
async function nextMail(to: string, seen: number): Promise<InboxMail> {
  let mail: InboxMail | undefined;
  await expect
    .poll(
      async () => {
        mail = (await mailsTo(to))[seen];
        return Boolean(mail);
      },
      { timeout: 20_000 },
    )
    .toBe(true);
  return mail!;
}

const linkIn = (mail: InboxMail): string => {
  const link = /(https?:\/\/\S+\/login-actions\/action-token\S+)/.exec(mail.text)?.[1];
  if (!link) throw new Error(`no action link in: ${mail.text}`);
  return link;
};

/** A mail in Hindi has no Latin words apart from its links and the addresses in it. */
function expectMailIn(mail: InboxMail, lang: Lang, subject: RegExp): void {
  expect(mail.subject).toMatch(subject);
  if (lang === 'hi') {
    const words = `${mail.subject}\n${mail.text}`.replace(/\S*[/@]\S*/g, '').match(/[A-Za-z]{3,}/g) ?? [];
    expect(words, mail.text).toEqual([]);
  }
}

/** The outline of the element that has keyboard focus (issue 17 §13: a clear ring of at least 2 px). */
async function expectFocusRing(page: Page): Promise<void> {
  const ring = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const style = getComputedStyle(el);
    return { tag: el.tagName, style: style.outlineStyle, width: Number.parseFloat(style.outlineWidth) };
  });
  expect(ring.style, `focus ring on ${ring.tag}`).not.toBe('none');
  expect(ring.width, `focus ring on ${ring.tag}`).toBeGreaterThanOrEqual(2);
}

/** An error or information page's way forward: our "Go to sign in" (the portal) or the parent's link back to the application. */
async function expectWayForward(page: Page): Promise<void> {
  const link = page.locator('#platform-go-to-sign-in, #backToApplication, #kc-info-message a');
  await expect.poll(() => link.count()).toBeGreaterThan(0);
  await expect.poll(() => link.first().isVisible()).toBe(true);
  const own = page.locator('#platform-go-to-sign-in');
  if ((await own.count()) > 0) expect(await own.getAttribute('href')).toBe(portalUrl);
}

/** From the portal's request to Keycloak's password page (identifier first: organizations). */
async function toPasswordPage(page: Page, login: string): Promise<void> {
  await page.goto(authUrl());
  await page.locator('#username').fill(login);
  await page.locator('#kc-login').click();
  await page.locator('#password').waitFor();
}

async function signIn(page: Page, login: string, password: string): Promise<void> {
  await toPasswordPage(page, login);
  await page.locator('#password').fill(password);
  await page.locator('#kc-login').click();
}

/** One file of a zip archive (a jar): its central directory names it; stored or deflated, no zip64. */
function zipEntry(zip: Buffer, name: string): string {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip archive');
  let at = zip.readUInt32LE(end + 16);
  for (let i = zip.readUInt16LE(end + 10); i > 0; i--) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const header = zip.readUInt32LE(at + 42);
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      const start = header + 30 + zip.readUInt16LE(header + 26) + zip.readUInt16LE(header + 28);
      const data = zip.subarray(start, start + size);
      return (method === 8 ? inflateRawSync(data) : data).toString('utf8');
    }
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  throw new Error(`${name} is not in the archive`);
}

describe("Keycloak's message bundles", () => {
  /** Key=value lines of a .properties text (no continuation lines in these files). */
  const keys = (text: string) =>
    new Set(
      text
        .split('\n')
        .filter((l) => /^[^#!\s][^=]*=/.test(l))
        .map((l) => l.slice(0, l.indexOf('='))),
    );
  const themeJar = path.join(cacheDir, 'keycloak', `dist-${keycloakVersion()}`, 'lib', 'lib', 'main', `org.keycloak.keycloak-themes-${keycloakVersion()}.jar`);
  const fromJar = (entry: string) => zipEntry(readFileSync(themeJar), entry);
  const ours = (file: string) => readFileSync(path.join(themesDir, 'platform', file), 'utf8');

  /** Keycloak features the platform does not turn on: their texts never reach a page, so they stay untranslated. */
  const UNUSED =
    /^(kerberos|bypassKerberos|webauthn|passkey|recovery|auth-recovery|oauth2Device|verifyOAuth2|credentialOffer|naturalPerson|saml\.|openshift\.|console-|impersonate|doImpersonate|delegation|role_|client_|doX509|clientCertificate|noCertificate|auth-x509|doRegisterSecurityKey|usb$|nfc$|bluetooth$|internal$|unknown$|did$|didExists|gssDelegation|theme\.)/;

  it('the Hindi login messages have every key of Keycloak and of ours', () => {
    const base = [...keys(fromJar('theme/base/login/messages/messages_en.properties'))].filter((k) => !UNUSED.test(k));
    const hindi = keys(ours('login/messages/messages_hi.properties'));
    expect(base.length).toBeGreaterThan(300);
    expect(base.filter((k) => !hindi.has(k))).toEqual([]);
    expect([...keys(ours('login/messages/messages_en.properties'))].filter((k) => !hindi.has(k))).toEqual([]);
  });

  it('the Hindi email messages have every key of Keycloak and of ours', () => {
    const hindi = keys(ours('email/messages/messages_hi.properties'));
    expect([...keys(fromJar('theme/base/email/messages/messages_en.properties'))].filter((k) => !hindi.has(k))).toEqual([]);
    expect([...keys(ours('email/messages/messages_en.properties'))].filter((k) => !hindi.has(k))).toEqual([]);
  });
});

for (const v of VARIANTS) {
  const { lang } = v;
  const check = (page: Page, name: string, allow: string[] = []) => checkPage(page, { name: `kc-${name}`, lang, allow });

  describe(`Keycloak's pages in ${lang} at ${v.viewport} width`, () => {
    let context: BrowserContext;
    beforeAll(async () => {
      context = await contextFor(v);
    });
    afterAll(async () => {
      await context?.close();
    });
    /** A fresh page without cookies, so each test starts a sign-in of its own. */
    async function freshPage(): Promise<Page> {
      await context.clearCookies();
      for (const p of context.pages()) await p.close();
      return context.newPage();
    }

    it('sign in: who you are, the password, the mistakes; labelled fields and a visible focus ring', async () => {
      const { username } = await account();
      const page = await freshPage();
      await page.goto(authUrl());
      await page.locator('#username').waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe(lang);
      await expect.poll(() => page.locator('#platform-sign-up').isVisible()).toBe(true);
      await page.keyboard.press('Tab');
      await expectFocusRing(page);
      await check(page, 'login-username');

      await page.locator('#kc-login').click();
      await page.locator('#input-error-username').waitFor();
      await check(page, 'login-username-empty');

      await page.locator('#username').fill(username);
      await page.locator('#kc-login').click();
      await page.locator('#password').waitFor();
      // The read-only username the password page repeats has a label of its own.
      expect(await page.locator('#kc-attempted-username').evaluate((el) => (el as HTMLInputElement).labels?.length ?? 0)).toBeGreaterThan(0);
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Tab');
      await expectFocusRing(page);
      await check(page, 'login-password', STATE_NAME);

      await page.locator('#password').fill('Not-the-password-1');
      await page.locator('#kc-login').click();
      await page.locator('#input-error-password, #input-error-username, .pf-v5-c-alert').first().waitFor();
      await check(page, 'login-password-wrong', STATE_NAME);
    });

    it('forgot password: the request, the mail in the page language, the rules before the first try, the used link', async () => {
      const { username, email } = await account();
      const page = await freshPage();
      await toPasswordPage(page, username);
      await page.locator(`a[href*="/login-actions/reset-credentials"]`).click();
      await page.locator('#kc-reset-password-form').waitFor();
      await check(page, 'reset-request');

      await page.locator('#username').fill('');
      await page.locator('#kc-form-buttons').click();
      await page.locator('#input-error-username').waitFor();
      await check(page, 'reset-request-empty');

      const seen = (await mailsTo(email)).length;
      await page.locator('#username').fill(email);
      await page.locator('#kc-form-buttons').click();
      await page.locator('.pf-v5-c-alert').waitFor();
      await check(page, 'reset-sent');

      const mail = await nextMail(email, seen);
      expectMailIn(mail, lang, lang === 'hi' ? /पासवर्ड/ : /Reset your .* password/);
      const link = linkIn(mail);
      await page.goto(link);
      await page.locator('#password-new').waitFor();
      // The rules come before the first try, and a reset the person asked for is not a warning.
      await expect.poll(() => page.locator('#platform-password-rules li').count()).toBeGreaterThanOrEqual(3);
      expect(await page.locator('#platform-password-rules').innerText()).toContain('10');
      expect(await page.locator('.pf-v5-c-alert.pf-m-warning').count()).toBe(0);
      await check(page, 'update-password');

      await page.locator('#password-new').fill('short');
      await page.locator('#password-confirm').fill('short');
      await page.locator('#kc-submit').click();
      await page.locator('#input-error-container-password-new .pf-m-error, .pf-v5-c-alert.pf-m-danger').first().waitFor();
      await check(page, 'update-password-too-short');

      await page.locator('#password-new').fill(NEW_PASSWORD);
      await page.locator('#password-confirm').fill(NEW_PASSWORD);
      await page.locator('#kc-submit').click();
      await page.waitForURL(`${portalUrl}**`);

      // The same link again: used. A page that says so, and where to go.
      await page.goto(link);
      await expectWayForward(page);
      await check(page, 'reset-link-used');
    });

    it('error pages: unknown application, wrong return address, lost cookie, expired link, out-of-date page; each with a way forward', async () => {
      const page = await freshPage();
      await page.goto(authUrl({ client_id: `no-such-app-${sfx()}` }));
      await expectWayForward(page);
      await check(page, 'error-unknown-application');

      await page.goto(authUrl({ redirect_uri: 'https://elsewhere.example/callback' }));
      await expectWayForward(page);
      expect(await page.locator('body').innerText()).not.toContain('redirect_uri');
      await check(page, 'error-wrong-redirect');

      // Cookies cleared (or switched off) in the middle of a sign-in.
      const { id, username, email } = await account();
      await page.goto(authUrl());
      await context.clearCookies();
      await page.locator('#username').fill(username);
      await page.locator('#kc-login').click();
      await expectWayForward(page);
      await check(page, 'error-cookie-not-found');

      // A link sent by an administrator, opened after it expired.
      const seen = (await mailsTo(email)).length;
      await admin.put(`/${realm}/users/${id}/execute-actions-email?lifespan=1`, ['UPDATE_PASSWORD']);
      const link = linkIn(await nextMail(email, seen));
      await new Promise((r) => setTimeout(r, 2_000));
      await page.goto(link);
      await expectWayForward(page);
      await check(page, 'error-link-expired');

      // A page of a sign-in that has moved on (the password step, posted again after the sign-in went back to the start).
      await context.clearCookies();
      await toPasswordPage(page, username);
      const passwordStep = await page.locator('#kc-form-login').getAttribute('action');
      await page.locator('#reset-login').click();
      await page.locator('#username').waitFor();
      await page.evaluate((action) => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = action!;
        document.body.append(form);
        form.submit();
      }, passwordStep);
      await page.locator('#loginRestartLink').waitFor();
      await expect.poll(() => page.locator('#loginContinueLink').isVisible()).toBe(true);
      await check(page, 'page-expired');
    });

    it('required actions: details, email verification (the mail in the page language), authenticator app and its code', async () => {
      const { id, username, email } = await account({ emailVerified: false, requiredActions: ['UPDATE_PROFILE', 'VERIFY_EMAIL', 'CONFIGURE_TOTP'] });
      const page = await freshPage();
      const seen = (await mailsTo(email)).length;
      await signIn(page, username, PASSWORD);

      await page.locator('#kc-update-profile-form, #kc-idp-review-profile-form').waitFor();
      await check(page, 'update-profile', [username]);
      // The phone is the portal's to show and change (decision 0014): no read-only boxes a person can do nothing with.
      expect(await page.locator('#phone, #phoneVerified').count()).toBe(0);
      await page.locator('#firstName').fill('');
      await page.locator('input[type=submit], button[type=submit]').first().click();
      await page.locator('#input-error-firstName').waitFor();
      await check(page, 'update-profile-missing', [username]);
      await page.locator('#firstName').fill('Kavi');
      await page.locator('input[type=submit], button[type=submit]').first().click();

      await page.getByText(email).first().waitFor();
      await check(page, 'verify-email');
      const mail = await nextMail(email, seen);
      expectMailIn(mail, lang, lang === 'hi' ? /ईमेल/ : /Verify your email/);
      await page.goto(linkIn(mail));

      await page.locator('#kc-totp-settings-form, #kc-totp-settings').first().waitFor();
      await expect.poll(() => page.locator('#kc-totp-secret-qr-code').getAttribute('alt')).toMatch(lang === 'hi' ? /क्यूआर कोड/ : /^QR code/);
      await check(page, 'configure-otp', ['FreeOTP', 'Authenticator', 'Microsoft']);
      await page.locator('#saveTOTPBtn, input[type=submit]').first().click();
      await page.locator('#input-error-otp-code, .pf-m-error, .pf-v5-c-alert').first().waitFor();
      await check(page, 'configure-otp-missing-code', ['FreeOTP', 'Authenticator', 'Microsoft']);
      await page.locator('#mode-manual').click();
      const key = (await page.locator('#kc-totp-secret-key').textContent())!.replace(/\s+/g, '');
      const totp = new TOTP({ secret: key, digits: 6, period: 30, algorithm: 'SHA1' });
      await page.locator('#totp').fill(totp.generate());
      await page.locator('#saveTOTPBtn, input[type=submit]').first().click();
      await page.waitForURL(`${portalUrl}**`);
      const user = (await admin.get<Json>(`/${realm}/users/${id}`))!;
      expect(user.emailVerified).toBe(true);
      expect(user.requiredActions).toEqual([]);

      // The next sign-in asks for the app's code; a wrong one says what to do.
      const next = await freshPage();
      await signIn(next, username, PASSWORD);
      await next.locator('#otp').waitFor();
      await check(next, 'login-otp');
      await next.locator('#otp').fill('000000');
      await next.locator('#kc-login').click();
      await next.locator('#input-error-otp-code, .pf-v5-c-alert').first().waitFor();
      await check(next, 'login-otp-wrong');
    });

    it('change of email address (kc_action=UPDATE_EMAIL, decision 0020): the page, a mistake, the link sent, the link opened', async () => {
      const { username } = await account();
      const newEmail = `${username}.new@example.org`;
      const page = await freshPage();
      await page.goto(authUrl({ kc_action: 'UPDATE_EMAIL' }));
      await page.locator('#username').fill(username);
      await page.locator('#kc-login').click();
      await page.locator('#password').fill(PASSWORD);
      await page.locator('#kc-login').click();
      await page.locator('#kc-update-email-form').waitFor();
      await check(page, 'update-email');

      await page.locator('input[name=email]').fill('not-an-address');
      await page.locator('#kc-submit').click();
      await page.locator('#input-error-email').waitFor();
      await check(page, 'update-email-invalid', ['not-an-address']);

      const seen = (await mailsTo(newEmail)).length;
      await page.locator('input[name=email]').fill(newEmail);
      await page.locator('#kc-submit').click();
      await expect.poll(() => page.locator('body').innerText()).toContain(newEmail);
      await check(page, 'update-email-sent', [newEmail]);

      const mail = await nextMail(newEmail, seen);
      expectMailIn(mail, lang, lang === 'hi' ? /ईमेल/ : /Confirm your new email address/);
      await page.goto(linkIn(mail));
      await expect.poll(() => page.locator('body').innerText()).toContain(newEmail);
      await expectWayForward(page);
      await check(page, 'update-email-done', [newEmail]);
    });

    it('sign out: the question, then the answer with a way forward', async () => {
      const { username } = await account();
      const page = await freshPage();
      await signIn(page, username, PASSWORD);
      await page.waitForURL(`${portalUrl}**`);
      await page.goto(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/logout`);
      await page.locator('#kc-logout').waitFor();
      await check(page, 'logout-confirm');
      await page.locator('#kc-logout').click();
      await page.locator('#kc-info-message').waitFor({ state: 'attached' });
      await expectWayForward(page);
      await check(page, 'logged-out');
    });
  });
}

describe('linking Google to an existing account', () => {
  let bff: TestBff;
  beforeAll(async () => {
    // Keycloak's platform-bff-check asks the BFF during a Google sign-in (decision 0008).
    bff = await startTestBff(stack, {}, { atStackUrl: true });
  });
  afterAll(async () => {
    await bff?.close();
  });

  for (const v of VARIANTS) {
    const { lang } = v;
    const check = (page: Page, name: string, allow: string[] = []) => checkPage(page, { name: `kc-${name}`, lang, allow });

    it(`plain words, no red error, "Create a separate account" explained, only the password when proving the account (${lang}, ${v.viewport})`, async () => {
      const { id, email } = await account({ attributes: { signUpType: ['selfSignUp'] } });
      const googleUser = `g-kp-${sfx()}`;
      await admin.post('/google-demo/users', {
        username: googleUser,
        email,
        emailVerified: true,
        firstName: 'Kavi',
        lastName: 'Google',
        enabled: true,
        credentials: [{ type: 'password', value: stack.settings.demoUserPassword, temporary: false }],
      });
      const context = await contextFor(v);
      try {
        const page = await context.newPage();
        await page.goto(authUrl({ kc_idp_hint: 'google-demo' }));
        await page.waitForURL(/\/realms\/google-demo\//);
        await page.locator('#username').fill(googleUser);
        await page.locator('#password').fill(stack.settings.demoUserPassword);
        await page.locator('#kc-login').click();

        await page.locator('#linkAccount').waitFor();
        expect(await page.locator('.pf-v5-c-alert.pf-m-danger').count()).toBe(0);
        expect(await page.locator('#platform-link-situation').innerText()).toContain(email);
        expect(await page.locator('#linkAccount').innerText()).toContain('Google');
        await check(page, 'link-confirm', [email]);

        await page.locator('#updateProfile').click();
        await page.locator('#kc-idp-review-profile-form').waitFor();
        await expect.poll(() => page.locator('#platform-review-intro').isVisible()).toBe(true);
        await check(page, 'link-review-profile', [email, googleUser]);
        expect(await page.locator('#phone, #phoneVerified').count()).toBe(0);
        // The same email address: still the existing account's, so the question comes back.
        await page.locator('#kc-idp-review-profile-form [type=submit]').click();
        await page.locator('#linkAccount').waitFor();

        await page.locator('#linkAccount').click();
        await page.locator('#password').waitFor();
        // Proving the existing account: its password only; no Google or state button, no sign-up link.
        expect(await page.locator('#kc-social-providers').isVisible()).toBe(false);
        expect(await page.locator('#platform-sign-up').count()).toBe(0);
        // STATE_NAME: the hidden state button's aria-label, which the English-words check still reads.
        await check(page, 'link-reauthenticate', [email, ...STATE_NAME]);

        await page.locator('#password').fill('Not-the-password-1');
        await page.locator('#kc-login').click();
        await page.locator('#input-error-password, #input-error-username, .pf-v5-c-alert.pf-m-danger').first().waitFor();
        await check(page, 'link-reauthenticate-wrong', [email, ...STATE_NAME]);

        await page.locator('#password').fill(PASSWORD);
        await page.locator('#kc-login').click();
        await page.waitForURL(`${portalUrl}**`);
        const links = ((await admin.get<Json[]>(`/${realm}/users/${id}/federated-identity`)) ?? []).map((l) => l.identityProvider);
        expect(links).toEqual(['google-demo']);
      } finally {
        await context.close();
      }
    });
  }
});

describe('the language chosen on Keycloak’s pages is kept', () => {
  it('picked on the sign-in page: the pages, the cookie, the reset mail; signing in stores it on the account for later mails', async () => {
    const { id, username, email } = await account();
    const other = await account();
    const context = await contextFor({ lang: 'en', viewport: 'desktop' });
    try {
      // A browser that asks for English; the person picks Hindi on the sign-in page and signs in.
      const page = await context.newPage();
      await page.goto(authUrl());
      const hindi = await page
        .locator('#login-select-toggle option')
        .evaluateAll((os) => (os as HTMLOptionElement[]).find((o) => o.value.includes('kc_locale=hi'))?.value);
      await page.locator('#login-select-toggle').selectOption(hindi!);
      await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('hi');
      expect((await context.cookies()).find((c) => c.name === 'KEYCLOAK_LOCALE')?.value).toBe('hi');
      await page.locator('#username').fill(username);
      await page.locator('#kc-login').click();
      await page.locator('#password').fill(PASSWORD);
      await page.locator('#kc-login').click();
      await page.waitForURL(`${portalUrl}**`);
      await expect.poll(async () => (await admin.get<Json>(`/${realm}/users/${id}`))?.attributes?.locale).toEqual(['hi']);

      // Later, in the same browser, someone else forgets a password: the cookie keeps Hindi, page and mail.
      const choice = (await context.cookies()).filter((c) => c.name === 'KEYCLOAK_LOCALE');
      await context.clearCookies();
      await context.addCookies(choice);
      await page.goto(authUrl());
      await page.locator('#username').fill(other.username);
      await page.locator('#kc-login').click();
      await page.locator(`a[href*="/login-actions/reset-credentials"]`).click();
      await page.locator('#kc-reset-password-form').waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('hi');
      const seenOther = (await mailsTo(other.email)).length;
      await page.locator('#kc-form-buttons').click();
      expectMailIn(await nextMail(other.email, seenOther), 'hi', /पासवर्ड/);
    } finally {
      await context.close();
    }

    // Another browser, English, no cookie: English until the account is known, then the account's Hindi (pages and mail).
    const elsewhere = await contextFor({ lang: 'en', viewport: 'desktop' });
    try {
      const page = await elsewhere.newPage();
      await page.goto(authUrl());
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      await page.locator('#username').fill(username);
      await page.locator('#kc-login').click();
      await page.locator(`a[href*="/login-actions/reset-credentials"]`).click();
      await page.locator('#kc-reset-password-form').waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('hi');
      const seen = (await mailsTo(email)).length;
      await page.locator('#kc-form-buttons').click();
      expectMailIn(await nextMail(email, seen), 'hi', /पासवर्ड/);
    } finally {
      await elsewhere.close();
    }
  });
});
