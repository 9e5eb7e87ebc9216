import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HttpUpstreamCore } from '../../bff/src/adapters/upstream-core/http-upstream-core.ts';
import { startUpstreamServer, type RunningUpstreamServer } from '../../upstream/src/server.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt, portalSignIn } from '../support/oidc.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Lazy migration of a member whose `externalId` names no platform account (issue 15 §5, decision
 * 0012): the state the core's own create route leaves when another client made the member. Before,
 * every sign-in ended in "try again in a moment" (the core refused the new link); now the member is
 * imported as a new account and the stale value replaced (the contract's compare-and-set `replaces`)
 * — unless Keycloak recorded that account's deletion.
 *
 * Its own reference core (the current source, in this process, own database) so the contract change is
 * the one under test; the BFF runs on the stack's BFF port, where Keycloak's login page asks it.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const admin = adminFor(stack);
const realm = stack.settings.platformRealm;
const browser = useBrowser();
const SECRET = stack.settings.keycloakCallbackSecret;
const API_KEY = `stale-link-${randomBytes(12).toString('hex')}`;
const SCHEMA = 'stale_link_core';
const PASSWORD = 'Upstream#Pass2026';

let db: TestDatabase;
let core: RunningUpstreamServer;
let upstream: HttpUpstreamCore;
let sql: pg.Pool;
let bff: TestBff;
const madeAccounts: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('stale_link');
  core = await startUpstreamServer({
    databaseUrl: db.url,
    schema: SCHEMA,
    apiKey: API_KEY,
    port: 0,
    logger: (await import('pino')).default({ level: 'silent' }),
  });
  upstream = new HttpUpstreamCore({ baseUrl: core.url, apiKey: API_KEY });
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
  bff = await startTestBff(stack, { UPSTREAM_URL: core.url, UPSTREAM_API_KEY: API_KEY, UPSTREAM_RETRIES: '0' }, { atStackUrl: true, captureLogs: true });
});
afterAll(async () => {
  for (const id of madeAccounts) await admin.delete(`/${realm}/users/${id}`).catch(() => undefined);
  await bff?.close();
  await core?.close();
  await sql?.end();
  await db?.drop();
});

/** A member made through the core's own create route (another client of the core), linked to `externalId`, with a password. */
async function memberCreatedByAnotherClient(externalId: string): Promise<{ id: string; username: string; email: string }> {
  const sfx = randomBytes(4).toString('hex');
  const { user } = await upstream.createUser({
    externalId,
    firstName: 'Farah',
    lastName: 'Khan',
    username: `farah.${sfx}`,
    email: `farah.${sfx}@example.com`,
    phone: `+9197${String(randomInt(10 ** 8)).padStart(8, '0')}`,
  });
  const res = await fetch(`${core.url}/v1/users/${user.id}/password`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ password: PASSWORD }),
  });
  expect(res.status).toBe(204);
  return { id: user.id, username: user.username!, email: user.email! };
}

const externalIdOf = async (id: string) =>
  (await sql.query<{ external_id: string }>(`SELECT external_id FROM ${SCHEMA}.users WHERE id = $1`, [id])).rows[0]!.external_id;
const accountsOf = async (upstreamUserId: string) =>
  ((await admin.get<Json[]>(`/${realm}/users?q=${encodeURIComponent(`upstreamUserId:${upstreamUserId}`)}&briefRepresentation=false`)) ?? []).filter(
    (u) => u.attributes?.upstreamUserId?.[0] === upstreamUserId,
  );

async function ask(path: 'upstream-login' | 'upstream-reset', body: Json) {
  const res = await fetch(`${bff.url}/internal/v1/keycloak/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

describe('a member whose externalId names no platform account', () => {
  it("signs in on Keycloak's login page as a new account, and the core is relinked to it", async () => {
    const stale = randomUUID();
    const member = await memberCreatedByAnotherClient(stale);
    expect(await admin.get(`/${realm}/users/${stale}`)).toBeUndefined();

    const page = await browser().newPage();
    const tokens = await portalSignIn(stack, page, async (p) => {
      await p.locator('#username').fill(member.email);
      await p.locator('#kc-login').click();
      await p.locator('#password').fill(PASSWORD);
      await p.locator('#kc-login').click();
    });
    await page.close();
    const id = decodeJwt<Json>(tokens.id_token);
    madeAccounts.push(id.sub);

    const [account, ...others] = await accountsOf(member.id);
    expect(others).toEqual([]);
    expect(account).toMatchObject({ id: id.sub, username: member.username, email: member.email, enabled: true });
    expect(await externalIdOf(member.id)).toBe(id.sub);
    // The link is live now: the next sign-in is Keycloak's own (the BFF answers the same account).
    expect(await ask('upstream-login', { login: member.username, password: PASSWORD })).toEqual({ status: 200, body: { outcome: 'user', userId: id.sub } });
    expect(bff.logs()).toContain('"relinked":true');
  });

  it('is relinked by "forgot password" too, and a wrong password relinks nothing', async () => {
    const stale = randomUUID();
    const member = await memberCreatedByAnotherClient(stale);
    expect(await ask('upstream-login', { login: member.username, password: 'Not-the-password-1' })).toEqual({ status: 200, body: { outcome: 'none' } });
    expect(await externalIdOf(member.id)).toBe(stale);
    expect(await accountsOf(member.id)).toEqual([]);

    const reset = await ask('upstream-reset', { login: member.email });
    expect(reset).toMatchObject({ status: 200, body: { outcome: 'user' } });
    madeAccounts.push(reset.body.userId);
    expect(await externalIdOf(member.id)).toBe(reset.body.userId);
  });

  it('is not relinked when the account it names was deleted in Keycloak: the usual refusal, nothing imported', async () => {
    // A platform account an admin deleted; its member's deactivation travels through the outbox.
    const deleted = (await admin.post(`/${realm}/users`, { username: `gone-${randomBytes(4).toString('hex')}`, firstName: 'Gone', enabled: true }))!
      .split('/')
      .pop()!;
    await admin.delete(`/${realm}/users/${deleted}`);
    const member = await memberCreatedByAnotherClient(deleted);

    expect(await ask('upstream-login', { login: member.username, password: PASSWORD })).toEqual({ status: 200, body: { outcome: 'none' } });
    expect(await ask('upstream-reset', { login: member.email })).toEqual({ status: 200, body: { outcome: 'none' } });
    expect(await accountsOf(member.id)).toEqual([]);
    expect(await externalIdOf(member.id)).toBe(deleted);
    expect(bff.logs()).toContain('upstream_login.linked_account_deleted');
  });
});
