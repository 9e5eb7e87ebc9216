import { randomBytes, randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { HttpUpstreamCore } from '../../bff/src/adapters/upstream-core/http-upstream-core.ts';
import { createPool, withTransaction } from '../../upstream/src/db.ts';
import { startUpstreamServer, type RunningUpstreamServer } from '../../upstream/src/server.ts';
import * as coreStore from '../../upstream/src/store.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call, uniqueId } from '../support/partners.ts';
import { freePort } from '../support/ports.ts';
import { until } from '../support/outbox.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Roles from the upstream core reach Keycloak tokens (decision 0033): the core's change feed, followed
 * by the BFF, writes a member's current roles into the Keycloak attribute `upstreamRoles`, which the
 * optional client scope `upstream-roles` puts into tokens as `upstream_roles`.
 *
 * This file runs its own reference core (real server, in this process, on a fixed port so it can be
 * stopped and started) and TWO BFFs sharing one BFF database (two processes following one feed). The
 * stated time for a change to reach the next token is one poll interval (UPSTREAM_ROLES_POLL_MS, 300 ms
 * here) plus the time to apply it; the tests poll the token and never sleep blindly.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const kcAdmin = adminFor(stack);
const keys = testKeyPrefix(uniqueId('upstream-roles'));
const API_KEY = `roles-upstream-${randomBytes(12).toString('hex')}`;
const SCHEMA = 'roles_core';
const PASSWORD = `Roles#${randomBytes(6).toString('hex')}Aa1`;
const ROOT = 'roles-root';
const SUB = 'roles-sub';
const CUSTODIAN = 'roles-custodian';
let db: TestDatabase;
let upstreamPort: number;
let core: RunningUpstreamServer | undefined;
let coreDb: pg.Pool;
let bffDb: pg.Pool;
let bffs: TestBff[] = [];
let upstream: HttpUpstreamCore;

const startCore = async () => {
  core = await startUpstreamServer({ databaseUrl: db.url, schema: SCHEMA, apiKey: API_KEY, port: upstreamPort, logger: pino({ level: 'silent' }) });
};

beforeAll(async () => {
  db = await createTestDatabase('roles');
  upstreamPort = await freePort();
  await startCore();
  coreDb = createPool(db.url, SCHEMA);
  await coreDb.query(`INSERT INTO organisations (id, name, channel) VALUES ($1, 'Roles root', 'roles-test')`, [ROOT]);
  await coreDb.query(`INSERT INTO organisations (id, name, root_org_id) VALUES ($1, 'Roles sub', $2)`, [SUB, ROOT]);
  // The custodian channel, for accounts the BFF creates (sign-up gives them PUBLIC there).
  await coreDb.query(`INSERT INTO organisations (id, name, channel) VALUES ($1, 'Custodian', 'custodian')`, [CUSTODIAN]);
  bffDb = new pg.Pool({ connectionString: db.url, max: 2 });
  upstream = new HttpUpstreamCore({ baseUrl: core!.url, apiKey: API_KEY });
  const env = {
    REDIS_PREFIX: keys.prefix,
    BFF_DATABASE_URL: db.url,
    UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`,
    UPSTREAM_API_KEY: API_KEY,
    UPSTREAM_RETRIES: '0',
    UPSTREAM_OUTBOX_ENABLED: 'false',
    UPSTREAM_ROLES_ENABLED: 'true',
    UPSTREAM_ROLES_POLL_MS: '300',
  };
  // One after the other: the second finds the migrations done.
  bffs = [await startTestBff(stack, env, { captureLogs: true })];
  bffs.push(await startTestBff(stack, env, { captureLogs: true }));
});

// A failed outage test must not leave the core stopped for the next one.
afterEach(async () => {
  if (!core) await startCore();
});

afterAll(async () => {
  for (const bff of bffs) await bff.close();
  await core?.close();
  await coreDb?.end();
  await bffDb?.end();
  await keys.cleanup();
  await db?.drop();
});

/** A Keycloak account with a password, and its upstream account in this file's core, linked (externalId = Keycloak id). */
async function linkedMember(): Promise<{ id: string; username: string; upstreamUserId: string }> {
  const username = uniqueId('roles').replace('-', '');
  const location = await kcAdmin.post(`/${realm}/users`, {
    username,
    email: `${username}@example.org`,
    emailVerified: true,
    firstName: 'Role',
    lastName: 'Member',
    enabled: true,
    credentials: [{ type: 'password', value: PASSWORD, temporary: false }],
  });
  const id = location!.split('/').pop()!;
  const { user } = await upstream.createUser({ externalId: id, firstName: 'Role', lastName: 'Member' });
  // Linked on Keycloak's side too, as every flow that makes an active member leaves it (the sync holds
  // back from new accounts that are not, decision 0033).
  const account = (await kcAdmin.get<Json>(`/${realm}/users/${id}`))!;
  await kcAdmin.put(`/${realm}/users/${id}`, { ...account, attributes: { ...account.attributes, upstreamUserId: [user.id] } });
  return { id, username, upstreamUserId: user.id };
}

const tokenEndpoint = () => `${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`;

async function grant(params: Record<string, string>): Promise<Json> {
  const res = await fetch(tokenEndpoint(), {
    method: 'POST',
    body: new URLSearchParams({ client_id: 'user-api', client_secret: stack.settings.userApiClientSecret, ...params }),
  });
  const body = (await res.json()) as Json;
  // Keycloak answers every refused login alike; its event says why (no such user, wrong password, locked).
  const why = res.status === 200 ? '' : JSON.stringify(await loginErrors(params.username));
  expect(res.status, `${JSON.stringify(body)} ${why}`).toBe(200);
  return body;
}

async function loginErrors(username: string | undefined): Promise<Json[]> {
  const events = (await kcAdmin.get<Json[]>(`/${realm}/events?type=LOGIN_ERROR&client=user-api&max=50`)) ?? [];
  return events.filter((e) => !username || e.details?.username === username).map((e) => ({ error: e.error, userId: e.userId, time: e.time }));
}

/** Tokens of the person (the user-api client's password grant), asking for the scope `upstream-roles` unless told otherwise. */
async function tokens(username: string, scope = 'openid upstream-roles'): Promise<{ access: Json; id: Json | null; raw: string }> {
  const body = await grant({ grant_type: 'password', username, password: PASSWORD, scope });
  return { access: decodeJwt(body.access_token), id: body.id_token ? decodeJwt(body.id_token) : null, raw: body.access_token };
}

/**
 * The person's next token: signed in once (password grant, scope `upstream-roles`), then each next
 * token by the refresh grant, as a client renews its tokens (Keycloak reads the user's attributes
 * anew for each; repeated password grants would also meet the realm's brute-force "quick login" check).
 */
const sessions = new Map<string, string>();
async function nextToken(username: string): Promise<Json> {
  const refresh = sessions.get(username);
  const body = refresh
    ? await grant({ grant_type: 'refresh_token', refresh_token: refresh })
    : await grant({ grant_type: 'password', username, password: PASSWORD, scope: 'openid upstream-roles' });
  sessions.set(username, body.refresh_token);
  return decodeJwt(body.access_token);
}

const rolesInToken = async (username: string): Promise<string[]> => [...((await nextToken(username)).upstream_roles ?? [])].sort();

/** Polls the next token until it carries exactly `wanted`; the test's timeout bounds it. */
async function untilToken(username: string, wanted: string[]): Promise<void> {
  await until(async () => JSON.stringify(await rolesInToken(username)) === JSON.stringify([...wanted].sort()));
}

async function attribute(userId: string): Promise<string[] | undefined> {
  return (await kcAdmin.get<Json>(`/${realm}/users/${userId}`))!.attributes?.upstreamRoles;
}

/** `upstream_roles_applied_total{outcome}` summed over both BFFs (each counts what it applied). */
async function appliedTotal(outcome: string): Promise<number> {
  let total = 0;
  for (const bff of bffs) {
    const text = await (await fetch(`${bff.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`upstream_roles_applied_total{outcome="${outcome}"}`));
    total += line ? Number(line.split(' ').pop()) : 0;
  }
  return total;
}

async function cursor(): Promise<number> {
  const { rows } = await bffDb.query<{ position: string }>('SELECT position FROM upstream_roles_cursor');
  return Number(rows[0]?.position ?? 0);
}

async function feedEnd(): Promise<number> {
  const { rows } = await coreDb.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM membership_changes');
  return Number(rows[0]?.seq ?? 0);
}

describe('roles from the upstream core', () => {
  it('a role granted in the core appears in the next token, in access and ID tokens; revoked, it is gone', async () => {
    const m = await linkedMember();
    expect(await rolesInToken(m.username)).toEqual([]);

    const granted = await call(`${core!.url}/v1/users/${m.upstreamUserId}/memberships/${SUB}`, 'PUT', {
      token: API_KEY,
      body: { roles: ['PUBLIC', 'CONTENT_CREATOR'] },
    });
    expect(granted.status).toBe(201);
    await untilToken(m.username, [`${SUB}:CONTENT_CREATOR`, `${SUB}:PUBLIC`]);
    const both = await tokens(m.username);
    expect(both.id?.upstream_roles?.sort()).toEqual([`${SUB}:CONTENT_CREATOR`, `${SUB}:PUBLIC`]);
    expect(both.access.scope.split(' ')).toContain('upstream-roles');

    // A role revoked (the roles set to fewer), then the membership removed.
    await upstream.addMembership(m.upstreamUserId, SUB, ['PUBLIC']);
    await untilToken(m.username, [`${SUB}:PUBLIC`]);
    await upstream.addMembership(m.upstreamUserId, ROOT, ['ORG_ADMIN']);
    await untilToken(m.username, [`${ROOT}:ORG_ADMIN`, `${SUB}:PUBLIC`]);
    await upstream.removeMembership(m.upstreamUserId, SUB);
    await untilToken(m.username, [`${ROOT}:ORG_ADMIN`]);
    await upstream.removeMembership(m.upstreamUserId, ROOT);
    await untilToken(m.username, []);
    expect(await attribute(m.id)).toBeUndefined();
  });

  it('only tokens that ask for the scope carry the claim; a deactivated member carries none', async () => {
    const m = await linkedMember();
    await upstream.addMembership(m.upstreamUserId, ROOT, ['PUBLIC']);
    await untilToken(m.username, [`${ROOT}:PUBLIC`]);
    const plain = await tokens(m.username, 'openid');
    expect(plain.access).not.toHaveProperty('upstream_roles');
    expect(plain.id).not.toHaveProperty('upstream_roles');

    // Only an active member's roles are theirs: deactivated in the core, the claim empties; active again, it is back.
    await upstream.deactivateUser(m.upstreamUserId);
    await untilToken(m.username, []);
    await upstream.activateUser(m.upstreamUserId);
    await untilToken(m.username, [`${ROOT}:PUBLIC`]);
  });

  it('lazy migration: linking an upstream-only member to the platform brings their roles', async () => {
    // An upstream-only member (no externalId yet), as the demo data makes them, with a membership.
    const { rows } = await coreDb.query<{ id: string }>(`INSERT INTO users (first_name) VALUES ('Upstream only') RETURNING id`);
    const upstreamUserId = rows[0]!.id;
    await upstream.addMembership(upstreamUserId, SUB, ['TEACHER']);
    // Its Keycloak account as lazy migration makes it (upstreamUserId set), then the link in the core.
    const username = uniqueId('rolesmig').replace('-', '');
    const location = await kcAdmin.post(`/${realm}/users`, {
      username,
      email: `${username}@example.org`,
      emailVerified: true,
      firstName: 'Migrated',
      enabled: true,
      attributes: { upstreamUserId: [upstreamUserId], signUpType: ['upstreamMigration'] },
      credentials: [{ type: 'password', value: PASSWORD, temporary: false }],
    });
    const kcId = location!.split('/').pop()!;
    await until(async () => (await cursor()) >= (await feedEnd()));
    expect(await attribute(kcId)).toBeUndefined();

    await upstream.linkExternalId(upstreamUserId, kcId);
    await untilToken(username, [`${SUB}:TEACHER`]);
  });

  it('the feed applied twice, and its entries out of order, change nothing: the current state is applied', async () => {
    const m = await linkedMember();
    // A history with earlier states that must not come back: three roles, then one, then another org.
    await upstream.addMembership(m.upstreamUserId, SUB, ['PUBLIC', 'REVIEWER', 'CONTENT_CREATOR']);
    await upstream.addMembership(m.upstreamUserId, SUB, ['REVIEWER']);
    await upstream.addMembership(m.upstreamUserId, ROOT, ['PUBLIC']);
    const final = [`${ROOT}:PUBLIC`, `${SUB}:REVIEWER`];
    await untilToken(m.username, final);
    await until(async () => (await cursor()) >= (await feedEnd()));
    const written = await appliedTotal('written');

    // Replay: the cursor back to the start, so every entry of every member (this one's oldest first) is applied again.
    await bffDb.query('UPDATE upstream_roles_cursor SET position = 0');
    await until(async () => (await cursor()) >= (await feedEnd()));
    expect(await rolesInToken(m.username)).toEqual(final);
    // Nothing was written again: every member's attribute already held their current roles.
    expect(await appliedTotal('written')).toBe(written);

    // Out of order: an entry naming this member that is older than the state it already has (a late, stale delivery).
    await coreDb.query('INSERT INTO membership_changes (user_id, external_id) VALUES ($1, $2)', [m.upstreamUserId, m.id]);
    await until(async () => (await cursor()) >= (await feedEnd()));
    expect(await rolesInToken(m.username)).toEqual(final);
    expect(await appliedTotal('written')).toBe(written);
  });

  it('waits for an account still being provisioned (new, disabled), then applies: the two writes do not undo each other', async () => {
    const username = uniqueId('rolesprov').replace('-', '');
    // As AccountService.create leaves it between the core's membership and its last Keycloak write.
    const location = await kcAdmin.post(`/${realm}/users`, {
      username,
      email: `${username}@example.org`,
      emailVerified: true,
      firstName: 'Provisioned',
      enabled: false,
      credentials: [{ type: 'password', value: PASSWORD, temporary: false }],
    });
    const id = location!.split('/').pop()!;
    const { user } = await upstream.createUser({ externalId: id, firstName: 'Provisioned' });
    await upstream.addMembership(user.id, ROOT, ['PUBLIC']);
    await until(async () => bffs.some((b) => b.logs().includes('"outcome":"waiting"')) || (await attribute(id)) !== undefined);
    expect(await attribute(id)).toBeUndefined();
    // The flow's last write: enabled and linked.
    const account = (await kcAdmin.get<Json>(`/${realm}/users/${id}`))!;
    await kcAdmin.put(`/${realm}/users/${id}`, { ...account, enabled: true, attributes: { ...account.attributes, upstreamUserId: [user.id] } });
    await untilToken(username, [`${ROOT}:PUBLIC`]);
    const after = (await kcAdmin.get<Json>(`/${realm}/users/${id}`))!;
    expect(after.enabled).toBe(true);
    expect(after.attributes.upstreamUserId).toEqual([user.id]);
  });

  it("an account the BFF creates (sign-up's PUBLIC membership) gets its role once its creation is done, in one write", async () => {
    const written = await appliedTotal('written');
    const n = randomBytes(4).toString('hex');
    const result = await bffs[0]!.container.accounts.create(
      {
        firstName: 'Signed Up',
        email: `rolessignup.${n}@example.org`,
        emailVerified: true,
        phoneVerified: false,
        password: PASSWORD,
        signUpType: 'self',
        channel: 'custodian',
      },
      { idempotencyKey: randomUUID() },
    );
    await untilToken(result.username, [`${CUSTODIAN}:PUBLIC`]);
    const account = (await kcAdmin.get<Json>(`/${realm}/users/${result.userId}`))!;
    expect(account.enabled).toBe(true);
    expect(account.attributes.upstreamUserId).toEqual([result.upstreamUserId]);
    await until(async () => (await cursor()) >= (await feedEnd()));
    expect((await appliedTotal('written')) - written).toBe(1);
  });

  it('the core down loses nothing: a change made meanwhile arrives once the core is back, from where the feed was left', async () => {
    const m = await linkedMember();
    await upstream.addMembership(m.upstreamUserId, ROOT, ['PUBLIC']);
    await untilToken(m.username, [`${ROOT}:PUBLIC`]);
    await until(async () => (await cursor()) >= (await feedEnd()));

    await core!.close();
    core = undefined;
    const before = await cursor();
    // The core's API is down; inside the core the change is made as its route makes it (one transaction with its feed entry).
    const inside = createPool(db.url, SCHEMA);
    await withTransaction(inside, (tx) => coreStore.putMembership(tx, m.upstreamUserId, ROOT, ['PUBLIC', 'ORG_ADMIN']));
    await inside.end();
    // Both BFFs try and fail meanwhile (their logs say so, without member data); the cursor stays.
    await until(async () => bffs.every((b) => b.logs().includes('upstream roles: pass failed')));
    expect(await cursor()).toBe(before);
    expect(await rolesInToken(m.username)).toEqual([`${ROOT}:PUBLIC`]);
    for (const b of bffs) expect(b.logs()).not.toContain('example.org');

    await startCore();
    await untilToken(m.username, [`${ROOT}:ORG_ADMIN`, `${ROOT}:PUBLIC`]);
    expect(await cursor()).toBeGreaterThan(before);
  });

  it('two BFFs follow one feed: each change is applied once, and no member regresses', async () => {
    const members = await Promise.all([1, 2, 3, 4, 5].map(() => linkedMember()));
    await until(async () => (await cursor()) >= (await feedEnd()));
    const written = await appliedTotal('written');
    // Whole seconds; the BFFs stamp the gauge with this process's clock.
    const burstStarted = Math.floor(Date.now() / 1000);
    for (const m of members) await upstream.addMembership(m.upstreamUserId, SUB, ['PUBLIC']);
    for (const m of members) await upstream.addMembership(m.upstreamUserId, SUB, ['PUBLIC', 'TEACHER']);
    for (const m of members) await untilToken(m.username, [`${SUB}:PUBLIC`, `${SUB}:TEACHER`]);
    await until(async () => (await cursor()) >= (await feedEnd()));
    // Ten entries for five members: each member written at least once (one read may cover both of a
    // member's entries) and at most twice, across both processes: no entry was applied by both.
    const delta = (await appliedTotal('written')) - written;
    expect(delta).toBeGreaterThanOrEqual(5);
    expect(delta).toBeLessThanOrEqual(10);
    for (const m of members) expect(await attribute(m.id)).toEqual(expect.arrayContaining([`${SUB}:PUBLIC`, `${SUB}:TEACHER`]));
    // Every process shows the shared position and when the feed was last read to its end (the lag to watch).
    for (const bff of bffs) {
      const metrics = await (await fetch(`${bff.url}/metrics`)).text();
      expect(metrics).toContain(`upstream_roles_feed_position ${await cursor()}`);
      const caughtUp = Number(/^upstream_roles_caught_up_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
      expect(caughtUp).toBeGreaterThanOrEqual(burstStarted);
    }
  });
});

describe('upstreamRoles cannot be set by the user', () => {
  it("not through Keycloak's account API, nor the BFF's profile API", async () => {
    const m = await linkedMember();
    await upstream.addMembership(m.upstreamUserId, ROOT, ['PUBLIC']);
    await untilToken(m.username, [`${ROOT}:PUBLIC`]);
    const { raw } = await tokens(m.username, 'openid');

    // Keycloak's Account REST API, as the account console would call it with the person's token.
    const accountUrl = `${stack.keycloakUrl}/realms/${realm}/account`;
    const headers = { authorization: `Bearer ${raw}`, 'content-type': 'application/json', accept: 'application/json' };
    const mine = (await (await fetch(accountUrl, { headers })).json()) as Json;
    expect(mine.attributes?.upstreamRoles).toBeUndefined(); // not even shown to the user
    const attempt = await fetch(accountUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({ ...mine, attributes: { ...(mine.attributes ?? {}), upstreamRoles: [`${ROOT}:ORG_ADMIN`] } }),
    });
    expect([204, 400]).toContain(attempt.status);
    expect(await attribute(m.id)).toEqual([`${ROOT}:PUBLIC`]);

    // The BFF's profile API refuses the field by name.
    const bff = bffs[0]!;
    for (const body of [{ upstreamRoles: [`${ROOT}:ORG_ADMIN`] }, { attributes: { upstreamRoles: [`${ROOT}:ORG_ADMIN`] } }]) {
      const res = await call(`${bff.url}/api/v1/user`, 'PUT', { token: raw, body });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
    expect(await attribute(m.id)).toEqual([`${ROOT}:PUBLIC`]);
    expect(await rolesInToken(m.username)).toEqual([`${ROOT}:PUBLIC`]);
  });

  it('a user with no link to the core gets no claim, and a feed entry naming an unknown account is passed over', async () => {
    const username = uniqueId('rolesnone').replace('-', '');
    await kcAdmin.post(`/${realm}/users`, {
      username,
      email: `${username}@example.org`,
      emailVerified: true,
      firstName: 'Unlinked',
      enabled: true,
      credentials: [{ type: 'password', value: PASSWORD, temporary: false }],
    });
    // A core member linked to a platform id that is no Keycloak account.
    const { user } = await upstream.createUser({ externalId: randomUUID(), firstName: 'Nobody' });
    await upstream.addMembership(user.id, ROOT, ['PUBLIC']);
    await until(async () => (await cursor()) >= (await feedEnd()));
    expect(await rolesInToken(username)).toEqual([]);
  });
});
