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
 * new person and an existing account, and the expired, revoked, reused and wrong-account links, each
 * ending on a page with a way on. Every page is checked (screenshot, axe-core, no English on a Hindi
 * page) in English at desktop width and in Hindi at phone width.
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

beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix });
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

describe('an existing account', () => {
  it('by e-mail: "I already have an account", a wrong password, then signed in, it joins the tenant', async () => {
    const holder = await testAccount(stack, { tenants: ['custodian'] });
    const { token } = await invite({ email: holder.email });
    const page = await newPage();
    await page.goto(`${bff.url}/invitations/${token}?lang=en`);
    await page.locator('#existing').click();
    await step(page, 'invitation-sign-in', 'sign-in');
    await page.locator('#login').fill(holder.username);
    await page.locator('#password').fill('not-the-password');
    await page.locator('#submit').click();
    await page.locator('#error[data-error="wrong-password"]').waitFor();
    await step(page, 'invitation-sign-in-wrong-password', 'sign-in');
    await page.locator('#login').fill(holder.email);
    await page.locator('#password').fill(holder.password);
    await page.locator('#submit').click();
    await step(page, 'invitation-done-joined', 'done');
    expect((await directory.organizationsOf(holder.id)).map((o) => o.alias).sort()).toEqual(['custodian', 'state-demo']);
    await page.close();
  }, 240_000);

  it('by mobile number, signed in as another account: refused, whose invitation it is; then "Sign in with another account" with the right one', async () => {
    const phone = newPhone();
    const holder = await testAccount(stack, { phone });
    const other = await testAccount(stack);
    const { token } = await invite({ phone });
    const page = await newPage();
    await page.goto(`${bff.url}/invitations/${token}/sign-in?lang=en`);
    await page.locator('#login').fill(other.username);
    await page.locator('#password').fill(other.password);
    await page.locator('#submit').click();
    await step(page, 'invitation-wrong-account', 'wrong-account');
    await expect.poll(() => page.locator('#wrong').textContent()).toContain(`+91 ••••• •••${phone.slice(-2)}`);
    expect((await directory.organizationsOf(other.id)).map((o) => o.alias)).not.toContain('state-demo');
    await page.locator('#sign-in-another').click();
    await page.locator('#invitation[data-step="sign-in"]').waitFor();
    // The mobile number signs in too (the account holding it, as on Keycloak's sign-in page).
    await page.locator('#login').fill(phone.slice(3));
    await page.locator('#password').fill(holder.password);
    await page.locator('#submit').click();
    await page.locator('#invitation[data-step="done"]').waitFor();
    expect((await directory.organizationsOf(holder.id)).map((o) => o.alias)).toContain('state-demo');
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
