import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setUpAuthenticatorApp } from '../support/authenticator-app.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { decodeJwt, portalSignIn, type Tokens } from '../support/oidc.ts';
import { stateClaimKit } from '../support/state-claim.ts';

type Json = Record<string, any>;

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
  await kit.close();
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

/**
 * Issue 15 §4: who else may hold the identifier the state IdP asserts (or the person verifies), and
 * the way forward each case has (the table in bff/src/flows/state-claim/README.md, decision 0011).
 * Before, each of these ended in a 409 at the account creation and Keycloak's "the confirmation did
 * not match": no sign-in at all.
 */
describe('who holds the identifier: never a dead end', () => {
  const OTHER_STATE = 'state-other-test';
  const sql = (query: string, params: unknown[] = []) => bff.container.orm.em.getConnection().execute(query, params);
  const auditOf = async (brokeredUserId: string) =>
    (await sql('select event, outcome, custodian_user_id, result_user_id, detail from state_claim_audit where brokered_user_id = ? order by at', [
      brokeredUserId,
    ])) as Json[];

  it('a disabled custodian account: the page says it is closed; the new state account gets the identifier, the closed one loses it (history, audit) and stays closed', async () => {
    const email = `closed-${kit.sfx()}@example.test`;
    const closedId = await kit.custodianAccount(bff, { email });
    await kit.disable(closedId);
    const person = await kit.statePerson('closed', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'closed', 'state-claim-9-closed-account');
      await expect.poll(() => p.locator('#closed').textContent()).toContain('c•••@example.test');
      await p.locator('#continue').click();
    });
    const userId = String(decodeJwt(tokens.id_token).sub);
    expect(userId).not.toBe(closedId);
    await expectNewStateAccount(userId, person, email);
    const closed = await kit.user(closedId);
    expect(closed.enabled).toBe(false);
    expect(closed.email ?? null).toBeNull();
    expect(closed.attributes.retiredIdentifiers).toEqual([`email:${email}`]);
    expect(await kit.tenants(closedId)).toEqual(['custodian']);
    expect((await kit.upstream(`/v1/users/${closed.attributes.upstreamUserId[0]}`)).body).toMatchObject({ email: null, status: 'inactive' });
    expect(await kit.enabledHolders({ email })).toEqual([userId]);
    const audit = await auditOf(person.id);
    expect(audit.map((a) => a.event)).toEqual(expect.arrayContaining(['closed-holder', 'step:continue', 'decided', 'identifier-released', 'migrated']));
    expect(audit.find((a) => a.event === 'identifier-released')).toMatchObject({ custodian_user_id: closedId, result_user_id: userId });
    expect(audit.find((a) => a.event === 'decided')!.detail).toBe('new:closed-holder');
    await page.close();
  });

  it('an inactive upstream-only member: closed as well; the new account gets the identifier and the member loses it', async () => {
    const email = `inactive-member-${kit.sfx()}@example.test`;
    const member = await kit.upstreamOnlyMember({ email, status: 'inactive' });
    const person = await kit.statePerson('inactive', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'closed', 'state-claim-closed-member');
      await p.locator('#continue').click();
    });
    const userId = String(decodeJwt(tokens.id_token).sub);
    await expectNewStateAccount(userId, person, email);
    expect((await kit.upstream(`/v1/users/${member.id}`)).body).toMatchObject({ email: null, status: 'inactive', externalId: null });
    expect(await kit.accountsOfMember(member.id)).toEqual([]);
    await page.close();
  });

  it("an account of another state holding it proven: no claim across states; continuing without it gives a new account with the IdP's free phone only, the other account untouched", async () => {
    const email = `elsewhere-${kit.sfx()}@example.test`;
    const phone = kit.freshPhone();
    const otherId = await kit.tenantAccount(bff, OTHER_STATE, { email });
    const person = await kit.statePerson('elsewhere', { email, phone });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'elsewhere', 'state-claim-10-held-elsewhere');
      await expect.poll(() => p.locator('#elsewhere').textContent()).toContain('e•••@example.test');
      expect(await p.locator('#mine').count()).toBe(0);
      await p.locator('#continue').click();
    });
    const userId = String(decodeJwt(tokens.id_token).sub);
    expect(userId).not.toBe(otherId);
    const created = await kit.user(userId);
    expect(created.email ?? null).toBeNull();
    expect(created.attributes.phone).toEqual([phone]);
    expect(created.attributes.stateUserId).toEqual([person.stateUserId]);
    expect(await kit.tenants(userId)).toEqual(['state-demo']);
    expect(await kit.links(userId)).toEqual([`state-demo:${person.id}`]);
    const other = await kit.user(otherId);
    expect(other).toMatchObject({ email, emailVerified: true, enabled: true });
    expect(await kit.tenants(otherId)).toEqual([OTHER_STATE]);
    expect(await kit.links(otherId)).toEqual([]);
    expect(await kit.enabledHolders({ email })).toEqual([otherId]);
    expect(await kit.enabledHolders({ phone })).toEqual([userId]);
    expect((await auditOf(person.id)).find((a) => a.event === 'decided')!.detail).toBe('new:held-elsewhere');
    await page.close();
  });

  it('an account of another state holding it proven: "use another" verifies another e-mail by OTP, which becomes the new account\'s', async () => {
    const email = `elsewhere2-${kit.sfx()}@example.test`;
    const another = `another-${kit.sfx()}@example.test`;
    const otherId = await kit.tenantAccount(bff, OTHER_STATE, { email });
    const person = await kit.statePerson('another', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'elsewhere', 'state-claim-elsewhere');
      await p.locator('#use-another').click();
      await claimPage(p, 'identifier', 'state-claim-11-use-another');
      await p.locator('#identifier').fill(another);
      await p.locator('#send-code').click();
      await claimPage(p, 'code', 'state-claim-code');
      await p.locator('#code').fill(await kit.latestCode('mails', another));
      await p.locator('#verify').click();
    });
    const userId = String(decodeJwt(tokens.id_token).sub);
    await expectNewStateAccount(userId, person, another);
    expect(await kit.enabledHolders({ email })).toEqual([otherId]);
    expect(await kit.tenants(otherId)).toEqual([OTHER_STATE]);
    await page.close();
  });

  it('an active upstream-only member: claimed with its upstream password, imported once, straight into the state tenant and linked both ways', async () => {
    const email = `member-${kit.sfx()}@example.test`;
    const member = await kit.upstreamOnlyMember({ email });
    const person = await kit.statePerson('member', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-12-member-is-it-yours');
      await p.locator('#mine').click();
      await claimPage(p, 'password', 'state-claim-member-password');
      await password(p, 'Not-the-password-1');
      await p.locator('#error[data-error="password-wrong"]').waitFor();
      expect(await kit.accountsOfMember(member.id)).toEqual([]);
      await password(p, kit.PASSWORD);
    });
    const userId = String(decodeJwt(tokens.id_token).sub);
    const accounts = await kit.accountsOfMember(member.id);
    expect(accounts.map((a) => String(a.id))).toEqual([userId]);
    const claimed = await kit.user(userId);
    expect(claimed).toMatchObject({ email, emailVerified: true, enabled: true, firstName: 'Stateperson', lastName: 'member', username: member.username });
    expect(claimed.attributes).toMatchObject({ stateUserId: [person.stateUserId], signUpType: ['upstreamMigration'], upstreamUserId: [member.id] });
    expect(await kit.tenants(userId)).toEqual(['state-demo']);
    expect(await kit.links(userId)).toEqual([`state-demo:${person.id}`]);
    // No password stored: the person signs in through the state (Keycloak's login page still takes the upstream one once, decision 0012).
    expect(await kit.credentialTypes(userId)).not.toContain('password');
    expect((await kit.upstream(`/v1/users/${member.id}`)).body).toMatchObject({ externalId: userId, email, status: 'active', firstName: 'Stateperson' });
    expect(await kit.enabledHolders({ email })).toEqual([userId]);
    await page.close();
  });

  it('an active upstream-only member refuted: the member loses the identifier and is deactivated; a new state account gets it', async () => {
    const email = `member-no-${kit.sfx()}@example.test`;
    const member = await kit.upstreamOnlyMember({ email });
    const person = await kit.statePerson('memberno', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-ask');
      await p.locator('#not-mine').click();
    });
    const userId = String(decodeJwt(tokens.id_token).sub);
    await expectNewStateAccount(userId, person, email);
    expect((await kit.upstream(`/v1/users/${member.id}`)).body).toMatchObject({ email: null, status: 'inactive', externalId: null });
    expect(await kit.accountsOfMember(member.id)).toEqual([]);
    await page.close();
  });

  it("e-mail and phone held by two different custodian accounts: the e-mail's account is asked about; the phone stays with its holder", async () => {
    const email = `pair-${kit.sfx()}@example.test`;
    const phone = kit.freshPhone();
    const emailHolder = await kit.custodianAccount(bff, { email });
    const phoneHolder = await kit.custodianAccount(bff, { phone });
    const person = await kit.statePerson('pair', { email, phone });

    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-13-two-holders');
      await expect.poll(() => p.locator('#ask').textContent()).toContain('p•••@example.test');
      await p.locator('#not-mine').click();
    });
    const userId = String(decodeJwt(tokens.id_token).sub);
    await expectNewStateAccount(userId, person, email);
    await expectStripped(emailHolder, { kind: 'email', value: email });
    // The new account does not get the phone: another enabled account holds it (never two).
    expect((await kit.user(userId)).attributes.phone).toBeUndefined();
    const holder = await kit.user(phoneHolder);
    expect(holder).toMatchObject({ enabled: true });
    expect(holder.attributes.phone).toEqual([phone]);
    expect(await kit.tenants(phoneHolder)).toEqual(['custodian']);
    expect(await kit.enabledHolders({ phone })).toEqual([phoneHolder]);
    expect(await kit.enabledHolders({ email })).toEqual([userId]);
    await page.close();

    // The same pair, claimed: the e-mail's account moves; the phone's holder is not touched either.
    const email2 = `pair2-${kit.sfx()}@example.test`;
    const phone2 = kit.freshPhone();
    const emailHolder2 = await kit.custodianAccount(bff, { email: email2 });
    const phoneHolder2 = await kit.custodianAccount(bff, { phone: phone2 });
    const person2 = await kit.statePerson('pair2', { email: email2, phone: phone2 });
    const page2 = await browser().newPage();
    const tokens2 = await stateSignIn(page2, async (p) => {
      await kit.atState(p, person2.username);
      await claimPage(p, 'ask', 'state-claim-ask');
      await p.locator('#mine').click();
      await claimPage(p, 'password', 'state-claim-password');
      await password(p, kit.PASSWORD);
    });
    expect(decodeJwt(tokens2.id_token).sub).toBe(emailHolder2);
    expect((await kit.user(emailHolder2)).attributes.phone).toBeUndefined();
    expect(await kit.tenants(emailHolder2)).toEqual(['state-demo']);
    expect(await kit.tenants(phoneHolder2)).toEqual(['custodian']);
    expect(await kit.enabledHolders({ phone: phone2 })).toEqual([phoneHolder2]);
    await page2.close();
  });

  it('a custodian account without an upstream link: claimed, and its upstream profile is made and linked on the way', async () => {
    const email = `unlinked-${kit.sfx()}@example.test`;
    const accountId = await kit.unlinkedCustodianAccount({ email });
    const person = await kit.statePerson('unlinked', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-ask');
      await p.locator('#mine').click();
      await claimPage(p, 'password', 'state-claim-password');
      await password(p, kit.PASSWORD);
    });
    expect(decodeJwt(tokens.id_token).sub).toBe(accountId);
    const claimed = await kit.user(accountId);
    expect(claimed.attributes.stateUserId).toEqual([person.stateUserId]);
    expect(await kit.tenants(accountId)).toEqual(['state-demo']);
    expect(await kit.links(accountId)).toEqual([`state-demo:${person.id}`]);
    const upstreamUserId = claimed.attributes.upstreamUserId?.[0];
    expect(upstreamUserId).toBeTruthy();
    expect((await kit.upstream(`/v1/users/${upstreamUserId}`)).body).toMatchObject({ externalId: accountId, email, status: 'active' });
    await page.close();
  });

  it('a custodian account without an upstream link, refuted: stripped and disabled in Keycloak alone; the new account gets the identifier', async () => {
    const email = `unlinked-no-${kit.sfx()}@example.test`;
    const accountId = await kit.unlinkedCustodianAccount({ email });
    const person = await kit.statePerson('unlinkedno', { email });
    const page = await browser().newPage();
    const tokens = await stateSignIn(page, async (p) => {
      await kit.atState(p, person.username);
      await claimPage(p, 'ask', 'state-claim-ask');
      await p.locator('#not-mine').click();
    });
    const userId = String(decodeJwt(tokens.id_token).sub);
    await expectNewStateAccount(userId, person, email);
    const old = await kit.user(accountId);
    expect(old).toMatchObject({ enabled: false });
    expect(old.email ?? null).toBeNull();
    expect(old.attributes.retiredIdentifiers).toEqual([`email:${email}`]);
    expect(old.attributes.upstreamUserId).toBeUndefined();
    expect(await kit.enabledHolders({ email })).toEqual([userId]);
    await page.close();
  });
});
