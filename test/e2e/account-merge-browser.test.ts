import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { wireAccountMerge } from '../../bff/src/flows/account-merge/wire.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import type { IdentityDirectory } from '../../bff/src/ports/identity-directory.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { checkPage, openContext } from '../support/page-check.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * "Merge another account" in the portal (issue 19 §3, decision 0040), in Chromium as a person uses it,
 * at (English, desktop) and (Hindi, phone): the proof with a wrong password and with someone else's
 * account (refused alike, tries counted down), the preview of what moves and what closes, the merge and
 * the profile afterwards; the signed-in account itself refused; out of tries; a merge that stopped part
 * way (a failing step) shown as such and finished with "Finish the merge". Every screen through checkPage.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const browser = useBrowser();
const PASSWORD = stack.settings.demoUserPassword;
const portalUrl = `${stack.settings.bffPublicUrl}/portal/`;
const keys = testKeyPrefix('account-merge-browser');

let bff: TestBff;
beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix, LOGIN_FAILURES_PER_IP_PER_HOUR: '500' }, { atStackUrl: true });
});
afterAll(async () => {
  await bff?.close();
  await keys.cleanup();
});

const sfx = () => randomBytes(4).toString('hex');
const newMobile = () => `+919${String(randomInt(1_000_000_000)).padStart(9, '0')}`;

async function newAccount(label: string, opts: { phone?: string } = {}) {
  const email = `merge.web.${label}.${sfx()}@example.com`;
  const created = await bff.container.accounts.create(
    {
      firstName: 'Merge',
      lastName: label,
      email,
      emailVerified: true,
      ...(opts.phone ? { phone: opts.phone } : {}),
      phoneVerified: opts.phone !== undefined,
      password: PASSWORD,
      signUpType: 'self',
    },
    { idempotencyKey: randomUUID() },
  );
  return { id: created.userId, username: created.username, email, phone: opts.phone };
}

/** The other account: a phone, a Google link and the state tenant move with it. */
async function otherAccount() {
  const other = await newAccount('other', { phone: newMobile() });
  const subject = `google-${sfx()}`;
  await admin.post(`/${realm}/users/${other.id}/federated-identity/google-demo`, {
    identityProvider: 'google-demo',
    userId: subject,
    userName: `${subject}@gmail.test`,
  });
  await bff.container.identityDirectory.addToOrganization(other.id, 'state-demo');
  return other;
}

const kcUser = async (id: string) => (await admin.get<Json>(`/${realm}/users/${id}`))!;

async function signIn(page: Page, username: string, lang: 'en' | 'hi') {
  await page.goto(`${portalUrl}?lang=${lang}`);
  await page.locator('#sign-in').click();
  await page.waitForURL(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/`));
  await page.locator('#username').fill(username);
  await page.locator('#kc-login').click();
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#kc-login').click();
  await page.waitForURL(`${portalUrl}**`);
  await page.locator('#details').waitFor();
}

async function prove(page: Page, login: string, password: string) {
  await page.locator('#merge-login').fill(login);
  await page.locator('#merge-password').fill(password);
  await page.locator('#merge-continue').click();
}

const SLOW = { timeout: 20_000 };

describe('merging another account in the portal (en, desktop)', () => {
  it("a wrong password and someone else's account are refused alike; the right one previews, merges, and the profile shows the result", async () => {
    const me = await newAccount('me');
    const other = await otherAccount();
    const someoneElse = await newAccount('someone');
    const context = await openContext(browser(), { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await signIn(page, me.username, 'en');
    expect(await page.locator('#merge-heading').innerText()).toBe('Another account');
    await checkPage(page, { name: 'merge-profile-section', lang: 'en' });
    await page.locator('#merge-start').click();
    await page.locator('#merge-proof').waitFor();
    expect(await page.locator('h1').innerText()).toBe('Merge another account into this one');
    await checkPage(page, { name: 'merge-proof', lang: 'en' });

    await prove(page, other.email, 'Not-The-Password-1');
    await expect.poll(() => page.locator('#merge-password-error').innerText(), SLOW).toBe('The details are not right. Tries left: 2.');
    expect(await page.locator('#merge-password').getAttribute('aria-invalid')).toBe('true');
    await checkPage(page, { name: 'merge-proof-wrong', lang: 'en' });

    // Someone else's account with a guessed password: the same answer, nothing about whose it is.
    await prove(page, someoneElse.username, 'Guessed-Password-1');
    await expect.poll(() => page.locator('#merge-password-error').innerText(), SLOW).toBe('The details are not right. Tries left: 1.');
    expect((await kcUser(someoneElse.id)).enabled).toBe(true);

    await prove(page, other.email, PASSWORD);
    await page.locator('#merge-confirm').waitFor(SLOW);
    expect(await page.locator('h1').innerText()).toBe('Check before you merge');
    expect(await page.locator('#merge-preview-lead').innerText()).toContain(other.username);
    const moves = await page.locator('#merge-moves li').allInnerTexts();
    expect(moves).toEqual([expect.stringMatching(/^Mobile number \+91 /), 'Sign-in with Google', 'Membership of State of Demo']);
    const closes = await page.locator('#merge-closes li').allInnerTexts();
    expect(closes[0]).toContain(other.username);
    expect(closes[1]).toMatch(/^Email .*\(this account keeps its own\)$/);
    expect(await page.locator('body').innerText()).not.toContain(other.email);
    await checkPage(page, { name: 'merge-preview', lang: 'en' });

    await page.locator('#merge-confirm').click();
    await page.locator('#details').waitFor(SLOW);
    await expect.poll(() => page.locator('#notice').innerText(), SLOW).toBe(`The accounts were merged. ${other.username} is closed.`);
    expect(await page.locator('#phone-value').innerText()).toContain(other.phone!.slice(-5));
    expect(await page.locator('#linked li').evaluateAll((items) => items.map((li) => li.getAttribute('data-provider')))).toEqual(['google-demo']);
    expect(await page.locator('#tenant').getAttribute('data-alias')).toBe('state-demo');
    await checkPage(page, { name: 'merge-done', lang: 'en' });
    expect((await kcUser(other.id)).enabled).toBe(false);
    await context.close();
  });
});

describe('merging another account in the portal (hi, phone)', () => {
  it('refuses the signed-in account itself and stops after three wrong tries', async () => {
    const me = await newAccount('self');
    const stranger = await newAccount('stranger');
    const context = await openContext(browser(), { viewport: 'phone', lang: 'hi' });
    const page = await context.newPage();
    await signIn(page, me.username, 'hi');
    await checkPage(page, { name: 'merge-profile-section', lang: 'hi', allow: [me.username, me.email] });
    await page.locator('#merge-start').click();
    await page.locator('#merge-proof').waitFor();
    await checkPage(page, { name: 'merge-proof', lang: 'hi' });

    await prove(page, me.email, PASSWORD);
    await expect.poll(() => page.locator('#alert').innerText(), SLOW).toBe('यह वही खाता है जिससे आपने साइन इन किया है। अपने दूसरे खाते का विवरण दर्ज करें।');
    await checkPage(page, { name: 'merge-proof-same-account', lang: 'hi', allow: [me.email] });

    for (const left of ['2', '1']) {
      await prove(page, stranger.username, 'Guessed-Password-1');
      await expect.poll(() => page.locator('#merge-password-error').innerText(), SLOW).toBe(`विवरण सही नहीं हैं। बचे प्रयास: ${left}।`);
    }
    await checkPage(page, { name: 'merge-proof-wrong', lang: 'hi', allow: [stranger.username] });
    await prove(page, stranger.username, 'Guessed-Password-2');
    await expect.poll(() => page.locator('#alert').innerText(), SLOW).toBe('बहुत अधिक गलत प्रयास। कुछ नहीं बदला गया। बाद में फिर शुरू करें।');
    expect(await page.locator('#merge-proof').count()).toBe(0);
    await checkPage(page, { name: 'merge-locked', lang: 'hi' });
    await page.locator('#merge-cancel').click();
    await page.locator('#details').waitFor(SLOW);
    expect((await kcUser(stranger.id)).enabled).toBe(true);
    await context.close();
  });

  it('a merge that stopped at a step says so and "Finish the merge" completes it', async () => {
    const me = await newAccount('resume');
    const other = await otherAccount();
    const context = await openContext(browser(), { viewport: 'phone', lang: 'hi' });
    const page = await context.newPage();
    await signIn(page, me.username, 'hi');
    await page.locator('#merge-start').click();
    const proven = page.waitForResponse((r) => r.url().endsWith('/password') && r.status() === 200);
    await prove(page, other.username, PASSWORD);
    const flowId = ((await (await proven).json()) as Json).id as string;
    await page.locator('#merge-confirm').waitFor(SLOW);
    await checkPage(page, { name: 'merge-preview', lang: 'hi', allow: [other.username] });

    // The confirmation arrives at a BFF whose Keycloak refuses to close the other account: the merge stops at "close".
    const real = bff.container.identityDirectory;
    const directory = new Proxy(real, {
      get: (target, name) => {
        if (name === 'updateUser')
          return (async (id, changes) => {
            if (changes.enabled === false) throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'Keycloak is down (test)');
            return real.updateUser(id, changes);
          }) satisfies IdentityDirectory['updateUser'];
        const value = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const failing = wireAccountMerge({ ...bff.container, identityDirectory: directory }).service;
    expect((await failing.confirm(me.id, flowId)).state).toBe('interrupted');

    // The person's click finds the merge stopped part way.
    await page.locator('#merge-confirm').click();
    await page.locator('#merge-resume').waitFor(SLOW);
    expect(await page.locator('#alert').innerText()).toContain('मिलाना बीच में रुक गया');
    await checkPage(page, { name: 'merge-interrupted', lang: 'hi' });
    expect((await kcUser(other.id)).enabled).toBe(true);

    await page.locator('#merge-resume').click();
    await page.locator('#details').waitFor(SLOW);
    await expect.poll(() => page.locator('#notice').innerText(), SLOW).toBe(`खाते मिला दिए गए। ${other.username} बंद है।`);
    await checkPage(page, { name: 'merge-done', lang: 'hi', allow: [me.username, me.email, other.username] });
    const closed = await kcUser(other.id);
    expect(closed).toMatchObject({ enabled: false, attributes: expect.objectContaining({ mergedInto: [me.id] }) });
    await context.close();
  });
});
