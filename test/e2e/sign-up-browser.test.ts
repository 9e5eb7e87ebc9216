import { randomInt } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { inboxMessages, latestCode } from '../support/inbox.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt, portalSignIn } from '../support/oidc.ts';
import { checkPage, openContext, type Viewport } from '../support/page-check.ts';

/**
 * Self sign-up in the browser, as a person does it (issue 17 §2, §3, §9, §5/6/13): the portal sends
 * them to Keycloak's login page, "Create an account" leads to the BFF's sign-up page (at the URL
 * realm-config gave Keycloak), every problem with the details is told at once before a code is sent,
 * going back keeps the code, the resend cooldown counts down on its button, the code comes from the
 * dev inbox (SMTP or SMS sink), and "Continue" ends signed in, back in the same authorization request.
 * Walked at (English, desktop) and (Hindi, phone); every page and error state goes through checkPage
 * (screenshot, axe-core, no English on Hindi pages).
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const browser = useBrowser();
const PASSWORD = 'Sign-up#Browser2026';

let bff: TestBff;
beforeAll(async () => {
  bff = await startTestBff(stack, {}, { atStackUrl: true });
});
afterAll(async () => {
  await bff?.close();
});

const unique = () => `${Date.now().toString(36)}${randomInt(1000)}`;
/** An Indian mobile number nobody has: 98 and 8 random digits. */
const newMobile = () => `98${String(randomInt(100_000_000)).padStart(8, '0')}`;
const shown = (mobile: string) => `+91 ${mobile.slice(0, 5)} ${mobile.slice(5)}`;

const T = {
  en: {
    sendCode: 'Send code',
    create: 'Create account',
    change: 'Change details',
    mobile: 'Mobile number',
    continue: 'Continue',
    resend: /^Send a new code in \d+ s$/,
  },
  hi: { sendCode: 'कोड भेजें', create: 'खाता बनाएँ', change: 'विवरण बदलें', mobile: 'मोबाइल नंबर', continue: 'आगे बढ़ें', resend: /^\d+ सेकंड में नया कोड भेजें$/ },
} as const;

async function context(viewport: Viewport, lang: 'en' | 'hi'): Promise<BrowserContext> {
  return openContext(browser(), { viewport, lang });
}

/** From Keycloak's login page to the sign-up page, through the link our theme adds. */
async function openSignUp(page: Page, lang: 'en' | 'hi') {
  const link = page.locator('#platform-sign-up');
  await link.waitFor();
  const href = new URL((await link.getAttribute('href'))!);
  expect(href.origin + href.pathname).toBe(`${stack.settings.bffPublicUrl}/signup`);
  // The way back is this same authorization request on Keycloak, and the language goes along.
  expect(href.searchParams.get('return')).toMatch(new RegExp(`^/realms/${realm}/login-actions/restart\\?`));
  expect(href.searchParams.get('lang')).toBe(lang);
  await link.click();
  await page.waitForURL(`${stack.settings.bffPublicUrl}/signup?**`);
  await page.locator('#details').waitFor();
}

async function fill(
  page: Page,
  d: { kind?: 'email' | 'phone'; identifier?: string; firstName?: string; lastName?: string; userType?: string; username?: string; password?: string },
  lang: 'en' | 'hi' = 'en',
) {
  if (d.kind === 'phone') await page.getByRole('radio', { name: T[lang].mobile }).check();
  if (d.identifier !== undefined) await page.locator(`#${d.kind ?? 'email'}`).fill(d.identifier);
  for (const name of ['firstName', 'lastName', 'username', 'password'] as const) {
    if (d[name] !== undefined) await page.locator(`#${name}`).fill(d[name]);
  }
  // One of the realm's user types (decision 0036), by its value.
  if (d.userType !== undefined) await page.locator(`input[name="userType"][value="${d.userType}"]`).check();
}

/** The fields marked invalid, in page order. */
const invalidFields = (page: Page) => page.locator('[aria-invalid="true"]').evaluateAll((els) => els.map((e) => e.id));

const stepTitle = (page: Page) => page.locator('#title').innerText();

describe('sign-up from the login page', () => {
  it('(English, desktop) every problem at once, the code kept when going back, a countdown, a wrong code, ends signed in', async () => {
    const email = `browser.${unique()}@example.com`;
    const ctx = await context('desktop', 'en');
    const page = await ctx.newPage();
    let username = '';
    const journey = async (p: Page) => {
      await checkPage(p, { name: 'sign-up-0-login-link', lang: 'en' });
      await openSignUp(p, 'en');
      await checkPage(p, { name: 'sign-up-1-details', lang: 'en' });

      // Nothing filled in: every required field is named at once, before anything is sent.
      await p.getByRole('button', { name: T.en.sendCode }).click();
      await expect.poll(() => invalidFields(p)).toEqual(['email', 'firstName', 'userType', 'password']);
      expect(await p.locator('#email-error').innerText()).toBe('Enter your email address.');
      expect(await p.locator('#userType-error').innerText()).toBe('Choose the one that describes you.');
      expect(await p.locator('#alert').innerText()).toBe('Check the fields marked below.');
      expect(await p.evaluate(() => document.activeElement?.id)).toBe('email');
      expect(await p.locator('#email').getAttribute('aria-describedby')).toContain('email-error');
      await checkPage(p, { name: 'sign-up-1-details-required', lang: 'en' });

      // Rules the server knows (the username's form, the realm's password policy): all told, in our words.
      await fill(p, { identifier: email, firstName: 'Asha', lastName: 'Browser', userType: 'teacher', username: 'A!', password: 'short' });
      await p.getByRole('button', { name: T.en.sendCode }).click();
      await expect.poll(() => invalidFields(p)).toEqual(['username', 'password']);
      expect(await p.locator('#password-error').innerText()).toBe('Use at least 10 characters.');
      expect(await p.locator('#username-error').innerText()).toMatch(/^Use 3 or more of a–z/);
      expect(await p.locator('#password-hint').innerText()).toContain('at least 10 characters');
      expect(await inboxMessages(stack, 'mails', email)).toEqual([]);
      await checkPage(p, { name: 'sign-up-1-details-rules', lang: 'en' });

      await fill(p, { username: '', password: PASSWORD });
      await p.getByRole('button', { name: T.en.sendCode }).click();
      await expect.poll(() => stepTitle(p)).toBe('Enter your code');
      expect(await p.locator('#sent-to').innerText()).toBe(email);
      expect(await p.evaluate(() => document.activeElement?.id)).toBe('title');
      // The resend cooldown is a countdown on the button, not an error.
      expect(await p.locator('#resend').isDisabled()).toBe(true);
      expect(await p.locator('#resend').innerText()).toMatch(T.en.resend);
      expect(await p.locator('#alert').isHidden()).toBe(true);
      await checkPage(p, { name: 'sign-up-2-code', lang: 'en' });

      // Back to the details and on again with the same address: the code sent stands, none is sent again.
      await p.getByRole('button', { name: T.en.change }).click();
      await expect.poll(() => stepTitle(p)).toBe('Create your account');
      expect(await p.locator('#email').inputValue()).toBe(email);
      await p.getByRole('button', { name: T.en.sendCode }).click();
      await expect.poll(() => stepTitle(p)).toBe('Enter your code');
      expect(await p.locator('#alert').isHidden()).toBe(true);
      expect(await p.locator('#resend').innerText()).toMatch(T.en.resend);
      expect(await inboxMessages(stack, 'mails', email)).toHaveLength(1);

      const code = await latestCode(stack, 'mails', email);
      await p.locator('#code').fill(code === '000000' ? '111111' : '000000');
      await p.getByRole('button', { name: T.en.create }).click();
      await expect.poll(() => p.locator('#code').getAttribute('aria-invalid')).toBe('true');
      expect(await p.locator('#code-error').innerText()).toBe('This code is wrong or has expired. Check it, or send a new code.');
      expect(await p.evaluate(() => document.activeElement?.id)).toBe('code');
      await checkPage(p, { name: 'sign-up-2-code-wrong', lang: 'en' });

      await p.locator('#code').fill(code);
      await p.getByRole('button', { name: T.en.create }).click();
      await p.locator('#done').waitFor();
      username = await p.locator('#new-username').innerText();
      expect(username).toMatch(/^asha_browser\d{4}$/);
      expect(await p.locator('#done .lead').innerText()).toBe(
        `Your username is ${username}. Use it, your email address or your mobile number to sign in next time.`,
      );
      const next = p.getByRole('link', { name: T.en.continue, exact: true });
      expect(new URL((await next.getAttribute('href'))!).pathname).toBe(`/realms/${realm}/platform-sign-up/continue`);
      await checkPage(p, { name: 'sign-up-3-done', lang: 'en' });
      // Keycloak redeems the ticket (decision 0027): no password typed, the portal gets its code.
      await next.click();
    };
    const tokens = await portalSignIn(stack, page, journey);
    const id = decodeJwt(tokens.id_token);
    expect(id).toMatchObject({ preferred_username: username, email, email_verified: true });
    const user = (await admin.get<Json>(`/${realm}/users/${id.sub}`))!;
    expect(user).toMatchObject({ username, email, emailVerified: true, firstName: 'Asha', lastName: 'Browser', enabled: true });
    expect(user.attributes).toMatchObject({ userType: ['teacher'], signUpType: ['selfSignUp'] });
    await ctx.close();
  });

  it('(Hindi, phone) a Hindi name, a mobile number changed after the code was sent, ends signed in', async () => {
    const first = newMobile();
    const mobile = newMobile();
    const ctx = await context('phone', 'hi');
    const page = await ctx.newPage();
    let username = '';
    const journey = async (p: Page) => {
      await checkPage(p, { name: 'sign-up-0-login-link', lang: 'hi' });
      await openSignUp(p, 'hi');
      expect(await p.locator('html').getAttribute('lang')).toBe('hi');
      expect(await stepTitle(p)).toBe('अपना खाता बनाएँ');
      await checkPage(p, { name: 'sign-up-1-details', lang: 'hi' });

      expect(await p.locator('label[for^="userType-"]').allInnerTexts()).toEqual(['शिक्षक', 'अन्य']);
      await fill(p, { kind: 'phone', identifier: '12345', firstName: 'उमा', lastName: 'शर्मा', userType: 'other', password: 'छोटा' }, 'hi');
      await p.getByRole('button', { name: T.hi.sendCode }).click();
      await expect.poll(() => invalidFields(p)).toEqual(['phone', 'password']);
      expect(await p.locator('#phone-error').innerText()).toBe('98765 43210 जैसा मान्य मोबाइल नंबर दर्ज करें।');
      expect(await p.locator('#password-error').innerText()).toBe('कम से कम 10 अक्षरों का उपयोग करें।');
      expect(await p.locator('#alert').innerText()).toBe('नीचे चिह्नित फ़ील्ड जाँचें।');
      await checkPage(p, { name: 'sign-up-1-details-errors', lang: 'hi' });

      // Typed as people in India write it: no country code; shown back in the one phone format.
      await fill(p, { kind: 'phone', identifier: first, password: PASSWORD }, 'hi');
      await p.getByRole('button', { name: T.hi.sendCode }).click();
      await expect.poll(() => stepTitle(p)).toBe('अपना कोड दर्ज करें');
      expect(await p.locator('#sent-to').innerText()).toBe(shown(first));
      expect(await p.locator('#resend').innerText()).toMatch(T.hi.resend);
      // The SMS is in the page's language.
      expect((await inboxMessages(stack, 'sms', `+91${first}`))[0]!.text).toContain('साइन-अप कोड');
      await checkPage(p, { name: 'sign-up-2-code', lang: 'hi' });

      // A mistyped number: back, another number, and a new code goes to it (the cooldown is the old number's).
      await p.getByRole('button', { name: T.hi.change }).click();
      await fill(p, { kind: 'phone', identifier: mobile }, 'hi');
      await p.getByRole('button', { name: T.hi.sendCode }).click();
      await expect.poll(() => p.locator('#sent-to').innerText()).toBe(shown(mobile));
      const code = await latestCode(stack, 'sms', `+91${mobile}`);
      expect(await p.locator('#alert').isHidden()).toBe(true);
      await p.locator('#code').fill(code);
      await p.getByRole('button', { name: T.hi.create }).click();
      await p.locator('#done').waitFor();
      username = await p.locator('#new-username').innerText();
      expect(username).toMatch(/^uma_sharma\d{4}$/);
      expect(await stepTitle(p)).toBe('आपका खाता तैयार है');
      await checkPage(p, { name: 'sign-up-3-done', lang: 'hi', allow: [username] });
      await p.getByRole('link', { name: T.hi.continue, exact: true }).click();
    };
    const tokens = await portalSignIn(stack, page, journey, { ui_locales: 'hi' });
    expect(decodeJwt(tokens.id_token).preferred_username).toBe(username);
    const [user] = (await admin.get<Json[]>(`/${realm}/users?username=${username}&exact=true`))!;
    // The language chosen is the account's from now on (Keycloak's pages and mails).
    expect(user).toMatchObject({
      firstName: 'उमा',
      lastName: 'शर्मा',
      attributes: { phone: [`+91${mobile}`], phoneVerified: ['true'], locale: ['hi'], userType: ['other'], signUpType: ['selfSignUp'] },
    });
    expect(user!.email).toBeUndefined();
    await ctx.close();
  });
});

describe('the sign-up page', () => {
  it('after a reload within the cooldown, goes back to the code already sent instead of refusing', async () => {
    const email = `reload.${unique()}@example.com`;
    const ctx = await context('desktop', 'en');
    const page = await ctx.newPage();
    await page.goto(`${stack.settings.bffPublicUrl}/signup?lang=en`);
    await fill(page, { identifier: email, firstName: 'Kavya', userType: 'teacher', password: PASSWORD });
    await page.getByRole('button', { name: T.en.sendCode }).click();
    await page.locator('#code').waitFor();
    await page.reload();
    await fill(page, { identifier: email, firstName: 'Kavya', userType: 'teacher', password: PASSWORD });
    await page.getByRole('button', { name: T.en.sendCode }).click();
    await expect.poll(() => stepTitle(page)).toBe('Enter your code');
    expect(await page.locator('#notice').innerText()).toBe('We sent you a code a moment ago; it is still valid.');
    expect(await page.locator('#alert').isHidden()).toBe(true);
    expect(await page.locator('#resend').innerText()).toMatch(T.en.resend);
    await checkPage(page, { name: 'sign-up-2-code-still-valid', lang: 'en' });
    await page.locator('#code').fill(await latestCode(stack, 'mails', email));
    await page.getByRole('button', { name: T.en.create }).click();
    await page.locator('#done').waitFor();
    // Opened directly (no authorization request): "Continue to sign in" leads to the portal.
    expect(await page.getByRole('link', { name: 'Continue to sign in' }).getAttribute('href')).toBe('/portal/');
    await ctx.close();
  });

  it('names the field an account already uses, next to it, once the code is proven', async () => {
    const email = `taken.${unique()}@example.com`;
    // A holder that proved the address: an unproven one would lose it to this sign-up (decision 0021).
    await admin.post(`/${realm}/users`, { username: `taken${unique()}`, email, emailVerified: true, firstName: 'Taken', enabled: true });
    const ctx = await context('phone', 'hi');
    const page = await ctx.newPage();
    await page.goto(`${stack.settings.bffPublicUrl}/signup?lang=hi`);
    await fill(page, { identifier: email, firstName: 'आशा', userType: 'teacher', password: PASSWORD }, 'hi');
    await page.getByRole('button', { name: T.hi.sendCode }).click();
    // The API does not tell who has an account before the code is proven (no enumeration): the
    // holder of the code learns it when creating the account, and the page goes back to the details.
    await page.locator('#code').fill(await latestCode(stack, 'mails', email));
    await page.getByRole('button', { name: T.hi.create }).click();
    await expect.poll(() => page.locator('#email').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#details').isVisible()).toBe(true);
    expect(await page.locator('#email-error').innerText()).toBe('इस ईमेल पते से एक खाता पहले से है। उससे साइन इन करें, या कोई दूसरा पता दें।');
    await checkPage(page, { name: 'sign-up-1-details-taken', lang: 'hi' });
    await ctx.close();
  });

  it('shows keyboard focus on the e-mail/mobile switch, and follows the dark mode of the system', async () => {
    const ctx = await browser().newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    const page = await ctx.newPage();
    await page.goto(`${stack.settings.bffPublicUrl}/signup?lang=en`);
    await page.locator('#kind-email').focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.locator('#kind-phone').isChecked()).toBe(true);
    const ring = await page.locator('.segmented').evaluate((el) => getComputedStyle(el).outlineStyle);
    expect(ring).toBe('solid');
    await checkPage(page, { name: 'sign-up-dark-0-switch-focus', lang: 'en' });
    const card = await page.locator('#sign-up').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(card).toBe('rgb(27, 29, 33)');
    await page.getByRole('button', { name: T.en.sendCode }).click();
    await expect.poll(() => invalidFields(page)).toEqual(['phone', 'firstName', 'userType', 'password']);
    await checkPage(page, { name: 'sign-up-dark-1-errors', lang: 'en' });
    await ctx.close();
  });

  it('sends "Continue to sign in" only back to Keycloak or the portal (no open redirect)', async () => {
    const page = await browser().newPage();
    for (const evil of ['https://evil.example/', '//evil.example/x', `${stack.keycloakUrl}@evil.example/realms/${realm}/`, 'javascript:alert(1)']) {
      await page.goto(`${stack.settings.bffPublicUrl}/signup?return=${encodeURIComponent(evil)}`);
      expect(await page.locator('#continue').getAttribute('href'), evil).toBe('/portal/');
      expect(await page.locator('#have-account a').getAttribute('href'), evil).toBe('/portal/');
    }
    const restart = `/realms/${realm}/login-actions/restart?client_id=portal&tab_id=abc`;
    await page.goto(`${stack.settings.bffPublicUrl}/signup?return=${encodeURIComponent(restart)}`);
    expect(await page.locator('#have-account a').getAttribute('href')).toBe(`${stack.keycloakUrl}${restart}`);
    await page.close();
  });
});
