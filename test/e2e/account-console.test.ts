import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { realmConfigDir } from '../../stack/paths.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { checkPage, openContext } from '../support/page-check.ts';

/**
 * Keycloak's account console is not offered to end users (docs/decisions/0031): signing in at its
 * address ends in the portal, and Keycloak's own links to it (the account client's base URL) lead to
 * the portal. The labels of the platform realm's user profile are realm localization texts
 * (realm-config/realms/platform/localization/), which the login pages and the admin console read
 * (docs/decisions/0014).
 */
type Json = Record<string, any>;
const stack = inject('stack');
const admin = adminFor(stack);
const realm = stack.settings.platformRealm;
const browser = useBrowser();

let bff: TestBff;
beforeAll(async () => {
  // At the stack's BFF URL, where the realm's portal URL points.
  bff = await startTestBff(stack, {}, { atStackUrl: true });
});
afterAll(async () => {
  await bff?.close();
});

const profile = JSON.parse(readFileSync(path.join(realmConfigDir, 'realms', 'platform', 'user-profile.json'), 'utf8')) as Json;
const bundleKey = (text: unknown) => (typeof text === 'string' ? /^\$\{(.+)\}$/.exec(text)?.[1] : undefined);
/** Every message key the user profile names: `${key}` texts, and validators' bare `error-message` keys. */
const profileKeys = [
  ...new Set(
    [
      ...profile.attributes.flatMap((a: Json) => [
        bundleKey(a.displayName),
        ...Object.values(a.annotations ?? {}).map(bundleKey),
        ...Object.values(a.validations ?? {}).map((v) => (v as Json)['error-message']),
      ]),
      ...profile.groups.flatMap((g: Json) => [bundleKey(g.displayHeader), bundleKey(g.displayDescription)]),
    ].filter((k): k is string => typeof k === 'string'),
  ),
];

/** The translations Keycloak serves to a theme type's pages (what the account and admin consoles fetch). */
const messages = async (type: 'login' | 'account' | 'admin', locale: string) => {
  const res = await fetch(`${stack.keycloakUrl}/resources/${realm}/${type}/${locale}`);
  expect(res.status).toBe(200);
  return new Map(((await res.json()) as { key: string; value: string }[]).map((m) => [m.key, m.value]));
};

const english = {
  phone: 'Mobile number',
  phoneHelp: 'International format, e.g. +919812345678',
  phoneInvalid: 'Enter the mobile number in international format, e.g. +919812345678.',
  phoneVerified: 'Mobile number verified',
};

it('every key the user profile names has an English and a Hindi text for the login, account and admin pages', async () => {
  expect(profileKeys).toEqual(expect.arrayContaining(['profile.attributes.phone', 'profile.attributes.phone.help', 'profile.attributes.phone.invalid']));
  for (const type of ['login', 'account', 'admin'] as const) {
    const [en, hi] = [await messages(type, 'en'), await messages(type, 'hi')];
    for (const key of profileKeys) {
      expect(en.get(key), `${type} en ${key}`).toMatch(/\S/);
      expect(en.get(key), `${type} en ${key}`).not.toBe(key);
      // Keycloak's own keys (username, email, ...) have no Hindi outside the login theme; ours do.
      if (key.startsWith('profile.')) expect(hi.get(key), `${type} hi ${key}`).toMatch(/[\u0900-\u097F]/);
    }
    expect(en.get('profile.attributes.phone.invalid')).toBe(english.phoneInvalid);
  }
});

describe('the account console is not offered; the admin console labels the attributes', () => {
  const username = `acct-${randomBytes(4).toString('hex')}`;
  const password = `Pw-${randomBytes(12).toString('base64url')}`;
  const email = `${username}@example.com`;
  const portalUrl = `${stack.settings.bffPublicUrl}/portal/`;
  let userId: string;
  beforeAll(async () => {
    userId = (await admin.post(`/${realm}/users`, {
      username,
      email,
      emailVerified: true,
      firstName: 'Kiran',
      lastName: 'Rao',
      enabled: true,
      attributes: { phone: ['+919812345678'], phoneVerified: ['true'], userType: ['teacher'], signUpType: ['selfSignUp'] },
      credentials: [{ type: 'password', value: password, temporary: false }],
    }))!;
  });
  afterAll(async () => {
    if (userId) await admin.delete(`/${realm}/users/${userId}`);
  });

  const labels = (page: Page) => Promise.all(['phone', 'phoneVerified'].map((f) => page.locator(`label[for=${f}]`).innerText()));

  /** Keycloak's identifier-first sign-in pages. */
  const signIn = async (page: Page, secret = password) => {
    await page.locator('#username').fill(username);
    await page.locator('#kc-login').click();
    await page.locator('#password').fill(secret);
    await page.locator('#kc-login').click();
  };

  for (const lang of ['en', 'hi'] as const) {
    it(`the console's address leads to the portal, in the language Keycloak chose; with a session, to the profile (${lang})`, async () => {
      // The account's own language is this one (Keycloak then resolves it too, once signed in).
      const user = (await admin.get<Json>(`/${realm}/users/${userId}`))!;
      await admin.put(`/${realm}/users/${userId}`, { ...user, attributes: { ...user.attributes, locale: [lang] } });
      const context = await openContext(browser(), { viewport: lang === 'hi' ? 'phone' : 'desktop', lang });
      const page = await context.newPage();
      // The console's page (the platform account theme) sends the browser on at once.
      await page.goto(`${stack.keycloakUrl}/realms/${realm}/account/`);
      await page.waitForURL(`${portalUrl}?lang=${lang}`);
      await page.locator('#sign-in').waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe(lang);
      await checkPage(page, { name: 'account-console-to-portal', lang });

      // Signed in (one Keycloak session): any of the console's addresses ends on the profile.
      await page.locator('#sign-in').click();
      await signIn(page);
      await page.locator('#details').waitFor();
      await page.goto(`${stack.keycloakUrl}/realms/${realm}/account/account-security/signing-in`);
      await page.waitForURL(`${portalUrl}?lang=${lang}`);
      await page.locator('#details').waitFor();
      expect(await page.locator('#signed-in-as').innerText()).toContain(username);
      await checkPage(page, { name: 'account-console-to-profile', lang, allow: [username, email] });
      await context.close();
    });
  }

  it("Keycloak's own links to the console lead to the portal: the account clients' base URL and the console theme", async () => {
    for (const clientId of ['account', 'account-console']) {
      const [client] = (await admin.get<Json[]>(`/${realm}/clients?clientId=${clientId}`))!;
      expect(client!.baseUrl, clientId).toBe(portalUrl);
    }
    expect((await admin.get<Json>(`/${realm}`))!.accountTheme).toBe('platform');
    // Nothing of the console's own app is served any more.
    const page = await (await fetch(`${stack.keycloakUrl}/realms/${realm}/account/`)).text();
    expect(page).toContain(`url=${portalUrl}?lang=`);
    expect(page).not.toMatch(/<script/);
  });

  it("the admin console's user details label the attributes and translate the phone validator's message", async () => {
    // Tall enough that the phone field is on the screenshot (the console scrolls inside its main panel).
    const context = await browser().newContext({ locale: 'en-GB', viewport: { width: 1400, height: 1400 } });
    const page = await context.newPage();
    await page.goto(`${stack.keycloakUrl}/admin/master/console/#/${realm}/users/${userId}/settings`);
    await page.locator('#username').fill(stack.settings.keycloakAdminUser);
    await page.locator('#password').fill(stack.settings.keycloakAdminPassword);
    await page.locator('#kc-login').click();
    await page.locator('label[for=phone]').waitFor();
    expect(await labels(page)).toEqual([english.phone, english.phoneVerified]);

    await page.locator('input#phone').fill('12345');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => page.getByTestId('phone-helper').innerText()).toBe(english.phoneInvalid);
    expect(await page.locator('body').innerText()).not.toContain('profile.attributes.');
    await screenshot(page, 'admin-user-details-invalid-phone');
    await context.close();
    // Nothing was saved.
    expect((await admin.get<Json>(`/${realm}/users/${userId}`))!.attributes.phone).toEqual(['+919812345678']);
  });

  it("the admin console shows the user type and the sign-up type with the realm's labels (decision 0036)", async () => {
    const context = await browser().newContext({ locale: 'en-GB', viewport: { width: 1400, height: 2200 } });
    const page = await context.newPage();
    await page.goto(`${stack.keycloakUrl}/admin/master/console/#/${realm}/users/${userId}/settings`);
    await page.locator('#username').fill(stack.settings.keycloakAdminUser);
    await page.locator('#password').fill(stack.settings.keycloakAdminPassword);
    await page.locator('#kc-login').click();
    await page.locator('label[for=userType]').waitFor();
    expect(await page.locator('label[for=userType]').innerText()).toBe('User type');
    expect(await page.locator('label[for=signUpType]').innerText()).toBe('Sign-up type');
    const text = await page.locator('body').innerText();
    // The chosen values by their labels, never the message keys.
    expect(text).toContain('Teacher');
    expect(text).toContain('Self sign-up');
    expect(text).not.toContain('profile.attributes.');
    await screenshot(page, 'admin-user-details-user-type');
    await context.close();
  });
});
