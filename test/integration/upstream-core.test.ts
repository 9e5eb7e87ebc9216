import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpUpstreamCore } from '../../bff/src/adapters/upstream-core/http-upstream-core.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import type { NewUpstreamUser } from '../../bff/src/ports/upstream-core.ts';
import { createPool } from '../../upstream/src/db.ts';
import { DEMO_MEMBERS, DEMO_PASSWORD, loadDemoData } from '../../upstream/src/demo-data.ts';
import { startUpstreamServer, type RunningUpstreamServer } from '../../upstream/src/server.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

const API_KEY = `test-upstream-${randomBytes(12).toString('hex')}`;
const SCHEMA = 'core_under_test';

const asha = DEMO_MEMBERS[0]!; // active, password, 3 KBA questions
const ravi = DEMO_MEMBERS[1]!; // active, password, 2 KBA questions
const meena = DEMO_MEMBERS[2]!; // inactive

/** Awaits a rejection and checks it is a DomainError. */
async function domainError(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

/** Fresh, unique identifiers per call so tests do not depend on each other. */
function newUser(overrides: Partial<NewUpstreamUser> = {}): NewUpstreamUser {
  const n = randomBytes(4).readUInt32BE(0);
  return {
    externalId: randomUUID(),
    firstName: 'Test',
    lastName: 'User',
    username: `test_user${n}`,
    email: `test.user${n}@example.org`,
    phone: `+9170${String(n).padStart(10, '0').slice(0, 8)}`,
    ...overrides,
  };
}

describe('upstream core: reference server through the HTTP adapter', () => {
  let db: TestDatabase;
  let server: RunningUpstreamServer;
  let sql: pg.Pool;
  let core: HttpUpstreamCore;
  const logLines: string[] = [];

  const raw = (path: string, init: RequestInit & { key?: string | null } = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (init.key !== null) headers.set('authorization', `Bearer ${init.key ?? API_KEY}`);
    if (init.body !== undefined) headers.set('content-type', 'application/json');
    return fetch(`${server.url}${path}`, { ...init, headers });
  };
  const count = async (query: string, params: unknown[]): Promise<number> =>
    (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${query}`, params)).rows[0]!.n;

  beforeAll(async () => {
    db = await createTestDatabase('upstream');
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
    server = await startUpstreamServer({ databaseUrl: db.url, schema: SCHEMA, port: 0, apiKey: API_KEY, logger });
    sql = createPool(db.url, SCHEMA);
    await loadDemoData(sql);
    core = new HttpUpstreamCore({ baseUrl: server.url, apiKey: API_KEY, retry: { baseDelayMs: 5 } });
  });

  afterAll(async () => {
    await server?.close();
    await sql?.end();
    await db?.drop();
  });

  describe('start-up and schema', () => {
    it('creates its tables in its own schema, and a second start on the same schema is a no-op', async () => {
      const { rows } = await sql.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [
        SCHEMA,
      ]);
      expect(rows.map((r) => r.table_name)).toEqual([
        'applied_changes',
        'identity_record_questions',
        'identity_records',
        'identity_verifications',
        'kba_questions',
        'membership_changes',
        'memberships',
        'organisations',
        'users',
      ]);
      expect(await count(`information_schema.tables WHERE table_schema = 'public'`, [])).toBe(0);

      // Two more processes starting at once against the same schema (advisory lock) keep the data.
      const quiet = pino({ enabled: false });
      const others = await Promise.all([1, 2].map(() => startUpstreamServer({ databaseUrl: db.url, schema: SCHEMA, port: 0, apiKey: API_KEY, logger: quiet })));
      await Promise.all(others.map((o) => o.close()));
      expect(await count('users WHERE id = $1', [asha.id])).toBe(1);
    });

    it('loads the demo data idempotently', async () => {
      const before = await count('users', []);
      await loadDemoData(sql);
      expect(await count('users', [])).toBe(before);
      expect(await count('organisations', [])).toBe(6);
      expect(await count('kba_questions WHERE user_id = $1', [asha.id])).toBe(asha.kba.length);
    });
  });

  describe('health and authentication', () => {
    it('ping() resolves and /health needs no key', async () => {
      await expect(core.ping()).resolves.toBeUndefined();
      const res = await raw('/health', { key: null });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    });

    it('answers 401 problem+json without or with a wrong API key, on every route', async () => {
      for (const key of [null, 'wrong-key-0123456789abcdef']) {
        for (const [method, path] of [
          ['GET', `/v1/users/${asha.id}`],
          ['GET', '/v1/channels/custodian'],
          ['POST', '/v1/credentials/verify-password'],
          ['GET', '/v1/no-such-route'],
        ] as const) {
          const res = await raw(path, {
            method,
            key,
            ...(method === 'POST' ? { body: JSON.stringify({ login: asha.username, password: DEMO_PASSWORD }) } : {}),
          });
          expect(res.status, `${method} ${path}`).toBe(401);
          expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          expect(res.headers.get('www-authenticate')).toBe('Bearer');
          expect(await res.json()).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
        }
      }
    });

    it('maps a rejected API key to UPSTREAM_FAILED in the adapter (a configuration fault, not the user)', async () => {
      const wrong = new HttpUpstreamCore({ baseUrl: server.url, apiKey: 'not-the-key-0123456789' });
      const error = await domainError(wrong.getUser(asha.id));
      expect(error.code).toBe('UPSTREAM_FAILED');
      expect(error.details).toMatchObject({ operation: 'getUser', status: 401, upstreamCode: 'UNAUTHENTICATED' });
    });

    it('answers unknown routes with 404 and wrong methods with 405, as problems', async () => {
      const missing = await raw('/v1/nothing-here');
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ code: 'NOT_FOUND' });
      const wrongMethod = await raw('/v1/users', { method: 'PUT', body: '{}' });
      expect(wrongMethod.status).toBe(405);
      expect(await wrongMethod.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
    });
  });

  describe('organisations', () => {
    it('looks up root organisations by channel, whatever their status', async () => {
      expect(await core.findRootOrgByChannel('custodian')).toEqual({
        id: 'org_custodian',
        name: 'Custodian',
        isRootOrg: true,
        rootOrgId: 'org_custodian',
        channel: 'custodian',
        status: 'active',
      });
      expect(await core.findRootOrgByChannel('state-retired')).toMatchObject({ id: 'org_state_retired', status: 'inactive' });
      expect(await core.findRootOrgByChannel('no-such-channel')).toBeNull();
      expect(await core.findRootOrgByChannel('Bad Channel/..')).toBeNull();
    });

    it('looks up an organisation by id together with its root', async () => {
      const sub = await core.getOrganisation('org_state_demo_school_2');
      expect(sub?.organisation).toMatchObject({
        id: 'org_state_demo_school_2',
        isRootOrg: false,
        rootOrgId: 'org_state_demo',
        channel: 'state-demo',
        status: 'inactive',
      });
      expect(sub?.rootOrg).toMatchObject({ id: 'org_state_demo', isRootOrg: true, channel: 'state-demo', status: 'active' });
      const root = await core.getOrganisation('org_custodian');
      expect(root?.rootOrg).toEqual(root?.organisation);
      expect(await core.getOrganisation('org_missing')).toBeNull();
    });
  });

  describe('creating users', () => {
    it('is idempotent on externalId: 201, then 200 with the same user; different content is a CONFLICT', async () => {
      const input = newUser({ username: `Mixed_Case${randomBytes(2).toString('hex')}` });
      const first = await core.createUser(input);
      expect(first.created).toBe(true);
      expect(first.user).toMatchObject({
        externalId: input.externalId,
        username: input.username!.toLowerCase(),
        firstName: 'Test',
        email: input.email,
        phone: input.phone,
        status: 'active',
        hasPassword: false,
      });
      expect(first.user.createdAt).toBeInstanceOf(Date);

      const again = await core.createUser(input);
      expect(again).toEqual({ user: first.user, created: false });
      expect(await count('users WHERE external_id = $1', [input.externalId])).toBe(1);

      // The same on the wire: 200 the second time, with the stored (normalised) values.
      const replay = await raw('/v1/users', { method: 'POST', body: JSON.stringify(input) });
      expect(replay.status).toBe(200);
      expect(((await replay.json()) as { id: string }).id).toBe(first.user.id);

      const error = await domainError(core.createUser({ ...input, firstName: 'Someone else' }));
      expect(error.code).toBe('CONFLICT');
      expect(error.details).toMatchObject({ upstreamCode: 'EXTERNAL_ID_CONFLICT', status: 409 });
      expect(error.fields.map((f) => f.field)).toEqual(['externalId']);
      const { rows } = await sql.query('SELECT first_name FROM users WHERE external_id = $1', [input.externalId]);
      expect(rows).toEqual([{ first_name: 'Test' }]);
    });

    it('answers 201 with a Location header on the wire', async () => {
      const input = newUser();
      const res = await raw('/v1/users', { method: 'POST', body: JSON.stringify(input) });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { id: string };
      expect(res.headers.get('location')).toBe(`/v1/users/${body.id}`);
    });

    it('20 concurrent creates with one externalId make exactly one user', async () => {
      const input = newUser();
      const results = await Promise.all(Array.from({ length: 20 }, () => core.createUser(input)));
      expect(new Set(results.map((r) => r.user.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(await count('users WHERE external_id = $1', [input.externalId])).toBe(1);
      expect(await count('users WHERE email = $1', [input.email])).toBe(1);
    });

    it('refuses identifiers another live user holds, naming them, and stores nothing', async () => {
      const input = newUser({ username: asha.username.toUpperCase(), email: asha.email.toUpperCase() });
      const error = await domainError(core.createUser(input));
      expect(error.code).toBe('CONFLICT');
      expect(error.details.upstreamCode).toBe('IDENTIFIER_TAKEN');
      expect(error.fields.map((f) => [f.field, f.reason])).toEqual([
        ['username', 'taken'],
        ['email', 'taken'],
      ]);
      expect(await count('users WHERE external_id = $1', [input.externalId])).toBe(0);
      // No PII in what the BFF might log or show.
      expect(JSON.stringify({ message: error.message, details: error.details, fields: error.fields })).not.toMatch(/asha|example\.com/i);
    });

    it('rejects bad input with VALIDATION_FAILED naming each field, and stores nothing', async () => {
      const input = { ...newUser(), phone: '98765 43210', email: 'not-an-email' };
      const error = await domainError(core.createUser(input));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.fields.map((f) => f.field).sort()).toEqual(['email', 'phone']);
      expect(await count('users WHERE external_id = $1', [input.externalId])).toBe(0);

      const unknownField = await raw('/v1/users', { method: 'POST', body: JSON.stringify({ ...newUser(), role: 'ADMIN' }) });
      expect(unknownField.status).toBe(400);
      expect(await unknownField.json()).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'role', reason: 'unknown' }] });

      const malformed = await raw('/v1/users', { method: 'POST', body: '{"externalId": ' });
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toMatchObject({ code: 'MALFORMED_JSON' });
    });
  });

  describe('looking users up', () => {
    it('by id, by externalId, and by exact username, email or phone', async () => {
      const { user } = await core.createUser(newUser());
      expect(await core.getUser(user.id)).toEqual(user);
      expect(await core.getUserByExternalId(user.externalId!)).toEqual(user);
      expect(await core.findUser({ username: user.username! })).toEqual(user);
      expect(await core.findUser({ email: user.email!.toUpperCase() })).toEqual(user);
      expect(await core.findUser({ phone: user.phone! })).toEqual(user);

      expect(await core.getUser(randomUUID())).toBeNull();
      expect(await core.getUser('not-a-uuid')).toBeNull();
      expect(await core.getUserByExternalId(randomUUID())).toBeNull();
      expect(await core.findUser({ email: 'nobody@example.org' })).toBeNull();
      expect(await core.findUser({ username: user.username!.slice(0, -1) })).toBeNull();
    });

    it('finds upstream-only members, who have no externalId yet', async () => {
      const found = await core.findUser({ phone: asha.phone });
      expect(found).toMatchObject({ id: asha.id, externalId: null, username: asha.username, hasPassword: true, status: 'active' });
    });
  });

  describe('changing users', () => {
    it('updates only the given profile fields; null clears one', async () => {
      const { user } = await core.createUser(newUser());
      const fresh = newUser();
      const updated = await core.updateProfile(user.id, { lastName: 'Changed', email: fresh.email!.toUpperCase(), phone: null });
      expect(updated).toMatchObject({ id: user.id, firstName: 'Test', lastName: 'Changed', email: fresh.email, phone: null, username: user.username });
      const { rows } = await sql.query('SELECT last_name, email, phone FROM users WHERE id = $1', [user.id]);
      expect(rows).toEqual([{ last_name: 'Changed', email: fresh.email, phone: null }]);
    });

    it('refuses an identifier held by another user, and an empty or bad change', async () => {
      const { user } = await core.createUser(newUser());
      const taken = await domainError(core.updateProfile(user.id, { phone: ravi.phone }));
      expect(taken.code).toBe('CONFLICT');
      expect(taken.details.upstreamCode).toBe('IDENTIFIER_TAKEN');
      expect(taken.fields).toEqual([expect.objectContaining({ field: 'phone', reason: 'taken' })]);
      expect((await core.getUser(user.id))?.phone).toBe(user.phone);

      expect((await domainError(core.updateProfile(user.id, {}))).code).toBe('VALIDATION_FAILED');
      expect((await domainError(core.updateProfile(user.id, { username: 'a b' }))).fields[0]?.field).toBe('username');
      expect((await domainError(core.updateProfile(randomUUID(), { lastName: 'x' }))).code).toBe('NOT_FOUND');
    });

    it('deactivates and activates', async () => {
      const { user } = await core.createUser(newUser());
      expect((await core.deactivateUser(user.id)).status).toBe('inactive');
      expect((await sql.query('SELECT status FROM users WHERE id = $1', [user.id])).rows).toEqual([{ status: 'inactive' }]);
      expect((await core.deactivateUser(user.id)).status).toBe('inactive'); // idempotent
      expect((await core.activateUser(user.id)).status).toBe('active');
      expect((await domainError(core.deactivateUser(randomUUID()))).code).toBe('NOT_FOUND');
    });

    it('applies a change once per Idempotency-Key: a repeat (also a concurrent one) answers the recorded result', async () => {
      const { user } = await core.createUser(newUser());
      const key = `outbox-row-${randomUUID()}`;
      const first = await core.updateProfile(user.id, { firstName: 'Once' }, { idempotencyKey: key });
      expect(first.firstName).toBe('Once');
      await core.updateProfile(user.id, { firstName: 'Later' });
      // The same key again: the recorded answer, nothing applied (the name stays the later one).
      const replays = await Promise.all([1, 2, 3].map(() => core.updateProfile(user.id, { firstName: 'Once' }, { idempotencyKey: key })));
      expect(replays.map((r) => r.firstName)).toEqual(['Once', 'Once', 'Once']);
      expect((await core.getUser(user.id))?.firstName).toBe('Later');
      expect(await count('applied_changes WHERE idempotency_key = $1', [key])).toBe(1);
      const wire = await raw(`/v1/users/${user.id}`, { method: 'PATCH', body: JSON.stringify({ firstName: 'Once' }), headers: { 'idempotency-key': key } });
      expect(wire.headers.get('idempotent-replayed')).toBe('true');

      // The key of a status change cannot be reused for another change; a refused change is not recorded.
      const statusKey = `outbox-row-${randomUUID()}`;
      expect((await core.deactivateUser(user.id, { idempotencyKey: statusKey })).status).toBe('inactive');
      expect((await domainError(core.activateUser(user.id, { idempotencyKey: statusKey }))).details.upstreamCode).toBe('IDEMPOTENCY_KEY_REUSED');
      const other = await core.createUser(newUser());
      const takenKey = `outbox-row-${randomUUID()}`;
      expect((await domainError(core.updateProfile(user.id, { email: other.user.email }, { idempotencyKey: takenKey }))).details.upstreamCode).toBe(
        'IDENTIFIER_TAKEN',
      );
      expect(await count('applied_changes WHERE idempotency_key = $1', [takenKey])).toBe(0);
    });

    it('deletes softly and idempotently; a deleted user cannot change, and its identifiers become free', async () => {
      const input = newUser();
      const { user } = await core.createUser(input);
      await core.deleteUser(user.id);
      await core.deleteUser(user.id);
      expect(await core.getUser(user.id)).toMatchObject({ id: user.id, status: 'deleted', email: input.email });
      expect(await count('users WHERE id = $1', [user.id])).toBe(1);
      expect(await core.findUser({ email: input.email! })).toBeNull();

      const reactivate = await domainError(core.activateUser(user.id));
      expect(reactivate.code).toBe('CONFLICT');
      expect(reactivate.details.upstreamCode).toBe('USER_DELETED');
      expect((await domainError(core.updateProfile(user.id, { lastName: 'x' }))).details.upstreamCode).toBe('USER_DELETED');

      const successor = await core.createUser({ ...newUser(), email: input.email, phone: input.phone, username: input.username });
      expect(successor.created).toBe(true);
      expect((await domainError(core.deleteUser(randomUUID()))).code).toBe('NOT_FOUND');
    });

    it('links an upstream-only member to the platform user once', async () => {
      const upstreamOnly = async (): Promise<string> =>
        (
          await sql.query<{ id: string }>(`INSERT INTO users (first_name, username) VALUES ('Linkable', $1) RETURNING id`, [
            `linkable${randomBytes(4).toString('hex')}`,
          ])
        ).rows[0]!.id;
      const memberId = await upstreamOnly();
      const platformId = randomUUID();
      expect((await core.linkExternalId(memberId, platformId)).externalId).toBe(platformId);
      expect((await core.linkExternalId(memberId, platformId)).externalId).toBe(platformId); // idempotent
      expect(await core.getUserByExternalId(platformId)).toMatchObject({ id: memberId });

      const relink = await domainError(core.linkExternalId(memberId, randomUUID()));
      expect(relink.details.upstreamCode).toBe('EXTERNAL_ID_CONFLICT');
      // Another member cannot take a platform id that is already linked.
      const otherId = await upstreamOnly();
      const stolen = await domainError(core.linkExternalId(otherId, platformId));
      expect(stolen.code).toBe('CONFLICT');
      expect(stolen.fields).toEqual([expect.objectContaining({ field: 'externalId', reason: 'taken' })]);
      expect((await core.getUser(otherId))?.externalId).toBeNull();
    });

    it('replaces a stale externalId only when the request names it (compare-and-set)', async () => {
      const stale = randomUUID();
      const { user } = await core.createUser({ ...newUser(), externalId: stale });
      const platformId = randomUUID();
      const guessed = await domainError(core.linkExternalId(user.id, platformId, { replaces: randomUUID() }));
      expect(guessed.details.upstreamCode).toBe('EXTERNAL_ID_CONFLICT');
      expect((await core.getUser(user.id))?.externalId).toBe(stale);
      expect((await core.linkExternalId(user.id, platformId, { replaces: stale })).externalId).toBe(platformId);
      // Repeated (a lost answer): the value is already set, a no-op.
      expect((await core.linkExternalId(user.id, platformId, { replaces: stale })).externalId).toBe(platformId);
      expect(await core.getUserByExternalId(stale)).toBeNull();
    });
  });

  describe('memberships', () => {
    it('adding a membership is idempotent; roles are set, not duplicated', async () => {
      const { user } = await core.createUser(newUser());
      const first = await core.addMembership(user.id, 'org_state_demo_school_1', ['PUBLIC']);
      expect(first).toEqual({
        created: true,
        membership: { userId: user.id, organisationId: 'org_state_demo_school_1', rootOrgId: 'org_state_demo', roles: ['PUBLIC'] },
      });
      expect((await core.addMembership(user.id, 'org_state_demo_school_1', ['PUBLIC'])).created).toBe(false);
      await core.addMembership(user.id, 'org_state_demo', ['PUBLIC']);
      expect(await count('memberships WHERE user_id = $1', [user.id])).toBe(2);

      const changed = await core.addMembership(user.id, 'org_state_demo', ['PUBLIC', 'ORG_ADMIN']);
      expect(changed).toMatchObject({ created: false, membership: { roles: ['ORG_ADMIN', 'PUBLIC'] } });

      const list = await core.listMemberships(user.id);
      expect(list.map((m) => [m.organisationId, m.roles])).toEqual([
        ['org_state_demo_school_1', ['PUBLIC']],
        ['org_state_demo', ['ORG_ADMIN', 'PUBLIC']],
      ]);

      await core.removeMembership(user.id, 'org_state_demo');
      await core.removeMembership(user.id, 'org_state_demo');
      expect(await count('memberships WHERE user_id = $1', [user.id])).toBe(1);
    });

    it('concurrent adds of one membership leave one row', async () => {
      const { user } = await core.createUser(newUser());
      const results = await Promise.all(Array.from({ length: 10 }, () => core.addMembership(user.id, 'org_custodian', ['PUBLIC'])));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(await count('memberships WHERE user_id = $1', [user.id])).toBe(1);
    });

    it('refuses inactive organisations, organisations under an inactive root, unknown ones and deleted users', async () => {
      const { user } = await core.createUser(newUser());
      for (const orgId of ['org_state_demo_school_2', 'org_state_retired']) {
        const error = await domainError(core.addMembership(user.id, orgId, ['PUBLIC']));
        expect(error.code, orgId).toBe('CONFLICT');
        expect(error.details.upstreamCode).toBe('ORGANISATION_INACTIVE');
      }
      expect((await domainError(core.addMembership(user.id, 'org_missing', ['PUBLIC']))).code).toBe('NOT_FOUND');
      expect((await domainError(core.addMembership(user.id, 'org_custodian', ['public']))).code).toBe('VALIDATION_FAILED');
      expect(await count('memberships WHERE user_id = $1', [user.id])).toBe(0);

      await core.deleteUser(user.id);
      expect((await domainError(core.addMembership(user.id, 'org_custodian', ['PUBLIC']))).details.upstreamCode).toBe('USER_DELETED');
    });
  });

  describe('change feed (GET /v1/membership-changes)', () => {
    /** The feed entries of one user, read through the adapter from the start. */
    const entriesOf = async (userId: string) => {
      const entries: { seq: number; externalId: string | null }[] = [];
      for (let after = 0; ; ) {
        const page = await core.membershipChanges(after, 1000);
        entries.push(...page.changes.filter((c) => c.userId === userId));
        if (page.changes.length < 1000) return entries;
        after = page.next;
      }
    };

    it('has one entry per change of memberships, roles, status and link, none for a repeat or a refusal', async () => {
      const input = newUser();
      const { user } = await core.createUser(input);
      expect(await entriesOf(user.id)).toEqual([]);
      await core.addMembership(user.id, 'org_custodian', ['PUBLIC']); // 1
      await core.addMembership(user.id, 'org_custodian', ['PUBLIC']); // the same roles: no change
      await core.addMembership(user.id, 'org_custodian', ['PUBLIC', 'ORG_ADMIN']); // 2
      await domainError(core.addMembership(user.id, 'org_state_retired', ['PUBLIC'])); // refused: nothing
      await core.removeMembership(user.id, 'org_custodian'); // 3
      await core.removeMembership(user.id, 'org_custodian'); // absent: nothing
      await core.deactivateUser(user.id); // 4
      await core.deactivateUser(user.id); // already: nothing
      await core.activateUser(user.id); // 5
      await core.updateProfile(user.id, { lastName: 'Renamed' }); // not a change of roles: nothing
      await core.deleteUser(user.id); // 6
      const entries = await entriesOf(user.id);
      expect(entries).toHaveLength(6);
      expect(entries.map((e) => e.externalId)).toEqual(Array(6).fill(input.externalId));
      expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => a - b));
    });

    it('linking an upstream-only member is an entry with the new externalId; the same link again is none', async () => {
      const { rows } = await sql.query<{ id: string }>(`INSERT INTO users (first_name) VALUES ('Upstream only') RETURNING id`);
      const id = rows[0]!.id;
      await core.addMembership(id, 'org_custodian', ['PUBLIC']);
      const platformId = randomUUID();
      await core.linkExternalId(id, platformId);
      await core.linkExternalId(id, platformId);
      expect((await entriesOf(id)).map((e) => e.externalId)).toEqual([null, platformId]);
    });

    it('pages by after/limit with next, and rejects a bad query naming the parameter', async () => {
      const { user } = await core.createUser(newUser());
      for (const roles of [['PUBLIC'], ['A_ROLE'], ['B_ROLE']]) await core.addMembership(user.id, 'org_custodian', roles);
      const mine = await entriesOf(user.id);
      const page = await core.membershipChanges(mine[0]!.seq - 1, 2);
      expect(page.changes.map((c) => c.seq)).toEqual([mine[0]!.seq, mine[1]!.seq]);
      expect(page.next).toBe(mine[1]!.seq);
      const end = await core.membershipChanges(Number.MAX_SAFE_INTEGER - 1, 10);
      expect(end).toEqual({ changes: [], next: Number.MAX_SAFE_INTEGER - 1 });

      for (const [query, field] of [
        ['after=-1', 'after'],
        ['after=abc', 'after'],
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['since=1', 'since'],
      ] as const) {
        const res = await raw(`/v1/membership-changes?${query}`);
        expect(res.status, query).toBe(400);
        const problem = (await res.json()) as { code: string; fields: { field: string }[] };
        expect(problem.code).toBe('VALIDATION_FAILED');
        expect(problem.fields.map((f) => f.field)).toContain(field);
      }
      expect((await raw('/v1/membership-changes', { key: null })).status).toBe(401);
    });

    it('concurrent changes commit their entries in seq order: a reader never finds a smaller seq later', async () => {
      const users = await Promise.all(Array.from({ length: 8 }, async () => (await core.createUser(newUser())).user));
      const { rows } = await sql.query<{ seq: string }>('SELECT coalesce(max(seq), 0) AS seq FROM membership_changes');
      let after = Number(rows[0]!.seq);
      const seen: number[] = [];
      const writes = Promise.all(users.flatMap((u) => ['PUBLIC', 'ORG_ADMIN'].map((role) => core.addMembership(u.id, 'org_custodian', [role]))));
      // Read while they commit: every page starts after the last seq read, as a follower does.
      let done = false;
      void writes.then(() => (done = true));
      while (!done || seen.length < 16) {
        const page = await core.membershipChanges(after, 100);
        seen.push(...page.changes.filter((c) => users.some((u) => u.id === c.userId)).map((c) => c.seq));
        after = page.next;
        if (done && page.changes.length === 0) break;
      }
      await writes;
      // Every entry was read by the follower: none committed behind its cursor.
      const { rows: all } = await sql.query<{ seq: string }>('SELECT seq FROM membership_changes WHERE user_id = ANY($1::uuid[]) ORDER BY seq', [
        users.map((u) => u.id),
      ]);
      expect(seen).toEqual(all.map((r) => Number(r.seq)));
    });
  });

  describe('passwords', () => {
    it('verifies a member by username, email or phone', async () => {
      for (const login of [asha.username, asha.email.toUpperCase(), asha.phone]) {
        const check = await core.verifyPassword(login, DEMO_PASSWORD);
        expect(check.outcome, login).toBe('valid');
        expect(check.outcome === 'valid' && check.user.id).toBe(asha.id);
      }
    });

    it('gives the same "invalid" for a wrong password, an unknown login and a user without password', async () => {
      const { user } = await core.createUser(newUser());
      expect(await core.verifyPassword(asha.username, 'member#2026')).toEqual({ outcome: 'invalid' });
      expect(await core.verifyPassword('nobody.here', DEMO_PASSWORD)).toEqual({ outcome: 'invalid' });
      expect(await core.verifyPassword('+910000000000', DEMO_PASSWORD)).toEqual({ outcome: 'invalid' });
      expect(await core.verifyPassword(user.username!, '')).toEqual({ outcome: 'invalid' });
      expect(await core.verifyPassword(user.username!, 'anything-at-all')).toEqual({ outcome: 'invalid' });

      const res = await raw('/v1/credentials/verify-password', { method: 'POST', body: JSON.stringify({ login: asha.username, password: 'wrong' }) });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
    });

    it('tells "not_active" only for the right password of an inactive member', async () => {
      expect(await core.verifyPassword(meena.username, DEMO_PASSWORD)).toEqual({ outcome: 'not_active' });
      expect(await core.verifyPassword(meena.username, 'wrong-password')).toEqual({ outcome: 'invalid' });
    });

    it('stores passwords as salted scrypt hashes; a deleted user cannot sign in', async () => {
      const { user } = await core.createUser(newUser());
      const set = await raw(`/v1/users/${user.id}/password`, { method: 'PUT', body: JSON.stringify({ password: 'S3cret-pass!' }) });
      expect(set.status).toBe(204);
      const { rows } = await sql.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = ANY($1::uuid[]) ORDER BY id', [
        [user.id, asha.id],
      ]);
      for (const { password_hash } of rows) {
        expect(password_hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/);
        expect(password_hash).not.toMatch(/S3cret|Member/);
      }
      expect((await core.getUser(user.id))?.hasPassword).toBe(true);
      expect((await core.verifyPassword(user.email!, 'S3cret-pass!')).outcome).toBe('valid');
      await core.deleteUser(user.id);
      expect(await core.verifyPassword(user.email!, 'S3cret-pass!')).toEqual({ outcome: 'invalid' });
    });
  });

  describe('KBA', () => {
    it('lists the questions (never the answers)', async () => {
      const questions = await core.getKbaQuestions(asha.id);
      expect(questions).toEqual(asha.kba.map((q) => ({ id: q.id, text: q.text })));
      const res = await raw(`/v1/users/${asha.id}/kba/questions`);
      expect(JSON.stringify(await res.json())).not.toMatch(/Kendriya|Pune|Moti/i);
      expect(await core.getKbaQuestions(randomUUID())).toBeNull();
    });

    it('verifies answers case- and space-insensitively; one wrong answer fails', async () => {
      const right = ravi.kba.map((q) => ({ questionId: q.id, answer: `  ${q.answer.toUpperCase().replace(' ', '   ')} ` }));
      expect(await core.verifyKbaAnswers(ravi.id, right)).toBe('ok');
      const oneWrong = right.map((a, i) => (i === 0 ? { ...a, answer: 'Mumbai' } : a));
      expect(await core.verifyKbaAnswers(ravi.id, oneWrong)).toBe('failed');
    });

    it('stores answers hashed', async () => {
      const { rows } = await sql.query<{ answer_hash: string }>('SELECT answer_hash FROM kba_questions WHERE user_id = $1', [ravi.id]);
      expect(rows).toHaveLength(2);
      for (const r of rows) expect(r.answer_hash).toMatch(/^scrypt\$/);
      expect(JSON.stringify(rows)).not.toMatch(/delhi|sharma/i);
    });

    it('refuses answer sets that do not match the questions, inactive users and users without questions', async () => {
      const partial = await domainError(core.verifyKbaAnswers(asha.id, [{ questionId: 'birth-city', answer: 'Pune' }]));
      expect(partial.code).toBe('VALIDATION_FAILED');
      expect(partial.fields).toEqual([expect.objectContaining({ field: 'answers', reason: 'missing' })]);

      const unknown = await domainError(
        core.verifyKbaAnswers(asha.id, [...asha.kba.map((q) => ({ questionId: q.id, answer: q.answer })), { questionId: 'shoe-size', answer: '9' }]),
      );
      expect(unknown.fields).toEqual([expect.objectContaining({ field: 'answers.3.questionId', reason: 'unknown' })]);

      const inactive = await domainError(core.verifyKbaAnswers(meena.id, [{ questionId: 'birth-city', answer: 'Chennai' }]));
      expect(inactive.details.upstreamCode).toBe('USER_NOT_ACTIVE');

      const { user } = await core.createUser(newUser());
      expect(await core.getKbaQuestions(user.id)).toEqual([]);
      const none = await domainError(core.verifyKbaAnswers(user.id, [{ questionId: 'birth-city', answer: 'x' }]));
      expect(none.details.upstreamCode).toBe('KBA_NOT_SET');
      expect((await domainError(core.verifyKbaAnswers(randomUUID(), [{ questionId: 'a', answer: 'x' }]))).code).toBe('NOT_FOUND');
    });

    it('sets questions for a user, replacing earlier ones', async () => {
      const { user } = await core.createUser(newUser());
      const put = (questions: unknown) => raw(`/v1/users/${user.id}/kba`, { method: 'PUT', body: JSON.stringify({ questions }) });
      expect(
        (
          await put([
            { id: 'a', text: 'A?', answer: 'one' },
            { id: 'b', text: 'B?', answer: 'two' },
          ])
        ).status,
      ).toBe(200);
      const replaced = await put([{ id: 'c', text: 'C?', answer: 'Three' }]);
      expect(await replaced.json()).toEqual({ questions: [{ id: 'c', text: 'C?' }] });
      expect(await core.verifyKbaAnswers(user.id, [{ questionId: 'c', answer: 'three' }])).toBe('ok');
      const dup = await put([
        { id: 'c', text: 'C?', answer: 'x' },
        { id: 'c', text: 'C?', answer: 'y' },
      ]);
      expect(dup.status).toBe(400);
      expect(await count('kba_questions WHERE user_id = $1', [user.id])).toBe(1);
    });
  });

  it('never logs passwords, answers, emails or phones', () => {
    const log = logLines.join('');
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [DEMO_PASSWORD, 'S3cret-pass!', 'Kendriya', 'Sharma', 'Chennai', asha.email, asha.phone, ravi.phone, '@example.org', '+9170']) {
      expect(log, secret).not.toContain(secret);
    }
  });
});

// ------------------------------------------------------------------------------------- resilience

interface Stub {
  url: string;
  attempts: number;
  close(): Promise<void>;
}

/** A tiny local HTTP server whose n-th request (1-based) is answered by `handler`. */
async function startStub(handler: (n: number, req: IncomingMessage, res: ServerResponse) => void): Promise<Stub> {
  const stub = { attempts: 0 } as Stub;
  const server = createServer((req, res) => {
    stub.attempts += 1;
    handler(stub.attempts, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};

const USER_BODY = {
  id: '2b8f3c1e-6a1d-4c55-9a53-0d2f9d1f7a10',
  externalId: 'kc-1',
  username: 'someone',
  firstName: 'Some',
  lastName: null,
  email: null,
  phone: null,
  status: 'active',
  hasPassword: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

describe('HTTP adapter resilience', () => {
  const stubs: Stub[] = [];
  const stub = async (handler: Parameters<typeof startStub>[0]): Promise<Stub> => {
    const s = await startStub(handler);
    stubs.push(s);
    return s;
  };
  afterAll(async () => {
    await Promise.all(stubs.map((s) => s.close()));
  });

  /** An adapter whose backoff sleeps are recorded and skipped; jitter fixed at the middle. */
  const adapter = (url: string, options: { timeoutMs?: number; maxAttempts?: number } = {}) => {
    const sleeps: number[] = [];
    const core = new HttpUpstreamCore({
      baseUrl: url,
      apiKey: 'k',
      timeoutMs: options.timeoutMs ?? 2_000,
      retry: { maxAttempts: options.maxAttempts ?? 3, baseDelayMs: 100, maxDelayMs: 2_000 },
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
    });
    return { core, sleeps };
  };

  it('retries 503 with exponential backoff and jitter, then succeeds', async () => {
    const s = await stub((n, _req, res) => (n <= 2 ? json(res, 503, { code: 'UNAVAILABLE' }) : json(res, 200, USER_BODY)));
    const { core, sleeps } = adapter(s.url);
    const user = await core.getUser(USER_BODY.id);
    expect(user).toMatchObject({ id: USER_BODY.id, createdAt: new Date(USER_BODY.createdAt) });
    expect(s.attempts).toBe(3);
    // equal jitter with random() = 0.5: 100 -> 75, 200 -> 150
    expect(sleeps).toEqual([75, 150]);
  });

  it('gives up after maxAttempts with UPSTREAM_UNAVAILABLE (502/503/504)', async () => {
    for (const status of [502, 503, 504]) {
      const s = await stub((_n, _req, res) => json(res, status, {}));
      const { core, sleeps } = adapter(s.url, { maxAttempts: 4 });
      const error = await domainError(core.findRootOrgByChannel('custodian'));
      expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(error.details).toMatchObject({ operation: 'findRootOrgByChannel', attempts: 4, reason: `status ${status}` });
      expect(s.attempts).toBe(4);
      expect(sleeps).toHaveLength(3);
    }
  });

  it('honours Retry-After up to maxDelayMs', async () => {
    const s = await stub((n, _req, res) => (n === 1 ? json(res, 503, {}, { 'retry-after': '1' }) : json(res, 200, { items: [] })));
    const { core, sleeps } = adapter(s.url);
    expect(await core.findUser({ username: 'x' })).toBeNull();
    expect(sleeps).toEqual([1_000]);

    // As an HTTP date, read against the injected clock; capped at maxDelayMs.
    const now = Date.parse('2026-01-01T00:00:00Z');
    const dated = await stub((n, _req, res) =>
      n === 1
        ? json(res, 503, {}, { 'retry-after': 'Thu, 01 Jan 2026 00:00:01 GMT' })
        : n === 2
          ? json(res, 503, {}, { 'retry-after': '60' })
          : json(res, 200, { items: [] }),
    );
    const datedSleeps: number[] = [];
    const core2 = new HttpUpstreamCore({
      baseUrl: dated.url,
      apiKey: 'k',
      retry: { baseDelayMs: 100, maxDelayMs: 2_000 },
      now: () => now,
      random: () => 0,
      sleep: async (ms) => void datedSleeps.push(ms),
    });
    expect(await core2.findUser({ username: 'x' })).toBeNull();
    expect(datedSleeps).toEqual([1_000, 2_000]);
  });

  it('times out a hanging request and retries it', async () => {
    const s = await stub(() => undefined); // never answers
    const { core } = adapter(s.url, { timeoutMs: 150, maxAttempts: 3 });
    const error = await domainError(core.getUser(USER_BODY.id));
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.details).toMatchObject({ attempts: 3, reason: 'timeout' });
    expect(s.attempts).toBe(3);
  });

  it('times out a response whose body never ends', async () => {
    const s = await stub((_n, _req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":');
    });
    const { core } = adapter(s.url, { timeoutMs: 150, maxAttempts: 2 });
    expect((await domainError(core.getUser(USER_BODY.id))).details).toMatchObject({ attempts: 2, reason: 'timeout' });
  });

  it('retries a create (it carries externalId) but never a verification', async () => {
    const s = await stub((_n, _req, res) => json(res, 503, {}));
    const { core } = adapter(s.url);
    await domainError(core.createUser({ externalId: 'kc-1', firstName: 'A' }));
    expect(s.attempts).toBe(3);

    const once = await stub((_n, _req, res) => json(res, 503, {}));
    const { core: core2, sleeps } = adapter(once.url);
    const error = await domainError(core2.verifyPassword('someone', 'pw'));
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.details.attempts).toBe(1);
    await domainError(core2.verifyKbaAnswers(USER_BODY.id, [{ questionId: 'a', answer: 'b' }]));
    expect(once.attempts).toBe(2);
    expect(sleeps).toEqual([]);
  });

  it('does not retry a timed-out verification', async () => {
    const s = await stub(() => undefined);
    const { core } = adapter(s.url, { timeoutMs: 100 });
    const error = await domainError(core.verifyPassword('someone', 'pw'));
    expect(error.details).toMatchObject({ attempts: 1, reason: 'timeout' });
    expect(s.attempts).toBe(1);
  });

  it('is UPSTREAM_UNAVAILABLE when nothing listens (closed port)', async () => {
    const s = await startStub(() => undefined);
    await s.close(); // the port is now closed
    const { core, sleeps } = adapter(s.url);
    const error = await domainError(core.getUserByExternalId('kc-1'));
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.details).toMatchObject({ attempts: 3, reason: 'network error ECONNREFUSED' });
    expect(sleeps).toHaveLength(2);
    expect((await domainError(core.ping())).code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('does not retry other 5xx, and maps them and malformed answers to UPSTREAM_FAILED', async () => {
    const s = await stub((n, _req, res) => {
      if (n === 1) json(res, 500, { code: 'INTERNAL' });
      else if (n === 2) res.writeHead(200, { 'content-type': 'application/json' }).end('{not json');
      else json(res, 200, { ...USER_BODY, status: 'weird', email: 'leak@example.org' });
    });
    const { core } = adapter(s.url);
    const e500 = await domainError(core.getUser(USER_BODY.id));
    expect(e500.code).toBe('UPSTREAM_FAILED');
    expect(e500.details).toMatchObject({ status: 500 });
    expect(s.attempts).toBe(1);
    expect((await domainError(core.getUser(USER_BODY.id))).code).toBe('UPSTREAM_FAILED');
    const mismatch = await domainError(core.getUser(USER_BODY.id));
    expect(mismatch.code).toBe('UPSTREAM_FAILED');
    expect(mismatch.details.mismatches).toEqual(['status']);
    expect(JSON.stringify({ m: mismatch.message, d: mismatch.details })).not.toContain('leak@example.org');
  });

  it('pings /health once with its own timeout', async () => {
    const s = await stub(() => undefined);
    const sleeps: number[] = [];
    const core = new HttpUpstreamCore({ baseUrl: s.url, apiKey: 'k', pingTimeoutMs: 100, sleep: async (ms) => void sleeps.push(ms) });
    expect((await domainError(core.ping())).details).toMatchObject({ operation: 'ping', attempts: 1, reason: 'timeout' });
    expect(sleeps).toEqual([]);
  });

  it('uses an injected fetch, sends the API key and JSON, and keeps PII out of errors', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fakeFetch = (async (url: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(url), init: init ?? {} });
      if (calls.length === 1) throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      return new Response(
        JSON.stringify({
          type: 'about:blank',
          title: 'Conflict',
          status: 409,
          code: 'IDENTIFIER_TAKEN',
          fields: [{ field: 'email', reason: 'taken', message: 'taken' }],
        }),
        { status: 409, headers: { 'content-type': 'application/problem+json' } },
      );
    }) as typeof fetch;
    const sleeps: number[] = [];
    const core = new HttpUpstreamCore({
      baseUrl: 'http://core.invalid/',
      apiKey: 'secret-key',
      fetch: fakeFetch,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0,
    });
    const input = { externalId: 'kc-9', firstName: 'Priya', email: 'priya@example.org', phone: '+919999999999' };
    const error = await domainError(core.createUser(input));
    expect(error).toMatchObject({
      code: 'CONFLICT',
      fields: [{ field: 'email', reason: 'taken' }],
      details: { upstreamCode: 'IDENTIFIER_TAKEN', status: 409 },
    });
    expect(calls).toHaveLength(2);
    expect(sleeps).toEqual([50]);
    expect(calls[1]!.url).toBe('http://core.invalid/v1/users');
    expect(calls[1]!.init.method).toBe('POST');
    expect(new Headers(calls[1]!.init.headers).get('authorization')).toBe('Bearer secret-key');
    expect(JSON.parse(String(calls[1]!.init.body))).toEqual(input);
    const visible = JSON.stringify({ message: error.message, details: error.details, fields: error.fields });
    expect(visible).not.toMatch(/priya|9999999999|secret-key|core\.invalid/i);
  });
});
