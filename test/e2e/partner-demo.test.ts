import { randomBytes } from 'node:crypto';
import type { FrameLocator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_PARTNER } from '../../stack/partner-demo/demo-partner.ts';
import { startPartnerDemo, type RunningPartnerDemo } from '../../stack/partner-demo/server.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt } from '../support/oidc.ts';
import { checkPage, openContext } from '../support/page-check.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * The partner super component in Chromium, embedded by the demo partner's page (Demo Bank, its own
 * origin and server holding the partner's client secret) exactly as `npm start` runs it: the bank's
 * server gets an authToken from POST /api/auth/v1, the platform's component in the iframe renders
 * what GET /api/auth/v1/{authToken} answers (202 enrollment with KBA, 203 consent, 200 overview,
 * 404 expired). English at desktop width inside the bank's page; Hindi at phone width as the frame's
 * own page (the bank's page around it is the partner's, in its own words). Every state is checked
 * (screenshot, axe-core, no English on the Hindi pages).
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const browser = useBrowser();
const keys = testKeyPrefix('partner-demo');

let bff: TestBff;
let demo: RunningPartnerDemo;
beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix });
  // The demo partner's settings, as `npm start` registers them (its Keycloak client is realm-config's).
  await bff.container.partnerAdmin.registerIfAbsent({
    clientId: DEMO_PARTNER.clientId,
    name: DEMO_PARTNER.name,
    trustAuth: DEMO_PARTNER.trustAuth,
    appKeys: DEMO_PARTNER.appKeys.map((k) => ({ ...k })),
  });
  demo = await startPartnerDemo({
    port: 0,
    bffPublicUrl: bff.url,
    keycloakUrl: stack.keycloakUrl,
    realm,
    clientSecret: stack.settings.demoPartnerClientSecret,
  });
  // This run's bank page may frame the component (added, then removed: files share the partner).
  await bff.container.partnerAdmin.addFrameOrigins(DEMO_PARTNER.clientId, [new URL(demo.url).origin]);
});
afterAll(async () => {
  if (demo) await bff?.container.partnerAdmin.removeFrameOrigins(DEMO_PARTNER.clientId, [new URL(demo.url).origin]);
  await demo?.close();
  await bff?.close();
  await keys.cleanup();
});

const customerId = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

/** The bank's credit page for a customer, and the component inside it. */
async function openCredit(page: Page, customer: string, dbpUserId?: string, lang = 'en'): Promise<FrameLocator> {
  const query = new URLSearchParams({ customer, lang, ...(dbpUserId ? { dbpUserId } : {}) });
  await page.goto(`${demo.url}/credit?${query.toString()}`);
  return page.frameLocator('#super-component');
}

const componentState = (page: Page) => page.locator('#component-state').innerText();

/** A page of its own context (axe-core reads the component's frame through it), desktop, English. */
const desktopPage = async () => (await openContext(browser(), { viewport: 'desktop', lang: 'en' })).newPage();

/** The bank's page with the component in it, at desktop width, in English: screenshot and axe-core (frames included). */
const check = (page: Page, name: string) => checkPage(page, { name, lang: 'en' });

/**
 * The component's own page at phone width in Hindi: the frame's address opened by itself (what the
 * person reads is the component; the bank's page around it is the partner's, in the partner's words).
 */
async function openComponentAlone(customer: string, dbpUserId?: string): Promise<{ page: Page; close: () => Promise<void> }> {
  const context = await openContext(browser(), { viewport: 'phone', lang: 'hi' });
  const bank = await context.newPage();
  const query = new URLSearchParams({ customer, lang: 'hi', ...(dbpUserId ? { dbpUserId } : {}) });
  await bank.goto(`${demo.url}/credit?${query.toString()}`);
  const src = (await bank.locator('#super-component').getAttribute('src'))!;
  await bank.close();
  const page = await context.newPage();
  await page.goto(src);
  return { page, close: () => context.close() };
}

async function mappedUser(appKey: string, dbpUserId: string): Promise<string | undefined> {
  const rows = await bff.container.orm.em
    .getConnection()
    .execute<{ user_id: string }[]>('select user_id from partner_user_mapping where app_key = ? and dbp_user_id = ?', [appKey, dbpUserId]);
  return rows[0]?.user_id;
}

describe('the demo bank page', () => {
  it('lists the demo customers and what each shows', async () => {
    const page = await desktopPage();
    await page.goto(demo.url);
    for (const id of ['open-jordan', 'open-sam', 'open-expired']) expect(await page.locator(`#${id}`).count()).toBe(1);
    await check(page, 'partner-demo-0-bank');
    await page.context().close();
  });
});

describe('standard enrollment (appKey demo-bank-standard): 202 -> prefilled form -> KBA -> overview', () => {
  it('a first visit enrolls through the questions; the next visit shows the overview at once', async () => {
    const dbpUserId = customerId('jordan');
    const page = await desktopPage();
    let component = await openCredit(page, 'jordan', dbpUserId);

    await component.locator('#enrollment').waitFor();
    expect(await componentState(page)).toBe('enrollment');
    expect(await component.locator('#firstName').inputValue()).toBe('Jordan');
    expect(await component.locator('#lastName').inputValue()).toBe('Lee');
    expect(await component.locator('#dob').inputValue()).toBe('1990-04-12');
    await check(page, 'partner-demo-1-enrollment');

    // A typo the person makes: the core has no questions for that person, and says so.
    await component.locator('#lastName').fill('Leigh');
    await component.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => component.locator('#alert').innerText()).toBe('We could not find questions for these details. Check them and try again.');

    await component.locator('#lastName').fill('Lee');
    await component.getByRole('button', { name: 'Continue' }).click();
    await component.locator('#kba').waitFor();
    expect(await component.locator('#kba label').allInnerTexts()).toEqual([
      'On which street did you live in 2015?',
      'Which make was the car you financed in 2018?',
    ]);
    expect(await component.locator('#attempts-left').innerText()).toBe('Tries left: 3');

    await component.locator('#q-previous-street').fill('Oak Street');
    await component.locator('#q-car-make').fill('Honda');
    await component.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => component.locator('#alert').innerText()).toBe('Some answers are not right. Tries left: 2.');
    expect(await mappedUser('demo-bank-standard', dbpUserId)).toBeUndefined();
    await check(page, 'partner-demo-2-kba-wrong');

    await component.locator('#q-previous-street').fill('maple avenue');
    await component.locator('#q-car-make').fill('Honda');
    await component.getByRole('button', { name: 'Verify' }).click();
    await component.locator('#overview').waitFor();
    expect(await componentState(page)).toBe('overview');
    expect(await component.locator('#overview').innerText()).toBe('Hello Jordan, here is your credit overview.');
    const userId = await mappedUser('demo-bank-standard', dbpUserId);
    expect(userId).toBeDefined();
    expect(await component.locator('#user-id').innerText()).toBe(userId);
    const user = (await admin.get<Json>(`/${realm}/users/${userId}`))!;
    expect(await component.locator('#username').innerText()).toBe(user.username);
    expect(user).toMatchObject({ firstName: 'Jordan', lastName: 'Lee', enabled: true });
    await check(page, 'partner-demo-3-overview');

    // Enrolled now: the bank's next authToken leads straight to the overview (200), same user.
    component = await openCredit(page, 'jordan', dbpUserId);
    await component.locator('#overview').waitFor();
    expect(await component.locator('#user-id').innerText()).toBe(userId);
    await page.context().close();
  });
});

describe('consent enrollment (appKey demo-bank-consent): 203 -> consent -> PATCH -> overview', () => {
  it('"I agree" creates and maps the account and shows the overview', async () => {
    const dbpUserId = customerId('sam');
    const page = await desktopPage();
    const component = await openCredit(page, 'sam', dbpUserId);
    await component.locator('#consent').waitFor();
    expect(await componentState(page)).toBe('consent');
    expect(await mappedUser('demo-bank-consent', dbpUserId)).toBeUndefined();
    await check(page, 'partner-demo-4-consent');

    const patched = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().startsWith(`${bff.url}/api/auth/v1/`));
    await component.locator('#consent').click();
    const answer = await patched;
    expect(answer.status()).toBe(200);
    await component.locator('#overview').waitFor();
    const userId = await mappedUser('demo-bank-consent', dbpUserId);
    expect(userId).toBeDefined();
    expect(decodeJwt(((await answer.json()) as { userToken: string }).userToken).sub).toBe(userId);
    expect(await component.locator('#overview').innerText()).toBe('Hello Sam, here is your credit overview.');
    await page.context().close();
  });

  it('"Not now" creates nothing', async () => {
    const dbpUserId = customerId('sam');
    const page = await (await openContext(browser(), { viewport: 'phone', lang: 'hi' })).newPage();
    const component = await openCredit(page, 'sam', dbpUserId, 'hi');
    await component.locator('#decline').waitFor();
    expect(await component.locator('h1').innerText()).toBe('अपना क्रेडिट अवलोकन चालू करें');
    await component.locator('#decline').click();
    await component.locator('#declined').waitFor();
    expect(await componentState(page)).toBe('declined');
    expect(await mappedUser('demo-bank-consent', dbpUserId)).toBeUndefined();
    await page.context().close();
  });
});

describe('an unknown or expired authToken (404)', () => {
  it('says the link expired and how to get a new one', async () => {
    const page = await desktopPage();
    const component = await openCredit(page, 'expired');
    await component.locator('#expired').waitFor();
    expect(await componentState(page)).toBe('expired');
    expect(await component.locator('h1').innerText()).toBe('This link has expired');
    await check(page, 'partner-demo-5-expired');
    await page.context().close();
  });

  it('a used authToken is gone: the same component link opened again shows the expired message', async () => {
    const dbpUserId = customerId('sam');
    const page = await desktopPage();
    const component = await openCredit(page, 'sam', dbpUserId);
    await component.locator('#consent').click();
    await component.locator('#overview').waitFor();
    // The iframe's URL (same authToken) opened anew.
    const src = (await page.locator('#super-component').getAttribute('src'))!;
    expect(src).toMatch(new RegExp(`^${bff.url}/portal/super-component\\.html\\?partner=${DEMO_PARTNER.clientId}#authToken=[A-Za-z0-9_-]{43}&lang=en$`));
    await page.goto(src);
    await page.locator('#expired').waitFor();
    // The token left the address bar as soon as the page read it; the partner stays (a reload in its frame).
    expect(page.url()).toBe(`${bff.url}/portal/super-component.html?partner=${DEMO_PARTNER.clientId}`);
    await page.context().close();
  });
});

describe('Hindi at phone width: the component in the language the bank passes', () => {
  it('enrollment, the security questions (ours in Hindi), a wrong answer, the overview', async () => {
    const dbpUserId = customerId('jordan');
    const { page, close } = await openComponentAlone('jordan', dbpUserId);
    await page.locator('#enrollment').waitFor();
    expect(await page.locator('h1').innerText()).toBe('अपना विवरण पुष्टि करें');
    expect(await page.locator('html').getAttribute('lang')).toBe('hi');
    // The partner's data is the person's: names, the date.
    const allow = ['Jordan', 'Lee'];
    await checkPage(page, { name: 'partner-demo-enrollment', lang: 'hi', allow });
    await page.locator('#firstName').fill('');
    await page.getByRole('button', { name: 'आगे बढ़ें' }).click();
    await expect.poll(() => page.locator('#firstName-error').innerText()).toBe('अपना पहला नाम दर्ज करें।');
    await checkPage(page, { name: 'partner-demo-enrollment-error', lang: 'hi', allow });
    await page.locator('#firstName').fill('Jordan');
    await page.getByRole('button', { name: 'आगे बढ़ें' }).click();
    await page.locator('#kba').waitFor();
    expect(await page.locator('#kba label').allInnerTexts()).toEqual([
      '2015 में आप किस सड़क पर रहते थे?',
      '2018 में आपने जिस कार के लिए ऋण लिया था, वह किस कंपनी की थी?',
    ]);
    await page.locator('#q-previous-street').fill('Oak Street');
    await page.locator('#q-car-make').fill('Honda');
    await page.getByRole('button', { name: 'सत्यापित करें' }).click();
    await expect.poll(() => page.locator('#alert').innerText()).toBe('कुछ उत्तर सही नहीं हैं। बचे प्रयास: 2।');
    await checkPage(page, { name: 'partner-demo-kba-wrong', lang: 'hi', allow: [...allow, 'Oak', 'Street', 'Honda'] });
    await page.locator('#q-previous-street').fill('Maple Avenue');
    await page.locator('#q-car-make').fill('Honda');
    await page.getByRole('button', { name: 'सत्यापित करें' }).click();
    await page.locator('#overview').waitFor();
    expect(await page.locator('#overview').innerText()).toBe('नमस्ते Jordan, यह आपका क्रेडिट अवलोकन है।');
    await checkPage(page, { name: 'partner-demo-overview', lang: 'hi', allow: [...allow, await page.locator('#username').innerText()] });
    await close();
  });

  it('consent, "not now", and an expired link', async () => {
    const consent = await openComponentAlone('sam', customerId('sam'));
    await consent.page.locator('#consent').waitFor();
    await checkPage(consent.page, { name: 'partner-demo-consent', lang: 'hi' });
    await consent.page.locator('#decline').click();
    await consent.page.locator('#declined').waitFor();
    await checkPage(consent.page, { name: 'partner-demo-declined', lang: 'hi' });
    await consent.close();

    const expired = await openComponentAlone('expired');
    await expired.page.locator('#expired').waitFor();
    expect(await expired.page.locator('h1').innerText()).toBe('यह लिंक समाप्त हो गया है');
    await checkPage(expired.page, { name: 'partner-demo-expired', lang: 'hi' });
    await expired.close();
  });

  it("without a language from the bank, the browser's", async () => {
    const context = await openContext(browser(), { viewport: 'phone', lang: 'hi' });
    const page = await context.newPage();
    await page.goto(`${bff.url}/portal/super-component.html?partner=${DEMO_PARTNER.clientId}#authToken=${randomBytes(32).toString('base64url')}`);
    await page.locator('#expired').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('hi');
    await context.close();
  });
});
