import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeycloakIdentityDirectory } from '../../bff/src/adapters/keycloak/keycloak-identity-directory.ts';
import { ServiceAccountTokens } from '../../bff/src/adapters/keycloak/service-account-tokens.ts';
import { bffEnv } from '../../stack/stack.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { inboxMessages } from '../support/inbox.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { platformAdminToken, uniqueId } from '../support/partners.ts';
import { freePort } from '../support/ports.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * State member imports (issue 18 stateonboard, decision 0035) against the e2e stack's Keycloak, the
 * reference upstream core, PostgreSQL and the dev inbox: the upload streamed as text/csv, rows worked
 * on by the BFF's background worker, per-row results, the accounts made, the invitations sent,
 * idempotent re-uploads, bad files, authorization, an outage, and `npm run members -- import`.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const STATE = 'state-demo';
const kcAdmin = adminFor(stack);
const tokens = new ServiceAccountTokens({ issuer: `${stack.keycloakUrl}/realms/${realm}`, clientId: 'bff', clientSecret: stack.settings.bffClientSecret });
const directory = new KeycloakIdentityDirectory({ keycloakUrl: stack.keycloakUrl, realm, tokens });
const keys = testKeyPrefix(uniqueId('member-import'));
const execFileAsync = promisify(execFile);
const workerEnv = { MEMBER_IMPORT_ENABLED: 'true', MEMBER_IMPORT_INTERVAL_MS: '200', MEMBER_IMPORT_RETRY_BASE_MS: '500', MEMBER_IMPORT_MAX_ROWS: '50' };
let bff: TestBff;
let adminToken: string;
let dir: string;

beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix, ...workerEnv });
  adminToken = await platformAdminToken(stack);
  dir = await mkdtemp(path.join(tmpdir(), 'member-import-'));
});

afterAll(async () => {
  await bff?.close();
  await keys.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const email = (label: string) => `${uniqueId(label).replace('-', '')}@example.org`;
const mobile = () => `+9198${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;
const sid = (label: string) => uniqueId(`S-${label}`);

async function upload(csv: string, opts: { tenant?: string; token?: string | null; type?: string; base?: string } = {}) {
  const res = await fetch(`${opts.base ?? bff.url}/api/admin/v1/tenants/${opts.tenant ?? STATE}/imports`, {
    method: 'POST',
    headers: { 'content-type': opts.type ?? 'text/csv', ...(opts.token === null ? {} : { authorization: `Bearer ${opts.token ?? adminToken}` }) },
    body: csv,
  });
  return { status: res.status, location: res.headers.get('location'), body: (await res.json()) as Json };
}

async function getJson(pathname: string, token = adminToken): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${bff.url}${pathname}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Json };
}

/** Polls the import until it is done; its last view. */
async function done(id: string, tenant = STATE): Promise<Json> {
  let view: Json = {};
  await expect
    .poll(
      async () => {
        view = (await getJson(`/api/admin/v1/tenants/${tenant}/imports/${id}`)).body;
        return view.status;
      },
      { timeout: 60_000, interval: 300 },
    )
    .toBe('done');
  return view;
}

async function rowsOf(id: string, query = ''): Promise<Json[]> {
  return (await getJson(`/api/admin/v1/tenants/${STATE}/imports/${id}/rows?limit=500${query}`)).body.items as Json[];
}

/** An account as an admin makes one in Keycloak, in `tenant`. */
async function account(opts: { tenant: string; email?: string; phone?: string; stateUserId?: string }): Promise<string> {
  const username = uniqueId('pre').replace('-', '');
  const { id } = await directory.createUser({
    username,
    firstName: 'Pre',
    ...(opts.email ? { email: opts.email, emailVerified: true } : {}),
    enabled: true,
    attributes: { ...(opts.phone ? { phone: [opts.phone], phoneVerified: ['true'] } : {}), ...(opts.stateUserId ? { stateUserId: [opts.stateUserId] } : {}) },
  });
  await directory.addToOrganization(id, opts.tenant);
  return id;
}

describe('POST /api/admin/v1/tenants/{tenant}/imports', () => {
  it('creates, matches and refuses row by row, with reasons; the accounts are the state tenant’s, unproven, invited; a re-upload creates nothing', async () => {
    const m = {
      newByEmail: { sid: sid('new'), email: email('new') },
      newByPhone: { sid: sid('phone'), phone: mobile() },
      inState: { sid: sid('instate'), email: email('instate') },
      custodian: { sid: sid('cust'), email: email('cust') },
      badPhone: { sid: sid('badphone') },
      dupSid: { email: email('dupsid') },
      dupEmail: { sid: sid('dupemail') },
    };
    const matchedId = await account({ tenant: STATE, email: m.inState.email });
    const custodianId = await account({ tenant: 'custodian', email: m.custodian.email });
    const csv = [
      'state_user_id,first_name,last_name,email,phone,user_type',
      `${m.newByEmail.sid},Asha,Verma,${m.newByEmail.email.toUpperCase()},,Teacher`,
      `${m.newByPhone.sid},Ravi,,,"${m.newByPhone.phone.slice(3, 8)} ${m.newByPhone.phone.slice(8)}",other`,
      `${m.inState.sid},Ira,,${m.inState.email},,`,
      `${m.custodian.sid},Cus,,${m.custodian.email},,`,
      `${m.badPhone.sid},Bad,,,12345,`,
      `${m.newByEmail.sid},Dup,,${m.dupSid.email},,`,
      `${m.dupEmail.sid},Dup,,${m.newByEmail.email},,`,
      `,Nobody,,${email('nosid')},,`,
      '',
    ].join('\n');

    const res = await upload(csv);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: expect.any(String), tenant: STATE, status: expect.stringMatching(/^(processing|done)$/) });
    expect(res.body.counts.total).toBe(8);
    expect(res.location).toBe(`/api/admin/v1/tenants/${STATE}/imports/${res.body.id}`);

    const view = await done(res.body.id);
    expect(view.counts).toEqual({ total: 8, pending: 0, created: 2, matched: 1, invited: 3, refused: 5 });
    const rows = await rowsOf(res.body.id);
    const byLine = Object.fromEntries(rows.map((r) => [r.line, r]));
    expect(byLine[2]).toMatchObject({
      stateUserId: m.newByEmail.sid,
      result: 'created',
      invited: true,
      reason: null,
      email: expect.stringMatching(/^.•••@example\.org$/),
    });
    expect(byLine[3]).toMatchObject({ result: 'created', invited: true, phone: expect.stringContaining('•') });
    expect(byLine[4]).toMatchObject({ result: 'matched', invited: true, userId: matchedId });
    expect(byLine[5]).toMatchObject({ result: 'refused', reason: 'identifier_in_other_tenant', userId: null });
    expect(byLine[6]).toMatchObject({ result: 'refused', reason: 'phone_invalid' });
    expect(byLine[7]).toMatchObject({ result: 'refused', reason: 'duplicate_state_user_id' });
    expect(byLine[8]).toMatchObject({ result: 'refused', reason: 'duplicate_email' });
    expect(byLine[9]).toMatchObject({ result: 'refused', reason: 'state_user_id_required', stateUserId: null });
    expect((await rowsOf(res.body.id, '&result=refused')).map((r) => r.line)).toEqual([5, 6, 7, 8, 9]);
    // No row carries an identifier in clear.
    expect(JSON.stringify(rows)).not.toContain(m.newByEmail.email);

    // The accounts: the state's tenant, signUpType stateOnboard, the state user id, the user type, identifiers unproven, no password.
    const created = await directory.getUser(byLine[2].userId);
    expect(created).toMatchObject({ email: m.newByEmail.email, emailVerified: false, firstName: 'Asha', lastName: 'Verma', enabled: true });
    expect(created?.attributes).toMatchObject({ signUpType: ['stateOnboard'], stateUserId: [m.newByEmail.sid], userType: ['teacher'] });
    expect((await directory.organizationsOf(byLine[2].userId)).map((o) => o.alias)).toEqual([STATE]);
    expect(await directory.credentialTypes(byLine[2].userId)).not.toContain('password');
    const byPhone = await directory.getUser(byLine[3].userId);
    expect(byPhone?.attributes).toMatchObject({
      phone: [m.newByPhone.phone],
      signUpType: ['stateOnboard'],
      stateUserId: [m.newByPhone.sid],
      userType: ['other'],
    });
    expect(byPhone?.attributes.phoneVerified?.[0] ?? 'false').toBe('false');
    // The matched account got the state user id; the custodian's account was left alone.
    expect((await directory.getUser(matchedId))?.attributes.stateUserId).toEqual([m.inState.sid]);
    expect((await directory.getUser(custodianId))?.attributes.stateUserId).toBeUndefined();
    expect((await directory.organizationsOf(custodianId)).map((o) => o.alias)).toEqual(['custodian']);

    // Invitations went out: a mail to the e-mail rows, an SMS to the phone row.
    await expect.poll(async () => (await inboxMessages(stack, 'mails', m.newByEmail.email)).length, { timeout: 20_000 }).toBeGreaterThan(0);
    await expect.poll(async () => (await inboxMessages(stack, 'sms', m.newByPhone.phone)).length, { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await inboxMessages(stack, 'mails', m.custodian.email)).toEqual([]);

    // The same file again: every good row matched to the same account, nothing new made.
    const again = await upload(csv);
    expect(again.status).toBe(202);
    const second = await done(again.body.id);
    expect(second.counts).toMatchObject({ total: 8, created: 0, matched: 3, refused: 5 });
    const secondRows = await rowsOf(again.body.id);
    expect(secondRows.filter((r) => r.result === 'matched').map((r) => r.userId)).toEqual([byLine[2].userId, byLine[3].userId, matchedId]);
    expect((await directory.findUsersByAttribute('stateUserId', m.newByEmail.sid)).map((u) => u.id)).toEqual([byLine[2].userId]);
  });

  it('refuses an account of the tenant whose state user id differs, and a row whose identifiers are on two accounts', async () => {
    const a = { sid: sid('a'), email: email('a') };
    const b = { phone: mobile() };
    await account({ tenant: STATE, email: a.email, stateUserId: 'OTHER-ID' });
    await account({ tenant: STATE, phone: b.phone });
    const both = email('both');
    await account({ tenant: STATE, email: both });
    const res = await upload(['state_user_id,first_name,email,phone', `${a.sid},A,${a.email},`, `${sid('b')},B,${both},${b.phone}`].join('\n'));
    expect(res.status).toBe(202);
    await done(res.body.id);
    expect((await rowsOf(res.body.id)).map((r) => [r.result, r.reason])).toEqual([
      ['refused', 'state_user_id_mismatch'],
      ['refused', 'identifiers_on_different_accounts'],
    ]);
  });

  it('a later file with the same state user id and a new e-mail matches the account the first one made (nothing new)', async () => {
    const member = { sid: sid('moved'), first: email('first'), second: email('second') };
    const first = await upload(`state_user_id,first_name,email\n${member.sid},Mo,${member.first}\n`);
    await done(first.body.id);
    const [made] = await rowsOf(first.body.id);
    expect(made).toMatchObject({ result: 'created', userId: expect.any(String) });
    const second = await upload(`state_user_id,first_name,email\n${member.sid},Mo,${member.second}\n`);
    await done(second.body.id);
    expect(await rowsOf(second.body.id)).toEqual([expect.objectContaining({ result: 'matched', userId: made!.userId })]);
    expect(await directory.findUsersByEmail(member.second)).toEqual([]);
  });

  it('400 naming the wrong, repeated and missing columns; nothing stored', async () => {
    const before = await countImports();
    const res = await upload('state_user_id,name,email,email\nS-1,A,a@example.org,b@example.org\n');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.fields.map((f: Json) => `${f.field}:${f.reason}`)).toEqual([
      'columns.name:unknown',
      'columns.email:duplicate',
      'columns.first_name:required',
    ]);
    const noIdentifier = await upload('state_user_id,first_name\nS-1,A\n');
    expect(noIdentifier.body.fields.map((f: Json) => f.field)).toEqual(['columns.email', 'columns.phone']);
    const empty = await upload('');
    expect(empty.status).toBe(400);
    const malformed = await upload('state_user_id,first_name,email\n"S-1,A,a@example.org\n');
    expect(malformed).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED', fields: [expect.objectContaining({ field: 'body', reason: 'malformed_csv' })] },
    });
    const json = await upload(JSON.stringify({ rows: [] }), { type: 'application/json' });
    expect(json.status).toBe(400);
    const plain = await upload('state_user_id,first_name,email\n', { type: 'text/plain' });
    expect(plain).toMatchObject({ status: 400, body: { fields: [expect.objectContaining({ field: 'body', reason: 'unsupported_media_type' })] } });
    expect(await countImports()).toBe(before);
  });

  it('413 beyond the row limit (MEMBER_IMPORT_MAX_ROWS), nothing kept', async () => {
    const before = await countImports();
    const lines = ['state_user_id,first_name,email', ...Array.from({ length: 51 }, (_, i) => `${sid(`big${i}`)},Big,${email(`big${i}`)}`)];
    const res = await upload(lines.join('\n'));
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await countImports()).toBe(before);
  });

  it('401 without a token; 403 for another tenant’s admin; 409 for the custodian; 404 for an unknown tenant or import', async () => {
    const csv = `state_user_id,first_name,email\n${sid('auth')},A,${email('auth')}\n`;
    expect((await upload(csv, { token: null })).status).toBe(401);
    const custodianAdmin = await tenantAdminToken('custodian');
    const forbidden = await upload(csv, { token: custodianAdmin });
    expect(forbidden).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect((await getJson(`/api/admin/v1/tenants/${STATE}/imports/00000000-0000-4000-8000-000000000000`, custodianAdmin)).status).toBe(403);
    // The custodian's own admin may not import either: not a state.
    const custodian = await upload(csv, { tenant: 'custodian', token: custodianAdmin });
    expect(custodian).toMatchObject({
      status: 409,
      body: { code: 'CONFLICT', fields: [expect.objectContaining({ field: 'tenant', reason: 'not_a_state_tenant' })] },
    });
    expect((await upload(csv, { tenant: 'no-such-state' })).status).toBe(404);
    expect((await getJson(`/api/admin/v1/tenants/${STATE}/imports/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await getJson(`/api/admin/v1/tenants/${STATE}/imports/not-an-id`)).status).toBe(404);

    // The state's own tenant admin may; another state's import is not found from here.
    const stateAdmin = await tenantAdminToken(STATE);
    const own = await upload(csv, { token: stateAdmin });
    expect(own.status).toBe(202);
    expect((await getJson(`/api/admin/v1/tenants/custodian/imports/${own.body.id}`)).status).toBe(404);
    await done(own.body.id);
  });

  it('a dependency down leaves rows pending, never refused; they finish once it is back', async () => {
    const down = await startTestBff(stack, {
      REDIS_PREFIX: keys.prefix,
      ...workerEnv,
      UPSTREAM_URL: `http://127.0.0.1:${await freePort()}`,
      UPSTREAM_RETRIES: '0',
    });
    const member = { sid: sid('outage'), email: email('outage') };
    let id: string;
    try {
      // The main BFF's worker is stopped meanwhile: only the one whose core is down works.
      await stopMainWorker();
      const res = await upload(`state_user_id,first_name,email\n${member.sid},Out,${member.email}\n`, { base: down.url });
      expect(res.status).toBe(202);
      id = res.body.id;
      await expect.poll(() => lastErrorOf(id), { timeout: 20_000 }).toBe('UPSTREAM_UNAVAILABLE');
      const view = (await getJson(`/api/admin/v1/tenants/${STATE}/imports/${id}`)).body;
      expect(view).toMatchObject({ status: 'processing', counts: { pending: 1, refused: 0, created: 0 } });
      expect(await directory.findUsersByEmail(member.email)).toEqual([]);
    } finally {
      await down.close();
      startMainWorker();
    }
    const view = await done(id!);
    expect(view.counts).toMatchObject({ created: 1, refused: 0, pending: 0 });
    expect((await directory.findUsersByEmail(member.email))[0]?.attributes.stateUserId).toEqual([member.sid]);
  });
});

describe('npm run members -- import', () => {
  const cli = path.resolve('bff/src/cli/members.ts');
  const env = { ...process.env, ...bffEnv(stack.settings, stack.upstreamUrl), NODE_ENV: 'test', MEMBER_IMPORT_RETRY_BASE_MS: '500' };
  const run = (...args: string[]) => execFileAsync(process.execPath, [cli, ...args], { env, timeout: 120_000 });

  it('streams the file, works on its rows itself (no BFF worker), prints the summary and where the refused rows are', async () => {
    await stopMainWorker();
    try {
      const file = path.join(dir, 'members.csv');
      const good = { sid: sid('cli'), email: email('cli') };
      await writeFile(file, `state_user_id,first_name,email,phone\n${good.sid},Cli,${good.email},\n${sid('clibad')},Bad,,12\n`);
      const { stdout, stderr } = await run('import', file, '--tenant', STATE);
      const view = JSON.parse(stdout) as Json;
      expect(view).toMatchObject({ tenant: STATE, status: 'done', counts: { total: 2, created: 1, refused: 1, pending: 0 } });
      expect(stderr).toContain(`import-status ${view.id} --tenant ${STATE} --result refused`);
      expect(stderr).toMatch(/2\/2 rows/);
      const status = JSON.parse((await run('import-status', view.id, '--tenant', STATE, '--result', 'refused')).stdout) as Json;
      expect(status.rows.items).toEqual([expect.objectContaining({ line: 3, result: 'refused', reason: 'phone_invalid' })]);
      expect((await directory.findUsersByEmail(good.email))[0]?.attributes.signUpType).toEqual(['stateOnboard']);
    } finally {
      startMainWorker();
    }
    await expect(run('import', path.join(dir, 'missing.csv'), '--tenant', STATE)).rejects.toMatchObject({ code: 2 });
    await expect(run('import', path.join(dir, 'members.csv'))).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--tenant') });
    const bad = path.join(dir, 'bad.csv');
    await writeFile(bad, 'who,what\n');
    await expect(run('import', bad, '--tenant', STATE)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('columns.who') });
    await expect(run('import', bad, '--tenant', 'custodian')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('CONFLICT') });
  });
});

// ------------------------------------------------------------------------------------------ helpers

async function countImports(): Promise<number> {
  const [row] = await bff.container.em.getConnection().execute<{ n: string }[]>('select count(*) as n from member_import');
  return Number(row?.n);
}

async function lastErrorOf(id: string): Promise<string | null> {
  const [row] = await bff.container.em
    .getConnection()
    .execute<{ last_error: string | null }[]>('select last_error from member_import_row where import_id = ?', [id]);
  return row?.last_error ?? null;
}

async function stopMainWorker(): Promise<void> {
  await bff.container.memberImportWorker.stop();
}

function startMainWorker(): void {
  bff.container.memberImportWorker.start();
}

/** A person with the realm role tenant-admin, a member of `tenant`'s organization; their token (user-api, audience bff). */
async function tenantAdminToken(tenant: string): Promise<string> {
  const username = uniqueId('tadmin').replace('-', '');
  const password = `Tenant-Admin-${randomInt(1e9)}`;
  const location = await kcAdmin.post(`/${realm}/users`, {
    username,
    email: `${username}@example.org`,
    emailVerified: true,
    firstName: 'Tenant',
    lastName: 'Admin',
    enabled: true,
    credentials: [{ type: 'password', value: password, temporary: false }],
  });
  const id = location!.split('/').pop()!;
  await directory.addToOrganization(id, tenant);
  const role = (await kcAdmin.get<Json>(`/${realm}/roles/tenant-admin`))!;
  await kcAdmin.post(`/${realm}/users/${id}/role-mappings/realm`, [role]);
  const res = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'user-api', client_secret: stack.settings.userApiClientSecret, username, password }),
  });
  if (!res.ok) throw new Error(`tenant admin sign-in refused: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
