import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startStatePortal, type StatePortal, type TokenRequest } from '../../stack/state-portal/server.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { checkPage, openContext } from '../support/page-check.ts';
import { stateClaimKit } from '../support/state-claim.ts';

/**
 * Sign-in from a state portal link (issue 19 §1, seed 002 "State sign-in", decision 0039), in Chromium
 * against the real stack: the stand-in state portal (stack/state-portal, its own keys and JWKS) mints
 * the links, the BFF verifies them and signs the person into a real Keycloak session (the sign-up's
 * ticket, decision 0027). Every case of the flow, every refusal of the link (expired, too old, replayed,
 * wrong audience, wrong issuer, bad signature, a rotated-out key, a new key without restart), and the
 * code step's limits at the API level.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const kit = stateClaimKit(stack);
const { admin, realm } = kit;
const browser = useBrowser();
const PORTAL = `${stack.settings.bffPublicUrl}/portal/`;
const TENANT = 'state-demo';

let bff: TestBff;
let portal: StatePortal;
const createdUserIds: string[] = [];

beforeAll(async () => {
  portal = await startStatePortal({ port: 0, bffPublicUrl: stack.settings.bffPublicUrl, audience: `${stack.settings.bffPublicUrl}/state-link` });
  bff = await startTestBff(
    stack,
    {
      ...kit.bffEnv,
      STATE_LINK_ISSUERS: JSON.stringify([portal.issuerConfig(TENANT, 'state-demo')]),
      // An unknown kid fetches the keys again at once (the rotation test); a long cache otherwise.
      STATE_LINK_JWKS_COOLDOWN_SECONDS: '0',
      STATE_LINK_JWKS_CACHE_SECONDS: '3600',
    },
    { atStackUrl: true },
  );
});
afterAll(async () => {
  for (const id of createdUserIds) await bff?.container.accounts.delete(id).catch(() => undefined);
  await bff?.close();
  await portal?.close();
  await kit.close();
});

const person = (): TokenRequest => ({ stateUserId: `SD-${randomUUID().slice(0, 8)}`, name: 'Md Manzarul Haque', phone: kit.freshPhone() });

async function linkFor(req: TokenRequest & { lang?: string }): Promise<string> {
  const res = await fetch(`${portal.url}/admin/token`, { method: 'POST', body: JSON.stringify(req) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { link: string }).link;
}

/** A state account as an earlier state sign-in left it. */
async function stateAccount(p: TokenRequest, opts: { phoneVerified: boolean }): Promise<string> {
  const created = await bff.container.accounts.create(
    {
      firstName: p.name,
      phone: p.phone,
      phoneVerified: opts.phoneVerified,
      emailVerified: false,
      signUpType: 'state',
      stateUserId: p.stateUserId,
      tenant: TENANT,
    },
    { idempotencyKey: randomUUID() },
  );
  createdUserIds.push(created.userId);
  return created.userId;
}

/** Keycloak holds a session of this user (the portal got there through Keycloak, the BFF holds none). */
async function keycloakSessions(userId: string): Promise<number> {
  return ((await admin.get<Json[]>(`/${realm}/users/${userId}/sessions`)) ?? []).length;
}

/** The browser is signed in at Keycloak: a `prompt=none` authorization request gets a code, not `login_required`. */
async function signedInAtKeycloak(page: Page): Promise<boolean> {
  const res = await page.request.get(
    `${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/auth?${new URLSearchParams({
      client_id: 'portal',
      redirect_uri: PORTAL,
      response_type: 'code',
      scope: 'openid',
      prompt: 'none',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString()}`,
    { maxRedirects: 0 },
  );
  const location = new URL(res.headers().location ?? 'http://x/');
  return location.searchParams.has('code');
}

async function userByStateId(stateUserId: string): Promise<Json | undefined> {
  const users = (await admin.get<Json[]>(`/${realm}/users?q=stateUserId:${encodeURIComponent(stateUserId)}&briefRepresentation=false`)) ?? [];
  return users.find((u) => u.attributes?.stateUserId?.[0] === stateUserId);
}

async function enterCode(page: Page, phone: string, notBefore = 0) {
  await page.locator('#code').fill(await kit.latestCode('sms', phone, notBefore));
  await page.locator('#verify').click();
}

describe('state portal link, in the browser', () => {
  it("(en, desktop) nobody has it: a code to the link's phone, then an account in the state's tenant (statelogin, the username rule), signed in at Keycloak", async () => {
    const p = person();
    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await page.goto(await linkFor({ ...p, lang: 'en' }));
    await page.waitForURL(`${stack.settings.bffPublicUrl}/state-link/code?**`);
    expect(await page.locator('#lead').innerText()).not.toContain(p.phone.slice(-6, -2));
    await checkPage(page, { name: 'state-link-1-code', lang: 'en' });
    // A wrong code first: the page says so, nothing is created.
    await page.locator('#code').fill('000000');
    await page.locator('#verify').click();
    await page.locator('#error[data-error="code-invalid"]').waitFor();
    await checkPage(page, { name: 'state-link-2-code-wrong', lang: 'en' });
    expect(await userByStateId(p.stateUserId)).toBeUndefined();
    await enterCode(page, p.phone);
    await page.waitForURL(`${PORTAL}**`);
    const user = await userByStateId(p.stateUserId);
    expect(user).toBeDefined();
    createdUserIds.push(user!.id);
    expect(user!.username).toMatch(/^md_manzarul_haque\d{4}$/);
    expect(user!.attributes.signUpType).toEqual(['stateLogin']);
    expect(user!.attributes.phone).toEqual([p.phone]);
    expect(user!.attributes.phoneVerified).toEqual(['true']);
    expect(user!.enabled).toBe(true);
    const orgs = (await admin.get<Json[]>(`/${realm}/organizations/members/${user!.id}/organizations`)) ?? [];
    expect(orgs.map((o) => o.alias)).toEqual([TENANT]);
    expect(await keycloakSessions(user!.id)).toBeGreaterThan(0);
    expect(await signedInAtKeycloak(page)).toBe(true);
    await context.close();
  });

  it('(hi, phone) found, enabled, phone verified: signed in at once, no page of ours', async () => {
    const p = person();
    const userId = await stateAccount(p, { phoneVerified: true });
    const context = await openContext(browser() as Browser, { viewport: 'phone', lang: 'hi' });
    const page = await context.newPage();
    const seen: string[] = [];
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) seen.push(f.url());
    });
    await page.goto(await linkFor({ ...p, lang: 'hi' }));
    await page.waitForURL(`${PORTAL}**`);
    expect(seen.some((u) => u.includes('/state-link/code'))).toBe(false);
    expect(await keycloakSessions(userId)).toBeGreaterThan(0);
    expect(await signedInAtKeycloak(page)).toBe(true);
    await context.close();
  });

  it('(hi, phone) found, phone not verified: a code to it, then phoneVerified stored, signed in (seed 002 case 2)', async () => {
    const p = person();
    const userId = await stateAccount(p, { phoneVerified: false });
    expect((await kit.user(userId)).attributes.phoneVerified?.[0]).not.toBe('true');
    const context = await openContext(browser() as Browser, { viewport: 'phone', lang: 'hi' });
    const page = await context.newPage();
    await page.goto(await linkFor({ ...p, lang: 'hi' }));
    await page.waitForURL(`${stack.settings.bffPublicUrl}/state-link/code?**`);
    await checkPage(page, { name: 'state-link-3-verify-phone', lang: 'hi' });
    await enterCode(page, p.phone);
    await page.waitForURL(`${PORTAL}**`);
    expect((await kit.user(userId)).attributes.phoneVerified).toEqual(['true']);
    expect(await keycloakSessions(userId)).toBeGreaterThan(0);
    await context.close();
  });

  it('a disabled account: refused with a clear page (en, desktop; hi, phone), never signed in', async () => {
    const p = person();
    const userId = await stateAccount(p, { phoneVerified: true });
    await kit.disable(userId);
    for (const [viewport, lang] of [
      ['desktop', 'en'],
      ['phone', 'hi'],
    ] as const) {
      const context = await openContext(browser() as Browser, { viewport, lang });
      const page = await context.newPage();
      const res = await page.goto(await linkFor({ ...p, lang }));
      expect(res?.status()).toBe(403);
      expect(await page.locator('#state-link-refused').getAttribute('data-reason')).toBe('closed');
      await checkPage(page, { name: 'state-link-4-closed', lang });
      await context.close();
    }
    expect(await keycloakSessions(userId)).toBe(0);
  });

  it('a custodian account holds the phone: handed to the claim (Flow 2) through the state IdP', async () => {
    const p = person();
    const custodianId = await kit.custodianAccount(bff, { phone: p.phone });
    createdUserIds.push(custodianId);
    const state = await kit.statePerson('link', { phone: p.phone });
    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    await page.goto(await linkFor({ ...p, lang: 'en' }));
    await kit.atState(page, state.username);
    await page.waitForURL(`${stack.settings.bffPublicUrl}/state-claim/**`);
    await page.locator('#title').waitFor();
    await checkPage(page, { name: 'state-link-5-claim', lang: 'en' });
    await context.close();
  });

  it('a deleted account, or an inactive upstream member with the phone: refused (seed 002: creation fails), nothing created', async () => {
    const deleted = person();
    const userId = await stateAccount(deleted, { phoneVerified: true });
    await bff.container.accounts.delete(userId);
    const res = await fetch(await linkFor({ ...deleted, stateUserId: `SD-${randomUUID().slice(0, 8)}` }), { redirect: 'manual' });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('data-reason="closed"');
    const inactive = person();
    await kit.upstreamOnlyMember({ phone: inactive.phone, status: 'inactive' });
    const refused = await fetch(await linkFor(inactive), { redirect: 'manual' });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('data-reason="closed"');
    expect(await userByStateId(inactive.stateUserId)).toBeUndefined();
  });

  it('an active upstream-only member with the phone (a custodian account not yet migrated): handed to the claim through the state IdP', async () => {
    const p = person();
    await kit.upstreamOnlyMember({ phone: p.phone });
    const res = await fetch(await linkFor(p), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    expect(to.origin).toBe(new URL(stack.keycloakUrl).origin);
    expect(to.searchParams.get('kc_idp_hint')).toBe('state-demo');
    expect(to.searchParams.get('platform_screen')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it.each([
    ['expired', { expiresIn: -120 }, 401],
    ['too-old', { issuedAgo: 3000, expiresIn: 600 }, 401],
    ['audience', { audience: 'https://another-service.example/' }, 401],
    ['unknown-issuer', { issuer: 'https://state-portal.attacker.example' }, 401],
  ] as const)('a link refused for %s: a clear page with its reason', async (reason, claims, status) => {
    const context = await openContext(browser() as Browser, { viewport: 'phone', lang: 'hi' });
    const page = await context.newPage();
    const res = await page.goto(await linkFor({ ...person(), ...claims, lang: 'hi' }));
    expect(res?.status()).toBe(status);
    expect(await page.locator('#state-link-refused').getAttribute('data-reason')).toBe(reason);
    await checkPage(page, { name: `state-link-6-${reason}`, lang: 'hi' });
    await context.close();
  });

  it('a replayed link: the second use is refused, in any browser', async () => {
    const p = person();
    await stateAccount(p, { phoneVerified: true });
    const link = await linkFor({ ...p, lang: 'en' });
    const first = await fetch(link, { redirect: 'manual' });
    expect(first.status).toBe(302);
    const context = await openContext(browser() as Browser, { viewport: 'desktop', lang: 'en' });
    const page = await context.newPage();
    const res = await page.goto(link);
    expect(res?.status()).toBe(401);
    expect(await page.locator('#state-link-refused').getAttribute('data-reason')).toBe('replayed');
    await checkPage(page, { name: 'state-link-7-replayed', lang: 'en' });
    await context.close();
  });

  it('a link used at one BFF process is refused at another (the jti is spent in Redis, shared by all)', async () => {
    const other = await startTestBff(stack, {
      ...kit.bffEnv,
      STATE_LINK_ISSUERS: JSON.stringify([portal.issuerConfig(TENANT, 'state-demo')]),
      STATE_LINK_JWKS_COOLDOWN_SECONDS: '0',
    });
    try {
      const link = new URL(await linkFor(person()));
      const first = await fetch(link, { redirect: 'manual' });
      expect(first.status).toBe(302);
      const again = await fetch(`${other.url}${link.pathname}${link.search}`, { redirect: 'manual' });
      expect(again.status).toBe(401);
      expect(await again.text()).toContain('data-reason="replayed"');
      // And the other way round: first at the other process, then here.
      const link2 = new URL(await linkFor(person()));
      expect((await fetch(`${other.url}${link2.pathname}${link2.search}`, { redirect: 'manual' })).status).toBe(302);
      expect((await fetch(link2, { redirect: 'manual' })).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('a bad signature (a key the state never published, with its kid) and a forged "none" link are refused', async () => {
    const p = person();
    const jwks = (await (await fetch(portal.jwksUrl)).json()) as { keys: { kid: string }[] };
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    expect((await exportJWK(publicKey)).kty).toBe('EC');
    const forged = await new SignJWT({ name: p.name, phone_number: p.phone })
      .setProtectedHeader({ alg: 'ES256', kid: jwks.keys[0]!.kid })
      .setIssuer(portal.issuer)
      .setAudience(portal.audience)
      .setSubject(p.stateUserId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const res = await fetch(`${bff.url}/state-link?token=${forged}`, { redirect: 'manual' });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('data-reason="signature"');
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none' })}.${b64({ iss: portal.issuer, aud: portal.audience, sub: p.stateUserId, name: p.name, phone_number: p.phone, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300 })}.`;
    const refused = await fetch(`${bff.url}/state-link?token=${none}`, { redirect: 'manual' });
    expect([400, 401]).toContain(refused.status);
    expect(await refused.text()).toMatch(/data-reason="(malformed|signature)"/);
    const garbage = await fetch(`${bff.url}/state-link?token=not-a-jwt`, { redirect: 'manual' });
    expect(garbage.status).toBe(400);
    expect(await garbage.text()).toContain('data-reason="malformed"');
  });

  it('key rotation: a new key is accepted without a restart, the removed one refused', async () => {
    const before = await fetch(await linkFor({ ...person() }), { redirect: 'manual' });
    expect(before.status).toBe(302);
    const rotated = await fetch(`${portal.url}/admin/rotate`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    // Signed with the new key (a kid the BFF has not seen): it fetches the JWKS again and accepts it.
    const withNew = await fetch(await linkFor({ ...person() }), { redirect: 'manual' });
    expect(withNew.status).toBe(302);
    expect(withNew.headers.get('location')).toContain('platform_screen=state-link');
    // Signed with the key the state removed: refused, although the BFF had it cached.
    const withOld = await fetch(await linkFor({ ...person(), retiredKey: true }), { redirect: 'manual' });
    expect(withOld.status).toBe(401);
    expect(await withOld.text()).toContain('data-reason="signature"');
  });
});

describe('state portal link, its code step at the API (attacker cases)', () => {
  /** A link opened up to the code page without a browser: its flow cookie. */
  async function atCodeStep(p: TokenRequest): Promise<string> {
    const start = await fetch(await linkFor(p), { redirect: 'manual' });
    expect(start.status).toBe(302);
    const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(cookie).toMatch(/^platform_state_link=/);
    const back = `/realms/${realm}/login-actions/restart?client_id=portal&tab_id=abcDEF123`;
    const arrive = await fetch(`${bff.url}/state-link/continue?return=${encodeURIComponent(back)}`, { headers: { cookie }, redirect: 'manual' });
    expect(arrive.status).toBe(302);
    expect(arrive.headers.get('location')).toContain('/state-link/code');
    return cookie;
  }
  const post = (path: string, cookie: string | null, body: unknown, type = 'application/json') =>
    fetch(`${bff.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': type, ...(cookie ? { cookie } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it("wrong codes are limited: after the OTP service's tries, even the right code is refused (429), and nothing is created", async () => {
    const p = person();
    const cookie = await atCodeStep(p);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post('/state-link/code', cookie, { code: '000000' })).status);
    expect(statuses.slice(0, 4)).toEqual([400, 400, 400, 400]);
    expect(statuses.at(-1)).toBe(429);
    const right = await post('/state-link/code', cookie, { code: await kit.latestCode('sms', p.phone) });
    expect(right.status).toBe(429);
    expect(right.headers.get('content-type')).toContain('application/problem+json');
    expect(await userByStateId(p.stateUserId)).toBeUndefined();
  });

  it("without the flow cookie, with a form body, a malformed code, or another browser's return: refused, nothing changed", async () => {
    const p = person();
    const cookie = await atCodeStep(p);
    expect((await post('/state-link/code', null, { code: '123456' })).status).toBe(404);
    expect((await post('/state-link/code', cookie, 'code=123456', 'application/x-www-form-urlencoded')).status).toBe(400);
    const bad = await post('/state-link/code', cookie, { code: '12ab' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).fields?.[0]?.field).toBe('code');
    const extra = await post('/state-link/code', cookie, { code: '123456', userId: 'someone-else' });
    expect(extra.status).toBe(400);
    // Keycloak's way back with a return URL that is not its restart URL (an open redirect attempt).
    const away = await fetch(`${bff.url}/state-link/continue?return=${encodeURIComponent('https://attacker.example/')}`, {
      headers: { cookie },
      redirect: 'manual',
    });
    expect(away.status).toBe(400);
    // A made-up flow id in the cookie.
    const made = await fetch(`${bff.url}/state-link/code`, { headers: { cookie: `platform_state_link=${randomUUID()}` } });
    expect(made.status).toBe(404);
    expect(await made.text()).toContain('data-reason="cannot-continue"');
    expect(await userByStateId(p.stateUserId)).toBeUndefined();
  });
});
