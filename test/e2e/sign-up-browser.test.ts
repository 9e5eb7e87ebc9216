import { randomInt } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt, portalSignIn } from '../support/oidc.ts';
import { latestCode } from '../support/inbox.ts';

/**
 * Self sign-up in the browser, as a person does it: the portal sends them to Keycloak's login page,
 * "Create an account" leads to the BFF's sign-up page (at the URL realm-config gave Keycloak), the
 * code comes from the dev inbox (SMTP or SMS sink), "Continue to sign in" leads back to the same
 * authorization request, and the password they chose signs them in.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const browser = useBrowser();
const PASSWORD = 'Sign-up#Browser2026';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 360, height: 740 };

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

/** Screenshots of the page as it is now, at desktop and phone width. */
async function screenshots(page: Page, name: string) {
  const viewport = page.viewportSize();
  await page.setViewportSize(DESKTOP);
  await screenshot(page, `${name}`);
  await page.setViewportSize(PHONE);
  await screenshot(page, `${name}-phone`);
  if (viewport) await page.setViewportSize(viewport);
}

/** From Keycloak's login page to the sign-up page, through the link our theme adds. */
async function openSignUp(page: Page) {
  const link = page.locator('#platform-sign-up');
  await link.waitFor();
  const href = new URL((await link.getAttribute('href'))!);
  expect(href.origin + href.pathname).toBe(`${stack.settings.bffPublicUrl}/signup`);
  // The way back is this same authorization request on Keycloak.
  expect(href.searchParams.get('return')).toMatch(new RegExp(`^/realms/${realm}/login-actions/restart\\?`));
  await link.click();
  await page.waitForURL(`${stack.settings.bffPublicUrl}/signup?**`);
  await page.locator('#details').waitFor();
}

async function fillDetails(page: Page, d: { kind: 'email' | 'phone'; identifier: string; name: string }) {
  if (d.kind === 'phone') await page.getByRole('radio', { name: 'Mobile number' }).check();
  await page.locator(`#${d.kind}`).fill(d.identifier);
  await page.locator('#firstName').fill(d.name);
  await page.locator('#password').fill(PASSWORD);
}

/** After "Continue to sign in": Keycloak's identifier-first pages. */
async function signInOnKeycloak(page: Page, username: string) {
  await page.waitForURL(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/`));
  await page.locator('#username').fill(username);
  await page.locator('#kc-login').click();
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#kc-login').click();
}

describe('sign-up from the login page', () => {
  it('a person signs up with an email address and ends signed in as the new account', async () => {
    const email = `browser.${unique()}@example.com`;
    const page = await browser().newPage({ viewport: DESKTOP });
    let username = '';
    const tokens = await portalSignIn(stack, page, async (p) => {
      await screenshots(p, 'sign-up-0-login-link');
      await openSignUp(p);
      await screenshots(p, 'sign-up-1-details');
      await fillDetails(p, { kind: 'email', identifier: email, name: 'Asha Browser' });
      await p.getByRole('button', { name: 'Send code' }).click();
      await expect.poll(() => p.locator('#title').innerText()).toBe('Enter your code');
      expect(await p.locator('#sent-to').innerText()).toBe(email);
      // Focus moves to the new step's heading.
      expect(await p.evaluate(() => document.activeElement?.id)).toBe('title');
      await screenshots(p, 'sign-up-2-code');
      await p.locator('#code').fill(await latestCode(stack, 'mails', email));
      await p.getByRole('button', { name: 'Create account' }).click();
      await p.locator('#done').waitFor();
      username = await p.locator('#new-username').innerText();
      expect(username).toMatch(/^asha_browser\d{4}$/);
      await screenshots(p, 'sign-up-3-done');
      await p.getByRole('link', { name: 'Continue to sign in' }).click();
      await signInOnKeycloak(p, username);
    });

    const id = decodeJwt(tokens.id_token);
    expect(id).toMatchObject({ iss: `${stack.keycloakUrl}/realms/${realm}`, preferred_username: username, email, email_verified: true });
    const user = (await admin.get<Json>(`/${realm}/users/${id.sub}`))!;
    expect(user).toMatchObject({ username, email, emailVerified: true, firstName: 'Asha Browser', enabled: true });
    await page.close();
  });

  it('a person signs up with a mobile number on a phone-sized screen and ends signed in', async () => {
    const mobile = newMobile();
    const e164 = `+91${mobile}`;
    const page = await browser().newPage({ viewport: PHONE });
    let username = '';
    const tokens = await portalSignIn(stack, page, async (p) => {
      await openSignUp(p);
      // Typed as people in India write it: no country code (+91 is the default).
      await fillDetails(p, { kind: 'phone', identifier: mobile, name: 'Ravi' });
      expect(await p.locator('#email').isVisible()).toBe(false);
      await screenshots(p, 'sign-up-phone-1-details');
      await p.getByRole('button', { name: 'Send code' }).click();
      await p.locator('#code').waitFor();
      await p.locator('#code').fill(await latestCode(stack, 'sms', e164));
      await p.getByRole('button', { name: 'Create account' }).click();
      await p.locator('#done').waitFor();
      username = await p.locator('#new-username').innerText();
      expect(username).toMatch(/^ravi\d{4}$/);
      await p.getByRole('link', { name: 'Continue to sign in' }).click();
      await signInOnKeycloak(p, username);
    });

    const id = decodeJwt(tokens.id_token);
    expect(id.preferred_username).toBe(username);
    const user = (await admin.get<Json>(`/${realm}/users/${id.sub}`))!;
    expect(user.attributes).toMatchObject({ phone: [e164], phoneVerified: ['true'] });
    expect(user.email).toBeUndefined();
    await page.close();
  });
});

describe('the sign-up page', () => {
  it('is in Hindi when the login page is', async () => {
    const page = await browser().newPage({ viewport: DESKTOP });
    await page.goto(
      `${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/auth?` +
        new URLSearchParams({
          client_id: 'portal',
          redirect_uri: `${stack.settings.bffPublicUrl}/portal/`,
          response_type: 'code',
          scope: 'openid',
          ui_locales: 'hi',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        }),
    );
    expect(await page.locator('#platform-sign-up').innerText()).toBe('खाता बनाएँ');
    await screenshots(page, 'sign-up-hi-0-login-link');
    await openSignUp(page);
    expect(await page.locator('html').getAttribute('lang')).toBe('hi');
    expect(await page.locator('#title').innerText()).toBe('अपना खाता बनाएँ');
    expect(await page.getByRole('button', { name: 'कोड भेजें' }).isVisible()).toBe(true);
    expect(await page.getByText('पहचान प्लेटफ़ॉर्म').isVisible()).toBe(true);
    await screenshots(page, 'sign-up-hi-1-details');

    // Errors the browser finds itself are in Hindi too, next to their fields.
    await page.getByRole('button', { name: 'कोड भेजें' }).click();
    expect(await page.locator('#email').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#email-error').innerText()).toContain('यह फ़ील्ड भरें');
    expect(await page.locator('#alert').innerText()).toContain('नीचे चिह्नित फ़ील्ड जाँचें');
    await screenshots(page, 'sign-up-hi-2-errors');
    await page.close();
  });

  it('shows a wrong code next to the code field, and the right one still works', async () => {
    const email = `wrong.code.${unique()}@example.com`;
    const page = await browser().newPage({ viewport: DESKTOP });
    await page.goto(`${stack.settings.bffPublicUrl}/signup?lang=en`);
    await fillDetails(page, { kind: 'email', identifier: email, name: 'Meena' });
    await page.getByRole('button', { name: 'Send code' }).click();
    const code = await latestCode(stack, 'mails', email);
    const wrong = code === '000000' ? '111111' : '000000';
    await page.locator('#code').fill(wrong);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.locator('#code').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#code-error').isVisible()).toBe(true);
    expect(await page.locator('#code-error').innerText()).not.toBe('');
    // Announced: the alert (role=alert) says there is something to fix; focus is on the field.
    expect(await page.locator('#alert').innerText()).toBe('Check the fields marked below.');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('code');
    expect(await page.locator('#code').getAttribute('aria-describedby')).toContain('code-error');
    await screenshots(page, 'sign-up-2-code-wrong');

    await page.locator('#code').fill(code);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#done').waitFor();
    expect(await page.locator('#new-username').innerText()).toMatch(/^meena\d{4}$/);
    await page.close();
  });

  it('says how long to wait when the API refuses for now (429 with Retry-After)', async () => {
    const email = `too.soon.${unique()}@example.com`;
    const page = await browser().newPage({ viewport: DESKTOP });
    await page.goto(`${stack.settings.bffPublicUrl}/signup?lang=en`);
    await fillDetails(page, { kind: 'email', identifier: email, name: 'Kavya' });
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.locator('#code').waitFor();
    // The resend cooldown: the button says when it can be used.
    expect(await page.locator('#resend').isDisabled()).toBe(true);
    expect(await page.locator('#resend').innerText()).toMatch(/^Send a new code in \d+ s$/);
    // Asking again at once, from the details: the API answers 429 and the page says how long to wait.
    await page.getByRole('button', { name: 'Change details' }).click();
    await page.getByRole('button', { name: 'Send code' }).click();
    await expect.poll(() => page.locator('#alert').innerText()).toMatch(/^Too many attempts\. Try again in \d+ s\.$/);
    expect(await page.locator('#details').isVisible()).toBe(true);
    await screenshots(page, 'sign-up-1-details-wait');
    await page.close();
  });

  it('names the field an account already uses, next to it', async () => {
    const email = `taken.${unique()}@example.com`;
    // A holder that proved the address: an unproven one would lose it to this sign-up (decision 0021).
    await admin.post(`/${realm}/users`, { username: `taken${unique()}`, email, emailVerified: true, firstName: 'Taken', enabled: true });
    const page = await browser().newPage({ viewport: DESKTOP });
    await page.goto(`${stack.settings.bffPublicUrl}/signup?lang=en`);
    await fillDetails(page, { kind: 'email', identifier: email, name: 'Asha' });
    await page.getByRole('button', { name: 'Send code' }).click();
    // The API does not tell who has an account before the code is proven (no enumeration): the
    // holder of the code learns it when creating the account, and the page goes back to the details.
    await page.locator('#code').fill(await latestCode(stack, 'mails', email));
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.locator('#email').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#details').isVisible()).toBe(true);
    expect(await page.locator('#email-error').innerText()).not.toBe('');
    await screenshots(page, 'sign-up-1-details-taken');
    await page.close();
  });

  it('follows the dark mode of the system, as the login theme does', async () => {
    const page = await browser().newPage({ viewport: DESKTOP, colorScheme: 'dark' });
    await page.goto(`${stack.settings.bffPublicUrl}/signup?lang=en`);
    await page.getByRole('button', { name: 'Send code' }).click();
    const card = await page.locator('#sign-up').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(card).toBe('rgb(27, 29, 33)');
    await screenshots(page, 'sign-up-dark-1-errors');
    await page.close();
  });

  it('sends "Continue to sign in" only back to Keycloak (no open redirect)', async () => {
    const page = await browser().newPage({ viewport: DESKTOP });
    const account = `${stack.keycloakUrl}/realms/${realm}/account/`;
    for (const evil of ['https://evil.example/', '//evil.example/x', `${stack.keycloakUrl}@evil.example/realms/${realm}/`, 'javascript:alert(1)']) {
      await page.goto(`${stack.settings.bffPublicUrl}/signup?return=${encodeURIComponent(evil)}`);
      expect(await page.locator('#continue').getAttribute('href'), evil).toBe(account);
      expect(await page.locator('#have-account a').getAttribute('href'), evil).toBe(account);
    }
    const restart = `/realms/${realm}/login-actions/restart?client_id=portal&tab_id=abc`;
    await page.goto(`${stack.settings.bffPublicUrl}/signup?return=${encodeURIComponent(restart)}`);
    expect(await page.locator('#continue').getAttribute('href')).toBe(`${stack.keycloakUrl}${restart}`);
    await page.close();
  });
});
