import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Page } from 'playwright-core';
import { createPool } from '../../upstream/src/db.ts';
import { hashSecret } from '../../upstream/src/secrets.ts';
import type { E2EStack } from '../setup/stack.ts';
import type { TestBff } from './bff.ts';
import { screenshot } from './browser.ts';
import { adminFor } from './keycloak-admin.ts';
import { inboxMessages, latestCode, type InboxKind } from './inbox.ts';

/** Helpers of the state claim tests (test/e2e/state-claim*.test.ts): people at the state IdP and in the custodian tenant. */
type Json = Record<string, any>;

export function stateClaimKit(stack: E2EStack) {
  const admin = adminFor(stack);
  const realm = stack.settings.platformRealm;
  const PASSWORD = stack.settings.demoUserPassword;
  const sfx = () => randomBytes(4).toString('hex');

  /** A person at the state IdP; `email`/`phone` undefined: the IdP asserts none. */
  async function statePerson(label: string, opts: { email?: string; phone?: string } = {}): Promise<{ username: string; stateUserId: string; id: string }> {
    const username = `s-${label}-${sfx()}`;
    const stateUserId = `SD-${sfx()}`;
    const id = await admin.post('/state-demo-idp/users', {
      username,
      ...(opts.email ? { email: opts.email, emailVerified: true } : {}),
      firstName: 'Stateperson',
      lastName: label,
      enabled: true,
      attributes: { stateUserId: [stateUserId], ...(opts.phone ? { phone: [opts.phone] } : {}) },
      credentials: [{ type: 'password', value: PASSWORD, temporary: false }],
    });
    return { username, stateUserId, id: String(id) };
  }

  /** An account made the way sign-up makes them (Keycloak + upstream profile + tenant); `verified: false` as register leaves it before the link. */
  async function accountIn(
    bff: TestBff,
    tenant: string,
    name: { firstName: string; lastName: string },
    opts: { email?: string; phone?: string; verified?: boolean },
  ): Promise<string> {
    const verified = opts.verified ?? true;
    const created = await bff.container.accounts.create(
      {
        ...name,
        ...(opts.email ? { email: opts.email } : {}),
        ...(opts.phone ? { phone: opts.phone } : {}),
        emailVerified: Boolean(opts.email) && verified,
        phoneVerified: Boolean(opts.phone) && verified,
        password: PASSWORD,
        signUpType: 'self',
        tenant,
      },
      { idempotencyKey: randomUUID() },
    );
    return created.userId;
  }

  /** A custodian account, as sign-up makes them. */
  const custodianAccount = (bff: TestBff, opts: { email?: string; phone?: string; verified?: boolean }) =>
    accountIn(bff, 'custodian', { firstName: 'Custodian', lastName: 'Holder' }, opts);

  /** An account of another tenant (a Keycloak organization made for the tests when missing), made as sign-up makes them. */
  async function tenantAccount(bff: TestBff, tenant: string, opts: { email?: string; phone?: string; verified?: boolean }): Promise<string> {
    await ensureOrganization(tenant);
    return accountIn(bff, tenant, { firstName: 'Other', lastName: 'Tenant' }, opts);
  }

  async function ensureOrganization(alias: string): Promise<string> {
    // Keycloak's `search` matches names, not aliases: look through them all (a handful).
    const found = ((await admin.get<Json[]>(`/${realm}/organizations?max=1000`)) ?? []).find((o) => o.alias === alias);
    if (found) return String(found.id);
    const id = await admin.post(`/${realm}/organizations`, {
      name: alias,
      alias,
      enabled: true,
      domains: [{ name: `${alias}.tenant.invalid`, verified: false }],
    });
    return String(id);
  }

  /** A custodian account Keycloak has but the upstream core does not (made in the admin console, say). */
  async function unlinkedCustodianAccount(opts: { email: string }): Promise<string> {
    const id = String(
      await admin.post(`/${realm}/users`, {
        username: `unlinked-${sfx()}`,
        email: opts.email,
        emailVerified: true,
        firstName: 'Unlinked',
        lastName: 'Holder',
        enabled: true,
        attributes: { signUpType: ['selfSignUp'] },
        credentials: [{ type: 'password', value: PASSWORD, temporary: false }],
      }),
    );
    await admin.post(`/${realm}/organizations/${await ensureOrganization('custodian')}/members`, id);
    return id;
  }

  /** An admin disables the account (Keycloak only, as the admin console does). */
  async function disable(userId: string): Promise<void> {
    await admin.put(`/${realm}/users/${userId}`, { ...(await user(userId)), enabled: false });
  }

  let upstreamDb: pg.Pool | undefined;
  /** A member only the upstream core has (never signed in to the platform: lazy migration not done), password PASSWORD. */
  async function upstreamOnlyMember(opts: { email?: string; phone?: string; status?: 'active' | 'inactive' } = {}): Promise<{ id: string; username: string }> {
    upstreamDb ??= createPool(stack.settings.upstreamDatabaseUrl, 'upstream_core');
    const username = `member.${sfx()}`;
    const { rows } = await upstreamDb.query<{ id: string }>(
      `INSERT INTO users (username, first_name, last_name, email, phone, status, password_hash)
       VALUES ($1, 'Upstream', 'Member', $2, $3, $4, $5) RETURNING id`,
      [username, opts.email ?? null, opts.phone ?? null, opts.status ?? 'active', await hashSecret(PASSWORD)],
    );
    return { id: rows[0]!.id, username };
  }
  /** A statement on the upstream core's own database (states its API cannot make, e.g. a stale link). */
  async function upstreamSql(query: string, params: unknown[]): Promise<void> {
    upstreamDb ??= createPool(stack.settings.upstreamDatabaseUrl, 'upstream_core');
    await upstreamDb.query(query, params);
  }
  /** The platform accounts linked to an upstream member. */
  const accountsOfMember = async (memberId: string) =>
    ((await admin.get<Json[]>(`/${realm}/users?q=${encodeURIComponent(`upstreamUserId:${memberId}`)}&briefRepresentation=false`)) ?? []).filter(
      (u) => u.attributes?.upstreamUserId?.[0] === memberId,
    );
  const credentialTypes = async (userId: string) => ((await admin.get<Json[]>(`/${realm}/users/${userId}/credentials`)) ?? []).map((c) => String(c.type));
  /** A mobile number no other test uses (E.164, India). */
  const freshPhone = () => `+9197${String(randomInt(10 ** 8)).padStart(8, '0')}`;

  const user = async (id: string) => (await admin.get<Json>(`/${realm}/users/${id}`))!;
  const usersWithEmail = async (email: string) =>
    (await admin.get<Json[]>(`/${realm}/users?email=${encodeURIComponent(email)}&exact=true&briefRepresentation=false`)) ?? [];
  const usersWithPhone = async (phone: string) =>
    (await admin.get<Json[]>(`/${realm}/users?q=${encodeURIComponent(`phone:${phone}`)}&briefRepresentation=false`)) ?? [];
  const links = async (userId: string) =>
    ((await admin.get<Json[]>(`/${realm}/users/${userId}/federated-identity`)) ?? []).map((l) => `${l.identityProvider}:${l.userId}`);
  const tenants = async (userId: string) =>
    ((await admin.get<Json[]>(`/${realm}/organizations/members/${userId}/organizations`)) ?? []).map((o) => o.alias).sort();

  async function upstream(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${stack.upstreamUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${stack.settings.upstreamApiKey}`, 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
  }

  /** Invariant: the enabled accounts holding the identifier (at most one, whatever the path). */
  async function enabledHolders(identifier: { email?: string; phone?: string }): Promise<string[]> {
    const users = identifier.email ? await usersWithEmail(identifier.email) : await usersWithPhone(identifier.phone!);
    return users
      .filter((u) => u.enabled && (identifier.email ? u.email === identifier.email : u.attributes?.phone?.[0] === identifier.phone))
      .map((u) => String(u.id));
  }

  /** Whether Keycloak takes this password for the account (the `user-api` client's direct grant; the session is left to expire). */
  async function canSignIn(username: string, password: string): Promise<boolean> {
    const res = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: 'user-api', client_secret: stack.settings.userApiClientSecret, username, password }),
    });
    return res.ok;
  }

  /**
   * A claim flow started as Keycloak's platform-state-claim starts one (shared secret), for pages
   * reached without a brokered login; answers the flow id.
   */
  async function startFlow(bffUrl: string, opts: { email?: string; locale?: string }): Promise<string> {
    const res = await fetch(`${bffUrl}/internal/v1/keycloak/state-claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.settings.keycloakCallbackSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        identityProvider: 'state-demo',
        brokeredUserId: `brokered-${sfx()}`,
        brokeredUsername: 'state.person',
        firstName: 'Stateperson',
        lastName: 'Page',
        loginSession: `${sfx()}${sfx()}.tab-1`,
        returnUrl: `${stack.keycloakUrl}/realms/${realm}/login-actions/first-broker-login?session_code=test&execution=test&tab_id=test`,
        ...opts,
      }),
    });
    if (res.status !== 201) throw new Error(`state claim start: HTTP ${res.status} ${await res.text()}`);
    return String(((await res.json()) as Json).flowId);
  }
  /** A page step as the pages' script sends it (JSON). */
  async function step(bffUrl: string, flowId: string, name: string, body: unknown): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${bffUrl}/state-claim/${flowId}/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
  }

  /** The state IdP's own login page (another realm). */
  async function atState(page: Page, username: string, shot?: string): Promise<void> {
    await page.waitForURL(/\/realms\/state-demo-idp\//);
    if (shot) await screenshot(page, shot);
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#kc-login').click();
  }

  return {
    /**
     * The BFF environment of a claim test file: Redis keys of its own (codes, their per-IP and
     * per-identifier counters, step locks), so its codes neither use up nor depend on the counters the
     * other test files on the same stack share, and a file run again and again within the hour still
     * gets its codes. Every BFF of the file takes it (they share flows across processes).
     */
    bffEnv: { REDIS_PREFIX: `${stack.settings.redisPrefix}state-claim-${sfx()}:` },
    admin,
    realm,
    PASSWORD,
    sfx,
    statePerson,
    custodianAccount,
    tenantAccount,
    unlinkedCustodianAccount,
    disable,
    upstreamOnlyMember,
    upstreamSql,
    accountsOfMember,
    credentialTypes,
    freshPhone,
    user,
    usersWithEmail,
    links,
    tenants,
    upstream,
    enabledHolders,
    atState,
    canSignIn,
    startFlow,
    step,
    /** The dev inbox's messages to `to`, oldest first (mails have a subject). */
    inbox: (kind: InboxKind, to: string) => inboxMessages(stack, kind, to) as Promise<{ subject?: string; text: string }[]>,
    /** The newest code sent to `to`, after its first `notBefore` messages (waits for it). */
    latestCode: (kind: InboxKind, to: string, notBefore = 0) => latestCode(stack, kind, to, notBefore),
    /** Ends the kit's connection to the upstream core's database (afterAll). */
    close: async () => {
      await upstreamDb?.end();
      upstreamDb = undefined;
    },
  };
}
