import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { realmConfigDir } from '../../stack/paths.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';

/**
 * The labels of the platform realm's user profile in Keycloak's own consoles. The texts are realm
 * localization texts (realm-config/realms/platform/localization/), which the login theme, the
 * account console and the admin console all read (docs/decisions/0014).
 */
type Json = Record<string, any>;
const stack = inject('stack');
const admin = adminFor(stack);
const realm = stack.settings.platformRealm;
const browser = useBrowser();

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
const hindi = { phone: 'मोबाइल नंबर', phoneHelp: 'अंतरराष्ट्रीय प्रारूप में, जैसे +919812345678', phoneVerified: 'मोबाइल नंबर सत्यापित' };

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

describe('account console and admin console', () => {
  const username = `acct-${randomBytes(4).toString('hex')}`;
  const password = `Pw-${randomBytes(12).toString('base64url')}`;
  let userId: string;
  beforeAll(async () => {
    userId = (await admin.post(`/${realm}/users`, {
      username,
      email: `${username}@example.com`,
      emailVerified: true,
      firstName: 'Kiran',
      lastName: 'Rao',
      enabled: true,
      attributes: { phone: ['+919812345678'], phoneVerified: ['true'] },
      credentials: [{ type: 'password', value: password, temporary: false }],
    }))!;
  });
  afterAll(async () => {
    if (userId) await admin.delete(`/${realm}/users/${userId}`);
  });

  /** Signs in to the account console (identifier first, then password) and waits for Personal info. */
  const openPersonalInfo = async (page: Page) => {
    await page.goto(`${stack.keycloakUrl}/realms/${realm}/account/`);
    await page.locator('#username').fill(username);
    await page.locator('#kc-login').click();
    await page.locator('#password').fill(password);
    await page.locator('#kc-login').click();
    await page.locator('label[for=phone]').waitFor();
    expect(await page.locator('input#phone').inputValue()).toBe('+919812345678');
  };

  const labels = (page: Page) => Promise.all(['phone', 'phoneVerified'].map((f) => page.locator(`label[for=${f}]`).innerText()));

  for (const [browserLocale, text] of [
    ['en-GB', english],
    ['hi-IN', hindi],
  ] as const) {
    it(`Personal info labels the platform's attributes in the browser's language (${browserLocale})`, async () => {
      // The account console follows the user's locale, else the browser's (Accept-Language).
      const context = await browser().newContext({ locale: browserLocale, viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await openPersonalInfo(page);
      expect(await labels(page)).toEqual([text.phone, text.phoneVerified]);
      expect(await page.locator('body').innerText()).not.toContain('profile.attributes.');
      await screenshot(page, `account-personal-info-${browserLocale.slice(0, 2)}`);
      // The phone's helper text is the popover of the "?" next to its label.
      await page.getByTestId('help-label-phone').click();
      await expect.poll(() => page.getByRole('dialog').innerText()).toContain(text.phoneHelp);
      await context.close();
    });
  }

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
});
