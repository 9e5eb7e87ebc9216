import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeycloakIdentityDirectory } from '../../bff/src/adapters/keycloak/keycloak-identity-directory.ts';
import { ServiceAccountTokens } from '../../bff/src/adapters/keycloak/service-account-tokens.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { invitationToken, testAccount } from '../support/invitations.ts';
import { checkPage, openContext, VIEWPORTS } from '../support/page-check.ts';
import { uniqueId } from '../support/partners.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Accepting invitations in the browser (issue 18, decision 0034): by e-mail and by mobile number, a
 * new person (the BFF's form) and an existing account (the portal: Keycloak's own sign-in page, then
 * the accept), and the expired, revoked, reused and wrong-account links, each ending on a page with a
 * way on. Every page is checked (screenshot, axe-core, no English on a Hindi page) in English at
 * desktop width and in Hindi at phone width.
 */
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const browser = useBrowser();
const keys = testKeyPrefix(uniqueId('invitation-browser'));
const directory = new KeycloakIdentityDirectory({
  keycloakUrl: stack.keycloakUrl,
  realm,
  tokens: new ServiceAccountTokens({ issuer: `${stack.keycloakUrl}/realms/${realm}`, clientId: 'bff', clientSecret: stack.settings.bffClientSecret }),
});
let bff: TestBff;

const portalUrl = `${stack.settings.bffPublicUrl}/portal/`;

beforeAll(async () => {
  // At the stack's BFF URL: the portal client's redirect URIs name it.
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix }, { atStackUrl: true });
});
afterAll(async () => {
  await bff?.close();
  await keys.cleanup();
});

const PASSWORD = 'Invited-Browser-2026!';
const newEmail = () => `${uniqueId('guest').replace('-', '')}@example.org`;
const newPhone = () => `+9197${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;

async function invite(body: { email?: string; phone?: string; locale?: 'en' | 'hi'; role?: string }): Promise<{ id: string; token: string }> {
  const { invitation } = await bff.container.invitations.create({ tenant: 'state-demo', ...body, invitedBy: 'browser-test', source: 'admin' });
  const token = await invitationToken(stack, body.email ? 'mails' : 'sms', (body.email ?? body.phone)!, invitation.sendCount - 1);
  return { id: invitation.id, token };
}

async function newPage(opts: Parameters<typeof openContext>[1] = {}): Promise<Page> {
  const context = await openContext(browser(), opts);
  const page = await context.newPage();
  page.on('close', () => void context.close().catch(() => {}));
  return page;
}

/** The invitation page of `step`, checked in its language, and the same address in Hindi at phone width. */
async function step(page: Page, name: string, stepName: string, opts: { hindiToo?: boolean; lang?: 'en' | 'hi' } = {}): Promise<void> {
  await page.locator(`#invitation[data-step="${stepName}"]`).waitFor();
  const lang = opts.lang ?? 'en';
  await checkPage(page, { name, lang });
  if (opts.hindiToo === false || lang === 'hi') return;
  const hi = new URL(page.url());
  hi.searchParams.set('lang', 'hi');
  const other = await page.context().newPage();
  try {
    await other.setViewportSize(VIEWPORTS.phone);
    await other.goto(hi.href);
    await other.locator(`#invitation[data-step="${stepName}"]`).waitFor();
    await checkPage(other, { name, lang: 'hi' });
  } finally {
    await other.close();
  }
}

describe('a new person', () => {
  it('by e-mail: the link, "Create my account", a too-short password, then the account, signed up by invitation, in the tenant', async () => {
    const email = newEmail();
    const { token } = await invite({ email, role: 'TEACHER' });
    const page = await newPage();
    await page.goto(`${bff.url}/invitations/${token}?lang=en`);
    await step(page, 'invitation-link', 'invitation');
    await expect.poll(() => page.locator('#invited').textContent()).toContain('State of Demo');
    await page.locator('#create').click();
    await step(page, 'invitation-new', 'new');
    await page.locator('#firstName').fill('Asha');
    await page.locator('#lastName').fill('Verma');
    await page.locator('#password').fill('short');
    await page.locator('#submit').click();
    await page.locator('#error[data-error="password"]').waitFor();
    await step(page, 'invitation-new-password-error', 'new');
    await page.locator('#firstName').fill('Asha');
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#submit').click();
    await step(page, 'invitation-done-new', 'done');
    expect(await page.locator('#continue').getAttribute('href')).toMatch(/\/portal\//);
    const [user] = await directory.findUsersByEmail(email);
    expect(user).toMatchObject({ emailVerified: true, firstName: 'Asha' });
    expect(user!.attributes.signUpType).toEqual(['invitation']);
    expect((await directory.organizationsOf(user!.id)).map((o) => o.alias)).toEqual(['state-demo']);

    // Reused: the link now says it was accepted, with the way to sign in.
    await page.goto(`${bff.url}/invitations/${token}?lang=en`);
    await step(page, 'invitation-dead-used', 'dead');
    expect(await page.locator('#dead').getAttribute('data-reason')).toBe('used');
    await page.close();
  }, 240_000);

  it('by mobile number, in Hindi on a phone: the SMS link, the form, the account with the number verified', async () => {
    const phone = newPhone();
    const { token } = await invite({ phone, locale: 'hi' });
    const page = await newPage({ viewport: 'phone', lang: 'hi' });
    await page.goto(`${bff.url}/invitations/${token}?lang=hi`);
    await step(page, 'invitation-link-sms', 'invitation', { lang: 'hi' });
    await page.locator('#create').click();
    await step(page, 'invitation-new-sms', 'new', { lang: 'hi' });
    await page.locator('#firstName').fill('Ravi');
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#submit').click();
    await step(page, 'invitation-done-new-sms', 'done', { lang: 'hi' });
    const [user] = await directory.findUsersByAttribute('phone', phone);
    expect(user!.attributes.phoneVerified).toEqual(['true']);
    expect(user!.attributes.signUpType).toEqual(['invitation']);
    await page.close();
  }, 240_000);
});

/** Keycloak's own identifier-first sign-in page of the platform realm (not a BFF form). */
async function keycloakSignIn(page: Page, username: string, password: string): Promise<void> {
  await page.waitForURL(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/`));
  await page.locator('#username').fill(username);
  await page.locator('#kc-login').click();
  await page.locator('#password').fill(password);
  await page.locator('#kc-login').click();
  await page.waitForURL(`${portalUrl}**`);
}

/** The portal's language switch to Hindi, at phone width: the same screen drawn again. */
async function toHindiPhone(page: Page): Promise<void> {
  await page.setViewportSize(VIEWPORTS.phone);
  await page.locator('nav.languages button[lang="hi"]').click();
  await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('hi');
}

const tenantsOf = async (userId: string) => (await directory.organizationsOf(userId)).map((o) => o.alias).sort();

describe("an existing account (the portal, Keycloak's sign-in page)", () => {
  it('by e-mail: "I already have an account", signed in with the password on Keycloak\'s page, joins; the profile says so; the used link: the alert', async () => {
    const holder = await testAccount(stack, { tenants: ['custodian'] });
    const { token } = await invite({ email: holder.email });
    const page = await newPage();
    await page.goto(`${bff.url}/invitations/${token}?lang=en`);
    await page.locator('#invitation[data-step="invitation"]').waitFor();
    // The token rides in the fragment: no server (nor its log) receives it.
    expect(await page.locator('#existing').getAttribute('href')).toBe(`/portal/?lang=en#invitation=${token}`);
    await page.locator('#existing').click();
    await keycloakSignIn(page, holder.email, holder.password);
    await page.locator('#details').waitFor();
    await expect.poll(() => page.locator('#notice').innerText()).toBe('You joined State of Demo.');
    expect(page.url()).not.toContain(token);
    expect(await page.evaluate(() => sessionStorage.getItem('platform.portal.invitation'))).toBeNull();
    expect(await tenantsOf(holder.id)).toEqual(['custodian', 'state-demo']);
    await checkPage(page, { name: 'portal-invitation-joined', lang: 'en' });
    await toHindiPhone(page);
    await expect.poll(() => page.locator('#notice').innerText()).toBe('आप डेमो राज्य से जुड़ गए।');
    await checkPage(page, { name: 'portal-invitation-joined', lang: 'hi', allow: ['Test', 'Person'] });

    // The link again, signed in (the account's language is Hindi now): used, the alert on the profile.
    await page.goto('about:blank');
    await page.goto(`${portalUrl}?lang=hi#invitation=${token}`);
    await page.locator('#details').waitFor();
    await expect.poll(() => page.locator('#alert').innerText()).toContain('आमंत्रण अब उपयोग नहीं किया जा सकता');
    await checkPage(page, { name: 'portal-invitation-dead', lang: 'hi', allow: ['Test', 'Person'] });
    await page.setViewportSize(VIEWPORTS.desktop);
    await page.locator('nav.languages button[lang="en"]').click();
    await expect.poll(() => page.locator('#alert').innerText()).toBe('This invitation can no longer be used. Ask the person who invited you for a new one.');
    await checkPage(page, { name: 'portal-invitation-dead', lang: 'en' });
    expect(await tenantsOf(holder.id)).toEqual(['custodian', 'state-demo']);
    await page.close();
  }, 240_000);

  it('by mobile number, signed in as another account: the wrong-account screen; "Sign in with another account" keeps the invitation, the right one joins', async () => {
    const phone = newPhone();
    const holder = await testAccount(stack, { phone });
    const other = await testAccount(stack);
    const { token } = await invite({ phone });
    const page = await newPage();
    await page.goto(`${bff.url}/invitations/${token}?lang=en`);
    await page.locator('#existing').click();
    await keycloakSignIn(page, other.username, other.password);
    await page.locator('#invitation-wrong').waitFor();
    const masked = `+91 ••••• •••${phone.slice(-2)}`;
    expect(await page.locator('#invitation-wrong').getAttribute('data-invited')).toBe(masked);
    expect(await page.locator('#invitation-wrong').innerText()).toContain(masked);
    // The way forward names the number too: add and verify it in the profile, then the link again.
    expect(await page.locator('#invitation-wrong + .hint').innerText()).toBe(
      `Sign in with the account that has ${masked}. If this is your account, add and verify ${masked} in your profile, then open the invitation link again.`,
    );
    await checkPage(page, { name: 'portal-invitation-wrong-account', lang: 'en' });
    await toHindiPhone(page);
    await expect.poll(() => page.locator('h1').innerText()).toBe('यह आमंत्रण किसी दूसरे खाते के लिए है');
    await checkPage(page, { name: 'portal-invitation-wrong-account', lang: 'hi' });
    expect(await tenantsOf(other.id)).not.toContain('state-demo');

    // Signed out of Keycloak and back: the pending invitation sends the person to sign in again.
    await page.locator('#invitation-other-account').click();
    await keycloakSignIn(page, holder.username, holder.password);
    await page.locator('#details').waitFor();
    await expect.poll(() => page.locator('#notice').innerText()).toBe('आप डेमो राज्य से जुड़ गए।');
    expect(await tenantsOf(holder.id)).toContain('state-demo');
    expect(await tenantsOf(other.id)).not.toContain('state-demo');
    await page.close();
  }, 240_000);

  it('"Go to my profile" on the wrong-account screen drops the invitation: the profile, the link still good for its holder', async () => {
    const holder = await testAccount(stack);
    const other = await testAccount(stack);
    const { id, token } = await invite({ email: holder.email });
    const page = await newPage();
    await page.goto(`${portalUrl}?lang=en#invitation=${token}`);
    await keycloakSignIn(page, other.username, other.password);
    await page.locator('#invitation-to-profile').click();
    await page.locator('#details').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('platform.portal.invitation'))).toBeNull();
    expect((await bff.container.invitations.get('state-demo', id)).status).toBe('pending');
    await page.close();
  }, 240_000);
});

describe('links that lead nowhere', () => {
  it('expired and unknown: the same page, "ask for a new invitation" and the way to the portal', async () => {
    const email = newEmail();
    const { id, token } = await invite({ email });
    await bff.container.em.fork().getConnection().execute(`update invitation set expires_at = now() - interval '1 minute' where id = ?`, [id]);
    const page = await newPage();
    const res = await page.goto(`${bff.url}/invitations/${token}?lang=en`);
    expect(res?.status()).toBe(404);
    await step(page, 'invitation-dead-expired', 'dead');
    expect(await page.locator('#portal').getAttribute('href')).toMatch(/\/portal\//);
    await page.goto(`${bff.url}/invitations/${'x'.repeat(43)}?lang=en`);
    expect(await page.locator('#dead').getAttribute('data-reason')).toBe('unknown');
    await page.close();
  }, 240_000);

  it('revoked: says it was withdrawn, with the ways on', async () => {
    const email = newEmail();
    const { id, token } = await invite({ email });
    await bff.container.invitations.revoke('state-demo', id);
    const page = await newPage();
    const res = await page.goto(`${bff.url}/invitations/${token}?lang=en`);
    expect(res?.status()).toBe(410);
    await step(page, 'invitation-dead-revoked', 'dead');
    expect(await page.locator('#dead').getAttribute('data-reason')).toBe('revoked');
    await page.close();
  }, 240_000);
});
