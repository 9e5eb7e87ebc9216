import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HttpUpstreamCore } from '../../bff/src/adapters/upstream-core/http-upstream-core.ts';
import { KeycloakIdentityDirectory } from '../../bff/src/adapters/keycloak/keycloak-identity-directory.ts';
import { ServiceAccountTokens } from '../../bff/src/adapters/keycloak/service-account-tokens.ts';
import { bffEnv } from '../../stack/stack.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { inboxMessages } from '../support/inbox.ts';
import { invitationToken, personToken, testAccount } from '../support/invitations.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call, platformAdminToken, registerPartner, uniqueId } from '../support/partners.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Invitations into a tenant (issue 18, decision 0034): the admin API (who may, bad bodies, create,
 * reuse, list, resend, revoke, expiry), accepting (a new person through the page's form; an existing
 * account signed in, through POST /api/v1/invitations/accept as the portal calls it: the wrong
 * account, dead links, reuse, concurrency, partners' tokens) and `npm run members`, against the real
 * stack (Keycloak, PostgreSQL, the SMTP and SMS inbox, the reference upstream core).
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const tokens = new ServiceAccountTokens({ issuer: `${stack.keycloakUrl}/realms/${realm}`, clientId: 'bff', clientSecret: stack.settings.bffClientSecret });
const directory = new KeycloakIdentityDirectory({ keycloakUrl: stack.keycloakUrl, realm, tokens });
const upstream = new HttpUpstreamCore({ baseUrl: stack.upstreamUrl, apiKey: stack.settings.upstreamApiKey });
const keys = testKeyPrefix(uniqueId('invitations'));
let bff: TestBff;
let adminToken: string;
let stateAdminToken: string;
let custodianAdminToken: string;
let plainToken: string;

beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix }, { captureLogs: true });
  adminToken = await platformAdminToken(stack);
  const stateAdmin = await testAccount(stack, { roles: ['tenant-admin'], tenants: ['state-demo'] });
  const custodianAdmin = await testAccount(stack, { roles: ['tenant-admin'], tenants: ['custodian'] });
  const plain = await testAccount(stack, { tenants: ['state-demo'] });
  stateAdminToken = await personToken(stack, stateAdmin.username, stateAdmin.password);
  custodianAdminToken = await personToken(stack, custodianAdmin.username, custodianAdmin.password);
  plainToken = await personToken(stack, plain.username, plain.password);
});

afterAll(async () => {
  await bff?.close();
  await keys.cleanup();
});

const base = (tenant = 'state-demo') => `${bff.url}/api/admin/v1/tenants/${tenant}/invitations`;
const invite = (body: Json, token: string | null = adminToken, tenant = 'state-demo') => call(base(tenant), 'POST', { ...(token ? { token } : {}), body });
const newEmail = () => `${uniqueId('invitee').replace('-', '')}@example.org`;
const newPhone = () => `+9198${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
const page = (token: string, suffix = '') => fetch(`${bff.url}/invitations/${token}${suffix}`, { redirect: 'manual' });
const acceptNew = (token: string, body: Json) => call(`${bff.url}/invitations/${token}/account?lang=en`, 'POST', { body });
/** What the portal calls for a signed-in account: its access token and the link's token. */
const acceptSignedIn = (bearer: string | null, body: Json, url = bff.url) =>
  call(`${url}/api/v1/invitations/accept`, 'POST', { ...(bearer ? { token: bearer } : {}), body });
const tenantsOf = async (userId: string) => (await directory.organizationsOf(userId)).map((o) => o.alias).sort();
const sql = (query: string, params: unknown[]) => bff.container.em.fork().getConnection().execute(query, params);

describe('who may invite', () => {
  it('a platform admin and the tenant organization’s tenant admin; not another tenant’s admin, a plain member, nobody without a token', async () => {
    expect((await invite({ email: newEmail() }, null)).status).toBe(401);
    const plain = await invite({ email: newEmail() }, plainToken);
    expect(plain.status).toBe(403);
    expect(plain.body.code).toBe('FORBIDDEN');
    expect((await invite({ email: newEmail() }, custodianAdminToken)).status).toBe(403);
    expect((await call(base(), 'GET', { token: custodianAdminToken })).status).toBe(403);
    const byStateAdmin = await invite({ email: newEmail() }, stateAdminToken);
    expect(byStateAdmin.status, JSON.stringify(byStateAdmin.body)).toBe(201);
    expect((await invite({ email: newEmail() }, custodianAdminToken, 'custodian')).status).toBe(201);
    expect((await invite({ email: newEmail() }, adminToken)).status).toBe(201);
    const unknown = await invite({ email: newEmail() }, adminToken, 'no-such-tenant');
    expect(unknown.status).toBe(404);
    expect((await invite({ email: newEmail() }, stateAdminToken, 'no-such-tenant')).status).toBe(404);
  });
});

describe('bad bodies', () => {
  it('400 naming each field, and nothing stored or sent', async () => {
    const cases: [Json, string, string][] = [
      [{}, 'email', 'exactly_one'],
      [{ email: newEmail(), phone: '+919876543210' }, 'email', 'exactly_one'],
      [{ email: 'not-an-address' }, 'email', 'invalid_format'],
      [{ phone: '12' }, 'phone', 'invalid_format'],
      [{ email: newEmail(), role: 'teacher' }, 'role', 'invalid_format'],
      [{ email: newEmail(), colour: 'blue' }, 'colour', 'not_allowed'],
      [{ email: 42 }, 'email', 'invalid_type'],
      [{ email: newEmail(), locale: 'fr' }, 'locale', 'invalid_value'],
    ];
    for (const [body, field, reason] of cases) {
      const res = await invite(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.fields).toContainEqual(expect.objectContaining({ field, reason }));
    }
    const stored = (await call(base(), 'GET', { token: adminToken })).body.items.map((i: Json) => i.identifier);
    for (const [body] of cases) if (typeof body.email === 'string') expect(stored).not.toContain(body.email.toLowerCase());
    const status = await call(`${base()}?status=odd`, 'GET', { token: adminToken });
    expect(status.status).toBe(400);
    expect(status.body.fields).toContainEqual(expect.objectContaining({ field: 'query.status' }));
  });
});

describe('create, reuse, list, resend, revoke', () => {
  it('mails a link; a second create reuses the pending one with a fresh link; resend and revoke kill the old links', async () => {
    const email = newEmail();
    const created = await invite({ email, role: 'TEACHER', firstName: 'Asha' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      tenant: 'state-demo',
      kind: 'email',
      identifier: email,
      role: 'TEACHER',
      status: 'pending',
      reused: false,
      sendCount: 1,
    });
    const hours = (Date.parse(created.body.expiresAt) - Date.now()) / 3600_000;
    expect(hours).toBeGreaterThan(167);
    expect(hours).toBeLessThanOrEqual(168);
    const first = await invitationToken(stack, 'mails', email);
    expect((await page(first)).status).toBe(200);

    // Stored sealed: neither the address nor the token in clear.
    const [row] = (await sql('select * from invitation where id = ?', [created.body.id])) as Json[];
    expect(JSON.stringify(row)).not.toContain(email);
    expect(JSON.stringify(row)).not.toContain(first);
    expect(row!.token_hash).toHaveLength(43);

    const again = await invite({ email: email.toUpperCase() });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ id: created.body.id, reused: true, sendCount: 2 });
    const second = await invitationToken(stack, 'mails', email, 1);
    expect(second).not.toBe(first);
    expect((await page(first)).status).toBe(404);
    expect((await page(second)).status).toBe(200);

    const pending = await call(`${base()}?status=pending`, 'GET', { token: adminToken });
    expect(pending.body.items.filter((i: Json) => i.identifier === email)).toHaveLength(1);
    expect((await call(`${base()}/${created.body.id}`, 'GET', { token: stateAdminToken })).body).toMatchObject({ id: created.body.id, status: 'pending' });
    expect((await call(`${base('custodian')}/${created.body.id}`, 'GET', { token: adminToken })).status).toBe(404);
    expect((await call(`${base()}/${randomUUID()}`, 'GET', { token: adminToken })).status).toBe(404);

    const resent = await call(`${base()}/${created.body.id}/resend`, 'POST', { token: stateAdminToken });
    expect(resent.status).toBe(200);
    expect(resent.body.sendCount).toBe(3);
    const third = await invitationToken(stack, 'mails', email, 2);
    expect((await page(second)).status).toBe(404);

    const revoked = await call(`${base()}/${created.body.id}`, 'DELETE', { token: adminToken });
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    const dead = await page(third);
    expect(dead.status).toBe(410);
    expect(await dead.text()).toContain('data-reason="revoked"');
    expect((await call(`${base()}/${created.body.id}/revoke`, 'POST', { token: adminToken })).body.status).toBe('revoked');
    const resendRevoked = await call(`${base()}/${created.body.id}/resend`, 'POST', { token: adminToken });
    expect(resendRevoked.status).toBe(409);
    expect((await acceptNew(third, { firstName: 'Asha', password: 'Long-enough-pass-1' })).status).toBe(404);
    expect((await call(`${base()}?status=revoked`, 'GET', { token: adminToken })).body.items.map((i: Json) => i.id)).toContain(created.body.id);

    // A revoked invitation does not block a new one.
    expect((await invite({ email })).status).toBe(201);
  });

  it("lists Keycloak's own organization invitations (the admin console's Invite member) beside ours, read-only", async () => {
    const kc = adminFor(stack);
    const org = (await kc.get<Json[]>(`/${realm}/organizations?first=0&max=1000`))!.find((o) => o.alias === 'state-demo')!;
    const email = newEmail();
    const res = await fetch(`${stack.keycloakUrl}/admin/realms/${realm}/organizations/${org.id}/members/invite-user`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await kc.token()}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email, firstName: 'Console', lastName: 'Invitee' }),
    });
    expect(res.status).toBe(204);
    const listed = await call(`${base()}?status=pending`, 'GET', { token: stateAdminToken });
    expect(listed.body.keycloakInvitations).toContainEqual(expect.objectContaining({ email, status: 'pending' }));
    expect(listed.body.items.map((i: Json) => i.identifier)).not.toContain(email);
    expect((await call(`${base()}?status=accepted`, 'GET', { token: adminToken })).body.keycloakInvitations).toEqual([]);
  });

  it('texts a link to a mobile number; a national number is read with the default country', async () => {
    const phone = newPhone();
    const created = await invite({ phone: phone.slice(3), locale: 'hi' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'phone', identifier: phone });
    const token = await invitationToken(stack, 'sms', phone);
    const [sms] = await inboxMessages(stack, 'sms', phone);
    expect(sms!.text).toContain('आमंत्रण');
    expect((await page(token)).status).toBe(200);
  });

  it('an expired link answers as an unknown one; the list says expired; resend revives it', async () => {
    const email = newEmail();
    const created = await invite({ email });
    const token = await invitationToken(stack, 'mails', email);
    await sql(`update invitation set expires_at = now() - interval '1 minute' where id = ?`, [created.body.id]);
    const expired = await page(token);
    const unknown = await page('A'.repeat(43));
    expect(expired.status).toBe(404);
    expect(unknown.status).toBe(404);
    const [a, b] = [await expired.text(), await unknown.text()];
    expect(a.replace(/<title>.*<\/title>/, '')).toBe(b.replace(/<title>.*<\/title>/, ''));
    expect((await acceptNew(token, { firstName: 'Late', password: 'Long-enough-pass-1' })).status).toBe(404);
    expect((await call(`${base()}?status=expired`, 'GET', { token: adminToken })).body.items.map((i: Json) => i.id)).toContain(created.body.id);
    expect((await call(`${base()}/${created.body.id}/resend`, 'POST', { token: adminToken })).body.status).toBe('pending');
  });
});

describe('accepting', () => {
  it('a new person: the account in the tenant, the e-mail verified, the role upstream; the link works once, also against concurrent accepts', async () => {
    const email = newEmail();
    const created = await invite({ email, role: 'TEACHER' });
    const token = await invitationToken(stack, 'mails', email);

    const weak = await acceptNew(token, { firstName: 'Asha', password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.body.location).toContain('/new?lang=en&error=password');

    const results = await Promise.all([1, 2, 3].map(() => acceptNew(token, { firstName: 'Asha', lastName: 'Verma', password: 'Long-enough-pass-1' })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 201)) expect(r.body.location).toMatch(/\/invitations\/[^/]+\?lang=en$/);
    const done = results.find((r) => r.status === 201)!;
    expect(done.body.location).toMatch(/\/done\?lang=en$/);
    expect((await page(token, '/done')).status).toBe(200);

    const [user] = await directory.findUsersByEmail(email);
    expect(user).toMatchObject({ email, emailVerified: true, firstName: 'Asha', lastName: 'Verma', enabled: true });
    expect(user!.attributes.signUpType).toEqual(['invitation']);
    expect((await directory.organizationsOf(user!.id)).map((o) => o.alias)).toContain('state-demo');
    const upstreamUserId = user!.attributes.upstreamUserId![0]!;
    const memberships = await upstream.listMemberships(upstreamUserId);
    expect(memberships).toContainEqual(expect.objectContaining({ organisationId: 'org_state_demo', roles: expect.arrayContaining(['TEACHER']) }));
    await personToken(stack, user!.username, 'Long-enough-pass-1');

    expect((await call(`${base()}/${created.body.id}`, 'GET', { token: adminToken })).body).toMatchObject({ status: 'accepted', acceptedUserId: user!.id });
    const reused = await acceptNew(token, { firstName: 'Asha', password: 'Long-enough-pass-1' });
    expect(reused.status).toBe(404);
    expect(reused.body.reason).toBe('used');
    expect((await page(token)).status).toBe(410);
    expect((await call(`${base()}/${created.body.id}/revoke`, 'POST', { token: adminToken })).status).toBe(409);
  });

  it('an existing account signed in (POST /api/v1/invitations/accept): no token 401, a bad body 400, the wrong account 403 with nothing changed, the holder joins once', async () => {
    const holder = await testAccount(stack, { tenants: ['custodian'] });
    const other = await testAccount(stack);
    const created = await invite({ email: holder.email, role: 'TEACHER' });
    const token = await invitationToken(stack, 'mails', holder.email);
    expect((await acceptSignedIn(null, { token })).status).toBe(401);
    expect((await acceptSignedIn('not-a-token', { token })).status).toBe(401);
    const holderToken = await personToken(stack, holder.username, holder.password);
    const bad = await acceptSignedIn(holderToken, { token, extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toContainEqual(expect.objectContaining({ field: 'extra', reason: 'not_allowed' }));
    expect((await acceptSignedIn(holderToken, {})).body.fields).toContainEqual(expect.objectContaining({ field: 'token' }));
    expect(await acceptSignedIn(holderToken, { token: 'B'.repeat(43) })).toMatchObject({ status: 404, body: { reason: 'unknown' } });

    const wrong = await acceptSignedIn(await personToken(stack, other.username, other.password), { token });
    expect(wrong).toMatchObject({ status: 403, body: { code: 'FORBIDDEN', reason: 'wrong_account', invited: expect.stringContaining('•••@example.org') } });
    expect(JSON.stringify(wrong.body)).not.toContain(holder.email);
    expect(await tenantsOf(other.id)).toEqual([]);
    expect((await call(`${base()}/${created.body.id}`, 'GET', { token: adminToken })).body).toMatchObject({ status: 'pending', acceptedUserId: null });

    const joined = await acceptSignedIn(holderToken, { token });
    expect(joined).toMatchObject({ status: 200, body: { userId: holder.id, tenant: 'state-demo', tenantNames: { en: 'State of Demo', hi: 'डेमो राज्य' } } });
    expect(await tenantsOf(holder.id)).toEqual(['custodian', 'state-demo']);
    expect((await call(`${base()}/${created.body.id}`, 'GET', { token: adminToken })).body).toMatchObject({ status: 'accepted', acceptedUserId: holder.id });
    // Single use: the same account again finds it used.
    expect(await acceptSignedIn(holderToken, { token })).toMatchObject({ status: 404, body: { reason: 'used' } });
    expect((await page(token)).status).toBe(410);
  });

  it('dead links: a revoked or an expired one is refused (404, revoked / unknown) and joins nobody', async () => {
    const holder = await testAccount(stack);
    const holderToken = await personToken(stack, holder.username, holder.password);
    const revoked = await invite({ email: holder.email });
    const first = await invitationToken(stack, 'mails', holder.email);
    await call(`${base()}/${revoked.body.id}`, 'DELETE', { token: adminToken });
    expect(await acceptSignedIn(holderToken, { token: first })).toMatchObject({ status: 404, body: { reason: 'revoked' } });
    const expiring = await invite({ email: holder.email });
    const second = await invitationToken(stack, 'mails', holder.email, 1);
    await sql(`update invitation set expires_at = now() - interval '1 minute' where id = ?`, [expiring.body.id]);
    expect(await acceptSignedIn(holderToken, { token: second })).toMatchObject({ status: 404, body: { reason: 'unknown' } });
    expect(await tenantsOf(holder.id)).toEqual([]);
  });

  it("attackers: a partner's userToken for the invited person, and a partner's server token, cannot accept on the person's behalf", async () => {
    const appKey = uniqueId('inv-app');
    const partner = await registerPartner(stack, bff.url, adminToken, { trustAuth: true, appKeys: [{ appKey, autoEnroll: true, kbaBypass: false }] });
    const posted = await call(`${bff.url}/api/auth/v1`, 'POST', {
      token: partner.serverToken,
      body: { appKey, dbpUserId: uniqueId('dbp'), pii: { firstName: 'Uma', lastName: 'Invite', dob: '1988-08-08' } },
    });
    expect(posted.status).toBe(201);
    const userToken = String((await call(`${bff.url}/api/auth/v1/${posted.body.authToken}`, 'GET')).body.userToken);
    const userId = String(JSON.parse(Buffer.from(userToken.split('.')[1]!, 'base64url').toString()).sub);
    // The partner's user holds the invited address, verified: only the token's kind stands in the way.
    const email = newEmail();
    await directory.updateUser(userId, { email, emailVerified: true });
    const created = await invite({ email });
    const token = await invitationToken(stack, 'mails', email);
    expect((await acceptSignedIn(userToken, { token })).status).toBe(401);
    expect([401, 403]).toContain((await acceptSignedIn(partner.serverToken, { token })).status);
    expect(await tenantsOf(userId)).not.toContain('state-demo');
    expect((await call(`${base()}/${created.body.id}`, 'GET', { token: adminToken })).body.status).toBe('pending');
  });

  it('an imported account (no password, the address unproven) is completed by "Create my account": password, names, the address verified, active upstream', async () => {
    const imported = await testAccount(stack, { emailVerified: false });
    const kc = adminFor(stack);
    // As a member import leaves it: no password (the test account's is removed), signUpType stateOnboard.
    const credentials = (await kc.get<Json[]>(`/${realm}/users/${imported.id}/credentials`))!;
    for (const c of credentials) await kc.delete(`/${realm}/users/${imported.id}/credentials/${c.id}`);
    await directory.updateUser(imported.id, { attributes: { signUpType: ['stateOnboard'], stateUserId: ['S-42'] } });
    const created = await invite({ email: imported.email, userId: imported.id, stateUserId: 'S-42', firstName: 'Imran', role: 'TEACHER' });
    expect(created.status).toBe(201);
    const token = await invitationToken(stack, 'mails', imported.email);
    const done = await acceptNew(token, { firstName: 'Imran', lastName: 'Khan', password: 'Long-enough-pass-1' });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    const user = (await directory.getUser(imported.id))!;
    expect(user).toMatchObject({ emailVerified: true, firstName: 'Imran', lastName: 'Khan', enabled: true });
    expect(user.attributes.signUpType).toEqual(['stateOnboard']);
    expect((await directory.organizationsOf(imported.id)).map((o) => o.alias)).toContain('state-demo');
    const upstreamUserId = user.attributes.upstreamUserId![0]!;
    expect(await upstream.listMemberships(upstreamUserId)).toContainEqual(
      expect.objectContaining({ organisationId: 'org_state_demo', roles: expect.arrayContaining(['TEACHER']) }),
    );
    await personToken(stack, imported.username, 'Long-enough-pass-1');
    expect(await directory.findUsersByEmail(imported.email)).toHaveLength(1);
  });

  it('an account holding the identifier unproven is the wrong account', async () => {
    const holder = await testAccount(stack, { emailVerified: false });
    await invite({ email: holder.email });
    const token = await invitationToken(stack, 'mails', holder.email);
    const res = await acceptSignedIn(await personToken(stack, holder.username, holder.password), { token });
    expect(res.status).toBe(403);
    expect(res.body.reason).toBe('wrong_account');
    expect(await tenantsOf(holder.id)).toEqual([]);
  });

  it('an identifier already on an account: the new-account form says to sign in instead, and the link stays good', async () => {
    const holder = await testAccount(stack);
    await invite({ email: holder.email });
    const token = await invitationToken(stack, 'mails', holder.email);
    const res = await acceptNew(token, { firstName: 'Dup', password: 'Long-enough-pass-1' });
    expect(res.status).toBe(409);
    expect(res.body.location).toContain('error=account-exists');
    expect((await page(token)).status).toBe(200);
  });

  it('never logs the link token or the identifier', async () => {
    const email = newEmail();
    await invite({ email });
    const token = await invitationToken(stack, 'mails', email);
    await page(token);
    await acceptNew(token, { firstName: 'Quiet', password: 'short' });
    expect(bff.logs()).not.toContain(token);
    expect(bff.logs()).not.toContain(email);
  });
});

describe('limits', () => {
  it('accepts from one IP are limited: the next is 429, also for the right account, the link untouched', async () => {
    const limited = await startTestBff(stack, { REDIS_PREFIX: `${keys.prefix}limited:`, INVITATION_ACCEPTS_PER_IP_PER_HOUR: '2' });
    try {
      const holder = await testAccount(stack);
      const other = await testAccount(stack);
      const { invitation } = await limited.container.invitations.create({ tenant: 'state-demo', email: holder.email, invitedBy: 'test', source: 'admin' });
      const token = await invitationToken(stack, 'mails', holder.email);
      const otherToken = await personToken(stack, other.username, other.password);
      expect((await acceptSignedIn(otherToken, { token }, limited.url)).status).toBe(403);
      expect((await acceptSignedIn(otherToken, { token }, limited.url)).status).toBe(403);
      const third = await acceptSignedIn(await personToken(stack, holder.username, holder.password), { token }, limited.url);
      expect(third.status).toBe(429);
      expect(third.body.code).toBe('RATE_LIMITED');
      const form = await call(`${limited.url}/invitations/${token}/account?lang=en`, 'POST', { body: { firstName: 'Late', password: 'Long-enough-pass-1' } });
      expect(form.status).toBe(429);
      expect(form.body.location).toContain('/new?lang=en&error=rate-limited');
      expect((await limited.container.invitations.get('state-demo', invitation.id)).status).toBe('pending');
    } finally {
      await limited.close();
    }
  });
});

describe('npm run members', () => {
  const cli = path.resolve('bff/src/cli/members.ts');
  const env = { ...process.env, ...bffEnv(stack.settings, stack.upstreamUrl), NODE_ENV: 'test' };
  const run = (...args: string[]) => promisify(execFile)(process.execPath, [cli, ...args], { env, timeout: 60_000 });

  it('invites (and reuses), lists, resends and revokes; refusals exit 1 with the code, usage errors 2', async () => {
    const email = newEmail();
    const created = JSON.parse((await run('invite', '--tenant', 'state-demo', '--email', email, '--role', 'TEACHER')).stdout) as Json;
    expect(created).toMatchObject({ identifier: email, role: 'TEACHER', status: 'pending', reused: false, createdBy: 'cli' });
    await invitationToken(stack, 'mails', email);
    const again = JSON.parse((await run('invite', '--tenant', 'state-demo', '--email', email)).stdout) as Json;
    expect(again).toMatchObject({ id: created.id, reused: true });
    const listed = JSON.parse((await run('invitations', '--tenant', 'state-demo', '--status', 'pending')).stdout) as Json[];
    expect(listed.map((i) => i.id)).toContain(created.id);
    expect(JSON.parse((await run('resend', created.id, '--tenant', 'state-demo')).stdout)).toMatchObject({ id: created.id, sendCount: 3 });
    expect(JSON.parse((await run('revoke', created.id, '--tenant', 'state-demo')).stdout)).toMatchObject({ id: created.id, status: 'revoked' });

    await expect(run('invite', '--tenant', 'state-demo', '--email', 'nope')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('VALIDATION_FAILED'),
    });
    await expect(run('invite', '--tenant', 'nowhere', '--email', newEmail())).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('NOT_FOUND') });
    await expect(run('invitations')).rejects.toMatchObject({ code: 2 });
    await expect(run('invitations', '--tenant', 'state-demo', '--status', 'odd')).rejects.toMatchObject({ code: 2 });
  }, 240_000);
});
