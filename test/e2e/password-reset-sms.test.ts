import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { inboxMessages, latestCode } from '../support/inbox.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt, portalLoginUrl, portalSignIn } from '../support/oidc.ts';
import { checkPage, openContext } from '../support/page-check.ts';

/**
 * "Forgot password?" with a phone number (issue 17 §1, decision 0028), in Chromium against the real
 * stack: Keycloak's platform-reset-credential step asks the BFF for a 6-digit code by SMS (the dev
 * inbox's SMS sink), the right code leads to Keycloak's new-password page and the person ends signed
 * in to the portal. A number no account uses (or only unproven) gets the same page and words, no SMS,
 * and no code ever works there; five wrong codes kill the code and the page counts down.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const browser = useBrowser();
const PASSWORD = 'Reset#Sms2026';
const NEW_PASSWORD = 'Fresh#Sms2026x';
/** Short, so the test can wait for "Send a new code" to come back (the default is 60 s). */
const COOLDOWN_SECONDS = 4;

let bff: TestBff;
const createdUserIds: string[] = [];
beforeAll(async () => {
  bff = await startTestBff(
    stack,
    // A Redis prefix of its own: the per-IP code limits start from zero however often this file runs.
    { OTP_RESEND_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS), REDIS_PREFIX: `${stack.settings.redisPrefix}reset-sms-${randomBytes(3).toString('hex')}:` },
    { atStackUrl: true },
  );
});
afterAll(async () => {
  for (const id of createdUserIds) await bff?.container.accounts.delete(id).catch(() => undefined);
  await bff?.close();
});

/** An Indian mobile number nobody has: 97 and 8 random digits, as typed (national) and stored (E.164). */
const newMobile = () => {
  const national = `97${String(randomInt(100_000_000)).padStart(8, '0')}`;
  return { national, e164: `+91${national}` };
};

async function phoneAccount(phone: string, phoneVerified = true): Promise<string> {
  const { userId } = await bff.container.accounts.create(
    { firstName: 'Kiran', phone, phoneVerified, emailVerified: false, password: PASSWORD, signUpType: 'self' },
    { idempotencyKey: randomUUID() },
  );
  createdUserIds.push(userId);
  return userId;
}

/** From the login page to the code page: the login, "Forgot password?", the login again, submit. */
async function askForCode(page: Page, login: string, lang: 'en' | 'hi', shot?: string) {
  await page.locator('#username').fill(login);
  await page.locator('#kc-login').click();
  await page.locator('a[href*="reset-credentials"]').click();
  await page.locator('#kc-reset-password-form #username').fill(login);
  if (shot) await checkPage(page, { name: `${shot}-forgot`, lang, allow: TITLE });
  await page.locator('#kc-reset-password-form [type=submit]').click();
  await page.locator('#platform-reset-code-form').waitFor();
}

/** Keycloak's login page for the portal (an authorization request nobody finishes). */
const loginUrl = () => portalLoginUrl(stack);
/** Keycloak's pages carry the realm's display name in their title (the product name, not yet translated). */
const TITLE = ['Identity', 'Platform'];

const sentText = async (page: Page) => (await page.locator('#platform-reset-code-sent').innerText()).trim();
const codeError = async (page: Page) => (await page.locator('#input-error-code').innerText()).trim();
const other = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

async function submitCode(page: Page, code: string) {
  await page.locator('#code').fill(code);
  await page.locator('#platform-reset-code-submit').click();
  await page.waitForLoadState('domcontentloaded');
}

async function newPassword(page: Page, lang: 'en' | 'hi', shot: string) {
  await page.locator('#password-new').waitFor();
  await checkPage(page, { name: shot, lang, allow: TITLE });
  await page.locator('#password-new').fill(NEW_PASSWORD);
  await page.locator('#password-confirm').fill(NEW_PASSWORD);
  await page.locator('[type=submit]').first().click();
}

describe('forgot password with a phone number', () => {
  it('(en, desktop) a code by SMS, one wrong try, the right code, a new password: signed in to the portal', async () => {
    const { national, e164 } = newMobile();
    const userId = await phoneAccount(e164);
    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    const tokens = await portalSignIn(stack, page, async (p) => {
      await askForCode(p, national, 'en', 'reset-sms-0');
      expect(await p.locator('h1').innerText()).toBe('Enter the code');
      expect(await sentText(p)).toBe(`If an account uses ${national}, we sent a 6-digit code to its mobile number by text message.`);
      // The resend cooldown is a countdown on the button, not an error.
      expect(await p.locator('#platform-resend').isDisabled()).toBe(true);
      expect(await p.locator('#platform-resend-wait').innerText()).toMatch(/^You can ask for a new code in 0:0\d\.$/);
      expect(await p.locator('.pf-v5-c-alert, .alert-error').count()).toBe(0);
      await checkPage(p, { name: 'reset-sms-1-code', lang: 'en' });

      const sms = await inboxMessages(stack, 'sms', e164);
      expect(sms).toHaveLength(1);
      expect(sms[0]!.text).toMatch(/^\d{6} is your Identity Platform code to reset your password\. Valid 10 min\./);
      const code = await latestCode(stack, 'sms', e164);

      await submitCode(p, other(code));
      expect(await codeError(p)).toBe('That code is not right. You can try 4 more times.');
      expect(await p.locator('#code').getAttribute('aria-invalid')).toBe('true');
      await checkPage(p, { name: 'reset-sms-2-wrong', lang: 'en' });

      await submitCode(p, 'abc');
      expect(await codeError(p)).toBe('Enter the 6-digit code from the text message.');

      await submitCode(p, code);
      await newPassword(p, 'en', 'reset-sms-3-new-password');
    });
    expect(decodeJwt(tokens.id_token).sub).toBe(userId);
    // The new password is the account's now; the old one is not.
    const creds = (await admin.get<Json[]>(`/${realm}/users/${userId}/credentials`))!;
    expect(creds.map((c) => c.type)).toContain('password');
    await context.close();
    await expectPassword(e164, NEW_PASSWORD, true);
    await expectPassword(e164, PASSWORD, false);
  });

  it('(hi, phone) the page and the SMS in Hindi; "Send a new code" once the countdown ends; the new code works, the old one not', async () => {
    const { national, e164 } = newMobile();
    const userId = await phoneAccount(e164);
    const context = await openContext(browser() as Browser, { viewport: 'phone', lang: 'hi' });
    const page = await context.newPage();
    const tokens = await portalSignIn(
      stack,
      page,
      async (p) => {
        await askForCode(p, national, 'hi', 'reset-sms-hi-0');
        expect(await p.locator('h1').innerText()).toBe('कोड दर्ज करें');
        expect(await sentText(p)).toContain(national);
        await checkPage(p, { name: 'reset-sms-hi-1-code', lang: 'hi', allow: TITLE });
        const first = await latestCode(stack, 'sms', e164);
        expect((await inboxMessages(stack, 'sms', e164))[0]!.text).toContain('पासवर्ड रीसेट करने के लिए आपका पहचान प्लेटफ़ॉर्म कोड है');

        await submitCode(p, other(first));
        expect(await codeError(p)).toBe('यह कोड सही नहीं है। आप 4 बार और प्रयास कर सकते हैं।');
        await checkPage(p, { name: 'reset-sms-hi-2-wrong', lang: 'hi', allow: TITLE });

        // The countdown ends by itself and the button comes back.
        await p.locator('#platform-resend:not([disabled])').waitFor({ timeout: (COOLDOWN_SECONDS + 5) * 1000 });
        expect(await p.locator('#platform-resend-wait').isHidden()).toBe(true);
        await checkPage(p, { name: 'reset-sms-hi-3-resend-ready', lang: 'hi', allow: TITLE });
        await p.locator('#platform-resend').click();
        await p.locator('#platform-reset-code-form').waitFor();
        const second = await latestCode(stack, 'sms', e164, 1);
        expect(await p.locator('#platform-resend').isDisabled()).toBe(true);

        if (second !== first) {
          await submitCode(p, first);
          expect(await codeError(p)).toBe('यह कोड सही नहीं है। आप 3 बार और प्रयास कर सकते हैं।');
        }
        await submitCode(p, second);
        await newPassword(p, 'hi', 'reset-sms-hi-4-new-password');
      },
      { ui_locales: 'hi' },
    );
    expect(decodeJwt(tokens.id_token).sub).toBe(userId);
    expect(await inboxMessages(stack, 'sms', e164)).toHaveLength(2);
    await context.close();
  });

  it('(en, desktop) a number no account uses: the same page and words, no SMS, no code works; five wrong codes end in a countdown', async () => {
    const known = newMobile();
    await phoneAccount(known.e164);
    const unknown = newMobile();
    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await page.goto(loginUrl());
    await askForCode(page, unknown.national, 'en');
    // Everything on the page but the number typed, to compare with a number an account uses.
    const unknownPage = (await page.locator('main').innerText()).replaceAll(unknown.national, 'N').replace(/\d+:\d\d/, 'T');
    expect(await page.locator('#platform-resend').isDisabled()).toBe(true);
    await checkPage(page, { name: 'reset-sms-unknown-1-code', lang: 'en' });

    // Every code is wrong here, counted like anywhere else.
    for (const left of [4, 3, 2, 1]) {
      await submitCode(page, String(left).padStart(6, '0'));
      expect(await codeError(page)).toBe(`That code is not right. You can try ${left === 1 ? '1 more time' : `${left} more times`}.`);
    }
    await submitCode(page, '123456');
    expect(await codeError(page)).toBe('That code is not right, and that was the last try. You can ask for a new code when the button below is ready.');
    // The wait for a new code is the failure window's (an hour), counted down.
    expect(await page.locator('#platform-resend').isDisabled()).toBe(true);
    expect(await page.locator('#platform-resend-wait').innerText()).toMatch(/^You can ask for a new code in (59|60):\d\d\.$/);
    await checkPage(page, { name: 'reset-sms-unknown-2-dead', lang: 'en' });
    await submitCode(page, '654321');
    expect(await codeError(page)).toBe('Too many wrong codes. You can ask for a new code when the button below is ready.');
    expect(await page.locator('#platform-resend').isDisabled()).toBe(true);
    expect(await page.locator('#platform-resend-wait').innerText()).toMatch(/^You can ask for a new code in (59|60):\d\d\.$/);
    await checkPage(page, { name: 'reset-sms-unknown-3-too-many', lang: 'en' });

    // Back to sign in, and the same number again: the code page, counting down (a 429, not an error).
    await page.locator('#platform-back-to-sign-in').click();
    await page.locator('#username').waitFor();
    await askForCode(page, unknown.national, 'en');
    expect(await page.locator('#platform-resend').isDisabled()).toBe(true);
    expect(await page.locator('#platform-resend-wait').innerText()).toMatch(/^You can ask for a new code in (59|60):\d\d\.$/);
    expect(await page.locator('#input-error-code').count()).toBe(0);
    await checkPage(page, { name: 'reset-sms-unknown-4-countdown', lang: 'en' });
    await context.close();

    // The page for a known number reads the same, but for the number typed.
    const second = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const knownPage = await second.newPage();
    await knownPage.goto(loginUrl());
    await askForCode(knownPage, known.national, 'en');
    expect((await knownPage.locator('main').innerText()).replaceAll(known.national, 'N').replace(/\d+:\d\d/, 'T')).toBe(unknownPage);
    await second.close();
    expect(await inboxMessages(stack, 'sms', unknown.e164)).toEqual([]);
  });

  it('the username of an account with only a proven phone: the code page, and the code goes to that phone', async () => {
    const { e164 } = newMobile();
    const userId = await phoneAccount(e164);
    const { username } = (await admin.get<Json>(`/${realm}/users/${userId}`))!;
    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await page.goto(loginUrl());
    await askForCode(page, username, 'en');
    expect(await sentText(page)).toBe(`If an account uses ${username}, we sent a 6-digit code to its mobile number by text message.`);
    await submitCode(page, await latestCode(stack, 'sms', e164));
    await page.locator('#password-new').waitFor();
    await context.close();
  });

  it('an account whose phone is not proven gets the same page and no SMS; its proven e-mail still gets the link, an unproven one nothing', async () => {
    const { national, e164 } = newMobile();
    const email = `reset.${randomBytes(4).toString('hex')}@example.com`;
    const { userId } = await bff.container.accounts.create(
      { firstName: 'Kiran', phone: e164, phoneVerified: false, email, emailVerified: true, password: PASSWORD, signUpType: 'self' },
      { idempotencyKey: randomUUID() },
    );
    createdUserIds.push(userId);
    const unproven = `reset.unproven.${randomBytes(4).toString('hex')}@example.com`;
    const other = await bff.container.accounts.create(
      { firstName: 'Mala', email: unproven, emailVerified: false, phoneVerified: false, password: PASSWORD, signUpType: 'self' },
      { idempotencyKey: randomUUID() },
    );
    createdUserIds.push(other.userId);

    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await page.goto(loginUrl());
    await askForCode(page, national, 'en');
    expect(await sentText(page)).toContain(national);
    for (const login of [email, unproven]) {
      await page.goto(loginUrl());
      await page.locator('#username').fill(login);
      await page.locator('#kc-login').click();
      await page.locator('a[href*="reset-credentials"]').click();
      await page.locator('#kc-reset-password-form #username').fill(login);
      await page.locator('#kc-reset-password-form [type=submit]').click();
      await page.locator('#username').waitFor();
      // Keycloak's "we sent an e-mail" notice, whether or not it did.
      expect(await page.locator('.pf-v5-c-alert.pf-m-success').count()).toBe(1);
    }
    await context.close();
    // The link went to the proven address, and says how long it lives (decision 0028: 30 minutes).
    await expect.poll(async () => (await inboxMessages(stack, 'mails', email)).length, { timeout: 20_000 }).toBe(1);
    expect((await inboxMessages(stack, 'mails', email))[0]!.text).toContain('This link expires within 30 minutes.');
    expect(await inboxMessages(stack, 'mails', unproven)).toEqual([]);
    expect(await inboxMessages(stack, 'sms', e164)).toEqual([]);
  });
});

/** The password grant of the user-api client (the BFF's sign-in API): whether this password signs the account in. */
async function expectPassword(phone: string, password: string, works: boolean) {
  const [user] = (await admin.get<Json[]>(`/${realm}/users?q=phone:${encodeURIComponent(phone)}`))!;
  const res = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'user-api',
      client_secret: stack.settings.userApiClientSecret,
      username: user!.username,
      password,
      scope: 'openid',
    }),
  });
  expect(res.ok, `sign-in with the ${works ? 'new' : 'old'} password`).toBe(works);
}
