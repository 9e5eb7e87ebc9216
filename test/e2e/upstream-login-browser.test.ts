import { randomBytes, randomInt } from 'node:crypto';
import type pg from 'pg';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool } from '../../upstream/src/db.ts';
import { hashSecret } from '../../upstream/src/secrets.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt, portalLoginUrl, portalSignIn } from '../support/oidc.ts';

/**
 * Lazy migration in the browser (seed 000, docs/decisions/0012): members who exist only in the
 * upstream core sign in on Keycloak's themed login page with their upstream username, e-mail or phone
 * and upstream password (Keycloak's platform-upstream-password asks the BFF, running here on the
 * stack's BFF port), and "forgot password" works for them before their first sign-in.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const admin = adminFor(stack);
const realm = stack.settings.platformRealm;
const browser = useBrowser();
const UPSTREAM_PASSWORD = 'Upstream#Pass2026';

let bff: TestBff;
let upstreamDb: pg.Pool;
beforeAll(async () => {
  bff = await startTestBff(stack, {}, { atStackUrl: true });
  upstreamDb = createPool(stack.settings.upstreamDatabaseUrl, 'upstream_core');
});
afterAll(async () => {
  await bff?.close();
  await upstreamDb?.end();
});

interface Member {
  id: string;
  username: string;
  email: string;
  /** E.164 */
  phone: string;
}

/** An upstream-only member (no externalId), as the core holds them: written straight into its tables. */
async function upstreamOnlyMember(label: string, password = UPSTREAM_PASSWORD): Promise<Member> {
  const sfx = randomBytes(4).toString('hex');
  const member = {
    username: `${label}.${sfx}`,
    email: `${label}.${sfx}@example.com`,
    phone: `+9199${String(randomInt(10 ** 8)).padStart(8, '0')}`,
  };
  const { rows } = await upstreamDb.query<{ id: string }>(
    `INSERT INTO users (username, first_name, last_name, email, phone, status, password_hash)
     VALUES ($1, 'Kiran', 'Rao', $2, $3, 'active', $4) RETURNING id`,
    [member.username, member.email, member.phone, await hashSecret(password)],
  );
  await upstreamDb.query(`INSERT INTO memberships (user_id, organisation_id, roles) VALUES ($1, 'org_custodian', '{PUBLIC}')`, [rows[0]!.id]);
  return { id: rows[0]!.id, ...member };
}

const upstreamRow = async (id: string) =>
  (await upstreamDb.query<{ external_id: string | null; updated_at: Date }>('SELECT external_id, updated_at FROM users WHERE id = $1', [id])).rows[0]!;
const accountsOf = async (member: Member) =>
  ((await admin.get<Json[]>(`/${realm}/users?q=${encodeURIComponent(`upstreamUserId:${member.id}`)}&briefRepresentation=false`)) ?? []).filter(
    (u) => u.attributes?.upstreamUserId?.[0] === member.id,
  );
const credentialTypes = async (userId: string) => ((await admin.get<Json[]>(`/${realm}/users/${userId}/credentials`)) ?? []).map((c) => c.type);
const tenants = async (userId: string) => ((await admin.get<Json[]>(`/${realm}/organizations/members/${userId}/organizations`)) ?? []).map((o) => o.alias);

/** Keycloak's login page, for the portal (an authorization request nobody finishes; the account console now leads to the portal). */
const loginPage = () => portalLoginUrl(stack);

/** The realm's identifier-first login (organizations): the login, then the password. */
async function enterCredentials(page: Page, login: string, password: string, shot?: string): Promise<void> {
  await page.locator('#username').fill(login);
  await page.locator('#kc-login').click();
  await page.locator('#password').waitFor();
  await page.locator('#password').fill(password);
  if (shot) await screenshot(page, shot);
  await page.locator('#kc-login').click();
}

const signInAs = (login: string, password: string, shot?: string) => async () => {
  const page = await browser().newPage();
  try {
    return decodeJwt<Json>((await portalSignIn(stack, page, (p) => enterCredentials(p, login, password, shot))).id_token);
  } finally {
    await page.close();
  }
};

/** The login page after a refused sign-in: Keycloak's own, with its message. */
async function refusedSignIn(login: string, password: string, shot: string): Promise<string> {
  const page = await browser().newPage();
  try {
    await page.goto(loginPage());
    await enterCredentials(page, login, password);
    const message = page.locator('#input-error, .pf-m-danger, .alert-error, [class*="error"]').first();
    await message.waitFor();
    await screenshot(page, shot);
    return (await page.locator('body').innerText()).replace(/\s+/g, ' ');
  } finally {
    await page.close();
  }
}

async function expectMigrated(member: Member, id: Json): Promise<void> {
  expect(id.preferred_username).toBe(member.username);
  expect(id.email).toBe(member.email);
  const [account, ...others] = await accountsOf(member);
  expect(others).toEqual([]);
  expect(account).toMatchObject({ id: id.sub, username: member.username, email: member.email, enabled: true, firstName: 'Kiran', lastName: 'Rao' });
  expect(account!.attributes).toMatchObject({ upstreamUserId: [member.id], signUpType: ['upstreamMigration'], phone: [member.phone] });
  // The upstream password, now hashed by Keycloak (its own credential), and the tenant.
  expect(await credentialTypes(id.sub)).toEqual(['password']);
  expect(await tenants(id.sub)).toEqual(['custodian']);
  expect((await upstreamRow(member.id)).external_id).toBe(id.sub);
}

describe('an upstream-only member signs in with the upstream password', () => {
  it('by username; the second sign-in does not involve the upstream core at all', async () => {
    const member = await upstreamOnlyMember('kiran');
    await expectMigrated(member, await signInAs(member.username, UPSTREAM_PASSWORD, 'upstream-login-1-password')());
    const linkedAt = (await upstreamRow(member.id)).updated_at;

    // With the BFF unreachable Keycloak could not ask the upstream core anything: the sign-in is Keycloak's alone.
    bff.setReachable(false);
    try {
      const again = await signInAs(member.username, UPSTREAM_PASSWORD)();
      expect(again.preferred_username).toBe(member.username);
    } finally {
      bff.setReachable(true);
    }
    expect((await accountsOf(member)).length).toBe(1);
    expect((await upstreamRow(member.id)).updated_at).toEqual(linkedAt);
  });

  it('by e-mail', async () => {
    const member = await upstreamOnlyMember('kiran');
    await expectMigrated(member, await signInAs(member.email.toUpperCase(), UPSTREAM_PASSWORD)());
  });

  it('by phone, typed as a national number; later sign-ins by phone find the account', async () => {
    const member = await upstreamOnlyMember('kiran');
    const national = `${member.phone.slice(3, 8)} ${member.phone.slice(8)}`;
    const id = await signInAs(national, UPSTREAM_PASSWORD)();
    await expectMigrated(member, id);
    expect((await signInAs(member.phone, UPSTREAM_PASSWORD)()).sub).toBe(id.sub);
  });
});

describe('an upstream password below the realm policy (length 10)', () => {
  it('signs the member in once and asks for a new password right away; from then on only the new one works', async () => {
    const SHORT = 'Kiran#26';
    const NEW = 'Kiran#Rao-2026';
    const member = await upstreamOnlyMember('kiran', SHORT);
    const page = await browser().newPage();
    const tokens = await portalSignIn(stack, page, async (p) => {
      await enterCredentials(p, member.username, SHORT);
      await p.locator('#password-new').waitFor();
      await screenshot(p, 'upstream-login-8-new-password-required');
      await p.locator('#password-new').fill(NEW);
      await p.locator('#password-confirm').fill(NEW);
      await p.locator('[type="submit"]').first().click();
    });
    await page.close();
    const id = decodeJwt<Json>(tokens.id_token);
    await expectMigrated(member, id);
    expect((await admin.get<Json>(`/${realm}/users/${id.sub}`))!.requiredActions).toEqual([]);

    // Keycloak alone owns the password now: the new one works, the old upstream one does not.
    expect((await signInAs(member.username, NEW)()).sub).toBe(id.sub);
    expect(await refusedSignIn(member.username, SHORT, 'upstream-login-9-old-short-password')).toContain('Wrong username or password.');
  });
});

describe('what imports nothing', () => {
  it('a wrong password: the normal error, no account, the upstream member untouched', async () => {
    const member = await upstreamOnlyMember('kiran');
    const before = await upstreamRow(member.id);
    const page = await refusedSignIn(member.username, 'Wrong#Pass2026', 'upstream-login-2-wrong-password');
    expect(page).toContain('Wrong username or password.');
    expect(await accountsOf(member)).toEqual([]);
    expect(await upstreamRow(member.id)).toEqual(before);
    // And the right password still works afterwards.
    await expectMigrated(member, await signInAs(member.username, UPSTREAM_PASSWORD)());
  });

  it('the BFF (and so the upstream core) unreachable: a clear message, no account; the next try imports', async () => {
    const member = await upstreamOnlyMember('kiran');
    bff.setReachable(false);
    let page: string;
    try {
      page = await refusedSignIn(member.email, UPSTREAM_PASSWORD, 'upstream-login-3-unavailable');
    } finally {
      bff.setReachable(true);
    }
    expect(page).toContain('We could not check your account just now.');
    expect(await accountsOf(member)).toEqual([]);
    expect((await upstreamRow(member.id)).external_id).toBeNull();
    await expectMigrated(member, await signInAs(member.email, UPSTREAM_PASSWORD)());
  });
});

describe('the demo members (upstream/src/demo-data.ts)', () => {
  const DEMO_PASSWORD = 'Member#2026';

  it('an inactive member is refused with the normal error; nothing imported', async () => {
    expect(await refusedSignIn('meena.iyer', DEMO_PASSWORD, 'upstream-login-8-inactive')).toContain('Wrong username or password.');
    expect(await admin.get<Json[]>(`/${realm}/users?username=meena.iyer&exact=true`)).toEqual([]);
  });

  it('a member whose e-mail a Keycloak account already has does not take that account over', async () => {
    // asha.verma@example.com is the Keycloak demo user `asha`, who has her own password.
    expect(await refusedSignIn('asha.verma', DEMO_PASSWORD, 'upstream-login-9-taken')).toContain('Wrong username or password.');
    const [asha] = (await admin.get<Json[]>(`/${realm}/users?username=asha&exact=true&briefRepresentation=false`))!;
    expect(asha!.attributes?.upstreamUserId ?? []).not.toContain('6f1c2a9e-0000-4000-8000-000000000001');
    expect(await admin.get<Json[]>(`/${realm}/users?username=asha.verma&exact=true`)).toEqual([]);
  });
});

describe('forgot password before the first sign-in', () => {
  const inbox = async (to: string) => (await (await fetch(`${stack.inboxUrl}/api/mails?to=${encodeURIComponent(to)}`)).json()) as { text: string }[];

  async function requestReset(page: Page, login: string, shot?: string): Promise<string> {
    await page.goto(loginPage());
    // Identifier-first: "Forgot password?" is on the second step (the password), whatever login leads there.
    await page.locator('#username').fill(login);
    await page.locator('#kc-login').click();
    await page.getByRole('link', { name: /forgot password/i }).click();
    await page.locator('#username').fill(login);
    if (shot) await screenshot(page, `${shot}-form`);
    await page.locator('[type=submit]').click();
    await page.locator('#username').waitFor(); // back on the login page, with Keycloak's notice
    if (shot) await screenshot(page, `${shot}-sent`);
    return (await page.locator('body').innerText()).replace(/\s+/g, ' ');
  }

  it("sends Keycloak's reset mail (found by e-mail); the link sets a new password and signs in", async () => {
    const member = await upstreamOnlyMember('kiran');
    const page = await browser().newPage();
    const notice = await requestReset(page, member.email, 'upstream-login-4-reset');
    expect(notice).toContain('If an account matches what you entered, we sent an email');

    // Imported without a password, linked, in the tenant: Keycloak's own reset mail went out.
    const [account] = await accountsOf(member);
    expect(account).toMatchObject({ username: member.username, email: member.email });
    expect(await credentialTypes(account!.id)).toEqual([]);
    expect((await upstreamRow(member.id)).external_id).toBe(account!.id);
    const mails = await inbox(member.email);
    expect(mails.length).toBe(1);
    const link = /https?:\/\/\S+action-token\S+/.exec(mails[0]!.text)?.[0];
    expect(link).toBeDefined();

    await page.goto(link!.replace(/&amp;/g, '&'));
    await page.locator('#password-new').waitFor();
    await screenshot(page, 'upstream-login-5-new-password');
    await page.locator('#password-new').fill('Fresh#Pass2026');
    await page.locator('#password-confirm').fill('Fresh#Pass2026');
    await page.locator('[type=submit]').click();
    await page.waitForLoadState('networkidle');
    await page.close();
    expect(await credentialTypes(account!.id)).toEqual(['password']);

    // Keycloak owns the password now: the new one signs in, the old upstream one does not.
    expect((await signInAs(member.email, 'Fresh#Pass2026')()).sub).toBe(account!.id);
    expect(await refusedSignIn(member.email, UPSTREAM_PASSWORD, 'upstream-login-6-old-password')).toContain('Wrong username or password.');
  });

  it("a member's phone, which the core does not say was proven: the SMS code page, and neither an SMS nor a mail (decision 0028)", async () => {
    const member = await upstreamOnlyMember('kiran');
    const page = await browser().newPage();
    await page.goto(loginPage());
    await page.locator('#username').fill(member.phone);
    await page.locator('#kc-login').click();
    await page.getByRole('link', { name: /forgot password/i }).click();
    await page.locator('#username').fill(member.phone);
    await page.locator('[type=submit]').click();
    await page.locator('#platform-reset-code-form').waitFor();
    await page.close();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await inbox(member.email)).toEqual([]);
    const sms = (await (await fetch(`${stack.inboxUrl}/api/sms?to=${encodeURIComponent(member.phone)}`)).json()) as unknown[];
    expect(sms).toEqual([]);
  });

  it('the same notice and no mail, no account for a login nobody has', async () => {
    const page = await browser().newPage();
    const email = `nobody.${randomBytes(4).toString('hex')}@example.com`;
    expect(await requestReset(page, email)).toContain('If an account matches what you entered, we sent an email');
    await page.close();
    expect(await inbox(email)).toEqual([]);
    expect((await admin.get<Json[]>(`/${realm}/users?email=${encodeURIComponent(email)}&exact=true`)) ?? []).toEqual([]);
  });

  it('a member imported for a reset who signs in with the upstream password before using the link keeps it', async () => {
    const member = await upstreamOnlyMember('kiran');
    const page = await browser().newPage();
    await requestReset(page, member.username);
    await page.close();
    const [account] = await accountsOf(member);
    expect(await credentialTypes(account!.id)).toEqual([]);
    expect(await refusedSignIn(member.username, 'Wrong#Pass2026', 'upstream-login-7-imported-wrong')).toContain('Wrong username or password.');
    expect(await credentialTypes(account!.id)).toEqual([]);
    await expectMigrated(member, await signInAs(member.username, UPSTREAM_PASSWORD)());
  });
});
