import { randomBytes } from 'node:crypto';
import type { E2EStack } from '../setup/stack.ts';
import { adminFor } from './keycloak-admin.ts';

/**
 * Partner API helpers for the e2e tests: a platform-admin token (a test-only confidential client
 * whose service account has the realm role `platform-admin` and the `bff` audience), server tokens
 * (client credentials of a partner client), and JSON calls to the BFF.
 */
type Json = Record<string, any>;

const ADMIN_CLIENT = 'partner-admin-tests';

export async function clientCredentialsToken(stack: E2EStack, clientId: string, clientSecret: string): Promise<string> {
  const res = await fetch(`${stack.keycloakUrl}/realms/${stack.settings.platformRealm}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  if (!res.ok) throw new Error(`client credentials of ${clientId} refused: HTTP ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Creates the test admin client once per stack (idempotent) and returns a fresh token of it. */
export async function platformAdminToken(stack: E2EStack): Promise<string> {
  const admin = adminFor(stack);
  const base = `/${stack.settings.platformRealm}`;
  const secret = 'partner-admin-tests-secret';
  let client = (await admin.get<Json[]>(`${base}/clients?clientId=${ADMIN_CLIENT}`))?.[0];
  if (!client) {
    // Test files run side by side: another one may create it at the same moment (409), which is fine.
    await admin
      .request('POST', `${base}/clients`, {
        clientId: ADMIN_CLIENT,
        secret,
        publicClient: false,
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
        directAccessGrantsEnabled: false,
        protocolMappers: [
          {
            name: 'audience-bff',
            protocol: 'openid-connect',
            protocolMapper: 'oidc-audience-mapper',
            config: { 'included.client.audience': 'bff', 'access.token.claim': 'true' },
          },
        ],
      })
      .catch((err: Error) => {
        if (!/HTTP 409/.test(err.message)) throw err;
      });
    client = (await admin.get<Json[]>(`${base}/clients?clientId=${ADMIN_CLIENT}`))![0]!;
  }
  // Idempotent: adding a role the service account has already changes nothing.
  const serviceAccount = (await admin.get<Json>(`${base}/clients/${client.id}/service-account-user`))!;
  const role = (await admin.get<Json>(`${base}/roles/platform-admin`))!;
  await admin.post(`${base}/users/${serviceAccount.id}/role-mappings/realm`, [role]);
  return clientCredentialsToken(stack, ADMIN_CLIENT, secret);
}

export async function call(
  url: string,
  method: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {}, headers: res.headers };
}

export const uniqueId = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

/** A partner registered through the admin API, with a server token of its client. */
export interface TestPartner {
  clientId: string;
  clientSecret: string;
  serverToken: string;
}

export async function registerPartner(
  stack: E2EStack,
  bffUrl: string,
  adminToken: string,
  opts: { trustAuth: boolean; appKeys: { appKey: string; autoEnroll: boolean; kbaBypass: boolean }[] },
): Promise<TestPartner> {
  const clientId = uniqueId('bank');
  const res = await call(`${bffUrl}/api/admin/v1/partners`, 'POST', {
    token: adminToken,
    body: { clientId, name: `Test bank ${clientId}`, trustAuth: opts.trustAuth, appKeys: opts.appKeys },
  });
  if (res.status !== 201) throw new Error(`partner registration failed: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  const clientSecret = String(res.body.clientSecret);
  return { clientId, clientSecret, serverToken: await clientCredentialsToken(stack, clientId, clientSecret) };
}
