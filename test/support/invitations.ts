import { expect } from 'vitest';
import type { E2EStack } from '../setup/stack.ts';
import { inboxMessages, type InboxKind } from './inbox.ts';
import { adminFor } from './keycloak-admin.ts';
import { uniqueId } from './partners.ts';

type Json = Record<string, any>;

/** The invitation token of the newest message to `to` after the first `notBefore` ones, waiting until one arrives. */
export async function invitationToken(stack: E2EStack, kind: InboxKind, to: string, notBefore = 0): Promise<string> {
  let token: string | undefined;
  await expect
    .poll(
      async () => {
        const fresh = (await inboxMessages(stack, kind, to)).slice(notBefore);
        token = fresh.length > 0 ? /\/invitations\/([A-Za-z0-9_-]{43})/.exec(fresh[fresh.length - 1]!.text)?.[1] : undefined;
        return token;
      },
      { timeout: 20_000 },
    )
    .toMatch(/^[A-Za-z0-9_-]{43}$/);
  return token!;
}

/** A person's access token (the user-api client's password grant: audience bff, the realm roles). */
export async function personToken(stack: E2EStack, username: string, password: string): Promise<string> {
  const res = await fetch(`${stack.keycloakUrl}/realms/${stack.settings.platformRealm}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'user-api', client_secret: stack.settings.userApiClientSecret, username, password }),
  });
  if (!res.ok) throw new Error(`password grant refused: HTTP ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export const TEST_PASSWORD = 'Invited-Pass-2026!';

/**
 * A Keycloak account with a password (made through the Admin API, as an admin would), optionally with
 * realm roles and in organizations; `email` verified unless told otherwise.
 */
export async function testAccount(
  stack: E2EStack,
  opts: { roles?: string[]; tenants?: string[]; email?: string; emailVerified?: boolean; phone?: string; phoneVerified?: boolean } = {},
): Promise<{ id: string; username: string; email: string; password: string }> {
  const admin = adminFor(stack);
  const realm = `/${stack.settings.platformRealm}`;
  const username = uniqueId('inv').replace('-', '');
  const email = opts.email ?? `${username}@example.org`;
  const id = (await admin.post(`${realm}/users`, {
    username,
    email,
    emailVerified: opts.emailVerified ?? true,
    firstName: 'Test',
    lastName: 'Person',
    enabled: true,
    credentials: [{ type: 'password', value: TEST_PASSWORD, temporary: false }],
    attributes: opts.phone ? { phone: [opts.phone], phoneVerified: [String(opts.phoneVerified ?? true)] } : {},
  }))!;

  for (const name of opts.roles ?? []) {
    const role = (await admin.get<Json>(`${realm}/roles/${name}`))!;
    await admin.post(`${realm}/users/${id}/role-mappings/realm`, [role]);
  }
  for (const alias of opts.tenants ?? []) {
    const org = (await admin.get<Json[]>(`${realm}/organizations?first=0&max=1000`))!.find((o) => o.alias === alias)!;
    await admin.request('POST', `${realm}/organizations/${org.id}/members`, id);
  }
  return { id, username, email, password: TEST_PASSWORD };
}
