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
import { adminFor } from '../support/keycloak-admin.ts';
import { call, platformAdminToken, registerPartner, uniqueId } from '../support/partners.ts';
import { freePort } from '../support/ports.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Converting a prospective member (a Keycloak account without an upstream link, e.g. made in the admin
 * console) into an active one (decision 0013): admin API and `npm run members`, against the e2e
 * stack's Keycloak and reference upstream core.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const kcAdmin = adminFor(stack);
const tokens = new ServiceAccountTokens({ issuer: `${stack.keycloakUrl}/realms/${realm}`, clientId: 'bff', clientSecret: stack.settings.bffClientSecret });
const directory = new KeycloakIdentityDirectory({ keycloakUrl: stack.keycloakUrl, realm, tokens });
const upstream = new HttpUpstreamCore({ baseUrl: stack.upstreamUrl, apiKey: stack.settings.upstreamApiKey });
const keys = testKeyPrefix(uniqueId('member-conversion'));
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

/** A Keycloak-only account, as an admin makes one in the console. */
async function prospective(overrides: Json = {}): Promise<{ id: string; email: string }> {
  const name = uniqueId('prospect').replace('-', '');
  const email = `${name}@example.org`;
  const location = await kcAdmin.post(`/${realm}/users`, { username: name, email, firstName: 'Pria', lastName: 'Spect', enabled: true, ...overrides });
  return { id: location!.split('/').pop()!, email: (overrides.email as string | undefined) ?? email };
}

const convert = (userId: string, token: string | null = adminToken, base = bff.url) =>
  call(`${base}/api/admin/v1/users/${userId}/upstream-link`, 'PUT', token ? { token } : {});

describe('conversion through the admin API', () => {
  it('creates the upstream account and links it; a second call answers the same link and creates nothing', async () => {
    const user = await prospective();
    const first = await convert(user.id);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ userId: user.id, upstreamUserId: expect.any(String), converted: true });

    const kcUser = await directory.getUser(user.id);
    expect(kcUser?.attributes.upstreamUserId).toEqual([first.body.upstreamUserId]);
    expect((await directory.organizationsOf(user.id)).map((o) => o.alias)).toEqual(['custodian']);
    const profile = await upstream.getUser(first.body.upstreamUserId);
    expect(profile).toMatchObject({ externalId: user.id, email: user.email, firstName: 'Pria', lastName: 'Spect', status: 'active' });

    const again = await convert(user.id);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ userId: user.id, upstreamUserId: first.body.upstreamUserId, converted: false });
    expect((await upstream.findUser({ email: user.email }))?.id).toBe(first.body.upstreamUserId);
  });

  it('concurrent calls make one upstream account and one link', async () => {
    const user = await prospective();
    const results = await Promise.all([convert(user.id), convert(user.id), convert(user.id)]);
    expect(results.map((r) => r.status).every((s) => s === 200 || s === 201)).toBe(true);
    const ids = new Set(results.map((r) => r.body.upstreamUserId));
    expect(ids.size).toBe(1);
    const [upstreamUserId] = [...ids];
    expect(results.filter((r) => r.body.converted === true)).toHaveLength(1);
    expect((await upstream.getUserByExternalId(user.id))?.id).toBe(upstreamUserId);
    expect((await directory.getUser(user.id))?.attributes.upstreamUserId).toEqual([upstreamUserId]);
  });

  it('401 without a token, 403 without platform-admin, 404 for an unknown or malformed id', async () => {
    const user = await prospective();
    expect((await convert(user.id, null)).status).toBe(401);
    const partner = await registerPartner(stack, bff.url, adminToken, { trustAuth: false, appKeys: [] });
    const forbidden = await convert(user.id, partner.serverToken);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('FORBIDDEN');
    expect((await convert(randomUUID())).status).toBe(404);
    expect((await convert('not-a-user')).status).toBe(404);
    // Nothing was created by the refused calls.
    expect(await upstream.getUserByExternalId(user.id)).toBeNull();
    expect((await directory.getUser(user.id))?.attributes.upstreamUserId).toBeUndefined();
  });

  it('400 naming what blocks a conversion (a disabled account), creating nothing', async () => {
    const user = await prospective({ enabled: false });
    const res = await convert(user.id);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.fields.map((f: Json) => f.field)).toEqual(['enabled']);
    expect(await upstream.getUserByExternalId(user.id)).toBeNull();
  });

  it('409 naming the email when another upstream member holds it; nothing is linked', async () => {
    const email = `${uniqueId('held').replace('-', '')}@example.org`;
    // A member of the core that is not this Keycloak account.
    await upstream.createUser({ externalId: randomUUID(), firstName: 'Other', email });
    const user = await prospective({ email });
    const res = await convert(user.id);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'ACCOUNT_EXISTS', fields: [expect.objectContaining({ field: 'email' })] });
    expect(await upstream.getUserByExternalId(user.id)).toBeNull();
    expect((await directory.getUser(user.id))?.attributes.upstreamUserId).toBeUndefined();
  });

  it('503 while the upstream core is down, nothing half-done; the retry completes', async () => {
    const user = await prospective();
    const down = await startTestBff(stack, { REDIS_PREFIX: keys.prefix, UPSTREAM_URL: `http://127.0.0.1:${await freePort()}`, UPSTREAM_RETRIES: '0' });
    try {
      const res = await convert(user.id, adminToken, down.url);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('UPSTREAM_UNAVAILABLE');
    } finally {
      await down.close();
    }
    expect((await directory.getUser(user.id))?.attributes.upstreamUserId).toBeUndefined();
    expect(await directory.organizationsOf(user.id)).toEqual([]);
    expect(await upstream.getUserByExternalId(user.id)).toBeNull();

    const retried = await convert(user.id);
    expect(retried.status).toBe(201);
    expect((await upstream.getUserByExternalId(user.id))?.id).toBe(retried.body.upstreamUserId);
  });
});

describe('npm run members', () => {
  const cli = path.resolve('bff/src/cli/members.ts');
  const env = { ...process.env, ...bffEnv(stack.settings, stack.upstreamUrl), NODE_ENV: 'test' };
  const run = (...args: string[]) => execFileAsync(process.execPath, [cli, ...args], { env, timeout: 60_000 });

  it('converts idempotently, lists the outbox, and reports refusals with their code', async () => {
    const user = await prospective();
    const first = JSON.parse((await run('convert', user.id)).stdout) as Json;
    expect(first).toEqual({ userId: user.id, upstreamUserId: expect.any(String), converted: true });
    const again = JSON.parse((await run('convert', user.id)).stdout) as Json;
    expect(again).toEqual({ ...first, converted: false });

    const listing = JSON.parse((await run('outbox', '--status', 'failed', '--limit', '5')).stdout) as Json;
    expect(listing).toMatchObject({ items: expect.any(Array), counts: { pending: expect.any(Number), failed: expect.any(Number) } });

    await expect(run('convert', randomUUID())).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('NOT_FOUND') });
    await expect(run('retry', randomUUID())).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('NOT_FOUND') });
    await expect(run('skip', randomUUID())).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('NOT_FOUND') });
    await expect(run('resync', (await prospective()).id)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('CONFLICT') });
    const resynced = JSON.parse((await run('resync', user.id)).stdout) as Json;
    expect(resynced).toMatchObject({
      userId: user.id,
      rows: [expect.objectContaining({ kind: 'profile' }), expect.objectContaining({ kind: 'status', fields: ['active'] })],
    });
    expect(JSON.parse((await run('outbox', '--status', 'skipped', '--limit', '1')).stdout)).toMatchObject({ counts: { skipped: expect.any(Number) } });
    await expect(run('outbox', '--status', 'odd')).rejects.toMatchObject({ code: 2 });
  });
});
