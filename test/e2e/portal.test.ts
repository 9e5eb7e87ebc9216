import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { inboxMessages, latestCode } from '../support/inbox.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { checkPage, openContext, VIEWPORTS } from '../support/page-check.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * The demo portal (portal/, served by the BFF at /portal/) in Chromium, as a person uses it, at
 * (English, desktop) and (Hindi, phone): the ways to sign in, the profile from /api/v1/user and its
 * changes (name; e-mail and phone proved by a code from the dev inbox, "Send a new code" with its
 * countdown, the notice to the old address or number), verifying an identifier a migrated member
 * holds unverified (decision 0021's rules), Keycloak's password and authenticator-app pages reached
 * from the portal, the language kept across the portal, Keycloak and the account, signing out and
 * sessions that end, the page for an unknown portal address and the pages of the registration mail's
 * link. Every page and state is checked (screenshot, axe-core, no English on Hindi pages).
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const browser = useBrowser();
const PASSWORD = stack.settings.demoUserPassword;
const portalUrl = `${stack.settings.bffPublicUrl}/portal/`;
/** Short, so the countdown of "Send a new code" can be watched to its end. */
const COOLDOWN_SECONDS = 4;
// Own Redis keys: OTP limits per client IP are not shared with other files' BFFs.
const keys = testKeyPrefix('portal');

let bff: TestBff;
beforeAll(async () => {
  // At the stack's BFF URL: the portal client's redirect URIs and the login page's links name it.
  bff = await startTestBff(
    stack,
    {
      REDIS_PREFIX: keys.prefix,
      OTP_RESEND_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS),
      // Every code of this file comes from 127.0.0.1.
      OTP_SENDS_PER_IP_PER_HOUR: '500',
      OTP_VERIFIES_PER_IP_PER_HOUR: '500',
    },
    { atStackUrl: true },
  );
});
afterAll(async () => {
  await bff?.close();
  await keys.cleanup();
});

const sfx = () => randomBytes(4).toString('hex');
/** An Indian mobile number nobody has: 9 and 9 random digits. */
const newMobile = () => `9${String(randomInt(1_000_000_000)).padStart(9, '0')}`;
/** How the portal shows an Indian number (libphonenumber-js' international format). */
const shown = (mobile: string) => `+91 ${mobile.slice(0, 5)} ${mobile.slice(5)}`;

const inbox = (kind: 'mails' | 'sms', to: string) => inboxMessages(stack, kind, to);
const keycloakUser = async (id: string) => (await admin.get<Json>(`/${realm}/users/${id}`))!;

/** A complete account (Keycloak, upstream profile, custodian tenant) made through the BFF's AccountService. */
async function newAccount(
  label: string,
  opts: { emailVerified?: boolean; phone?: string; phoneVerified?: boolean; signUpType?: 'self' | 'migrated'; locale?: 'en' | 'hi' } = {},
): Promise<{ userId: string; username: string; email: string }> {
  const email = `portal.${label}.${sfx()}@example.com`;
  const created = await bff.container.accounts.create(
    {
      firstName: 'Portal',
      lastName: label,
      email,
      emailVerified: opts.emailVerified ?? true,
      ...(opts.phone ? { phone: opts.phone } : {}),
      phoneVerified: opts.phoneVerified ?? false,
      password: PASSWORD,
      signUpType: opts.signUpType ?? 'self',
    },
    { idempotencyKey: randomUUID() },
  );
  if (opts.locale) await setAttributes(created.userId, { locale: [opts.locale] });
  return { userId: created.userId, username: created.username, email };
}

/** Attributes written straight into Keycloak (as an import or an admin would), the others kept. */
async function setAttributes(userId: string, attributes: Record<string, string[]>): Promise<void> {
  const user = await keycloakUser(userId);
  await admin.put(`/${realm}/users/${userId}`, { ...user, attributes: { ...user.attributes, ...attributes } });
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

async function signIn(page: Page, username: string) {
  await openPortal(page);
  await page.locator('#sign-in').click();
  await passwordLogin(page, username);
  await profileShown(page);
}

const notice = (page: Page) => page.locator('#notice').innerText();
/** A save goes through Keycloak and the upstream core (and a takeover through both twice): more than the poll's default second. */
const SAVED = { timeout: 15_000 };

/** The code of the newest message to `to` after `before` of them (the dev inbox). */
async function codeFor(kind: 'mails' | 'sms', to: string, before: number): Promise<string> {
  return latestCode(stack, kind, to, before);
}

describe('signing in (en, desktop)', () => {
  it('home offers every way in; a custodian member signs in with a password and sees the profile in plain words', async () => {
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await openPortal(page);
    expect(await page.locator('h1').innerText()).toBe('Welcome');
    for (const name of ['Sign in', 'Sign in with your state', 'Sign in with Google'])
      await expect.poll(() => page.getByRole('button', { name, exact: true }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Create an account' }).count()).toBe(1);
    await checkPage(page, { name: 'portal-home', lang: 'en' });

    await page.locator('#sign-in').click();
    await passwordLogin(page, 'asha');
    await profileShown(page);
    expect(await page.locator('#signed-in-as').innerText()).toBe('Signed in as asha');
    expect(await page.locator('#firstName').inputValue()).toBe('Asha');
    expect(await page.locator('#tenant').getAttribute('data-alias')).toBe('custodian');
    expect(await page.locator('#tenant').innerText()).toBe('National account');
    expect(await page.locator('#email-value').innerText()).toBe('asha.verma@example.com');
    expect(await page.locator('#email-state').innerText()).toBe('Verified');
    expect(await page.locator('#email-verify').count()).toBe(0);
    expect(await page.locator('#phone-value').innerText()).toBe('Not set');
    expect(await page.locator('#linked-none').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Change password' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Set up an authenticator app' }).count()).toBe(1);
    // No jargon, sentence case: what the old profile said is gone.
    expect(await page.locator('body').innerText()).not.toMatch(/Tenant|Custodian/);
    await checkPage(page, { name: 'portal-profile', lang: 'en' });

    // A reload keeps the person signed in (keycloak-js' silent check-sso against the Keycloak session).
    await page.reload();
    await page.locator('#details').waitFor();
    await context.close();
  });

  it('"Sign in with your state" goes straight to the state IdP; the profile names the state and the link', async () => {
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await openPortal(page);
    await page.locator('#sign-in-state').click();
    await page.waitForURL(/\/realms\/state-demo-idp\//);
    await page.locator('#username').fill('meera.state');
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#kc-login').click();
    await profileShown(page);
    expect(await page.locator('#tenant').getAttribute('data-alias')).toBe('state-demo');
    expect(await page.locator('#tenant').innerText()).toBe('State account (State of Demo)');
    expect(await page.locator('#linked li').evaluateAll((items) => items.map((li) => li.getAttribute('data-provider')))).toEqual(['state-demo']);
    expect(await page.locator('#linked').innerText()).toContain('State of Demo');
    await checkPage(page, { name: 'portal-profile-state', lang: 'en' });
    await context.close();
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
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
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
    await checkPage(page, { name: 'portal-profile-google', lang: 'en' });
    await context.close();
  });
});

describe('the language, kept across the portal, Keycloak and the account', () => {
  it("after a sign-in the portal takes the account's language; switching it signed in saves it to the account", async () => {
    const account = await newAccount('lang', { locale: 'hi' });
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await openPortal(page);
    expect(await page.locator('h1').innerText()).toBe('Welcome');
    await page.locator('#sign-in').click();
    await passwordLogin(page, account.username);
    await profileShown(page);
    await expect.poll(() => page.locator('h1').innerText(), SAVED).toBe('आपका खाता');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('hi');
    await checkPage(page, { name: 'portal-profile-account-language', lang: 'hi', allow: [account.username, account.email] });

    // Signed in, the picker changes the account's language too (Keycloak's pages, mails and SMS).
    await page.getByRole('button', { name: 'English' }).click();
    await expect.poll(() => page.locator('h1').innerText(), SAVED).toBe('Your account');
    await expect.poll(async () => (await keycloakUser(account.userId)).attributes.locale).toEqual(['en']);
    await context.close();
  });

  it('a language picked on the portal before signing in goes to Keycloak (ui_locales) and becomes the account’s', async () => {
    const account = await newAccount('picked', { locale: 'en' });
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await openPortal(page);
    await page.getByRole('button', { name: 'हिन्दी' }).click();
    await expect.poll(() => page.locator('h1').innerText(), SAVED).toBe('स्वागत है');
    const login = page.waitForRequest((r) => r.url().startsWith(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/auth`));
    await page.locator('#sign-in').click();
    expect(new URL((await login).url()).searchParams.get('ui_locales')).toBe('hi');
    // Keycloak's first page knows no account yet: the portal's language.
    await page.locator('#username').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('hi');
    await passwordLogin(page, account.username);
    await profileShown(page);
    expect(await page.locator('h1').innerText()).toBe('आपका खाता');
    await expect.poll(async () => (await keycloakUser(account.userId)).attributes.locale).toEqual(['hi']);
    await context.close();
  });
});

describe('the profile (en, desktop)', () => {
  it('changes the name; a new e-mail needs the code sent to it, with "Send a new code" counting down; the old address is told', async () => {
    const account = await newAccount('edit');
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await signIn(page, account.username);

    // Name: an empty first name is refused next to the field, in our words, and nothing changes.
    await page.locator('#firstName').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#firstName-error').innerText(), SAVED).toBe('Enter your first name.');
    expect(await page.locator('#firstName').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#firstName').getAttribute('aria-describedby')).toContain('firstName-error');
    expect(await page.locator('#alert').isHidden()).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('firstName');
    expect((await keycloakUser(account.userId)).firstName).toBe('Portal');
    await checkPage(page, { name: 'portal-field-error', lang: 'en' });

    await page.locator('#firstName').fill('Pallavi');
    await page.locator('#lastName').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => notice(page), SAVED).toBe('Your details were saved.');
    const saved = await keycloakUser(account.userId);
    expect(saved.firstName).toBe('Pallavi');
    expect(saved.lastName).toBeUndefined();

    // The user type: the realm's list (GET /api/v1/user-types), none chosen yet, saved with the names (decision 0036).
    expect(await page.locator('label[for^="userType-"]').allInnerTexts()).toEqual(['Teacher', 'Other']);
    expect(await page.locator('input[name="userType"]:checked').count()).toBe(0);
    await page.getByRole('radio', { name: 'Teacher' }).check();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await keycloakUser(account.userId)).attributes?.userType, SAVED).toEqual(['teacher']);
    await expect.poll(() => page.getByRole('radio', { name: 'Teacher' }).isChecked(), SAVED).toBe(true);
    await checkPage(page, { name: 'portal-user-type', lang: 'en' });

    // A malformed address: our words next to the field, never the server's.
    await page.locator('#email-change').click();
    await page.locator('#new-email').fill('not-an-address');
    await page.locator('#email-send').click();
    await expect.poll(() => page.locator('#new-email-error').innerText(), SAVED).toBe('Enter an email address like name@example.com.');
    expect(await page.locator('#new-email').getAttribute('aria-invalid')).toBe('true');
    await checkPage(page, { name: 'portal-email-invalid', lang: 'en' });

    // The address another account proved: refused after its code (no account enumeration before), next to the code.
    const before = (await inbox('mails', 'asha.verma@example.com')).length;
    await page.locator('#new-email').fill('asha.verma@example.com');
    await page.locator('#email-send').click();
    await page.locator('#email-code').fill(await codeFor('mails', 'asha.verma@example.com', before));
    await page.locator('#email-submit').click();
    await expect.poll(() => page.locator('#email-code-error').innerText(), SAVED).toBe('Another account already uses this email address.');
    await checkPage(page, { name: 'portal-email-taken', lang: 'en' });
    await page.locator('#email-cancel').click();

    // The code step: where it went, the code field, and "Send a new code" counting down (not an error).
    const newEmail = `portal.changed.${sfx()}@example.com`;
    await page.locator('#email-change').click();
    await page.locator('#new-email').fill(newEmail);
    await page.locator('#email-send').click();
    await page.locator('#email-code').waitFor();
    expect(await page.locator('#email-sent').innerText()).toBe(`We sent a 6-digit code to ${newEmail}.`);
    expect(await page.locator('#email-resend').isDisabled()).toBe(true);
    expect(await page.locator('#email-resend-wait').innerText()).toMatch(/^You can ask for a new code in [1-4] s\.$/);
    expect(await page.locator('#alert').isHidden()).toBe(true);
    await checkPage(page, { name: 'portal-code-entry', lang: 'en' });
    const first = await codeFor('mails', newEmail, 0);

    // A wrong code: next to the code field; nothing changes.
    await page.locator('#email-code').fill(first === '000000' ? '111111' : '000000');
    await page.locator('#email-submit').click();
    await expect.poll(() => page.locator('#email-code-error').innerText(), SAVED).toBe('The code is wrong or has expired. Check it or ask for a new one.');
    await checkPage(page, { name: 'portal-wrong-code', lang: 'en' });
    expect((await keycloakUser(account.userId)).email).toBe(account.email);

    // The countdown ends, the button works: a new code replaces the first.
    await expect.poll(() => page.locator('#email-resend').isEnabled(), { timeout: (COOLDOWN_SECONDS + 3) * 1000 }).toBe(true);
    expect(await page.locator('#email-resend-wait').isHidden()).toBe(true);
    await page.locator('#email-resend').click();
    await expect.poll(() => page.locator('#email-sent').innerText(), SAVED).toBe(`We sent a new code to ${newEmail}.`);
    expect(await page.locator('#email-resend').isDisabled()).toBe(true);
    await checkPage(page, { name: 'portal-code-resent', lang: 'en' });
    const second = await codeFor('mails', newEmail, 1);

    await page.locator('#email-code').fill(second);
    await page.locator('#email-submit').click();
    await expect.poll(() => notice(page), SAVED).toBe('Your email address was changed and verified. We told your previous address.');
    expect(await page.locator('#email-value').innerText()).toBe(newEmail);
    expect(await keycloakUser(account.userId)).toMatchObject({ email: newEmail, emailVerified: true });
    await checkPage(page, { name: 'portal-email-changed', lang: 'en' });

    // The old address is told, in the account's language, the new one masked.
    let told: { text: string; subject?: string } | undefined;
    await expect
      .poll(async () => (told = (await inbox('mails', account.email)).find((mail) => mail.text.includes('was changed from this address'))), { timeout: 20_000 })
      .toBeDefined();
    expect(told!.text).toContain(`${newEmail.slice(0, 1)}•••@example.com`);
    expect(told!.text).not.toContain(newEmail);
    await context.close();
  });

  it('adds a mobile number (shown in one format) with the code sent by SMS, changes it (the old number is told) and removes it', async () => {
    const account = await newAccount('phone');
    const [mobile, next] = [newMobile(), newMobile()];
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await signIn(page, account.username);
    await page.locator('#phone-change').click();
    await page.locator('#new-phone').fill('12');
    await page.locator('#phone-send').click();
    await expect.poll(() => page.locator('#new-phone-error').innerText(), SAVED).toBe('Enter a mobile number, for example 98123 45678 or +91 98123 45678.');
    await page.locator('#new-phone').fill(mobile);
    await page.locator('#phone-send').click();
    await page.locator('#phone-code').waitFor();
    expect(await page.locator('#phone-sent').innerText()).toBe(`We sent a 6-digit code to ${shown(mobile)}.`);
    await page.locator('#phone-code').fill(await codeFor('sms', `+91${mobile}`, 0));
    await page.locator('#phone-submit').click();
    await expect.poll(() => notice(page), SAVED).toBe('Your mobile number was changed and verified. We told your previous number.');
    expect(await page.locator('#phone-value').innerText()).toBe(shown(mobile));
    expect((await keycloakUser(account.userId)).attributes).toMatchObject({ phone: [`+91${mobile}`], phoneVerified: ['true'] });

    await page.locator('#phone-change').click();
    await page.locator('#new-phone').fill(`+91 ${next}`);
    await page.locator('#phone-send').click();
    await page.locator('#phone-code').fill(await codeFor('sms', `+91${next}`, 0));
    await page.locator('#phone-submit').click();
    await expect.poll(() => page.locator('#phone-value').innerText(), SAVED).toBe(shown(next));
    let sms: string | undefined;
    await expect
      .poll(async () => (sms = (await inbox('sms', `+91${mobile}`)).map((m) => m.text).find((t) => t.includes('was changed to'))), { timeout: 20_000 })
      .toBeDefined();
    expect(sms).not.toContain(next);

    await page.locator('#phone-remove').click();
    await expect.poll(() => notice(page), SAVED).toBe('Your mobile number was removed.');
    expect((await keycloakUser(account.userId)).attributes?.phone).toBeUndefined();
    await context.close();
  });

  it('a migrated member verifies the e-mail and phone it holds unverified; one another account proved is refused without saying whose, one held unproven elsewhere is taken', async () => {
    // A member imported from the upstream core: e-mail and phone, neither verified.
    const mobile = newMobile();
    const member = await newAccount('migrated', { emailVerified: false, phone: `+91${mobile}`, phoneVerified: false, signUpType: 'migrated' });
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await signIn(page, member.username);
    expect(await page.locator('#email-state').innerText()).toBe('Not verified');
    expect(await page.locator('#phone-state').innerText()).toBe('Not verified');
    expect(await page.locator('#email-verify').innerText()).toBe('Verify');
    expect(await page.locator('#phone-verify').innerText()).toBe('Verify');
    await checkPage(page, { name: 'portal-unverified', lang: 'en' });

    // E-mail: the code goes to the address the account has; the code makes it verified.
    await page.locator('#email-verify').click();
    await page.locator('#email-code').waitFor();
    expect(await page.locator('#email-sent').innerText()).toBe(`We sent a 6-digit code to ${member.email}.`);
    await checkPage(page, { name: 'portal-verify-code', lang: 'en' });
    await page.locator('#email-code').fill(await codeFor('mails', member.email, 0));
    await page.locator('#email-submit').click();
    await expect.poll(() => notice(page), SAVED).toBe('Your email address is verified.');
    expect(await page.locator('#email-state').innerText()).toBe('Verified');
    expect(await page.locator('#email-verify').count()).toBe(0);
    expect(await keycloakUser(member.userId)).toMatchObject({ email: member.email, emailVerified: true });
    // Nothing was replaced, so no "your address was changed" notice went out.
    expect((await inbox('mails', member.email)).some((m) => m.text.includes('was changed'))).toBe(false);

    // Phone: another account has proved this number (it was given out again since the core's record).
    const owner = await newAccount('owner');
    await setAttributes(owner.userId, { phone: [`+91${mobile}`], phoneVerified: ['true'] });
    await page.locator('#phone-verify').click();
    await page.locator('#phone-code').fill(await codeFor('sms', `+91${mobile}`, 0));
    await page.locator('#phone-submit').click();
    await expect
      .poll(() => page.locator('#phone-code-error').innerText(), SAVED)
      .toBe('This mobile number is verified on another account, so it cannot be verified for this one.');
    await checkPage(page, { name: 'portal-verify-refused', lang: 'en' });
    expect(await page.locator('body').innerText()).not.toContain(owner.username);
    expect((await keycloakUser(member.userId)).attributes).toMatchObject({ phone: [`+91${mobile}`], phoneVerified: ['false'] });
    expect((await keycloakUser(owner.userId)).attributes).toMatchObject({ phone: [`+91${mobile}`], phoneVerified: ['true'] });
    await context.close();

    // Another member holds a number unproven that a third account holds unproven too: the one who proves it keeps it.
    const shared = newMobile();
    const holder = await newAccount('holder', { phone: `+91${shared}`, phoneVerified: false });
    const prover = await newAccount('prover');
    await setAttributes(prover.userId, { phone: [`+91${shared}`], phoneVerified: ['false'] });
    const second = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page2 = await second.newPage();
    await signIn(page2, prover.username);
    await page2.locator('#phone-verify').click();
    await page2.locator('#phone-code').fill(await codeFor('sms', `+91${shared}`, 0));
    await page2.locator('#phone-submit').click();
    await expect.poll(() => notice(page2), SAVED).toBe('Your mobile number is verified.');
    expect((await keycloakUser(prover.userId)).attributes).toMatchObject({ phone: [`+91${shared}`], phoneVerified: ['true'] });
    const loser = await keycloakUser(holder.userId);
    expect(loser.attributes.phone).toBeUndefined();
    expect(loser.attributes.retiredIdentifiers).toEqual([`phone:+91${shared}`]);
    await second.close();
  });
});

describe("password and authenticator app: Keycloak's own pages, reached from the portal", () => {
  it('"Change password" changes it on Keycloak\'s page and comes back with a notice; the authenticator app\'s set-up can be cancelled', async () => {
    const account = await newAccount('password');
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await signIn(page, account.username);
    await page.locator('#change-password').click();
    await page.locator('#kc-passwd-update-form').waitFor();
    expect(new URL(page.url()).origin).toBe(stack.keycloakUrl);
    await checkPage(page, { name: 'portal-kc-update-password', lang: 'en' });
    const changed = `New#${randomBytes(6).toString('hex')}`;
    await page.locator('#password-new').fill(changed);
    await page.locator('#password-confirm').fill(changed);
    await page.locator('#kc-submit').click();
    await profileShown(page);
    await expect.poll(() => notice(page), SAVED).toBe('Your password was changed.');
    await checkPage(page, { name: 'portal-password-changed', lang: 'en' });
    const grant = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'user-api',
        client_secret: stack.settings.userApiClientSecret,
        username: account.username,
        password: changed,
      }),
    });
    expect(grant.status).toBe(200);

    // The authenticator app: Keycloak's set-up page; "Cancel" comes back with nothing changed.
    await page.locator('#set-up-two-step').click();
    await page.locator('#kc-totp-settings-form').waitFor();
    await checkPage(page, { name: 'portal-kc-configure-totp', lang: 'en' });
    await page.locator('#cancelTOTPBtn').click();
    await profileShown(page);
    expect(await page.locator('#notice').isHidden()).toBe(true);
    expect(((await admin.get<Json[]>(`/${realm}/users/${account.userId}/credentials`)) ?? []).map((c) => c.type)).not.toContain('otp');

    await context.close();
  });
});

describe('ending the session', () => {
  it('sign out ends the Keycloak session: the next sign-in asks for the password again', async () => {
    const account = await newAccount('signout');
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await signIn(page, account.username);
    expect(await admin.get<Json[]>(`/${realm}/users/${account.userId}/sessions`)).toHaveLength(1);

    await page.locator('#sign-out').click();
    await page.locator('#sign-in').waitFor();
    expect(await notice(page)).toBe('You have signed out.');
    await checkPage(page, { name: 'portal-signed-out', lang: 'en' });
    expect(await admin.get<Json[]>(`/${realm}/users/${account.userId}/sessions`)).toEqual([]);

    await page.locator('#sign-in').click();
    await page.waitForURL(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/`));
    await page.locator('#username').waitFor();
    await context.close();
  });

  it('keycloak-js refreshes the token as it lapses; when Keycloak refuses the refresh, the portal says the session ended', async () => {
    const account = await newAccount('ended');
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    // The page's clock, so the token's five minutes pass at once (Keycloak's clock is untouched).
    await page.clock.install();
    await signIn(page, account.username);

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
    await checkPage(page, { name: 'portal-session-ended', lang: 'en' });

    await page.locator('#sign-in-again').click();
    await page.waitForURL(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/`));
    await page.locator('#username').waitFor();
    await context.close();
  });

  it('refresh tokens rotate (each is used once): two tabs of one session keep refreshing, each with its own', async () => {
    const account = await newAccount('tabs');
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const tokenEndpoint = `${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`;
    const [first, second] = [await context.newPage(), await context.newPage()];
    for (const page of [first, second]) await page.clock.install();
    await signIn(first, account.username);
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

describe('Hindi at phone width', () => {
  it('a migrated member walks the portal in Hindi: sign in by keyboard, verify the e-mail, a wrong number and a wrong code next to their fields, "Send a new code", the old number told in Hindi', async () => {
    const mobile = newMobile();
    const member = await newAccount('hindi', { emailVerified: false, phone: `+91${mobile}`, phoneVerified: true, signUpType: 'migrated' });
    const allow = [member.username, member.email];
    const context: BrowserContext = await openContext(browser(), { viewport: 'phone', lang: 'hi' });
    const page = await context.newPage();
    await openPortal(page);
    // The browser's language, with nothing remembered yet.
    expect(await page.locator('h1').innerText()).toBe('स्वागत है');
    await checkPage(page, { name: 'portal-home', lang: 'hi' });

    // Keyboard only: Tab reaches the sign-in button (its focus ring visible), Enter follows it.
    let focused = '';
    for (let i = 0; i < 10 && focused !== 'sign-in'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.id ?? '');
    }
    expect(focused).toBe('sign-in');
    expect(await page.locator('#sign-in').evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('solid');
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/`));
    expect(await page.locator('h1#kc-page-title').innerText()).toBe('अपने खाते में साइन इन करें');
    await passwordLogin(page, member.username);
    await profileShown(page);
    expect(await page.locator('#tenant').innerText()).toBe('राष्ट्रीय खाता');
    expect(await page.locator('#phone-value').innerText()).toBe(shown(mobile));
    expect(await page.locator('#email-state').innerText()).toBe('सत्यापित नहीं');
    expect(await page.locator('label[for^="userType-"]').allInnerTexts()).toEqual(['शिक्षक', 'अन्य']);
    await checkPage(page, { name: 'portal-profile', lang: 'hi', allow });
    // The page fits a phone: nothing wider than the viewport.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(VIEWPORTS.phone.width);
    // The account now has the language the person uses (its mails and SMS follow it).
    await expect.poll(async () => (await keycloakUser(member.userId)).attributes.locale).toEqual(['hi']);

    // Verify the e-mail.
    await page.locator('#email-verify').click();
    await page.locator('#email-code').waitFor();
    expect(await page.locator('#email-resend-wait').innerText()).toMatch(/^आप [1-4] सेकंड बाद नया कोड माँग सकते हैं।$/);
    await checkPage(page, { name: 'portal-verify-code', lang: 'hi', allow });
    await page.locator('#email-code').fill(await codeFor('mails', member.email, 0));
    await page.locator('#email-submit').click();
    await expect.poll(() => notice(page), SAVED).toBe('आपका ईमेल पता सत्यापित हो गया।');
    await checkPage(page, { name: 'portal-verified', lang: 'hi', allow });

    // A new number: a malformed one next to its field, then a wrong code next to the code.
    const next = newMobile();
    await page.locator('#phone-change').click();
    await page.locator('#new-phone').fill('12');
    await page.locator('#phone-send').click();
    await expect.poll(() => page.locator('#new-phone-error').innerText(), SAVED).toBe('मोबाइल नंबर दर्ज करें, जैसे 98123 45678 या +91 98123 45678।');
    await checkPage(page, { name: 'portal-phone-invalid', lang: 'hi', allow });
    await page.locator('#new-phone').fill(next);
    await page.locator('#phone-send').click();
    await page.locator('#phone-code').waitFor();
    expect(await page.locator('#phone-sent').innerText()).toBe(`हमने 6 अंकों का कोड ${shown(next)} पर भेजा है।`);
    await checkPage(page, { name: 'portal-code-entry', lang: 'hi', allow });
    const code = await codeFor('sms', `+91${next}`, 0);
    // The code's SMS is in Hindi too.
    expect((await inbox('sms', `+91${next}`)).at(-1)!.text).toMatch(/[\u0900-\u097F]/);
    await page.locator('#phone-code').fill(code === '000000' ? '111111' : '000000');
    await page.locator('#phone-submit').click();
    await expect.poll(() => page.locator('#phone-code-error').innerText(), SAVED).toBe('कोड गलत है या समाप्त हो गया है। जाँचें या नया कोड माँगें।');
    await checkPage(page, { name: 'portal-wrong-code', lang: 'hi', allow });
    await expect.poll(() => page.locator('#phone-resend').isEnabled(), { timeout: (COOLDOWN_SECONDS + 3) * 1000 }).toBe(true);
    await page.locator('#phone-resend').click();
    await expect.poll(() => page.locator('#phone-sent').innerText(), SAVED).toBe(`हमने ${shown(next)} पर नया कोड भेजा है।`);
    await checkPage(page, { name: 'portal-code-resent', lang: 'hi', allow });
    await page.locator('#phone-code').fill(await codeFor('sms', `+91${next}`, 1));
    await page.locator('#phone-submit').click();
    await expect.poll(() => notice(page), SAVED).toBe('आपका मोबाइल नंबर बदल कर सत्यापित कर दिया गया। हमने आपके पिछले नंबर को सूचित किया है।');
    expect(await page.locator('#phone-value').innerText()).toBe(shown(next));
    await checkPage(page, { name: 'portal-phone-changed', lang: 'hi', allow });

    // The old number is told, in Hindi (the account's language).
    let sms: string | undefined;
    await expect
      .poll(async () => (sms = (await inbox('sms', `+91${mobile}`)).map((m) => m.text).find((t) => t.includes('मोबाइल नंबर बदलकर'))), { timeout: 20_000 })
      .toBeDefined();
    expect(sms).not.toContain(next);
    await context.close();
  });
});

describe('pages a link leads to', () => {
  it("an unknown portal address is a page in the person's language with a way back; API addresses stay problem+json", async () => {
    for (const [viewport, lang, title, home] of [
      ['desktop', 'en', 'Page not found', 'Go to your account'],
      ['phone', 'hi', 'पेज नहीं मिला', 'अपने खाते पर जाएँ'],
    ] as const) {
      const context = await openContext(browser(), { viewport, lang });
      const page = await context.newPage();
      const res = await page.goto(`${portalUrl}profile/old-link`);
      expect(res!.status()).toBe(404);
      expect(res!.headers()['content-type']).toMatch(/^text\/html/);
      expect(await page.locator('h1').innerText()).toBe(title);
      await checkPage(page, { name: 'portal-not-found', lang });
      await page.getByRole('link', { name: home }).click();
      await page.locator('#sign-in').waitFor();
      expect(page.url()).toBe(`${portalUrl}?lang=${lang}`);
      await context.close();
    }
    const api = await fetch(`${stack.settings.bffPublicUrl}/api/v1/nope`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('the registration mail\'s link: confirmed, then used; the "used or expired" page offers sign-in and a new link (errors next to the field, a wait counted down)', async () => {
    const email = `portal.register.${sfx()}@example.com`;
    const registered = await fetch(`${stack.settings.bffPublicUrl}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ firstName: 'Rekha', email, password: `Reg#${randomBytes(6).toString('hex')}` }),
    });
    expect(registered.status).toBe(202);
    let link: string | undefined;
    await expect
      .poll(
        async () => (link = (await inbox('mails', email)).map((m) => /(https?:\/\/\S+\/api\/v1\/auth\/confirm\?token=\S+)/.exec(m.text)?.[1]).find(Boolean)),
        {
          timeout: 20_000,
        },
      )
      .toBeDefined();

    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await page.goto(link!);
    expect(await page.locator('#confirmation').getAttribute('data-outcome')).toBe('confirmed');
    expect(await page.locator('#sign-in').getAttribute('href')).toBe('/portal/?lang=en');
    await checkPage(page, { name: 'confirmation-confirmed', lang: 'en' });

    // Opened again: used. The way forward: sign in, or ask for a new link.
    await page.goto(link!);
    expect(await page.locator('#confirmation').getAttribute('data-outcome')).toBe('invalid');
    expect(await page.locator('h1').innerText()).toBe('This link cannot be used');
    expect(await page.locator('#sign-in').isVisible()).toBe(true);
    await checkPage(page, { name: 'confirmation-used', lang: 'en' });
    await page.locator('#email').fill('not-an-address');
    await page.locator('#send').click();
    await expect.poll(() => page.locator('#email-error').innerText(), SAVED).toBe('Enter an email address like name@example.com.');
    expect(await page.locator('#email').getAttribute('aria-invalid')).toBe('true');
    await checkPage(page, { name: 'confirmation-new-link-invalid', lang: 'en' });
    // Any address gets the same answer (this one has no account); the registered one is still in its wait.
    await page.locator('#email').fill(`portal.nobody.${sfx()}@example.com`);
    await page.locator('#send').click();
    await expect
      .poll(() => page.locator('#notice').innerText(), SAVED)
      .toBe('If an account with this address is waiting for confirmation, a new link is on its way. Check your inbox.');
    await checkPage(page, { name: 'confirmation-new-link-sent', lang: 'en' });
    // Asked again at once: the wait, counted down, not an error.
    await page.locator('#send').click();
    await expect.poll(() => page.locator('#notice').innerText(), SAVED).toMatch(/^You asked for a link a moment ago\. You can ask again in \d+ s\.$/);
    expect(await page.locator('#send').isDisabled()).toBe(true);
    await checkPage(page, { name: 'confirmation-new-link-wait', lang: 'en' });
    await page.locator('#sign-in').click();
    await page.locator('#sign-in').waitFor();
    expect(page.url()).toBe(`${portalUrl}?lang=en`);
    await context.close();

    // An unknown or expired link, in Hindi at phone width.
    const hindi = await openContext(browser(), { viewport: 'phone', lang: 'hi' });
    const hiPage = await hindi.newPage();
    await hiPage.goto(`${stack.settings.bffPublicUrl}/api/v1/auth/confirm?token=${randomBytes(32).toString('base64url')}`);
    expect(await hiPage.locator('#confirmation').getAttribute('data-outcome')).toBe('invalid');
    expect(await hiPage.locator('h1').innerText()).toBe('इस लिंक का उपयोग नहीं किया जा सकता');
    expect(await hiPage.locator('#sign-in').getAttribute('href')).toBe('/portal/?lang=hi');
    await checkPage(hiPage, { name: 'confirmation-unknown', lang: 'hi' });
    await hiPage.locator('#email').fill('x@');
    await hiPage.locator('#send').click();
    await expect.poll(() => hiPage.locator('#email-error').innerText(), SAVED).toBe('name@example.com जैसा ईमेल पता दर्ज करें।');
    await checkPage(hiPage, { name: 'confirmation-new-link-invalid', lang: 'hi' });
    await hindi.close();
  });
});
