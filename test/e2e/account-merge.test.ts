import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { wireAccountMerge } from '../../bff/src/flows/account-merge/wire.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import { FlowRuntime, PostgresFlowStore } from '../../bff/src/kernel/flow/index.ts';
import type { IdentityDirectory } from '../../bff/src/ports/identity-directory.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * The account merge's API (issue 19 §3, decision 0040) against the real Keycloak, upstream core,
 * PostgreSQL and Redis: the proof by the other account's password (wrong, unknown, someone else's,
 * the same account, tries used up), the preview, the steps and what each store holds afterwards
 * (Keycloak: identifiers, sign-in links, memberships, the closed account; the BFF: partner mappings,
 * the audit, the outbox; the upstream core once the outbox delivered), and the resume after a step
 * failed and after a process died in the middle of the steps: nothing lost, nothing done twice.
 * Its own BFF database, so the outbox rows delivered here are only this file's.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const PASSWORD = stack.settings.demoUserPassword;
const keys = testKeyPrefix('account-merge');
const STATE = 'state-demo';

let db: TestDatabase;
let bff: TestBff;
beforeAll(async () => {
  db = await createTestDatabase('merge');
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix, BFF_DATABASE_URL: db.url, LOGIN_FAILURES_PER_IP_PER_HOUR: '500' });
});
afterAll(async () => {
  await bff?.close();
  await keys.cleanup();
  await db?.drop();
});

const sfx = () => randomBytes(4).toString('hex');
const newMobile = () => `+919${String(randomInt(1_000_000_000)).padStart(9, '0')}`;

interface Account {
  id: string;
  username: string;
  email: string;
  phone?: string;
  token: string;
}

/** A complete account (Keycloak, upstream profile, custodian tenant) made by the BFF's AccountService, signed in through the API. */
async function newAccount(label: string, opts: { phone?: string; phoneVerified?: boolean } = {}): Promise<Account> {
  const email = `merge.${label}.${sfx()}@example.com`;
  const created = await bff.container.accounts.create(
    {
      firstName: 'Merge',
      lastName: label,
      email,
      emailVerified: true,
      ...(opts.phone ? { phone: opts.phone } : {}),
      phoneVerified: opts.phone !== undefined && opts.phoneVerified !== false,
      password: PASSWORD,
      signUpType: 'self',
    },
    { idempotencyKey: randomUUID() },
  );
  return { id: created.userId, username: created.username, email, ...(opts.phone ? { phone: opts.phone } : {}), token: await tokenOf(email) };
}

async function tokenOf(email: string): Promise<string> {
  const res = await call('POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.accessToken;
}

async function call(method: string, path: string, opts: { token?: string; body?: unknown; base?: string } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${opts.base ?? bff.url}${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

const start = (a: Account) => call('POST', '/api/v1/account-merges', { token: a.token, body: {} });
const prove = (a: Account, flowId: string, login: string, password = PASSWORD) =>
  call('POST', `/api/v1/account-merges/${flowId}/password`, { token: a.token, body: { login, password } });
const kcUser = async (id: string) => (await admin.get<Json>(`/${realm}/users/${id}`))!;
const kcLinks = async (id: string) => (await admin.get<Json[]>(`/${realm}/users/${id}/federated-identity`))!;
const kcOrgs = async (id: string) => ((await admin.get<Json[]>(`/${realm}/organizations/members/${id}/organizations`)) ?? []).map((o) => o.alias).sort();
const upstreamOf = async (externalId: string): Promise<Json> => {
  const res = await fetch(`${stack.upstreamUrl}/v1/users/by-external-id/${externalId}`, {
    headers: { authorization: `Bearer ${stack.settings.upstreamApiKey}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
};
const auditOf = async (flowId: string) =>
  (await bff.container.orm.em
    .getConnection()
    .execute<Json[]>('select event, outcome, user_id, other_user_id, detail from account_merge_audit where flow_id = ? order by at, id', [flowId])) as Json[];
const mappingOf = async (appKey: string, dbpUserId: string) =>
  (
    await bff.container.orm.em
      .getConnection()
      .execute<Json[]>('select user_id from partner_user_mapping where app_key = ? and dbp_user_id = ?', [appKey, dbpUserId])
  ).map((r) => r.user_id);
const outboxOf = async (userId: string) =>
  (await bff.container.orm.em
    .getConnection()
    .execute<Json[]>('select kind, fields, source_event_id, status from upstream_outbox where user_id = ? order by seq', [userId])) as Json[];

/** The other account of a merge with everything that moves: a phone, a Google link, a partner mapping, the state tenant. */
async function otherAccountWithEverything() {
  const other = await newAccount('other', { phone: newMobile() });
  const subject = `google-${sfx()}`;
  await admin.post(`/${realm}/users/${other.id}/federated-identity/google-demo`, {
    identityProvider: 'google-demo',
    userId: subject,
    userName: `${subject}@gmail.test`,
  });
  const appKey = `merge-app-${sfx()}`;
  const dbpUserId = `dbp-${sfx()}`;
  await bff.container.partners.map(appKey, dbpUserId, other.id);
  await bff.container.identityDirectory.addToOrganization(other.id, STATE);
  return { other, subject, appKey, dbpUserId };
}

describe('account merge API: the proof', () => {
  it('needs a signed-in person; another person cannot see or continue a merge', async () => {
    expect((await call('POST', '/api/v1/account-merges', { body: {} })).status).toBe(401);
    const me = await newAccount('owner');
    const stranger = await newAccount('stranger');
    const started = await start(me);
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ state: 'proof', triesLeft: 3, preview: null, error: null });
    const flowId = started.body.id as string;
    expect((await call('GET', `/api/v1/account-merges/${flowId}`, { token: stranger.token })).status).toBe(404);
    const foreign = await prove(stranger, flowId, stranger.username);
    expect(foreign.status).toBe(404);
    expect((await call('POST', `/api/v1/account-merges/${flowId}/confirm`, { token: me.token, body: {} })).status).toBe(409);
    expect((await call('GET', `/api/v1/account-merges/${flowId}`, { token: me.token })).body.state).toBe('proof');
    expect((await call('POST', '/api/v1/account-merges', { token: me.token, body: { userId: stranger.id } })).body.fields).toEqual([
      expect.objectContaining({ field: 'userId', reason: 'not_allowed' }),
    ]);
  });

  it("refuses a wrong password, an unknown login and someone else's account alike, counts them, and stops after three", async () => {
    const me = await newAccount('tries');
    const mine = await newAccount('mine');
    const someoneElse = await newAccount('someone');
    const flowId = (await start(me)).body.id as string;
    const wrong = await prove(me, flowId, mine.email, 'Not-The-Password-1');
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ code: 'VALIDATION_FAILED', triesLeft: 2, fields: [{ field: 'password', reason: 'wrong_credentials' }] });
    const unknown = await prove(me, flowId, `nobody.${sfx()}@example.com`);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ triesLeft: 1, fields: [{ field: 'password', reason: 'wrong_credentials' }] });
    const stolen = await prove(me, flowId, someoneElse.username, 'Guessed-Password-1');
    expect(stolen.status).toBe(409);
    expect(stolen.body).toMatchObject({ code: 'CONFLICT', reason: 'password_tries_exhausted', triesLeft: 0 });
    // Out of tries: even the right password proves nothing in this flow.
    const late = await prove(me, flowId, mine.email);
    expect(late.status).toBe(409);
    expect(late.body.reason).toBe('password_tries_exhausted');
    // Keycloak counted the wrong passwords against the accounts themselves (its brute-force protection).
    const status = (await admin.get<Json>(`/${realm}/attack-detection/brute-force/users/${someoneElse.id}`))!;
    expect(status.numFailures).toBeGreaterThanOrEqual(1);
    // Nothing changed on any account.
    for (const a of [me, mine, someoneElse]) expect((await kcUser(a.id)).enabled).toBe(true);
    const events = (await auditOf(flowId)).map((r) => `${r.event}:${r.outcome}`);
    expect(events).toEqual(['started:ok', 'proof-refused:refused', 'proof-refused:refused', 'proof-refused:refused', 'locked:refused']);
  });

  it('refuses the signed-in account itself, without counting a try', async () => {
    const me = await newAccount('self', { phone: newMobile() });
    const flowId = (await start(me)).body.id as string;
    for (const login of [me.email, me.username, me.phone!]) {
      const same = await prove(me, flowId, login);
      expect(same.status, login).toBe(409);
      expect(same.body).toMatchObject({ reason: 'same_account', triesLeft: 3 });
    }
  });

  it('takes a malformed body apart field by field and changes nothing', async () => {
    const me = await newAccount('body');
    const flowId = (await start(me)).body.id as string;
    const bad = await call('POST', `/api/v1/account-merges/${flowId}/password`, { token: me.token, body: { login: '', password: 5, extra: true } });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: Json) => f.field).sort()).toEqual(['extra', 'login', 'password']);
    expect((await call('GET', `/api/v1/account-merges/${flowId}`, { token: me.token })).body).toMatchObject({ state: 'proof', triesLeft: 3 });
    expect((await call('GET', '/api/v1/account-merges/not-a-uuid', { token: me.token })).status).toBe(400);
  });
});

describe('account merge API: preview, steps, stored state', () => {
  it('previews what moves and what closes, merges, and every store holds the result', async () => {
    const me = await newAccount('current');
    const { other, subject, appKey, dbpUserId } = await otherAccountWithEverything();
    const flowId = (await start(me)).body.id as string;
    const proven = await prove(me, flowId, other.phone!.slice(3)); // the national number, as people type it
    expect(proven.status, JSON.stringify(proven.body)).toBe(200);
    expect(proven.body.state).toBe('preview');
    const preview = proven.body.preview;
    expect(preview.other.username).toBe(other.username);
    expect(preview.moves.identifiers).toEqual([{ kind: 'phone', masked: expect.stringContaining('•'), proven: true, action: 'move' }]);
    expect(preview.moves.links).toEqual([{ provider: 'google-demo' }]);
    expect(preview.moves.partnerMappings).toEqual([{ appKey, count: 1 }]);
    expect(preview.moves.memberships).toEqual([{ tenant: STATE, name: expect.any(String) }]);
    // My proven e-mail stays mine: the other's goes with the closed account.
    expect(preview.closes.identifiers).toEqual([{ kind: 'email', masked: expect.stringContaining('•') }]);
    expect(preview.closes.leavesCustodian).toBe(true);
    expect(JSON.stringify(proven.body)).not.toContain(other.email);
    expect(JSON.stringify(proven.body)).not.toContain(other.phone!.slice(4));
    expect(JSON.stringify(proven.body)).not.toContain(subject);
    // Nothing moved before the confirmation.
    expect((await kcUser(other.id)).enabled).toBe(true);
    expect(await mappingOf(appKey, dbpUserId)).toEqual([other.id]);

    const merged = await call('POST', `/api/v1/account-merges/${flowId}/confirm`, { token: me.token, body: {} });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body).toMatchObject({ state: 'merged', steps: { failed: null } });
    expect(merged.body.steps.done).toHaveLength(8);

    const current = await kcUser(me.id);
    expect(current.email).toBe(me.email);
    expect(current.attributes.phone).toEqual([other.phone]);
    expect(current.attributes.phoneVerified).toEqual(['true']);
    const closed = await kcUser(other.id);
    expect(closed.enabled).toBe(false);
    expect(closed.attributes.mergedInto).toEqual([me.id]);
    expect(closed.email).toBeUndefined();
    expect(closed.attributes.phone).toBeUndefined();
    expect(closed.attributes.retiredIdentifiers.sort()).toEqual([`email:${other.email}`, `phone:${other.phone}`].sort());
    expect((await kcLinks(me.id)).map((l) => [l.identityProvider, l.userId])).toEqual([['google-demo', subject]]);
    expect(await kcLinks(other.id)).toEqual([]);
    expect(await kcOrgs(me.id)).toEqual([STATE]);
    expect(await mappingOf(appKey, dbpUserId)).toEqual([me.id]);

    const audit = await auditOf(flowId);
    expect(audit.map((r) => r.event)).toEqual([
      'started',
      'proven',
      'confirmed',
      'step:reserve',
      'step:identifiers',
      'step:links',
      'step:partner-mappings',
      'step:memberships',
      'step:close',
      'step:upstream',
      'step:finish',
      'merged',
    ]);
    expect(audit.every((r) => r.user_id === me.id)).toBe(true);
    expect(JSON.stringify(audit)).not.toContain(other.email);

    // The upstream core is told through the outbox: the closed account loses its identifiers and is deactivated, mine gets the phone.
    expect((await outboxOf(other.id)).map((r) => `${r.kind}:${r.fields}`)).toEqual(['profile:email,phone', 'status:inactive']);
    expect((await outboxOf(me.id)).map((r) => `${r.kind}:${r.fields}`)).toEqual(['profile:phone']);
    while ((await bff.container.upstreamSync.deliver()) > 0);
    expect([...(await outboxOf(other.id)), ...(await outboxOf(me.id))].every((r) => r.status === 'delivered')).toBe(true);
    expect(await upstreamOf(other.id)).toMatchObject({ status: 'inactive', email: null, phone: null });
    expect(await upstreamOf(me.id)).toMatchObject({ status: 'active', email: me.email, phone: other.phone });

    // Done once: the same confirmation again answers the same merge and does nothing more.
    const again = await call('POST', `/api/v1/account-merges/${flowId}/confirm`, { token: me.token, body: {} });
    expect(again.body.state).toBe('merged');
    expect((await auditOf(flowId)).length).toBe(audit.length);

    // The closed account cannot be merged again: into me it says so, to anyone else it is a wrong password.
    const second = (await start(me)).body.id as string;
    const already = await prove(me, second, other.username);
    expect(already.status).toBe(409);
    expect(already.body.reason).toBe('already_merged');
    const stranger = await newAccount('late');
    const theirs = (await start(stranger)).body.id as string;
    expect((await prove(stranger, theirs, other.username)).body.fields?.[0]?.reason).toBe('wrong_credentials');
    // ...and it signs in no more.
    await expect(bff.container.userApiTokens.passwordGrant(other.username, PASSWORD)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('a proven identifier of the other account replaces my unproven one (decision 0021), kept in my history', async () => {
    const me = await newAccount('unproven', { phone: newMobile(), phoneVerified: false });
    const other = await newAccount('proven', { phone: newMobile() });
    const flowId = (await start(me)).body.id as string;
    const proven = await prove(me, flowId, other.email);
    expect(proven.body.preview.moves.identifiers).toEqual([{ kind: 'phone', masked: expect.any(String), proven: true, action: 'replace' }]);
    expect(proven.body.preview.closes.identifiers).toEqual([{ kind: 'email', masked: expect.any(String) }]);
    expect((await call('POST', `/api/v1/account-merges/${flowId}/confirm`, { token: me.token, body: {} })).body.state).toBe('merged');
    const current = await kcUser(me.id);
    expect(current.attributes).toMatchObject({ phone: [other.phone], phoneVerified: ['true'], retiredIdentifiers: [`phone:${me.phone}`] });
    expect(current.email).toBe(me.email);
    expect((await kcUser(other.id)).attributes.phone).toBeUndefined();
  });

  it('two people cannot merge the same account, nor two accounts into each other', async () => {
    const a = await newAccount('cross-a');
    const b = await newAccount('cross-b');
    const ab = (await start(a)).body.id as string;
    const ba = (await start(b)).body.id as string;
    expect((await prove(a, ab, b.username)).status).toBe(200);
    expect((await prove(b, ba, a.username)).status).toBe(200);
    const results = await Promise.all([
      call('POST', `/api/v1/account-merges/${ab}/confirm`, { token: a.token, body: {} }),
      call('POST', `/api/v1/account-merges/${ba}/confirm`, { token: b.token, body: {} }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const enabled = [(await kcUser(a.id)).enabled, (await kcUser(b.id)).enabled];
    expect(enabled.filter(Boolean)).toHaveLength(1);
  });
});

describe('account merge API: resume after a crash', () => {
  /** The same feature over this BFF's stores, with the directory changed by `change` and its own runtime (settle time). */
  function mergeWith(overrides: Partial<IdentityDirectory>, settleTimeoutMs = 10_000) {
    const c = bff.container;
    const real = c.identityDirectory;
    // The real directory with some methods replaced (a class instance: its methods live on the prototype).
    const directory = new Proxy(real, {
      get: (target, name) => {
        if (name in overrides) return overrides[name as keyof IdentityDirectory];
        const value = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const runtime = new FlowRuntime({ store: new PostgresFlowStore(c.em), encryption: c.fieldEncryption, settleTimeoutMs });
    return wireAccountMerge({ ...c, flowRuntime: runtime, identityDirectory: directory }).service;
  }

  it('a step that fails leaves the merge interrupted at that step; resuming finishes it, nothing lost or done twice', async () => {
    const me = await newAccount('resume');
    const { other, subject, appKey, dbpUserId } = await otherAccountWithEverything();
    const flowId = (await start(me)).body.id as string;
    expect((await prove(me, flowId, other.email)).status).toBe(200);
    // Keycloak refuses to disable the other account: the merge stops between "memberships" and "close".
    const real = bff.container.identityDirectory;
    const failing = mergeWith({
      updateUser: async (id, changes) => {
        if (changes.enabled === false) throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'Keycloak is down (test)');
        return real.updateUser(id, changes);
      },
    });
    const stopped = await failing.confirm(me.id, flowId);
    expect(stopped.state).toBe('interrupted');
    expect(stopped.snapshot.context).toMatchObject({ failedStep: 'close', failure: 'IDENTITY_DIRECTORY_UNAVAILABLE' });
    // What the steps before did is stored; the other account is still open.
    expect((await kcUser(me.id)).attributes.phone).toEqual([other.phone]);
    expect((await kcUser(other.id)).enabled).toBe(true);
    const shown = await call('GET', `/api/v1/account-merges/${flowId}`, { token: me.token });
    expect(shown.body).toMatchObject({
      state: 'interrupted',
      steps: { failed: 'close', done: ['reserve', 'identifiers', 'links', 'partner-mappings', 'memberships'] },
    });

    const resumed = await call('POST', `/api/v1/account-merges/${flowId}/resume`, { token: me.token, body: {} });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body.state).toBe('merged');
    const closed = await kcUser(other.id);
    expect(closed).toMatchObject({ enabled: false, attributes: expect.objectContaining({ mergedInto: [me.id] }) });
    expect(closed.attributes.retiredIdentifiers).toHaveLength(2);
    expect((await kcLinks(me.id)).map((l) => l.userId)).toEqual([subject]);
    expect(await mappingOf(appKey, dbpUserId)).toEqual([me.id]);
    const events = (await auditOf(flowId)).map((r) => `${r.event}:${r.outcome}`);
    for (const step of ['reserve', 'identifiers', 'links', 'partner-mappings', 'memberships', 'close', 'upstream', 'finish']) {
      expect(
        events.filter((e) => e === `step:${step}:ok`),
        step,
      ).toHaveLength(1);
    }
    expect(events).toContain('interrupted:failed');
    expect(events).toContain('resumed:ok');
    expect((await outboxOf(other.id)).length).toBe(2);
  });

  it('a process that dies in the middle of the steps (nothing saved after the confirmation): resuming redoes them once', async () => {
    const me = await newAccount('crash');
    const { other, subject, appKey, dbpUserId } = await otherAccountWithEverything();
    const flowId = (await start(me)).body.id as string;
    expect((await prove(me, flowId, other.username)).status).toBe(200);
    // Joining the tenant never answers: the steps before it ran, and the step is abandoned unsaved, as a killed process leaves it.
    let reached = () => {};
    const atMemberships = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const hanging = mergeWith(
      {
        addToOrganization: () => {
          reached();
          return new Promise<void>(() => undefined);
        },
      },
      // Long enough for the four steps before it on a busy machine; the step is abandoned after it.
      8_000,
    );
    await expect(hanging.confirm(me.id, flowId)).rejects.toThrow(/did not come to rest/);
    await atMemberships;
    const left = await call('GET', `/api/v1/account-merges/${flowId}`, { token: me.token });
    expect(left.body).toMatchObject({ state: 'confirmed', steps: { done: [] } });
    expect((await kcUser(me.id)).attributes.phone).toEqual([other.phone]); // done before the crash
    expect(await mappingOf(appKey, dbpUserId)).toEqual([me.id]);

    const resumed = await call('POST', `/api/v1/account-merges/${flowId}/resume`, { token: me.token, body: {} });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body.state).toBe('merged');
    const current = await kcUser(me.id);
    expect(current.attributes.phone).toEqual([other.phone]);
    expect(current.attributes.retiredIdentifiers).toBeUndefined();
    const closed = await kcUser(other.id);
    expect(closed.enabled).toBe(false);
    expect(closed.attributes.retiredIdentifiers.sort()).toEqual([`email:${other.email}`, `phone:${other.phone}`].sort());
    expect((await kcLinks(me.id)).map((l) => l.userId)).toEqual([subject]);
    expect(await kcOrgs(me.id)).toEqual([STATE]);
    const steps = (await auditOf(flowId)).filter((r) => String(r.event).startsWith('step:')).map((r) => r.event);
    expect(steps).toEqual([
      'step:reserve',
      'step:identifiers',
      'step:links',
      'step:partner-mappings',
      'step:memberships',
      'step:close',
      'step:upstream',
      'step:finish',
    ]);
    expect((await outboxOf(other.id)).map((r) => r.kind)).toEqual(['profile', 'status']);
    expect((await outboxOf(me.id)).map((r) => r.kind)).toEqual(['profile']);
  });
});
