import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { testKeyPrefix } from '../support/redis.ts';
import { inboxMessages, latestCode } from '../support/inbox.ts';

/**
 * The demo portal (portal/, served by the BFF at /portal/) in Chromium, as a person uses it: the
 * ways to sign in (password, the state IdP, Google through the google-demo stand-in), creating an
 * account through the sign-up page, the profile from /api/v1/user and its changes (name; email and
 * phone proved by a code from the dev inbox), errors next to their fields, signing out (the Keycloak
 * session ends), a session that cannot be refreshed, Hindi, phone width.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const browser = useBrowser();
const PASSWORD = stack.settings.demoUserPassword;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 360, height: 740 };
const portalUrl = `${stack.settings.bffPublicUrl}/portal/`;
// Own Redis keys: OTP limits per client IP are not shared with other files' BFFs.
const keys = testKeyPrefix('portal');

let bff: TestBff;
beforeAll(async () => {
  // At the stack's BFF URL: the portal client's redirect URIs and the login page's sign-up link name it.
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix }, { atStackUrl: true });
});
afterAll(async () => {
  await bff?.close();
  await keys.cleanup();
});

const sfx = () => randomBytes(4).toString('hex');

async function screenshots(page: Page, name: string) {
  const viewport = page.viewportSize();
  await page.setViewportSize(DESKTOP);
  await screenshot(page, name);
  await page.setViewportSize(PHONE);
  await screenshot(page, `${name}-phone`);
  if (viewport) await page.setViewportSize(viewport);
}

async function openPortal(page: Page) {
  await page.goto(portalUrl);
  await page.locator('#sign-in').waitFor();
}

/** Keycloak's identifier-first pages of the platform realm. */
async function passwordLogin(page: Page, username: string, password = PASSWORD) {
  await page.waitForURL(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/`));
  await page.locator('#username').fill(username);
  await page.locator('#kc-login').click();
  await page.locator('#password').fill(password);
  await page.locator('#kc-login').click();
}

/** Back on the portal, signed in: the profile from the BFF is on screen. */
async function profileShown(page: Page) {
  await page.waitForURL(`${portalUrl}**`);
  await page.locator('#details').waitFor();
}

/** A complete account (Keycloak, upstream profile, custodian tenant) made through the BFF's AccountService. */
async function newAccount(label: string): Promise<{ userId: string; username: string; email: string }> {
  const email = `portal.${label}.${sfx()}@example.com`;
  const created = await bff.container.accounts.create(
    { firstName: 'Portal', lastName: label, email, emailVerified: true, phoneVerified: false, password: PASSWORD, signUpType: 'self' },
    { idempotencyKey: randomUUID() },
  );
  return { userId: created.userId, username: created.username, email };
}

const inbox = (kind: 'mails' | 'sms', to: string) => inboxMessages(stack, kind, to);

const keycloakUser = async (id: string) => (await admin.get<Json>(`/${realm}/users/${id}`))!;

describe('signing in', () => {
  it('home offers every way in; a custodian member signs in with a password and sees the profile', async () => {
    const page = await browser().newPage({ viewport: DESKTOP });
    await openPortal(page);
    expect(await page.locator('h1').innerText()).toBe('Welcome');
    for (const name of ['Sign in', 'Sign in with your state', 'Sign in with Google'])
      await expect.poll(() => page.getByRole('button', { name, exact: true }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Create an account' }).count()).toBe(1);
    await screenshots(page, 'portal-1-home');

    await page.locator('#sign-in').click();
    await passwordLogin(page, 'asha');
    await profileShown(page);
    expect(await page.locator('.lead').first().innerText()).toBe('Signed in as asha');
    expect(await page.locator('#firstName').inputValue()).toBe('Asha');
    expect(await page.locator('#tenant').getAttribute('data-alias')).toBe('custodian');
    expect(await page.locator('#tenant').innerText()).toBe('Custodian (national)');
    expect(await page.locator('#email-value').innerText()).toBe('asha.verma@example.com');
    expect(await page.locator('#email-state').innerText()).toBe('Verified');
    expect(await page.locator('#phone-value').innerText()).toBe('Not set');
    expect(await page.locator('#linked-none').isVisible()).toBe(true);
    await screenshots(page, 'portal-2-profile');

    // A reload keeps the person signed in (keycloak-js' silent check-sso against the Keycloak session).
    await page.reload();
    await page.locator('#details').waitFor();
    await page.close();
  });

  it('"Sign in with your state" goes straight to the state IdP; the profile shows the state tenant and the link', async () => {
    const page = await browser().newPage({ viewport: DESKTOP });
    await openPortal(page);
    await page.locator('#sign-in-state').click();
    await page.waitForURL(/\/realms\/state-demo-idp\//);
    await page.locator('#username').fill('meera.state');
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#kc-login').click();
    await profileShown(page);
    expect(await page.locator('#tenant').getAttribute('data-alias')).toBe('state-demo');
    expect(await page.locator('#tenant').innerText()).toMatch(/^State: /);
    expect(await page.locator('#linked li').evaluateAll((items) => items.map((li) => li.getAttribute('data-provider')))).toEqual(['state-demo']);
    expect(await page.locator('#linked').innerText()).toContain('State (demo)');
    await screenshots(page, 'portal-3-state-profile');
    await page.close();
  });

  it('"Sign in with Google" goes straight to Google (the google-demo stand-in); a first login creates a linked account', async () => {
    const email = `portal.google.${sfx()}@gmail.example`;
    const username = `g-portal-${sfx()}`;
    await admin.post('/google-demo/users', {
      username,
      email,
      emailVerified: true,
      firstName: 'Gita',
      lastName: 'Portal',
      enabled: true,
      credentials: [{ type: 'password', value: PASSWORD, temporary: false }],
    });
    const page = await browser().newPage({ viewport: DESKTOP });
    await openPortal(page);
    await page.locator('#sign-in-google').click();
    await page.waitForURL(/\/realms\/google-demo\//);
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#kc-login').click();
    await profileShown(page);
    expect(await page.locator('#email-value').innerText()).toBe(email);
    expect(await page.locator('#email-state').innerText()).toBe('Verified');
    expect(await page.locator('#firstName').inputValue()).toBe('Gita');
    expect(await page.locator('#tenant').getAttribute('data-alias')).toBe('custodian');
    expect(await page.locator('#linked li').evaluateAll((items) => items.map((li) => li.getAttribute('data-provider')))).toEqual(['google-demo']);
    await page.close();
  });

  it('"Create an account" leads through the sign-up page and ends signed in to the portal as the new account', async () => {
    const email = `portal.signup.${sfx()}@example.com`;
    const page = await browser().newPage({ viewport: DESKTOP });
    await openPortal(page);
    await page.locator('#create-account').click();
    await page.waitForURL(`${stack.settings.bffPublicUrl}/signup?**`);
    const back = new URL(page.url()).searchParams.get('return')!;
    // "Continue to sign in" leads to an authorization request of the portal.
    expect(back).toMatch(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/auth\\?`));
    expect(new URL(back).searchParams.get('client_id')).toBe('portal');
    await page.locator('#email').fill(email);
    await page.locator('#firstName').fill('Nisha Portal');
    await page.locator('#password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.locator('#code').fill(await latestCode(stack, 'mails', email));
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#done').waitFor();
    const username = await page.locator('#new-username').innerText();
    await page.getByRole('link', { name: 'Continue to sign in' }).click();
    await passwordLogin(page, username);
    await profileShown(page);
    expect(await page.locator('.lead').first().innerText()).toBe(`Signed in as ${username}`);
    expect(await page.locator('#email-value').innerText()).toBe(email);
    expect(await page.locator('#email-state').innerText()).toBe('Verified');
    await page.close();
  });
});

describe('the profile', () => {
  it('changes the name; a new email needs the code sent to it; problems are shown next to their fields', async () => {
    const account = await newAccount('edit');
    const page = await browser().newPage({ viewport: DESKTOP });
    await openPortal(page);
    await page.locator('#sign-in').click();
    await passwordLogin(page, account.username);
    await profileShown(page);

    // Name: an empty first name is refused next to the field, and nothing changes.
    await page.locator('#firstName').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#firstName-error').innerText()).not.toBe('');
    expect(await page.locator('#firstName').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#alert').innerText()).toBe('Please check the highlighted fields.');
    expect((await keycloakUser(account.userId)).firstName).toBe('Portal');
    await screenshots(page, 'portal-4-field-error');

    await page.locator('#firstName').fill('Pallavi');
    await page.locator('#lastName').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#notice').innerText()).toBe('Your details were saved.');
    const saved = await keycloakUser(account.userId);
    expect(saved.firstName).toBe('Pallavi');
    expect(saved.lastName).toBeUndefined();

    // Email: the address of another account is refused, after its code (no account enumeration before).
    await page.locator('#email-change').click();
    const before = (await inbox('mails', 'asha.verma@example.com')).length;
    await page.locator('#new-email').fill('asha.verma@example.com');
    await page.locator('#email-send').click();
    await page.locator('#email-code').fill(await latestCode(stack, 'mails', 'asha.verma@example.com', before));
    await page.locator('#email-send').click();
    await expect.poll(() => page.locator('#new-email-error').innerText()).toMatch(/already/i);
    await page.getByRole('button', { name: 'Cancel' }).click();

    const newEmail = `portal.changed.${sfx()}@example.com`;
    await page.locator('#email-change').click();
    await page.locator('#new-email').fill(newEmail);
    await page.locator('#email-send').click();
    await page.locator('#email-code').waitFor();
    expect(await page.locator('#email-sent').innerText()).toBe(`We sent a 6-digit code to ${newEmail}.`);
    const code = await latestCode(stack, 'mails', newEmail);
    await page.locator('#email-code').fill(code === '000000' ? '111111' : '000000');
    await page.locator('#email-send').click();
    await expect.poll(() => page.locator('#email-code-error').innerText()).not.toBe('');
    await screenshots(page, 'portal-5-wrong-code');
    expect((await keycloakUser(account.userId)).email).toBe(account.email);

    await page.locator('#email-code').fill(code);
    await page.locator('#email-send').click();
    await expect.poll(() => page.locator('#notice').innerText()).toBe('Your email address was changed and verified.');
    expect(await page.locator('#email-value').innerText()).toBe(newEmail);
    expect(await keycloakUser(account.userId)).toMatchObject({ email: newEmail, emailVerified: true });
    await page.close();
  });

  it('adds a mobile number with the code sent by SMS, and removes it', async () => {
    const account = await newAccount('phone');
    const mobile = `97${String(randomInt(100_000_000)).padStart(8, '0')}`;
    const page = await browser().newPage({ viewport: PHONE });
    await openPortal(page);
    await page.locator('#sign-in').click();
    await passwordLogin(page, account.username);
    await profileShown(page);
    await page.locator('#phone-change').click();
    await page.locator('#new-phone').fill(mobile);
    await page.locator('#phone-send').click();
    await page.locator('#phone-code').fill(await latestCode(stack, 'sms', `+91${mobile}`));
    await page.locator('#phone-send').click();
    await expect.poll(() => page.locator('#notice').innerText()).toBe('Your mobile number was changed and verified.');
    expect(await page.locator('#phone-value').innerText()).toBe(`+91${mobile}`);
    expect((await keycloakUser(account.userId)).attributes).toMatchObject({ phone: [`+91${mobile}`], phoneVerified: ['true'] });

    await page.locator('#phone-remove').click();
    await expect.poll(() => page.locator('#notice').innerText()).toBe('Your mobile number was removed.');
    expect((await keycloakUser(account.userId)).attributes?.phone).toBeUndefined();
    await page.close();
  });
});

describe('ending the session', () => {
  it('sign out ends the Keycloak session: the next sign-in asks for the password again', async () => {
    const account = await newAccount('signout');
    const page = await browser().newPage({ viewport: DESKTOP });
    await openPortal(page);
    await page.locator('#sign-in').click();
    await passwordLogin(page, account.username);
    await profileShown(page);
    expect(await admin.get<Json[]>(`/${realm}/users/${account.userId}/sessions`)).toHaveLength(1);

    await page.locator('#sign-out').click();
    await page.locator('#sign-in').waitFor();
    expect(await page.locator('#notice').innerText()).toBe('You have signed out.');
    expect(await admin.get<Json[]>(`/${realm}/users/${account.userId}/sessions`)).toEqual([]);

    await page.locator('#sign-in').click();
    await page.waitForURL(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/`));
    await page.locator('#username').waitFor();
    await page.close();
  });

  it('keycloak-js refreshes the token as it lapses; when Keycloak refuses the refresh, the portal says the session ended', async () => {
    const account = await newAccount('ended');
    const page = await browser().newPage({ viewport: DESKTOP });
    // The page's clock, so the token's five minutes pass at once (Keycloak's clock is untouched).
    await page.clock.install();
    await openPortal(page);
    await page.locator('#sign-in').click();
    await passwordLogin(page, account.username);
    await profileShown(page);

    const tokenEndpoint = `${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`;
    const refreshed = page.waitForResponse((r) => r.url() === tokenEndpoint && r.request().postData()?.includes('grant_type=refresh_token') === true);
    await page.clock.fastForward('05:00');
    expect((await refreshed).status()).toBe(200);
    expect(await page.locator('#details').isVisible()).toBe(true);

    // The session ends at Keycloak (as an admin, or its idle timeout, would end it).
    await admin.post(`/${realm}/users/${account.userId}/logout`, {});
    const refused = page.waitForResponse((r) => r.url() === tokenEndpoint && r.request().postData()?.includes('grant_type=refresh_token') === true);
    await page.clock.fastForward('05:00');
    expect((await refused).status()).toBe(400);
    await page.locator('#session-ended').waitFor();
    expect(await page.locator('h1').innerText()).toBe('Your session has ended');
    expect(await page.locator('#details').count()).toBe(0);
    await screenshots(page, 'portal-6-session-ended');

    await page.locator('#sign-in-again').click();
    await page.waitForURL(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/`));
    await page.locator('#username').waitFor();
    await page.close();
  });

  it('refresh tokens rotate (each is used once): two tabs of one session keep refreshing, each with its own', async () => {
    const account = await newAccount('tabs');
    const context = await browser().newContext({ viewport: DESKTOP });
    const tokenEndpoint = `${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`;
    const [first, second] = [await context.newPage(), await context.newPage()];
    for (const page of [first, second]) await page.clock.install();
    await openPortal(first);
    await first.locator('#sign-in').click();
    await passwordLogin(first, account.username);
    await profileShown(first);
    // The second tab finds the session (check-sso): its own code exchange, its own refresh tokens.
    await second.goto(portalUrl);
    await profileShown(second);

    const sent: string[] = [];
    for (const page of [first, second]) {
      page.on('request', (r) => {
        const body = r.url() === tokenEndpoint ? new URLSearchParams(r.postData() ?? '') : null;
        if (body?.get('grant_type') === 'refresh_token') sent.push(body.get('refresh_token')!);
      });
    }
    for (let round = 0; round < 2; round++) {
      for (const page of [first, second]) {
        const refreshed = page.waitForResponse((r) => r.url() === tokenEndpoint && r.request().postData()?.includes('grant_type=refresh_token') === true);
        await page.clock.fastForward('05:00');
        expect((await refreshed).status()).toBe(200);
        expect(await page.locator('#details').isVisible()).toBe(true);
      }
    }
    // No refresh token was sent twice: keycloak-js always sends the newest one it was given.
    expect(sent.length).toBeGreaterThanOrEqual(4);
    expect(new Set(sent).size).toBe(sent.length);
    expect(await admin.get<Json[]>(`/${realm}/users/${account.userId}/sessions`)).toHaveLength(1);
    await context.close();
  });
});

describe('languages and small screens', () => {
  it('Hindi is one click away, remembered, and carried to the login page', async () => {
    const page = await browser().newPage({ viewport: PHONE });
    await openPortal(page);
    await page.getByRole('button', { name: 'हिन्दी' }).click();
    await expect.poll(() => page.locator('h1').innerText()).toBe('स्वागत है');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('hi');
    await screenshots(page, 'portal-hi-1-home');

    await page.reload();
    await page.locator('#sign-in').waitFor();
    expect(await page.locator('#sign-in').innerText()).toBe('साइन इन करें');
    // Keyboard only: Tab reaches the sign-in button, Enter follows it.
    await page.keyboard.press('Tab');
    let focused = '';
    for (let i = 0; i < 10 && focused !== 'sign-in'; i++) {
      focused = await page.evaluate(() => document.activeElement?.id ?? '');
      if (focused !== 'sign-in') await page.keyboard.press('Tab');
    }
    expect(focused).toBe('sign-in');
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/`));
    expect(await page.locator('h1#kc-page-title').innerText()).toBe('अपने खाते में साइन इन करें');

    await page.locator('#username').fill('asha');
    await page.locator('#kc-login').click();
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#kc-login').click();
    await profileShown(page);
    expect(await page.locator('#tenant').innerText()).toBe('कस्टोडियन (राष्ट्रीय)');
    await screenshots(page, 'portal-hi-2-profile');
    // The page fits a 360 px screen: nothing wider than the viewport.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.close();
  });
});
