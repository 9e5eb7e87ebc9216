import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setUpAuthenticatorApp } from '../support/authenticator-app.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { decodeJwt, portalSignIn, type Tokens } from '../support/oidc.ts';
import { stateClaimKit } from '../support/state-claim.ts';

/**
 * First login through the brokered state IdP (`state-demo-idp`, a real OIDC peer) with the
 * platform-state-claim authenticator sending the browser through the BFF's claim pages. One test per
 * path of SPEC Flow 2; each asserts what Keycloak and the upstream core hold afterwards.
 * docs/decisions/0011-state-claim.md
 */
const stack = inject('stack');
const kit = stateClaimKit(stack);
const browser = useBrowser();

let bff: TestBff;
beforeAll(async () => {
  bff = await startTestBff(stack, {}, { atStackUrl: true });
});
afterAll(async () => {
  await bff?.close();
});

const stateSignIn = (page: Page, interact: (p: Page) => Promise<void>): Promise<Tokens> => portalSignIn(stack, page, interact, { kc_idp_hint: 'state-demo' });

async function claimPage(page: Page, step: string, shot: string): Promise<void> {
  await page.locator(`#state-claim[data-step="${step}"]`).waitFor();
  await screenshot(page, shot);
}

async function password(page: Page, value: string): Promise<void> {
  await page.locator('#password').fill(value);
  await page.locator('#confirm').click();
}

/** The stripped custodian account: disabled, identifier gone (kept in history), upstream profile closed without it. */
async function expectStripped(custodianId: string, identifier: { kind: 'email' | 'phone'; value: string }) {
  const old = await kit.user(custodianId);
  expect(old.enabled).toBe(false);
  if (identifier.kind === 'email') expect(old.email ?? null).toBeNull();
  expect(old.attributes.retiredIdentifiers).toEqual([`${identifier.kind}:${identifier.value}`]);
  expect(await kit.tenants(custodianId)).toEqual(['custodian']);
  expect(await kit.links(custodianId)).toEqual([]);
  const profile = await kit.upstream(`/v1/users/${old.attributes.upstreamUserId[0]}`);
  expect(profile.body).toMatchObject({ status: 'inactive', [identifier.kind]: null });
}

async function expectNewStateAccount(userId: string, person: { id: string; stateUserId: string }, email: string) {
  const created = await kit.user(userId);
  expect(created).toMatchObject({ email, emailVerified: true, enabled: true });
  expect(created.attributes.stateUserId).toEqual([person.stateUserId]);
  expect(created.attributes.signUpType).toEqual(['stateLogin']);
  expect(await kit.tenants(userId)).toEqual(['state-demo']);
  expect(await kit.links(userId)).toEqual([`state-demo:${person.id}`]);
  const profile = await kit.upstream(`/v1/users/${created.attributes.upstreamUserId[0]}`);
  expect(profile.body).toMatchObject({ externalId: userId, email, status: 'active' });
}

describe('first login through the state IdP', () => {
  it('no match: a normal new state account', async () => {
    const email = `nomatch-${kit.sfx()}@state.example`;
    const person = await kit.statePerson('nomatch', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, (p) => kit.atState(p, person.username, 'state-claim-0-state-idp-login'));
    const userId = String(decodeJwt(tokens.id_token).sub);
    await expectNewStateAccount(userId, person, email);
    expect(await kit.enabledHolders({ email })).toEqual([userId]);
    await page.close();
  });

  it('claim with the right password first: the same account moves to the state tenant, linked, SSO details set', async () => {
    const email = `claim-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const person = await kit.statePerson('claim', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-1-is-it-yours');
      await expect.poll(() => p.locator('#ask').textContent()).toContain(`c•••@example.test`);
      await p.locator('#mine').click();
      await claimPage(p, 'password', 'state-claim-2-password');
      await password(p, kit.PASSWORD);
    });
    expect(decodeJwt(tokens.id_token).sub).toBe(custodianId);
    const claimed = await kit.user(custodianId);
    expect(claimed).toMatchObject({ email, enabled: true, firstName: 'Stateperson', lastName: 'claim' });
    expect(claimed.attributes.stateUserId).toEqual([person.stateUserId]);
    expect(await kit.tenants(custodianId)).toEqual(['state-demo']);
    expect(await kit.links(custodianId)).toEqual([`state-demo:${person.id}`]);
    expect(await kit.enabledHolders({ email })).toEqual([custodianId]);
    const profile = await kit.upstream(`/v1/users/${claimed.attributes.upstreamUserId[0]}`);
    expect(profile.body).toMatchObject({ externalId: custodianId, email, firstName: 'Stateperson', status: 'active' });
    await page.close();
  });

  it('an account with an authenticator app: the password page asks for its code too, and password and code claim it', async () => {
    const email = `app-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const app = await setUpAuthenticatorApp(stack, browser(), { userId: custodianId, login: email, password: kit.PASSWORD });
    const person = await kit.statePerson('app', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-app-ask');
      await p.locator('#mine').click();
      await claimPage(p, 'password', 'state-claim-5-password-and-code');
      await expect.poll(() => p.locator('label[for="otp"]').textContent()).toBe('Code from your authenticator app');
      await p.locator('#password').fill(kit.PASSWORD);
      await p.locator('#otp').fill(app.nextCode());
      await p.locator('#confirm').click();
    });
    expect(decodeJwt(tokens.id_token).sub).toBe(custodianId);
    expect(await kit.tenants(custodianId)).toEqual(['state-demo']);
    expect(await kit.links(custodianId)).toEqual([`state-demo:${person.id}`]);
    await page.close();
  });

  it('wrong then right password: claimed on the second try', async () => {
    const email = `retry-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const person = await kit.statePerson('retry', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-ask');
      await p.locator('#mine').click();
      await claimPage(p, 'password', 'state-claim-password');
      await password(p, 'Not-the-password-1');
      await p.locator('#error[data-error="password-wrong"]').waitFor();
      await screenshot(p, 'state-claim-3-password-wrong');
      expect(await kit.tenants(custodianId)).toEqual(['custodian']);
      await password(p, kit.PASSWORD);
    });
    expect(decodeJwt(tokens.id_token).sub).toBe(custodianId);
    expect(await kit.tenants(custodianId)).toEqual(['state-demo']);
    expect(await kit.enabledHolders({ email })).toEqual([custodianId]);
    await page.close();
  });

  it('wrong password twice: a new state account; the old one stripped of the identifier and disabled', async () => {
    const email = `twice-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const person = await kit.statePerson('twice', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-ask');
      await p.locator('#mine').click();
      await claimPage(p, 'password', 'state-claim-password');
      await password(p, 'Not-the-password-1');
      await p.locator('#error[data-error="password-wrong"]').waitFor();
      await password(p, 'Not-the-password-2');
    });
    const userId = String(decodeJwt(tokens.id_token).sub);
    expect(userId).not.toBe(custodianId);
    await expectNewStateAccount(userId, person, email);
    await expectStripped(custodianId, { kind: 'email', value: email });
    expect(await kit.enabledHolders({ email })).toEqual([userId]);
    await page.close();
  });

  it('refute: a new state account; the old one stripped and disabled', async () => {
    const email = `refute-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const person = await kit.statePerson('refute', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-ask');
      await p.locator('#not-mine').click();
    });
    const userId = String(decodeJwt(tokens.id_token).sub);
    expect(userId).not.toBe(custodianId);
    await expectNewStateAccount(userId, person, email);
    await expectStripped(custodianId, { kind: 'email', value: email });
    expect(await kit.enabledHolders({ email })).toEqual([userId]);
    await page.close();
  });

  it('IdP without email or phone: the person verifies one by OTP first, then claims', async () => {
    const email = `otp-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const person = await kit.statePerson('otp');
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'identifier', 'state-claim-4-enter-identifier');
      await p.goto(`${p.url()}?lang=hi`);
      await claimPage(p, 'identifier', 'state-claim-4-enter-identifier-hi');
      expect(await p.locator('html').getAttribute('lang')).toBe('hi');
      await p.locator('#identifier').fill(`  ${email.toUpperCase()} `);
      await p.locator('#send-code').click();
      await claimPage(p, 'code', 'state-claim-5-enter-code');
      await p.locator('#code').fill('000000');
      await p.locator('#verify').click();
      await p.locator('#error[data-error="code-invalid"]').waitFor();
      await screenshot(p, 'state-claim-6-code-wrong');
      await p.locator('#code').fill(await kit.latestCode('mails', email));
      await p.locator('#verify').click();
      await claimPage(p, 'ask', 'state-claim-ask');
      await p.locator('#mine').click();
      await claimPage(p, 'password', 'state-claim-password');
      await password(p, kit.PASSWORD);
    });
    expect(decodeJwt(tokens.id_token).sub).toBe(custodianId);
    expect(await kit.tenants(custodianId)).toEqual(['state-demo']);
    expect(await kit.links(custodianId)).toEqual([`state-demo:${person.id}`]);
    await page.close();
  });

  it('IdP with a phone only (phone_number claim): matched by the phone in E.164, claimed', async () => {
    const phone = `+9198${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const custodianId = await kit.custodianAccount(bff, { phone });
    const person = await kit.statePerson('phone', { phone: phone.replace('+91', '0') });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-7-is-it-yours-phone');
      await expect.poll(() => p.locator('#ask').textContent()).toContain(`+91••••••••${phone.slice(-2)}`);
      await p.locator('#mine').click();
      await claimPage(p, 'password', 'state-claim-password');
      await password(p, kit.PASSWORD);
    });
    expect(decodeJwt(tokens.id_token).sub).toBe(custodianId);
    expect(await kit.tenants(custodianId)).toEqual(['state-demo']);
    expect(await kit.enabledHolders({ phone })).toEqual([custodianId]);
    await page.close();
  });

  it('the BFF unreachable when Keycloak completes: Keycloak\'s "try again" page; the retry completes with the same handoff', async () => {
    const email = `outage-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const person = await kit.statePerson('outage', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-ask');
      // The browser heads back to Keycloak with the handoff; Keycloak then finds the BFF down.
      await p.route('**/login-actions/first-broker-login?**handoff=**', async (route) => {
        bff.setReachable(false);
        await route.continue();
      });
      await p.locator('#not-mine').click();
      await p.locator('#platform-try-again').waitFor();
      await screenshot(p, 'state-claim-8-keycloak-try-again');
      expect(await kit.enabledHolders({ email })).toEqual([custodianId]);
      bff.setReachable(true);
      await p.locator('#platform-try-again').click();
    }).finally(() => bff.setReachable(true));
    const userId = String(decodeJwt(tokens.id_token).sub);
    await expectNewStateAccount(userId, person, email);
    await expectStripped(custodianId, { kind: 'email', value: email });
    await page.close();
  });
});
