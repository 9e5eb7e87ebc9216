import { randomBytes, randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import type { E2EStack } from '../setup/stack.ts';
import type { TestBff } from './bff.ts';
import { screenshot } from './browser.ts';
import { adminFor } from './keycloak-admin.ts';
import { latestCode, type InboxKind } from './inbox.ts';

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

  /** A custodian account made the way sign-up makes them (Keycloak + upstream profile + tenant). */
  async function custodianAccount(bff: TestBff, opts: { email?: string; phone?: string }): Promise<string> {
    const created = await bff.container.accounts.create(
      {
        firstName: 'Custodian',
        lastName: 'Holder',
        ...(opts.email ? { email: opts.email } : {}),
        ...(opts.phone ? { phone: opts.phone } : {}),
        emailVerified: Boolean(opts.email),
        phoneVerified: Boolean(opts.phone),
        password: PASSWORD,
        signUpType: 'self',
        tenant: 'custodian',
      },
      { idempotencyKey: randomUUID() },
    );
    return created.userId;
  }

  const user = async (id: string) => (await admin.get<Json>(`/${realm}/users/${id}`))!;
  const usersWithEmail = async (email: string) =>
    (await admin.get<Json[]>(`/${realm}/users?email=${encodeURIComponent(email)}&exact=true&briefRepresentation=false`)) ?? [];
  const usersWithPhone = async (phone: string) =>
    (await admin.get<Json[]>(`/${realm}/users?q=${encodeURIComponent(`phone:${phone}`)}&briefRepresentation=false`)) ?? [];
  const links = async (userId: string) => ((await admin.get<Json[]>(`/${realm}/users/${userId}/federated-identity`)) ?? []).map((l) => `${l.identityProvider}:${l.userId}`);
  const tenants = async (userId: string) => ((await admin.get<Json[]>(`/${realm}/organizations/members/${userId}/organizations`)) ?? []).map((o) => o.alias).sort();

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
    return users.filter((u) => u.enabled && (identifier.email ? u.email === identifier.email : u.attributes?.phone?.[0] === identifier.phone)).map((u) => String(u.id));
  }

  /** The state IdP's own login page (another realm). */
  async function atState(page: Page, username: string, shot?: string): Promise<void> {
    await page.waitForURL(/\/realms\/state-demo-idp\//);
    if (shot) await screenshot(page, shot);
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#kc-login').click();
  }

  /** The newest 6-digit code the dev inbox holds for `to`. */
  
  return { admin, realm, PASSWORD, sfx, statePerson, custodianAccount, user, usersWithEmail, links, tenants, upstream, enabledHolders, atState, latestCode: (kind: InboxKind, to: string) => latestCode(stack, kind, to) };
}
