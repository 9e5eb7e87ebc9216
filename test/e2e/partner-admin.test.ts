import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bffEnv } from '../../stack/stack.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call, clientCredentialsToken, platformAdminToken, registerPartner, uniqueId } from '../support/partners.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Partner administration: the admin API (platform-admin only) and `npm run partner`, against the e2e
 * stack's Keycloak (the partner's client) and the BFF's PostgreSQL (its settings); and that the
 * partner API follows every change at once.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const kcAdmin = adminFor(stack);
const keys = testKeyPrefix(uniqueId('partner-admin'));
const execFileAsync = promisify(execFile);
let bff: TestBff;
let adminToken: string;

beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix });
  adminToken = await platformAdminToken(stack);
});

afterAll(async () => {
  await bff?.close();
  await keys.cleanup();
});

const api = (p = '') => `${bff.url}/api/admin/v1/partners${p}`;
const authorize = (serverToken: string, appKey: string, dbpUserId = uniqueId('u')) =>
  call(`${bff.url}/api/auth/v1`, 'POST', {
    token: serverToken,
    body: { appKey, dbpUserId, pii: { firstName: 'Ada', lastName: 'Admin', dob: '1980-05-05', email: `${dbpUserId}@partner.example` } },
  });
const kcClient = async (clientId: string) => (await kcAdmin.get<Json[]>(`/${realm}/clients?clientId=${clientId}`))![0]!;

describe('admin API access', () => {
  it('401 without a token, 403 for a valid token without platform-admin (a partner server token)', async () => {
    const none = await call(api(), 'GET');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="bff"');
    const garbage = await call(api(), 'GET', { token: 'not.a.jwt' });
    expect(garbage.status).toBe(401);
    expect(garbage.headers.get('www-authenticate')).toBe('Bearer realm="bff", error="invalid_token"');
    const partner = await registerPartner(stack, bff.url, adminToken, { trustAuth: false, appKeys: [] });
    const res = await call(api(), 'GET', { token: partner.serverToken });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
    expect((await call(api(), 'POST', { token: partner.serverToken, body: {} })).status).toBe(403);
  });
});

describe('registering a partner', () => {
  it('creates the Keycloak client (client credentials only, audience bff) and the settings; the secret is shown once', async () => {
    const clientId = uniqueId('bank');
    const appKey = uniqueId('app');
    const res = await call(api(), 'POST', {
      token: adminToken,
      body: { clientId, name: 'Acme Bank', trustAuth: true, appKeys: [{ appKey, autoEnroll: true, kbaBypass: false }] },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/admin/v1/partners/${clientId}`);
    expect(res.body).toMatchObject({ clientId, name: 'Acme Bank', trustAuth: true, enabled: true, appKeys: [{ appKey, autoEnroll: true, kbaBypass: false }] });
    expect(res.body.clientSecret).toMatch(/^\S{20,}$/);

    const client = await kcClient(clientId);
    expect(client).toMatchObject({
      publicClient: false,
      serviceAccountsEnabled: true,
      standardFlowEnabled: false,
      directAccessGrantsEnabled: false,
      implicitFlowEnabled: false,
      attributes: expect.objectContaining({ 'platform.partner': 'true' }),
    });
    const serverToken = await clientCredentialsToken(stack, clientId, res.body.clientSecret);
    const claims = JSON.parse(Buffer.from(serverToken.split('.')[1]!, 'base64url').toString()) as Json;
    expect(claims.aud).toContain('bff');
    expect(claims.azp).toBe(clientId);
    expect((await authorize(serverToken, appKey)).status).toBe(201);

    const shown = await call(api(`/${clientId}`), 'GET', { token: adminToken });
    expect(shown.status).toBe(200);
    expect(shown.body.clientSecret).toBeUndefined();
    expect((await call(api(), 'GET', { token: adminToken })).body.items.map((p: Json) => p.clientId)).toContain(clientId);
  });

  it('400 naming each bad field; 409 for a registered client id or a client that is not a partner; 404 for unknown partners', async () => {
    const bad = await call(api(), 'POST', { token: adminToken, body: { clientId: 'a b', trustAuth: 'yes', appKeys: [{ appKey: 'x' }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: Json) => f.field).sort()).toEqual(
      expect.arrayContaining(['clientId', 'name', 'trustAuth', 'appKeys.0.appKey', 'appKeys.0.autoEnroll', 'appKeys.0.kbaBypass']),
    );
    const partner = await registerPartner(stack, bff.url, adminToken, { trustAuth: false, appKeys: [] });
    const again = await call(api(), 'POST', { token: adminToken, body: { clientId: partner.clientId, name: 'x', trustAuth: false, appKeys: [] } });
    expect(again.status).toBe(409);
    const notPartner = await call(api(), 'POST', { token: adminToken, body: { clientId: 'portal', name: 'x', trustAuth: false, appKeys: [] } });
    expect(notPartner.status).toBe(409);
    expect((await kcClient('portal')).attributes?.['platform.partner']).toBeUndefined();
    expect((await call(api('/no-such-partner'), 'GET', { token: adminToken })).status).toBe(404);
    expect((await call(api('/no-such-partner/secret'), 'POST', { token: adminToken })).status).toBe(404);
  });
});

describe('changing a partner', () => {
  it("appKey settings and trustAuth change the partner API's decision at once; another partner's appKey is 409", async () => {
    const appKey = uniqueId('app');
    const partner = await registerPartner(stack, bff.url, adminToken, { trustAuth: false, appKeys: [{ appKey, autoEnroll: true, kbaBypass: false }] });
    expect((await authorize(partner.serverToken, appKey)).status).toBe(409);

    const consent = await call(api(`/${partner.clientId}/app-keys/${appKey}`), 'PUT', { token: adminToken, body: { autoEnroll: true, kbaBypass: true } });
    expect(consent.status).toBe(200);
    expect(consent.body.appKeys).toEqual([{ appKey, autoEnroll: true, kbaBypass: true }]);
    const awaiting = await authorize(partner.serverToken, appKey);
    expect(awaiting.status).toBe(201);
    expect((await fetch(`${bff.url}/api/auth/v1/${awaiting.body.authToken}`)).status).toBe(203);

    await call(api(`/${partner.clientId}/app-keys/${appKey}`), 'PUT', { token: adminToken, body: { autoEnroll: true, kbaBypass: false } });
    const trusted = await call(api(`/${partner.clientId}`), 'PATCH', { token: adminToken, body: { trustAuth: true } });
    expect(trusted.body.trustAuth).toBe(true);
    const dbpUserId = uniqueId('u');
    const enrolled = await authorize(partner.serverToken, appKey, dbpUserId);
    expect(enrolled.status).toBe(201);
    expect((await call(`${bff.url}/api/auth/v1/${enrolled.body.authToken}`, 'GET')).status).toBe(200);

    // Back to conflicting settings: an enrolled user is still 200 (the table's "any settings").
    await call(api(`/${partner.clientId}`), 'PATCH', { token: adminToken, body: { trustAuth: false } });
    expect((await authorize(partner.serverToken, appKey)).status).toBe(409);
    const known = await authorize(partner.serverToken, appKey, dbpUserId);
    expect(known.status).toBe(200);
    expect((await call(`${bff.url}/api/auth/v1/${known.body.authToken}`, 'GET')).status).toBe(200);

    const other = await registerPartner(stack, bff.url, adminToken, { trustAuth: false, appKeys: [] });
    const taken = await call(api(`/${other.clientId}/app-keys/${appKey}`), 'PUT', { token: adminToken, body: { autoEnroll: false, kbaBypass: false } });
    expect(taken.status).toBe(409);
    expect((await call(api(`/${partner.clientId}`), 'PATCH', { token: adminToken, body: {} })).status).toBe(400);
  });

  it('rotating the secret: the old one stops working, the new one works', async () => {
    const partner = await registerPartner(stack, bff.url, adminToken, { trustAuth: false, appKeys: [] });
    const rotated = await call(api(`/${partner.clientId}/secret`), 'POST', { token: adminToken });
    expect(rotated.status).toBe(200);
    expect(rotated.body.clientSecret).not.toBe(partner.clientSecret);
    await expect(clientCredentialsToken(stack, partner.clientId, partner.clientSecret)).rejects.toThrow(/refused/);
    expect(await clientCredentialsToken(stack, partner.clientId, rotated.body.clientSecret)).toMatch(/^ey/);
  });

  it('disabling: the Keycloak client is disabled and unexpired server tokens are refused (403); enabling restores it', async () => {
    const appKey = uniqueId('app');
    const partner = await registerPartner(stack, bff.url, adminToken, { trustAuth: false, appKeys: [{ appKey, autoEnroll: false, kbaBypass: false }] });
    const disabled = await call(api(`/${partner.clientId}`), 'PATCH', { token: adminToken, body: { enabled: false } });
    expect(disabled.body.enabled).toBe(false);
    expect((await kcClient(partner.clientId)).enabled).toBe(false);
    await expect(clientCredentialsToken(stack, partner.clientId, partner.clientSecret)).rejects.toThrow(/refused/);
    const refused = await authorize(partner.serverToken, appKey);
    expect(refused.status).toBe(403);

    await call(api(`/${partner.clientId}`), 'PATCH', { token: adminToken, body: { enabled: true } });
    expect((await kcClient(partner.clientId)).enabled).toBe(true);
    expect((await authorize(partner.serverToken, appKey)).status).toBe(201);
  });
});

describe('npm run partner', () => {
  const cli = path.resolve('bff/src/cli/partner.ts');
  const env = { ...process.env, ...bffEnv(stack.settings, stack.upstreamUrl), NODE_ENV: 'test' };
  const run = (...args: string[]) => execFileAsync(process.execPath, [cli, ...args], { env, timeout: 60_000 });

  it('registers a partner whose server token works, and changes and disables it', async () => {
    const clientId = uniqueId('cli-bank');
    const appKey = uniqueId('cli-app');
    const registered = JSON.parse(
      (await run('register', '--client-id', clientId, '--name', 'CLI Bank', '--trust-auth', '--app-key', `${appKey}:auto-enroll`)).stdout,
    ) as Json;
    expect(registered.partner).toMatchObject({ clientId, trustAuth: true, appKeys: [{ appKey, autoEnroll: true, kbaBypass: false }] });
    const serverToken = await clientCredentialsToken(stack, clientId, registered.clientSecret);
    expect((await authorize(serverToken, appKey)).status).toBe(201);

    const again = JSON.parse((await run('register', '--if-absent', '--client-id', clientId, '--name', 'Other')).stdout) as Json;
    expect(again).toMatchObject({ created: false, partner: { name: 'CLI Bank' } });
    expect(again.clientSecret).toBeUndefined();

    const changed = JSON.parse((await run('set-app-key', clientId, appKey, '--auto-enroll', 'false', '--kba-bypass', 'false')).stdout) as Json;
    expect(changed.appKeys).toEqual([{ appKey, autoEnroll: false, kbaBypass: false }]);
    expect(JSON.parse((await run('disable', clientId)).stdout).enabled).toBe(false);
    expect((await authorize(serverToken, appKey)).status).toBe(403);

    await expect(run('show', 'no-such-partner')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('NOT_FOUND') });
    await expect(run('register', '--client-id', 'x')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('VALIDATION_FAILED') });
  });
});
