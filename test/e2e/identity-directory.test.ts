import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { KeycloakIdentityDirectory } from '../../bff/src/adapters/keycloak/keycloak-identity-directory.ts';
import { ServiceAccountTokens } from '../../bff/src/adapters/keycloak/service-account-tokens.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';

const stack = inject('stack');
const issuer = `${stack.keycloakUrl}/realms/${stack.settings.platformRealm}`;
const tokens = new ServiceAccountTokens({ issuer, clientId: 'bff', clientSecret: stack.settings.bffClientSecret });
const directory = new KeycloakIdentityDirectory({ keycloakUrl: stack.keycloakUrl, realm: stack.settings.platformRealm, tokens });
const suffix = randomBytes(3).toString('hex');
const created: string[] = [];
/** GET on the Admin API of the realm with the BFF's own service account (it manages users). */
const adminGet = async (path: string) =>
  (
    await fetch(`${stack.keycloakUrl}/admin/realms/${stack.settings.platformRealm}${path}`, {
      headers: { authorization: `Bearer ${await tokens.accessToken()}` },
    })
  ).json() as Promise<Record<string, unknown>>;

afterAll(async () => {
  for (const id of created) await directory.deleteUser(id).catch(() => undefined);
});

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof DomainError ? { code: e.code, fields: e.fields.map((f) => f.field) } : String(e);
  }
};

describe('Keycloak identity directory (BFF service account against the real Admin API)', () => {
  it('creates, finds, updates and organises a user; duplicates are ACCOUNT_EXISTS naming the field', async () => {
    const username = `dir_test_${suffix}`;
    const { id } = await directory.createUser({
      username,
      email: `${username}@example.com`,
      firstName: 'Dir',
      attributes: { phone: ['+919800000001'], phoneVerified: ['true'] },
    });
    created.push(id);
    expect(await directory.getUser(id)).toMatchObject({ id, username, email: `${username}@example.com`, enabled: true });
    expect((await directory.findUserByUsername(username))?.id).toBe(id);
    expect((await directory.findUsersByEmail(`${username}@example.com`)).map((u) => u.id)).toEqual([id]);
    expect((await directory.findUsersByAttribute('phone', '+919800000001')).map((u) => u.id)).toEqual([id]);

    expect(await codeOf(directory.createUser({ username, firstName: 'Again' }))).toEqual({ code: 'ACCOUNT_EXISTS', fields: ['username'] });
    expect(await codeOf(directory.createUser({ username: `${username}_2`, email: `${username}@example.com`, firstName: 'Again' }))).toEqual({
      code: 'ACCOUNT_EXISTS',
      fields: ['email'],
    });

    await directory.updateUser(id, { lastName: 'Updated' });
    expect((await directory.getUser(id))?.lastName).toBe('Updated');

    await directory.addToOrganization(id, 'custodian');
    await directory.addToOrganization(id, 'custodian'); // idempotent
    expect((await directory.organizationsOf(id)).map((o) => o.alias)).toEqual(['custodian']);
    await directory.removeFromOrganization(id, 'custodian');
    await directory.addToOrganization(id, 'state-demo');
    expect((await directory.organizationsOf(id)).map((o) => o.alias)).toEqual(['state-demo']);
  });

  it('reports the realm password policy as VALIDATION_FAILED on the password field', async () => {
    const { id } = await directory.createUser({ username: `dir_pw_${suffix}`, firstName: 'Pw' });
    created.push(id);
    expect(await codeOf(directory.setPassword(id, 'short'))).toEqual({ code: 'VALIDATION_FAILED', fields: ['password'] });
    expect(await codeOf(directory.setPassword(id, 'a-Long-enough-pass-2026'))).toBe('resolved');
  });

  it("a new password set for a proven person ends the account's brute-force lockout; an update keeps an account disabled", async () => {
    const username = `dir_lock_${suffix}`;
    const { id } = await directory.createUser({ username, firstName: 'Lock', password: 'Lock-first-pass-2026' });
    created.push(id);
    const grant = (password: string) =>
      fetch(`${issuer}/protocol/openid-connect/token`, {
        method: 'POST',
        body: new URLSearchParams({ client_id: 'user-api', client_secret: stack.settings.userApiClientSecret, grant_type: 'password', username, password }),
      }).then((r) => r.status);
    // Two wrong passwords within the realm's quick-login window: Keycloak locks the account for a minute.
    expect(await grant('wrong-pass-one-1')).toBe(400);
    expect(await grant('wrong-pass-two-2')).toBe(400);
    const lockout = () => adminGet(`/attack-detection/brute-force/users/${id}`);
    expect((await lockout()).disabled).toBe(true);
    expect(await grant('Lock-first-pass-2026')).toBe(400);

    await directory.setPassword(id, 'Lock-second-pass-2026');
    expect((await lockout()).disabled).toBe(false);
    expect(await grant('Lock-second-pass-2026')).toBe(200);

    // An update names only what changes: it never turns `enabled` back on (nor off).
    await directory.updateUser(id, { enabled: false });
    await directory.updateUser(id, { attributes: { locale: ['hi'] } });
    expect(await directory.getUser(id)).toMatchObject({ enabled: false, attributes: expect.objectContaining({ locale: ['hi'] }) });
  });

  it('unknown ids are null or NOT_FOUND', async () => {
    expect(await directory.getUser('00000000-0000-0000-0000-000000000000')).toBeNull();
    expect(await codeOf(directory.updateUser('00000000-0000-0000-0000-000000000000', { firstName: 'x' }))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('renews its token when it is about to expire, and shares one renewal between callers', async () => {
    let now = Date.now();
    const clocked = new ServiceAccountTokens({ issuer, clientId: 'bff', clientSecret: stack.settings.bffClientSecret, now: () => now });
    const dir = new KeycloakIdentityDirectory({ keycloakUrl: stack.keycloakUrl, realm: stack.settings.platformRealm, tokens: clocked });
    await Promise.all([dir.ping(), dir.ping(), dir.ping()]);
    expect(clocked.fetched).toBe(1);
    await dir.ping();
    expect(clocked.fetched).toBe(1);
    now += 10 * 60 * 1000; // past the 5-minute access token lifespan
    await dir.ping();
    expect(clocked.fetched).toBe(2);
  });

  it('a wrong secret is IDENTITY_DIRECTORY_FAILED; an unreachable Keycloak is IDENTITY_DIRECTORY_UNAVAILABLE', async () => {
    const wrong = new KeycloakIdentityDirectory({
      keycloakUrl: stack.keycloakUrl,
      realm: stack.settings.platformRealm,
      tokens: new ServiceAccountTokens({ issuer, clientId: 'bff', clientSecret: 'not-the-secret' }),
    });
    expect(await codeOf(wrong.ping())).toMatchObject({ code: 'IDENTITY_DIRECTORY_FAILED' });
    const down = new KeycloakIdentityDirectory({
      keycloakUrl: 'http://127.0.0.1:9',
      realm: 'platform',
      tokens: new ServiceAccountTokens({ issuer: 'http://127.0.0.1:9/realms/platform', clientId: 'bff', clientSecret: 'x' }),
    });
    expect(await codeOf(down.ping())).toMatchObject({ code: 'IDENTITY_DIRECTORY_UNAVAILABLE' });
  });
});
