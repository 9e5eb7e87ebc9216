import { readFileSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import { adminFor } from '../support/keycloak-admin.ts';

/**
 * docs/tokens.md is the list of every client's grants, scopes, roles and audiences (SPEC: tokens are
 * least-privilege and listed). This test reads that table and compares it with the running Keycloak, so
 * a client that gains a grant, a scope, a role or an audience the table does not list fails here.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const admin = adminFor(stack);

interface Row {
  realm: string;
  client: string;
  grants: string[];
  fullScope: boolean;
  defaultScopes: string[];
  optionalScopes: string[];
  rolesInScope: string;
  serviceAccountRoles: string;
  aud: string[];
}

const names = (cell: string) => (cell.trim() === '—' || cell.trim() === '' ? [] : [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));

function tableRows(): Row[] {
  const doc = readFileSync(new URL('../../docs/tokens.md', import.meta.url), 'utf8');
  const table = doc.split('<!-- token-table:start -->')[1]!.split('<!-- token-table:end -->')[0]!;
  return table
    .trim()
    .split('\n')
    .slice(2)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    )
    .map(([realm, client, , grants, fullScope, defaults, optionals, rolesInScope, saRoles, aud]) => ({
      realm: realm!,
      // A partner-clients row names the marker attribute first.
      client: client!.startsWith('partner clients') ? 'platform.partner' : names(client!)[0]!,
      grants: names(grants!),
      fullScope: fullScope === 'yes',
      defaultScopes: names(defaults!),
      optionalScopes: names(optionals!),
      rolesInScope: rolesInScope!,
      serviceAccountRoles: saRoles!,
      aud: names(aud!),
    }));
}

const rows = tableRows();
/** Clients the tests themselves make (test/support/partners.ts): not part of the product. */
const TEST_CLIENTS = new Set(['partner-admin-tests']);

function grantsOf(c: Json): string[] {
  return [
    ...(c.standardFlowEnabled ? ['authorization_code'] : []),
    ...(c.implicitFlowEnabled ? ['implicit'] : []),
    ...(c.directAccessGrantsEnabled ? ['password'] : []),
    ...(c.serviceAccountsEnabled ? ['client_credentials'] : []),
    ...(c.attributes?.['oauth2.jwt.authorization.grant.enabled'] === 'true' ? ['jwt-bearer'] : []),
    ...(c.attributes?.['oauth2.device.authorization.grant.enabled'] === 'true' ? ['device_code'] : []),
    ...(c.attributes?.['oidc.ciba.grant.enabled'] === 'true' ? ['ciba'] : []),
    ...(c.attributes?.['standard.token.exchange.enabled'] === 'true' ? ['token-exchange'] : []),
  ].sort();
}

/** `client: role, role` groups of a table cell, as "client:role" strings; `—` is none. */
function rolesOfCell(cell: string): string[] {
  if (cell === '—' || cell === 'all') return [];
  return cell
    .split(/;\s*/)
    .flatMap((group) => {
      const [owner, ...roles] = names(group);
      return roles.map((r) => `${owner}:${r}`);
    })
    .sort();
}

async function rowFor(realm: string, client: Json): Promise<Row | undefined> {
  if (client.attributes?.['platform.partner'] === 'true') return rows.find((r) => r.realm === realm && r.client === 'platform.partner');
  return rows.find((r) => r.realm === realm && r.client === client.clientId);
}

async function scopeMappings(realm: string, client: Json): Promise<string[]> {
  const mappings = (await admin.get<Json>(`/${realm}/clients/${client.id}/scope-mappings`))!;
  const realmRoles = ((mappings.realmMappings as Json[]) ?? []).map((r) => `realm:${r.name}`);
  const clientRoles = Object.entries((mappings.clientMappings as Record<string, Json>) ?? {}).flatMap(([owner, m]) =>
    ((m.mappings as Json[]) ?? []).map((r) => `${owner}:${r.name}`),
  );
  return [...realmRoles, ...clientRoles].sort();
}

async function serviceAccountRoles(realm: string, client: Json): Promise<string[]> {
  if (!client.serviceAccountsEnabled) return [];
  const sa = (await admin.get<Json>(`/${realm}/clients/${client.id}/service-account-user`))!;
  const all = (await admin.get<Json>(`/${realm}/users/${sa.id}/role-mappings`))!;
  // Every service account has the realm's default roles (nothing to manage); anything else is listed.
  const realmRoles = ((all.realmMappings as Json[]) ?? []).filter((r) => r.name !== `default-roles-${realm}`).map((r) => `realm:${r.name}`);
  const clientRoles = Object.entries((all.clientMappings as Record<string, Json>) ?? {}).flatMap(([owner, m]) =>
    ((m.mappings as Json[]) ?? []).map((r) => `${owner}:${r.name}`),
  );
  return [...realmRoles, ...clientRoles].sort();
}

const realms = [...new Set(rows.map((r) => r.realm))];

describe('docs/tokens.md matches Keycloak', () => {
  it.each(realms)('%s: every client is in the table, with its grants, scopes and roles', async (realm) => {
    const clients = (await admin.get<Json[]>(`/${realm}/clients?max=1000`))!;
    const scopes = (await admin.get<Json[]>(`/${realm}/client-scopes`))!;
    const managed = new Set(scopes.filter((s) => s.attributes?.['platform.managed-by']).map((s) => String(s.name)));
    // The stand-in realms: only the client the platform uses there is ours to audit.
    const audited = realm === stack.settings.platformRealm ? clients : clients.filter((c) => rows.some((r) => r.realm === realm && r.client === c.clientId));
    for (const client of audited.filter((c) => !TEST_CLIENTS.has(c.clientId))) {
      const row = await rowFor(realm, client);
      expect(row, `${realm}/${client.clientId} is not in docs/tokens.md`).toBeDefined();
      const where = `${realm}/${client.clientId}`;
      expect(grantsOf(client), `${where} grants`).toEqual([...row!.grants].sort());
      expect(client.fullScopeAllowed, `${where} full scope`).toBe(row!.fullScope);
      expect([...client.defaultClientScopes].sort(), `${where} default scopes`).toEqual([...row!.defaultScopes].sort());
      // The BFF's attribution scopes match `partner-client.*`, and only on the userToken client.
      const optional = (client.optionalClientScopes as string[]).filter(
        (s) => !(managed.has(s) && row!.optionalScopes.includes('partner-client.*') && s.startsWith('partner-client.')),
      );
      expect(optional.sort(), `${where} optional scopes`).toEqual(row!.optionalScopes.filter((s) => s !== 'partner-client.*').sort());
      if (!client.fullScopeAllowed) expect(await scopeMappings(realm, client), `${where} roles in scope`).toEqual(rolesOfCell(row!.rolesInScope));
      else expect(row!.rolesInScope, `${where} roles in scope`).toBe('all');
      expect(await serviceAccountRoles(realm, client), `${where} service-account roles`).toEqual(rolesOfCell(row!.serviceAccountRoles));
    }
  });

  it('every attribution scope the BFF made adds only act.client_id, and only to partner-user-tokens', async () => {
    const realm = stack.settings.platformRealm;
    const scopes = (await admin.get<Json[]>(`/${realm}/client-scopes`))!;
    const clients = (await admin.get<Json[]>(`/${realm}/clients?max=1000`))!;
    for (const scope of scopes.filter((s) => s.attributes?.['platform.managed-by'])) {
      expect(scope.name).toMatch(/^partner-client\./);
      expect((scope.protocolMappers as Json[]).map((m) => [m.protocolMapper, m.config['claim.name']])).toEqual([
        ['oidc-hardcoded-claim-mapper', 'act.client_id'],
      ]);
      const holders = clients.filter((c) => [...c.defaultClientScopes, ...c.optionalClientScopes].includes(scope.name)).map((c) => c.clientId);
      expect(holders).toEqual(['partner-user-tokens']);
    }
  });

  it('tokens minted for bff, a partner client and user-api carry exactly the audiences of the table', async () => {
    const realm = stack.settings.platformRealm;
    const tokenEndpoint = `${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`;
    const mint = async (params: Record<string, string>) => {
      const res = await fetch(tokenEndpoint, { method: 'POST', body: new URLSearchParams(params) });
      expect(res.status).toBe(200);
      return decodeJwt(((await res.json()) as { access_token: string }).access_token);
    };
    const audOf = (claims: Json) => [claims.aud].flat().filter(Boolean).sort();
    const expected = (client: string) => [...rows.find((r) => r.realm === realm && r.client === client)!.aud].sort();

    const bff = await mint({ grant_type: 'client_credentials', client_id: 'bff', client_secret: stack.settings.bffClientSecret });
    expect(audOf(bff)).toEqual(expected('bff'));
    const partner = await mint({ grant_type: 'client_credentials', client_id: 'partner-demo-bank', client_secret: stack.settings.demoPartnerClientSecret });
    expect(audOf(partner)).toEqual(expected('platform.partner'));
    expect(partner).not.toHaveProperty('realm_access');
    expect(partner).not.toHaveProperty('resource_access');
    const person = await mint({
      grant_type: 'password',
      client_id: 'user-api',
      client_secret: stack.settings.userApiClientSecret,
      username: 'asha',
      password: stack.settings.demoUserPassword,
    });
    expect(audOf(person)).toEqual(expected('user-api'));
    // No optional scope can be asked for: no offline tokens through the password grant.
    const offline = await fetch(tokenEndpoint, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'user-api',
        client_secret: stack.settings.userApiClientSecret,
        username: 'asha',
        password: stack.settings.demoUserPassword,
        scope: 'offline_access',
      }),
    });
    const body = (await offline.json()) as Json;
    expect(body.refresh_token ? decodeJwt(body.refresh_token).typ : 'none').not.toBe('Offline');
  });
});
