import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SignInTickets } from '../../bff/src/flows/sign-up/sign-in-tickets.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { latestCode } from '../support/inbox.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt, portalSignIn } from '../support/oidc.ts';
import { checkPage, openContext } from '../support/page-check.ts';

/**
 * Sign-up ends signed in (issue 17 §3, decision 0027), Keycloak's half, in Chromium against the real
 * stack: the sign-up page's "Continue" goes to Keycloak's `platform-sign-up/continue` with the ticket
 * the BFF minted, `platform-sign-up-ticket` redeems it for this browser's sign-in and the application
 * gets its code for the new account, no password typed. Started from the login page's link and from
 * the portal's "Create an account" (`platform_screen=signup`). A ticket that is used, for another tab,
 * expired or opened in another browser never signs anyone in: the login page says the account is ready
 * (or, without a sign-in in progress, a page says so and leads back to the application).
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const browser = useBrowser();
const PASSWORD = 'Continue#Signup2026';
const PORTAL = `${stack.settings.bffPublicUrl}/portal/`;
/** Keycloak's pages carry the realm's display name in their title (the product name, not yet translated). */
const TITLE = ['Identity', 'Platform'];

let bff: TestBff;
let tickets: SignInTickets;
const createdUserIds: string[] = [];
beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: `${stack.settings.redisPrefix}signup-continue-${randomBytes(3).toString('hex')}:` }, { atStackUrl: true });
  // Tickets minted the way the BFF mints them (same store, same keys), with a TTL of our choosing.
  tickets = new SignInTickets({ store: bff.container.ephemeralStore, ttlSeconds: 300 });
});
afterAll(async () => {
  for (const id of createdUserIds) await bff?.container.accounts.delete(id).catch(() => undefined);
  await bff?.close();
});

const unique = () => `${Date.now().toString(36)}${randomInt(1000)}`;
const newMobile = () => `96${String(randomInt(100_000_000)).padStart(8, '0')}`;

/** The sign-up page, from details to "Your account is ready"; answers the username shown. */
async function signUp(page: Page, d: { kind: 'email' | 'phone'; identifier: string; to: string; lang: 'en' | 'hi'; shot: string }) {
  await page.locator('#details').waitFor();
  if (d.kind === 'phone') await page.locator('label[for=kind-phone]').click();
  await page.locator(`#${d.kind}`).fill(d.identifier);
  await page.locator('#firstName').fill('Nila');
  await page.locator('#lastName').fill('Continue');
  await page.locator('input[name="userType"][value="other"]').check();
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#details [type=submit]').click();
  await page.locator('#verify').waitFor();
  await page.locator('#code').fill(await latestCode(stack, d.kind === 'email' ? 'mails' : 'sms', d.to));
  await page.locator('#verify [type=submit]').click();
  await page.locator('#done').waitFor();
  const username = (await page.locator('#new-username').innerText()).trim();
  await checkPage(page, { name: `${d.shot}-done`, lang: d.lang, allow: [username] });
  // The way on is Keycloak's continue endpoint with a ticket, for this same authorization request.
  const next = new URL((await page.locator('#continue').getAttribute('href'))!);
  expect(next.origin + next.pathname).toBe(`${stack.keycloakUrl}/realms/${realm}/platform-sign-up/continue`);
  expect(next.searchParams.get('ticket')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(next.searchParams.get('client_id')).toBe('portal');
  return username;
}

/** A sign-in in progress in `context`'s browser: Keycloak's login page, and its tab's restart parameters. */
async function loginInProgress(context: BrowserContext): Promise<{ page: Page; clientId: string; tabId: string; clientData: string }> {
  const page = await context.newPage();
  await page.goto(
    `${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/auth?` +
      new URLSearchParams({
        client_id: 'portal',
        redirect_uri: PORTAL,
        response_type: 'code',
        scope: 'openid',
        state: randomBytes(8).toString('hex'),
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }).toString(),
  );
  const back = new URL((await page.locator('#platform-sign-up').getAttribute('href'))!).searchParams.get('return')!;
  const restart = new URL(back, stack.keycloakUrl);
  return {
    page,
    clientId: restart.searchParams.get('client_id')!,
    tabId: restart.searchParams.get('tab_id')!,
    clientData: restart.searchParams.get('client_data')!,
  };
}

const continueUrl = (ticket: string, at: { clientId: string; tabId: string; clientData: string }) =>
  `${stack.keycloakUrl}/realms/${realm}/platform-sign-up/continue?` +
  new URLSearchParams({ ticket, client_id: at.clientId, tab_id: at.tabId, client_data: at.clientData }).toString();

async function account(): Promise<{ userId: string; username: string }> {
  const { userId, username } = await bff.container.accounts.create(
    { firstName: 'Tara', email: `ticket.${unique()}@example.com`, emailVerified: true, phoneVerified: false, password: PASSWORD, signUpType: 'self' },
    { idempotencyKey: randomUUID() },
  );
  createdUserIds.push(userId);
  return { userId, username };
}

/** Refused: Keycloak's login page with the calm notice, and no redirect to the portal. */
async function expectNotice(page: Page, name: string, lang: 'en' | 'hi' = 'en') {
  await page.locator('#username').waitFor();
  expect(page.url().startsWith(PORTAL)).toBe(false);
  const notice = page.locator('.pf-v5-c-alert');
  expect((await notice.innerText()).replace(/\s+/g, ' ').trim()).toContain(
    lang === 'en' ? 'Your account is ready. Sign in with your username and password.' : 'आपका खाता तैयार है। अपने उपयोगकर्ता नाम और पासवर्ड से साइन इन करें।',
  );
  // Information, not an error.
  expect(await notice.getAttribute('class')).toContain('pf-m-info');
  await checkPage(page, { name, lang, ...(lang === 'hi' ? { allow: TITLE } : {}) });
}

describe('a finished sign-up continues signed in', () => {
  it("(en, desktop) from the login page's link: back in the portal's request as the new account, no password typed", async () => {
    const email = `continue.${unique()}@example.com`;
    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    let username = '';
    const tokens = await portalSignIn(stack, page, async (p) => {
      await p.locator('#platform-sign-up').click();
      username = await signUp(p, { kind: 'email', identifier: email, to: email, lang: 'en', shot: 'sign-up-continue-en' });
      await p.locator('#continue').click();
    });
    const id = decodeJwt<Json>(tokens.id_token);
    expect(id).toMatchObject({ preferred_username: username, email });
    createdUserIds.push(id.sub);
    await context.close();
  });

  it('(hi, phone) from the portal\'s "Create an account": Keycloak sends the request to the sign-up page in Hindi and the portal signs the new account in', async () => {
    const mobile = newMobile();
    const context = await openContext(browser() as Browser, { viewport: 'phone', lang: 'hi' });
    const page = await context.newPage();
    await page.goto(`${PORTAL}?lang=hi`);
    await page.locator('#create-account').click();
    // Keycloak's platform-sign-up-ticket sent the authorization request on to the sign-up page.
    await page.waitForURL(`${stack.settings.bffPublicUrl}/signup?**`);
    const signUpUrl = new URL(page.url());
    expect(signUpUrl.searchParams.get('lang')).toBe('hi');
    expect(signUpUrl.searchParams.get('return')).toMatch(new RegExp(`^/realms/${realm}/login-actions/restart\\?client_id=portal&tab_id=`));
    await checkPage(page, { name: 'sign-up-continue-hi-1-details', lang: 'hi' });
    const username = await signUp(page, { kind: 'phone', identifier: mobile, to: `+91${mobile}`, lang: 'hi', shot: 'sign-up-continue-hi' });
    await page.locator('#continue').click();
    // Back in the portal, which exchanged the code: signed in as the new account.
    await page.waitForURL(`${PORTAL}**`);
    await expect.poll(async () => (await page.locator('body').innerText()).includes(username), { timeout: 20_000 }).toBe(true);
    await checkPage(page, { name: 'sign-up-continue-hi-2-portal', lang: 'hi', allow: [username] });
    const [user] = (await admin.get<Json[]>(`/${realm}/users?username=${username}&exact=true`))!;
    createdUserIds.push(user!.id);
    await context.close();
  });

  it('platform_screen=signup sends to the sign-up page once: its way back shows the login page', async () => {
    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await page.goto(
      `${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/auth?` +
        new URLSearchParams({
          client_id: 'portal',
          redirect_uri: PORTAL,
          response_type: 'code',
          scope: 'openid',
          platform_screen: 'signup',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        }).toString(),
    );
    await page.waitForURL(`${stack.settings.bffPublicUrl}/signup?**`);
    const back = new URL(page.url()).searchParams.get('return')!;
    await page.goto(new URL(back, stack.keycloakUrl).toString());
    await page.locator('#username').waitFor();
    expect(page.url().startsWith(stack.keycloakUrl)).toBe(true);
    await context.close();
  });
});

describe('a ticket that must not sign anyone in', () => {
  it('a used ticket: the login page with the notice', async () => {
    const { userId } = await account();
    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const at = await loginInProgress(context);
    const ticket = await tickets.mint({ userId, tabId: at.tabId });
    expect(await tickets.redeem(ticket, at.tabId)).toEqual({ userId }); // someone used it first
    await at.page.goto(continueUrl(ticket, at));
    await expectNotice(at.page, 'sign-up-continue-refused-used');
    await context.close();
  });

  it('a ticket for another tab: the login page with the notice, and the ticket is burnt', async () => {
    const { userId } = await account();
    const context = await openContext(browser() as Browser, { viewport: 'phone', lang: 'hi' });
    const at = await loginInProgress(context);
    const ticket = await tickets.mint({ userId, tabId: 'another-tab' });
    await at.page.goto(continueUrl(ticket, at));
    await expectNotice(at.page, 'sign-up-continue-refused-other-tab', 'hi');
    await expect(tickets.redeem(ticket, 'another-tab')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await context.close();
  });

  it('an expired ticket: the login page with the notice', async () => {
    const { userId } = await account();
    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const at = await loginInProgress(context);
    const ticket = await new SignInTickets({ store: bff.container.ephemeralStore, ttlSeconds: 1 }).mint({ userId, tabId: at.tabId });
    await new Promise((r) => setTimeout(r, 2100));
    await at.page.goto(continueUrl(ticket, at));
    await expectNotice(at.page, 'sign-up-continue-refused-expired');
    await context.close();
  });

  it('a ticket opened in another browser: no sign-in there (a page leads back to the application), and it still works where it belongs', async () => {
    const { userId } = await account();
    const mine = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const at = await loginInProgress(mine);
    const ticket = await tickets.mint({ userId, tabId: at.tabId });

    for (const [viewport, lang] of [
      ['desktop', 'en'],
      ['phone', 'hi'],
    ] as const) {
      const other = await openContext(browser() as Browser, { viewport, lang });
      const page = await other.newPage();
      await page.goto(continueUrl(ticket, at));
      await page.locator('#platform-sign-up-ready').waitFor();
      expect(await page.locator('h1').innerText()).toBe(lang === 'en' ? 'Your account is ready' : 'आपका खाता तैयार है');
      expect(await page.locator('#platform-sign-in').getAttribute('href')).toBe(PORTAL);
      await checkPage(page, { name: 'sign-up-continue-other-browser', lang, ...(lang === 'hi' ? { allow: TITLE } : {}) });
      await other.close();
    }

    // The other browser's visit redeemed nothing: in the browser it was minted for, it signs in.
    await at.page.route(`${PORTAL}**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: 'signed in' }));
    const landed = at.page.waitForRequest((req) => req.url().startsWith(PORTAL));
    await at.page.goto(continueUrl(ticket, at));
    const callback = new URL((await landed).url());
    expect(callback.searchParams.get('code')).toBeTruthy();
    const events = (await admin.get<Json[]>(`/${realm}/events?type=LOGIN&user=${userId}&max=5`))!;
    expect(events[0]?.details).toMatchObject({ platform_sign_up: 'ticket' });
    await mine.close();
  });

  it('a made-up ticket, or none: the login page, never signed in', async () => {
    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const at = await loginInProgress(context);
    await at.page.goto(continueUrl(randomBytes(32).toString('base64url'), at));
    await expectNotice(at.page, 'sign-up-continue-refused-unknown');
    await at.page.goto(continueUrl('', at));
    await at.page.locator('#username').waitFor();
    expect(await at.page.locator('.pf-v5-c-alert').count()).toBe(0);
    await context.close();
  });
});
