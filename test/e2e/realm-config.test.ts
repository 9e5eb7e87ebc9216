import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { realmConfigDir } from '../../stack/paths.ts';
import { applyRealmConfig } from '../../stack/realm/apply.ts';
import { realmEnv } from '../../stack/settings.ts';
import { adminFor } from '../support/keycloak-admin.ts';

type Json = Record<string, any>;

const stack = inject('stack');
const admin = adminFor(stack);
const realm = stack.settings.platformRealm;
const apply = (opts: { configDir?: string; env?: Record<string, string> } = {}) =>
  applyRealmConfig({
    keycloakUrl: stack.keycloakUrl,
    adminUser: stack.settings.keycloakAdminUser,
    adminPassword: stack.settings.keycloakAdminPassword,
    configDir: opts.configDir ?? realmConfigDir,
    // Derived variables (e.g. GOOGLE_IDP_ENABLED) are computed from the same extra variables.
    env: { ...realmEnv(stack.settings, opts.env ?? {}), ...opts.env },
    demo: true,
  });

const client = async (r: string, clientId: string) => (await admin.get<Json[]>(`/${r}/clients?clientId=${clientId}`))![0]!;

describe('realm configuration as declared', () => {
  it('the platform realm has organizations, themes, locales, password policy, brute force, events and SMTP', async () => {
    const r = (await admin.get<Json>(`/${realm}`))!;
    expect(r).toMatchObject({
      enabled: true,
      organizationsEnabled: true,
      loginTheme: 'platform',
      emailTheme: 'platform',
      internationalizationEnabled: true,
      defaultLocale: 'en',
      bruteForceProtected: true,
      failureFactor: 5,
      eventsEnabled: true,
      adminEventsEnabled: true,
      registrationAllowed: false,
    });
    expect(r.supportedLocales.sort()).toEqual(['en', 'hi']);
    // Events are stored for admins, not logged: jboss-logging would write usernames and IPs to the log.
    expect(r.eventsListeners).toEqual([]);
    expect(r.passwordPolicy).toContain('length(10)');
    expect(r.smtpServer).toMatchObject({ host: '127.0.0.1', port: String(stack.settings.smtpPort) });
    // Refresh tokens rotate; a spent one is refused (decision 0006).
    expect(r).toMatchObject({ revokeRefreshToken: true, refreshTokenMaxReuse: 0 });
    // An e-mail changed in Keycloak's pages changes only once the link sent to it is opened (decision 0020).
    expect(await admin.get(`/${realm}/authentication/required-actions/UPDATE_EMAIL`)).toMatchObject({ enabled: true });
    expect(await admin.get(`/${realm}/authentication/required-actions/UPDATE_EMAIL/config`)).toMatchObject({ config: { verifyEmail: 'true' } });
  });

  it('has the custodian and state-demo organizations, the state one linked to its IdP', async () => {
    const orgs = (await admin.get<Json[]>(`/${realm}/organizations?briefRepresentation=false&max=1000`))!;
    // Other test files add tenants of their own (another state) to this shared realm; the applier leaves
    // what the files do not declare alone, so only the declared ones are checked here.
    expect(orgs.map((o) => o.alias)).toEqual(expect.arrayContaining(['custodian', 'state-demo']));
    const state = orgs.find((o) => o.alias === 'state-demo')!;
    expect(state.attributes).toMatchObject({ tenantType: ['state'] });
    const idps = (await admin.get<Json[]>(`/${realm}/organizations/${state.id}/identity-providers`))!;
    expect(idps.map((i) => i.alias)).toEqual(['state-demo']);
  });

  it('declares phone (E.164), phoneVerified and the upstream user id in the user profile', async () => {
    const profile = (await admin.get<Json>(`/${realm}/users/profile`))!;
    const attr = (name: string) => profile.attributes.find((a: Json) => a.name === name);
    expect(attr('phone').validations.pattern.pattern).toBe('^\\+[1-9][0-9]{6,14}$');
    expect(attr('phone').permissions.edit).toEqual(['admin']);
    expect(attr('phoneVerified').permissions.edit).toEqual(['admin']);
    expect(attr('upstreamUserId').permissions).toEqual({ view: ['admin'], edit: ['admin'] });
    expect(attr('email').required).toBeUndefined(); // phone-only sign-ups have no email
    expect(attr('firstName').required).toBeDefined();
    // Its labels are realm localization texts, which the login, account and admin pages all read.
    expect(attr('phone').displayName).toBe('${profile.attributes.phone}');
    expect(await admin.get(`/${realm}/localization/en`)).toMatchObject({ 'profile.attributes.phone': 'Mobile number' });
    expect(await admin.get(`/${realm}/localization/hi`)).toMatchObject({ 'profile.attributes.phone': 'मोबाइल नंबर' });
  });

  it('has a public PKCE portal, a confidential BFF with only its roles, and a client-credentials partner', async () => {
    const portal = await client(realm, 'portal');
    expect(portal).toMatchObject({ publicClient: true, standardFlowEnabled: true, directAccessGrantsEnabled: false, implicitFlowEnabled: false });
    expect(portal.attributes['pkce.code.challenge.method']).toBe('S256');

    const bff = await client(realm, 'bff');
    expect(bff).toMatchObject({ publicClient: false, serviceAccountsEnabled: true, directAccessGrantsEnabled: false, standardFlowEnabled: false });
    const sa = (await admin.get<Json>(`/${realm}/clients/${bff.id}/service-account-user`))!;
    const rm = await client(realm, 'realm-management');
    const roles = (await admin.get<Json[]>(`/${realm}/users/${sa.id}/role-mappings/clients/${rm.id}`))!.map((r) => r.name).sort();
    expect(roles).toEqual(
      [
        'manage-clients',
        'manage-organizations',
        'manage-users',
        'query-groups',
        'query-users',
        'view-clients',
        'view-events',
        'view-identity-providers',
        'view-organizations',
        'view-realm',
        'view-users',
      ].sort(),
    );
    expect(roles).not.toContain('realm-admin');
    expect(roles).not.toContain('manage-realm');

    const partner = await client(realm, 'partner-demo-bank');
    expect(partner).toMatchObject({ serviceAccountsEnabled: true, standardFlowEnabled: false, directAccessGrantsEnabled: false, publicClient: false });
    // Its server token is meant for the BFF.
    const res = await fetch(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'partner-demo-bank', client_secret: stack.settings.demoPartnerClientSecret }),
    });
    expect(res.status).toBe(200);
    const token = ((await res.json()) as { access_token: string }).access_token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect([claims.aud].flat()).toContain('bff');
    expect(claims.azp).toBe('partner-demo-bank');

    // userTokens of partner users: only the JWT authorization grant, only with the BFF's assertions.
    const userTokens = await client(realm, 'partner-user-tokens');
    expect(userTokens).toMatchObject({ publicClient: false, serviceAccountsEnabled: false, standardFlowEnabled: false, directAccessGrantsEnabled: false });
    expect(userTokens.attributes).toMatchObject({ 'oauth2.jwt.authorization.grant.enabled': 'true', 'oauth2.jwt.authorization.grant.idp': 'bff-assertions' });
    const assertions = (await admin.get<Json>(`/${realm}/identity-provider/instances/bff-assertions`))!;
    expect(assertions).toMatchObject({ providerId: 'jwt-authorization-grant', enabled: true, hideOnLogin: true });
    expect(assertions.config).toMatchObject({
      useJwksUrl: 'false',
      jwtAuthorizationGrantAssertionSignatureAlg: 'ES256',
      jwtAuthorizationGrantAssertionReuseAllowed: 'false',
    });

    // Direct grants are off on every client of ours.
    const all = (await admin.get<Json[]>(`/${realm}/clients`))!.filter((c) => ['portal', 'bff', 'partner-demo-bank'].includes(c.clientId));
    expect(all.every((c) => c.directAccessGrantsEnabled === false)).toBe(true);
  });

  it('brokers the state IdP and the Google stand-in; real Google is present but off without credentials', async () => {
    const state = (await admin.get<Json>(`/${realm}/identity-provider/instances/state-demo`))!;
    expect(state).toMatchObject({ providerId: 'oidc', enabled: true, trustEmail: true });
    expect(state.config.issuer).toBe(`${stack.keycloakUrl}/realms/state-demo-idp`);
    expect(state.config.pkceEnabled).toBe('true');
    const googleDemo = (await admin.get<Json>(`/${realm}/identity-provider/instances/google-demo`))!;
    expect(googleDemo).toMatchObject({ providerId: 'oidc', enabled: true, trustEmail: true });
    const google = (await admin.get<Json>(`/${realm}/identity-provider/instances/google`))!;
    expect(google).toMatchObject({ providerId: 'google', enabled: false });
    // The stand-in realms exist with their demo users.
    expect((await admin.get<Json[]>(`/state-demo-idp/users?username=meera.state&exact=true`))!).toHaveLength(1);
    expect((await admin.get<Json[]>(`/google-demo/users?username=priya.google&exact=true`))!).toHaveLength(1);
  });
});

/** A flow's executions as "<indent><authenticator or subflow> <requirement>" lines. */
const flowOutline = async (r: string, alias: string) =>
  ((await admin.get<Json[]>(`/${r}/authentication/flows/${encodeURIComponent(alias)}/executions`)) ?? []).map(
    (e) => `${'  '.repeat(e.level)}${e.authenticationFlow ? e.displayName : e.providerId} ${e.requirement}`,
  );

it('Google logins use the platform flows: the BFF decides before any account is written, and linking needs the password', async () => {
  const googleDemo = (await admin.get<Json>(`/${realm}/identity-provider/instances/google-demo`))!;
  const google = (await admin.get<Json>(`/${realm}/identity-provider/instances/google`))!;
  for (const idp of [googleDemo, google]) {
    expect(idp).toMatchObject({
      trustEmail: true,
      firstBrokerLoginFlowAlias: 'platform google first login',
      postBrokerLoginFlowAlias: 'platform google post login',
    });
  }
  const mappers = (await admin.get<Json[]>(`/${realm}/identity-provider/instances/google-demo/mappers`))!;
  expect(mappers).toContainEqual(
    expect.objectContaining({
      identityProviderMapper: 'hardcoded-attribute-idp-mapper',
      config: expect.objectContaining({ attribute: 'signUpType', 'attribute.value': 'google', syncMode: 'IMPORT' }),
    }),
  );

  // No e-mail verification link and no automatic link: an existing account is linked only after
  // the person confirms and signs in to it (docs/decisions/0008-brokered-login-provisioning.md).
  expect(await flowOutline(realm, 'platform google first login')).toEqual([
    'idp-review-profile REQUIRED',
    'platform-bff-check REQUIRED',
    'platform google create or link REQUIRED',
    '  idp-create-user-if-unique ALTERNATIVE',
    '  platform google link existing account ALTERNATIVE',
    '    idp-confirm-link REQUIRED',
    '    platform google prove existing account REQUIRED',
    '      idp-username-password-form REQUIRED',
    '      platform google prove existing account 2fa CONDITIONAL',
    '        conditional-user-configured REQUIRED',
    '        auth-otp-form REQUIRED',
  ]);
  expect(await flowOutline(realm, 'platform google post login')).toEqual(['platform-bff-check REQUIRED']);
});

describe('applying realm-config', () => {
  it('a second apply changes nothing (no writes, no admin events)', async () => {
    // Its own master admin, so the events of test files running beside this one are not counted.
    const username = `applier-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(18).toString('base64url');
    const location = await admin.post('/master/users', { username, enabled: true, credentials: [{ type: 'password', value: password, temporary: false }] });
    const userId = location!.split('/').pop()!;
    try {
      const adminRole = await admin.get<Json>('/master/roles/admin');
      await admin.post(`/master/users/${userId}/role-mappings/realm`, [adminRole]);
      const ours = async () => ((await admin.get<Json[]>(`/${realm}/admin-events?max=10000`)) ?? []).filter((e) => e.authDetails?.userId === userId).length;
      const changes = await applyRealmConfig({
        keycloakUrl: stack.keycloakUrl,
        adminUser: username,
        adminPassword: password,
        configDir: realmConfigDir,
        env: realmEnv(stack.settings, {}),
        demo: true,
      });
      expect(changes).toEqual([]);
      expect(await ours()).toBe(0);
    } finally {
      await admin.delete(`/master/users/${userId}`);
    }
  });

  describe('on a copy of the platform realm', () => {
    const copyRealm = `platform-change-${Date.now().toString(36)}`;
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'realm-config-'));
      cpSync(path.join(realmConfigDir, 'realms', 'platform'), path.join(dir, 'realms', 'platform'), { recursive: true });
    });
    afterAll(async () => {
      await admin.delete(`/${copyRealm}`);
      rmSync(dir, { recursive: true, force: true });
    });
    const edit = (file: string, change: (json: Json) => void) => {
      const p = path.join(dir, 'realms', 'platform', file);
      const json = JSON.parse(readFileSync(p, 'utf8'));
      change(json);
      writeFileSync(p, JSON.stringify(json, null, 2));
    };

    it('creates the realm, then applies changed files to the existing realm', async () => {
      const env = { PLATFORM_REALM: copyRealm };
      const created = await apply({ configDir: dir, env });
      expect(created.some((c) => c.kind === 'realm' && c.action === 'create')).toBe(true);
      expect(await apply({ configDir: dir, env })).toEqual([]);

      edit('realm.json', (r) => (r.failureFactor = 7));
      edit('clients/portal.json', (c) => (c.description = 'changed by a test'));
      edit('clients/partner-demo-bank.json', (c) => (c.protocolMappers = []));
      edit('clients/bff.json', (c) => (c.serviceAccountClientRoles['realm-management'] = ['view-users']));
      edit('localization/hi.json', (t) => (t['profile.attributes.phone'] = 'changed by a test'));
      writeFileSync(
        path.join(dir, 'realms', 'platform', 'required-actions.json'),
        JSON.stringify([{ alias: 'UPDATE_EMAIL', enabled: true, config: { verifyEmail: 'false' } }]),
      );
      writeFileSync(
        path.join(dir, 'realms', 'platform', 'organizations', 'state-two.json'),
        JSON.stringify({ alias: 'state-two', name: 'State Two', enabled: true, domains: [{ name: 'state-two.tenant.invalid' }], identityProviders: [] }),
      );
      const changes = await apply({ configDir: dir, env });
      const summary = changes.map((c) => `${c.action} ${c.kind} ${c.name}`);
      expect(summary).toEqual(
        expect.arrayContaining([
          `update realm ${copyRealm}`,
          'update client portal',
          'delete client-mapper partner-demo-bank audience-bff',
          'create organization state-two',
          'update localization hi profile.attributes.phone',
          'update required-action-config UPDATE_EMAIL',
        ]),
      );
      expect(summary.some((s) => s.startsWith('delete service-account-roles bff'))).toBe(true);

      expect((await admin.get<Json>(`/${copyRealm}`))!.failureFactor).toBe(7);
      expect((await client(copyRealm, 'portal')).description).toBe('changed by a test');
      const partner = await client(copyRealm, 'partner-demo-bank');
      expect((await admin.get<Json[]>(`/${copyRealm}/clients/${partner.id}/protocol-mappers/models`))!).toEqual([]);
      const orgs = (await admin.get<Json[]>(`/${copyRealm}/organizations`))!;
      expect(orgs.map((o) => o.alias).sort()).toEqual(['custodian', 'state-demo', 'state-two']);
      expect(await admin.get(`/${copyRealm}/localization/hi`)).toMatchObject({ 'profile.attributes.phone': 'changed by a test' });
      expect(await admin.get(`/${copyRealm}/authentication/required-actions/UPDATE_EMAIL/config`)).toMatchObject({ config: { verifyEmail: 'false' } });
      expect(await apply({ configDir: dir, env })).toEqual([]);
    });

    it('applies changed authentication flows: configs, requirements, executions removed and added in order', async () => {
      const env = { PLATFORM_REALM: copyRealm };
      const flow = 'platform google first login';
      edit('authentication-flows/google-first-login.json', (f) => {
        f.executions[0].config.config['update.profile.on.first.login'] = 'on';
        f.executions.splice(1, 1); // the BFF check
        const prove = f.executions[1].executions[1].executions[1];
        prove.executions[1].requirement = 'DISABLED'; // its 2FA subflow
      });
      const changes = (await apply({ configDir: dir, env })).map((c) => `${c.action} ${c.kind} ${c.name}`);
      expect(changes).toEqual(
        expect.arrayContaining([
          `update authentication-execution ${flow} idp-review-profile (config)`,
          `delete authentication-execution ${flow} platform-bff-check`,
          `delete authentication-execution ${flow} platform google create or link`,
          `create authentication-execution ${flow} platform google create or link`,
        ]),
      );
      expect(await flowOutline(copyRealm, flow)).toEqual([
        'idp-review-profile REQUIRED',
        'platform google create or link REQUIRED',
        '  idp-create-user-if-unique ALTERNATIVE',
        '  platform google link existing account ALTERNATIVE',
        '    idp-confirm-link REQUIRED',
        '    platform google prove existing account REQUIRED',
        '      idp-username-password-form REQUIRED',
        '      platform google prove existing account 2fa DISABLED',
        '        conditional-user-configured REQUIRED',
        '        auth-otp-form REQUIRED',
      ]);
      const review = (await admin.get<Json[]>(`/${copyRealm}/authentication/flows/${encodeURIComponent(flow)}/executions`))![0]!;
      expect((await admin.get<Json>(`/${copyRealm}/authentication/config/${review.authenticationConfig}`))!.config).toMatchObject({
        'update.profile.on.first.login': 'on',
      });
      expect(await apply({ configDir: dir, env })).toEqual([]);

      // A subflow changed in place: requirement and description together.
      const twoFactor = 'platform google prove existing account 2fa';
      edit('authentication-flows/google-first-login.json', (f) => {
        const prove = f.executions[1].executions[1].executions[1];
        Object.assign(prove.executions[1], { requirement: 'CONDITIONAL', description: 'changed by a test' });
      });
      expect((await apply({ configDir: dir, env })).map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
        `update authentication-execution platform google prove existing account ${twoFactor} (requirement)`,
        `update authentication-execution platform google prove existing account ${twoFactor} (description)`,
      ]);
      const row = (await admin.get<Json[]>(`/${copyRealm}/authentication/flows/${encodeURIComponent(flow)}/executions`))!.find(
        (e) => e.displayName === twoFactor,
      )!;
      expect(row).toMatchObject({ requirement: 'CONDITIONAL', description: 'changed by a test' });
      expect(await apply({ configDir: dir, env })).toEqual([]);
    });

    it('enables the real Google IdP only when its credentials are configured', async () => {
      const google = () => admin.get<Json>(`/${copyRealm}/identity-provider/instances/google`);
      expect((await google())!.enabled).toBe(false);
      const changes = await apply({
        configDir: dir,
        env: { PLATFORM_REALM: copyRealm, GOOGLE_CLIENT_ID: 'id.apps.googleusercontent.com', GOOGLE_CLIENT_SECRET: 'a-secret' },
      });
      expect(changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual(['update identity-provider google']);
      expect(await google()).toMatchObject({ enabled: true, config: { clientId: 'id.apps.googleusercontent.com' } });
    });
  });
});
