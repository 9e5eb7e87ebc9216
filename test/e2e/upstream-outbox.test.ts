import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { HttpUpstreamCore } from '../../bff/src/adapters/upstream-core/http-upstream-core.ts';
import { startUpstreamServer, type RunningUpstreamServer } from '../../upstream/src/server.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call, platformAdminToken, uniqueId } from '../support/partners.ts';
import { freePort } from '../support/ports.ts';
import { outboxAdmin, until } from '../support/outbox.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * The upstream outbox (decision 0013) across an outage of the upstream core: changes made in Keycloak
 * (here through its Admin API as the master admin, like the admin console) while the core is stopped
 * wait as pending rows; once it is started again every change arrives exactly once and in order.
 *
 * This file runs its own reference upstream core (the real server, in this process) on a fixed port so
 * it can be stopped and started without disturbing the other test files, and its own BFF database
 * (its own outbox and event cursors).
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const kcAdmin = adminFor(stack);
const keys = testKeyPrefix(uniqueId('upstream-outbox'));
const API_KEY = `outbox-upstream-${randomBytes(12).toString('hex')}`;
const SCHEMA = 'outbox_core';
let db: TestDatabase;
let upstreamPort: number;
let core: RunningUpstreamServer | undefined;
let sql: pg.Pool;
let bff: TestBff;
let adminToken: string;
let upstream: HttpUpstreamCore;

const startCore = async () => {
  core = await startUpstreamServer({
    databaseUrl: db.url,
    schema: SCHEMA,
    apiKey: API_KEY,
    port: upstreamPort,
    logger: (await import('pino')).default({ level: 'silent' }),
  });
};

beforeAll(async () => {
  db = await createTestDatabase('outbox');
  upstreamPort = await freePort();
  await startCore();
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
  upstream = new HttpUpstreamCore({ baseUrl: core!.url, apiKey: API_KEY });
  bff = await startTestBff(stack, {
    REDIS_PREFIX: keys.prefix,
    BFF_DATABASE_URL: db.url,
    UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`,
    UPSTREAM_API_KEY: API_KEY,
    UPSTREAM_RETRIES: '0',
    UPSTREAM_OUTBOX_ENABLED: 'true',
    UPSTREAM_OUTBOX_INTERVAL_MS: '200',
    UPSTREAM_OUTBOX_BASE_DELAY_MS: '200',
    UPSTREAM_OUTBOX_MAX_DELAY_MS: '1000',
  });
  adminToken = await platformAdminToken(stack);
  // The event cursors exist once the first pass ran: changes from here on are recorded.
  await until(async () => (await outbox()).feeds.length === 2);
});

// A failed outage test must not leave the core stopped for the next one.
afterEach(async () => {
  if (!core) await startCore();
});

afterAll(async () => {
  await bff?.close();
  await core?.close();
  await sql?.end();
  await keys.cleanup();
  await db?.drop();
});

const { outbox, rowsOf } = outboxAdmin(() => ({ bffUrl: bff.url, adminToken }));

/** A Keycloak change as the admin console makes it: read the whole user, change it, write it back. */
async function changeInKeycloak(userId: string, change: (u: Json) => void): Promise<void> {
  const user = (await kcAdmin.get<Json>(`/${realm}/users/${userId}`))!;
  change(user);
  await kcAdmin.put(`/${realm}/users/${userId}`, user);
}

/** A linked member: a Keycloak account converted through the admin API (its upstream account is in this file's core). */
async function member(): Promise<{ id: string; upstreamUserId: string; name: string }> {
  const name = uniqueId('outbox').replace('-', '');
  const location = await kcAdmin.post(`/${realm}/users`, {
    username: name,
    email: `${name}@example.org`,
    firstName: 'First',
    lastName: 'Member',
    enabled: true,
  });
  const id = location!.split('/').pop()!;
  const converted = await call(`${bff.url}/api/admin/v1/users/${id}/upstream-link`, 'PUT', { token: adminToken });
  expect(converted.status).toBe(201);
  return { id, upstreamUserId: converted.body.upstreamUserId, name };
}

/**
 * A change the core refuses: the member's Keycloak email is set to an address another member of the
 * core holds; resolves once its outbox row has failed. `holderId` is that other member (to free the address).
 */
async function refusedEmailChange(userId: string, label: string): Promise<{ email: string; holderId: string }> {
  const email = `${uniqueId(label).replace('-', '')}@example.org`;
  const holder = await upstream.createUser({ externalId: crypto.randomUUID(), firstName: 'Holder', email });
  await changeInKeycloak(userId, (u) => (u.email = email));
  await until(async () => (await rowsOf(userId)).some((r) => r.status === 'failed'));
  return { email, holderId: holder.user.id };
}

async function applied(upstreamUserId: string): Promise<{ idempotency_key: string; operation: string; response: Json }[]> {
  const { rows } = await sql.query(`SELECT idempotency_key, operation, response FROM ${SCHEMA}.applied_changes WHERE user_id = $1 ORDER BY seq`, [
    upstreamUserId,
  ]);
  return rows;
}

describe('upstream outbox', () => {
  it('delivers a Keycloak change of a linked member once, with its row id as the idempotency key', async () => {
    const m = await member();
    await changeInKeycloak(m.id, (u) => (u.firstName = 'Renamed'));
    await until(async () => (await rowsOf(m.id)).some((r) => r.status === 'delivered'));
    const [row] = await rowsOf(m.id);
    expect(row).toMatchObject({ kind: 'profile', status: 'delivered', attempts: 1, lastError: null, upstreamUserId: m.upstreamUserId });
    expect((await upstream.getUser(m.upstreamUserId))?.firstName).toBe('Renamed');
    expect((await applied(m.upstreamUserId)).map((a) => a.idempotency_key)).toEqual([row!.id]);

    // The same key again (a lost answer, a retry): answered from the record, not applied a second time.
    const replay = await fetch(`${core!.url}/v1/users/${m.upstreamUserId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'idempotency-key': row!.id },
      body: JSON.stringify({ firstName: 'Renamed-again' }),
    });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await upstream.getUser(m.upstreamUserId))?.firstName).toBe('Renamed');
    expect(await applied(m.upstreamUserId)).toHaveLength(1);
  });

  it('keeps changes made while the upstream core is stopped and delivers each exactly once, in order, when it is back', async () => {
    const m = await member();
    await core!.close();
    core = undefined;

    const steps: [string, (u: Json) => void][] = [
      ['name', (u) => (u.firstName = 'Second')],
      ['email', (u) => (u.email = `${m.name}.new@example.org`)],
      ['phone', (u) => (u.attributes = { ...u.attributes, phone: ['+919812345678'] })],
      ['disable', (u) => (u.enabled = false)],
    ];
    for (const [index, [, change]] of steps.entries()) {
      await changeInKeycloak(m.id, change);
      // Each change recorded before the next one is made, so each is its own row.
      await until(async () => (await rowsOf(m.id)).length === index + 1);
    }
    await kcAdmin.delete(`/${realm}/users/${m.id}`);
    await until(async () => (await rowsOf(m.id)).length === 5);

    // During the outage: all pending, the first one retrying with the error code.
    await until(async () => ((await rowsOf(m.id))[0]?.attempts ?? 0) >= 1);
    const waiting = await rowsOf(m.id);
    expect(waiting.map((r) => [r.kind, r.fields, r.status])).toEqual([
      // The first change seen of a member carries the whole profile (nothing recorded to compare with).
      ['profile', ['firstName', 'lastName', 'email', 'phone'], 'pending'],
      ['profile', ['email'], 'pending'],
      ['profile', ['phone'], 'pending'],
      ['status', ['inactive'], 'pending'],
      ['delete', [], 'pending'],
    ]);
    expect(waiting[0]!.lastError).toBe('UPSTREAM_UNAVAILABLE');
    // Later rows of the member wait for the first: only it was attempted.
    expect(waiting.slice(1).every((r) => r.attempts === 0)).toBe(true);
    expect((await outbox('?status=pending')).counts.pending).toBeGreaterThanOrEqual(5);

    await startCore();
    await until(async () => (await rowsOf(m.id)).every((r) => r.status === 'delivered'));
    const rows = await rowsOf(m.id);
    expect((await outbox(`?status=pending&userId=${m.id}`)).items).toEqual([]);

    // Exactly once and in order: one applied change per row, in the rows' order, with the values of each step.
    const log = await applied(m.upstreamUserId);
    expect(log.map((a) => a.idempotency_key)).toEqual(rows.map((r) => r.id));
    expect(log.map((a) => a.operation)).toEqual(['updateProfile', 'updateProfile', 'updateProfile', 'setStatus:inactive', 'setStatus:inactive']);
    expect(log[0]!.response).toMatchObject({ firstName: 'Second', email: `${m.name}@example.org`, phone: null });
    expect(log[1]!.response).toMatchObject({ firstName: 'Second', email: `${m.name}.new@example.org`, phone: null });
    expect(log[2]!.response).toMatchObject({ email: `${m.name}.new@example.org`, phone: '+919812345678', status: 'active' });
    expect(log[3]!.response).toMatchObject({ status: 'inactive' });
    expect(await upstream.getUser(m.upstreamUserId)).toMatchObject({
      firstName: 'Second',
      email: `${m.name}.new@example.org`,
      phone: '+919812345678',
      status: 'inactive',
    });
  });

  it("a refused change fails at once, holds the member's later changes, and an admin retry delivers it once the cause is fixed", async () => {
    const m = await member();
    const { email, holderId } = await refusedEmailChange(m.id, 'taken');
    await changeInKeycloak(m.id, (u) => (u.firstName = 'After'));
    await until(async () => (await rowsOf(m.id)).length === 2);
    const [failed, held] = await rowsOf(m.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, lastError: 'CONFLICT:IDENTIFIER_TAKEN', fields: expect.arrayContaining(['email']) });
    expect(held).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await outbox('?status=failed')).items.map((r: Json) => r.id)).toContain(failed!.id);

    const notFailed = await call(`${bff.url}/api/admin/v1/upstream-outbox/${held!.id}/retry`, 'POST', { token: adminToken });
    expect(notFailed.status).toBe(409);
    expect((await call(`${bff.url}/api/admin/v1/upstream-outbox/${crypto.randomUUID()}/retry`, 'POST', { token: adminToken })).status).toBe(404);
    expect((await call(`${bff.url}/api/admin/v1/upstream-outbox/${failed!.id}/retry`, 'POST')).status).toBe(401);

    await upstream.deleteUser(holderId); // frees the address
    const retried = await call(`${bff.url}/api/admin/v1/upstream-outbox/${failed!.id}/retry`, 'POST', { token: adminToken });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'pending', attempts: 0 });
    await until(async () => (await rowsOf(m.id)).every((r) => r.status === 'delivered'));
    expect((await applied(m.upstreamUserId)).map((a) => a.idempotency_key)).toEqual([failed!.id, held!.id]);
    expect(await upstream.getUser(m.upstreamUserId)).toMatchObject({ email, firstName: 'After' });
  });

  it("an admin skip gives up on a refused change for good; the member's later changes go through", async () => {
    const m = await member();
    await refusedEmailChange(m.id, 'kept');
    await changeInKeycloak(m.id, (u) => (u.lastName = 'Later'));
    await until(async () => (await rowsOf(m.id)).length === 2);
    const [failed, held] = await rowsOf(m.id);
    expect(held).toMatchObject({ status: 'pending', attempts: 0 });

    const skip = (id: string, token?: string) => call(`${bff.url}/api/admin/v1/upstream-outbox/${id}/skip`, 'POST', token ? { token } : {});
    expect((await skip(failed!.id)).status).toBe(401);
    const notFailed = await skip(held!.id, adminToken);
    expect(notFailed.status).toBe(409);
    expect(notFailed.body).toMatchObject({ code: 'CONFLICT', fields: [expect.objectContaining({ field: 'status', reason: 'not_failed' })] });
    expect((await skip(crypto.randomUUID(), adminToken)).status).toBe(404);

    const skipped = await skip(failed!.id, adminToken);
    expect(skipped.status).toBe(200);
    expect(skipped.body).toMatchObject({ id: failed!.id, status: 'skipped' });
    await until(async () => (await rowsOf(m.id))[1]?.status === 'delivered');
    // Only the later change reached the core; the skipped one never did, and its payload is gone.
    expect((await applied(m.upstreamUserId)).map((a) => a.idempotency_key)).toEqual([held!.id]);
    expect(await upstream.getUser(m.upstreamUserId)).toMatchObject({ email: `${m.name}@example.org`, lastName: 'Later' });
    const { rows } = await sql.query('SELECT status, payload FROM upstream_outbox WHERE id = $1', [failed!.id]);
    expect(rows).toEqual([{ status: 'skipped', payload: null }]);
    expect((await outbox('?status=skipped')).items.map((r: Json) => r.id)).toContain(failed!.id);
    expect((await skip(failed!.id, adminToken)).status).toBe(409);
  });

  it('an admin resync after a skip brings the core in step: the whole profile and status, each once', async () => {
    const m = await member();
    const { email, holderId } = await refusedEmailChange(m.id, 'resync');
    const [failed] = await rowsOf(m.id);
    expect((await call(`${bff.url}/api/admin/v1/upstream-outbox/${failed!.id}/skip`, 'POST', { token: adminToken })).status).toBe(200);
    // The cause goes away (the other member gives the address up); the core still has the old one.
    await upstream.updateProfile(holderId, { email: `${uniqueId('moved').replace('-', '')}@example.org` }, { idempotencyKey: crypto.randomUUID() });
    expect(await upstream.getUser(m.upstreamUserId)).toMatchObject({ email: `${m.name}@example.org` });

    const resync = (userId: string, token?: string) => call(`${bff.url}/api/admin/v1/users/${userId}/upstream-resync`, 'POST', token ? { token } : {});
    expect((await resync(m.id)).status).toBe(401);
    expect((await resync(crypto.randomUUID(), adminToken)).status).toBe(404);
    const prospective = (await kcAdmin.post(`/${realm}/users`, { username: uniqueId('prospect').replace('-', ''), firstName: 'Pro', enabled: true }))!
      .split('/')
      .pop()!;
    const notLinked = await resync(prospective, adminToken);
    expect(notLinked.status).toBe(409);
    expect(notLinked.body).toMatchObject({ code: 'CONFLICT', fields: [expect.objectContaining({ field: 'upstreamUserId', reason: 'not_linked' })] });

    const queued = await resync(m.id, adminToken);
    expect(queued.status).toBe(202);
    expect(queued.body.rows.map((r: Json) => [r.kind, r.fields, r.status])).toEqual([
      ['profile', ['firstName', 'lastName', 'email', 'phone'], 'pending'],
      ['status', ['active'], 'pending'],
    ]);
    await until(async () => (await rowsOf(m.id)).filter((r) => r.status === 'delivered').length === 2);
    expect(await upstream.getUser(m.upstreamUserId)).toMatchObject({ email, firstName: 'First', lastName: 'Member', status: 'active' });
    expect((await applied(m.upstreamUserId)).map((a) => a.idempotency_key)).toEqual(queued.body.rows.map((r: Json) => r.id));
    // The recorded state is the current one: the next change is diffed against it (one field).
    await changeInKeycloak(m.id, (u) => (u.firstName = 'Renamed'));
    await until(async () => (await rowsOf(m.id)).length === 4);
    expect((await rowsOf(m.id))[3]).toMatchObject({ kind: 'profile', fields: ['firstName'] });
    await kcAdmin.delete(`/${realm}/users/${prospective}`);
  });

  it('follows a change the member makes in the account console (a user event)', async () => {
    const m = await member();
    const password = `Pw-${randomBytes(9).toString('base64url')}`;
    await kcAdmin.put(`/${realm}/users/${m.id}/reset-password`, { type: 'password', value: password, temporary: false });
    await changeInKeycloak(m.id, (u) => (u.emailVerified = true)); // the first change seen: the whole profile
    await until(async () => (await rowsOf(m.id)).length === 1);
    const grant = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'user-api',
        client_secret: stack.settings.userApiClientSecret,
        username: m.name,
        password,
        scope: 'openid',
      }),
    });
    expect(grant.status).toBe(200);
    const { access_token: token } = (await grant.json()) as { access_token: string };
    const account = `${stack.keycloakUrl}/realms/${realm}/account`;
    const me = (await (await fetch(account, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } })).json()) as Json;
    const saved = await fetch(account, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...me, lastName: 'SelfService' }),
    });
    expect(saved.status).toBe(204);
    await until(async () => (await rowsOf(m.id)).filter((r) => r.status === 'delivered').length === 2);
    expect((await rowsOf(m.id))[1]).toMatchObject({ kind: 'profile', fields: ['lastName'] });
    expect((await upstream.getUser(m.upstreamUserId))?.lastName).toBe('SelfService');
  });

  it('a member deleted in Keycloak loses what the BFF keeps about them: partner mappings and creation keys', async () => {
    const m = await member();
    const at = new Date();
    const clientId = uniqueId('outbox-bank');
    await sql.query('INSERT INTO partner_client (client_id, name, trust_auth, enabled, created_at, updated_at) VALUES ($1, $1, true, true, $2, $2)', [
      clientId,
      at,
    ]);
    await sql.query('INSERT INTO partner_app_key (app_key, client_id, auto_enroll, kba_bypass, created_at, updated_at) VALUES ($1, $1, true, false, $2, $2)', [
      clientId,
      at,
    ]);
    await sql.query('INSERT INTO partner_user_mapping (app_key, dbp_user_id, user_id, created_at) VALUES ($1, $2, $3, $4)', [clientId, 'dbp-1', m.id, at]);
    await sql.query(
      "INSERT INTO account_creation (key_hash, fingerprint, status, username, user_id, started_at, updated_at) VALUES ($1, 'f', 'completed', $2, $3, $4, $4)",
      [randomBytes(32).toString('hex'), m.name, m.id, at],
    );
    const kept = async () => {
      const { rows } = await sql.query(
        'SELECT (SELECT count(*) FROM partner_user_mapping WHERE user_id = $1)::int AS mappings, (SELECT count(*) FROM account_creation WHERE user_id = $1)::int AS keys',
        [m.id],
      );
      return rows[0] as { mappings: number; keys: number };
    };
    expect(await kept()).toEqual({ mappings: 1, keys: 1 });

    await kcAdmin.delete(`/${realm}/users/${m.id}`);
    await until(async () => (await rowsOf(m.id)).some((r) => r.kind === 'delete'));
    expect(await kept()).toEqual({ mappings: 0, keys: 0 });
    // The partner's other settings are untouched.
    expect((await sql.query('SELECT count(*)::int AS n FROM partner_app_key WHERE app_key = $1', [clientId])).rows[0].n).toBe(1);
  });

  it('records nothing for a prospective account (no upstream link)', async () => {
    const name = uniqueId('prospect').replace('-', '');
    const location = await kcAdmin.post(`/${realm}/users`, {
      username: name,
      email: `${name}@example.org`,
      firstName: 'Pro',
      lastName: 'Spect',
      enabled: true,
    });
    const id = location!.split('/').pop()!;
    await changeInKeycloak(id, (u) => (u.firstName = 'Changed'));
    // A linked member changed after it: once its row is there, the prospective change was read too.
    const m = await member();
    await changeInKeycloak(m.id, (u) => (u.firstName = 'Marker'));
    await until(async () => (await rowsOf(m.id)).length === 1);
    expect(await rowsOf(id)).toEqual([]);
  });

  it('refuses a bad listing query naming the parameter, and an unauthenticated one', async () => {
    const bad = await call(`${bff.url}/api/admin/v1/upstream-outbox?status=stuck&limit=0`, 'GET', { token: adminToken });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: Json) => f.field).sort()).toEqual(['limit', 'status']);
    expect((await call(`${bff.url}/api/admin/v1/upstream-outbox`, 'GET')).status).toBe(401);
    expect((await call(`${bff.url}/api/admin/v1/upstream-outbox/not-a-row`, 'GET', { token: adminToken })).status).toBe(404);
  });

  it('exposes pending and failed counts on /metrics', async () => {
    const text = await (await fetch(`${bff.url}/metrics`)).text();
    expect(text).toMatch(/^upstream_outbox_rows\{status="pending"\} \d+$/m);
    expect(text).toMatch(/^upstream_outbox_rows\{status="failed"\} \d+$/m);
  });
});
