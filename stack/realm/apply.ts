import { createHash } from 'node:crypto';
import { AdminRest } from './admin-rest.ts';
import { loadRealmConfig, type AuthenticationFlowFile, type ExecutionFile, type RealmFiles, type RequiredActionFile, type UserFile } from './load.ts';
import { isSubset } from './template.ts';

/**
 * Realm configuration as code: makes a running Keycloak match `realm-config/`, writing only what
 * differs (so a second apply writes nothing) and updating existing realms (which `--import-realm`
 * never does). Why our own applier and not keycloak-config-cli: docs/decisions/0002-realm-config-applier.md.
 *
 * Managed: realm settings and realm roles, the declarative user profile and its localization texts
 * (the keys each file names; other texts are left alone), authentication flows (each
 * flow's executions, subflows and authenticator configs as complete, ordered lists), client scopes
 * (with their protocol mappers), the built-in required actions the files name (switches and config),
 * clients (with their protocol mappers and service-account roles as complete lists, and their default and optional client scopes as complete lists when the file names
 * them; scopes marked `platform.managed-by` are the BFF's, made at run time, and left alone), identity providers (with their
 * mappers), organizations (with domains and linked identity providers), and users (created with
 * their password once; profile, roles and organizations kept in line). Resources that exist in
 * Keycloak but not in the files are left alone.
 */
export interface Change {
  realm: string;
  kind: string;
  name: string;
  action: 'create' | 'update' | 'delete';
}

type Json = Record<string, unknown>;
type WithId = Json & { id: string };

/** One row of `GET .../authentication/flows/{alias}/executions` (the flow's tree, flattened). */
interface ExecutionInfo extends WithId {
  level: number;
  requirement: string;
  displayName: string;
  authenticationFlow?: boolean;
  providerId?: string;
  authenticationConfig?: string;
  description?: string;
}

export interface ApplyOptions {
  keycloakUrl: string;
  adminUser: string;
  adminPassword: string;
  configDir: string;
  env: Record<string, string | undefined>;
  demo: boolean;
  log?: (line: string) => void;
}

export async function applyRealmConfig(opts: ApplyOptions): Promise<Change[]> {
  const realms = loadRealmConfig(opts.configDir, opts.env, { demo: opts.demo });
  const api = new AdminRest({ keycloakUrl: opts.keycloakUrl, username: opts.adminUser, password: opts.adminPassword });
  const changes: Change[] = [];
  for (const files of realms) {
    await new RealmApplier(api, files, (c) => {
      changes.push(c);
      opts.log?.(`  ${c.action} ${c.kind} ${c.realm}/${c.name}`);
    }).apply();
  }
  return changes;
}

/** Realm settings naming an authentication flow: applied after the flows, which a new realm does not have yet. */
const FLOW_BINDINGS = ['browserFlow', 'registrationFlow', 'directGrantFlow', 'resetCredentialsFlow', 'clientAuthenticationFlow', 'firstBrokerLoginFlow'];

const omit = (obj: Json, ...keys: string[]): Json => Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k)));
const enc = encodeURIComponent;

/** Keycloak masks IdP client secrets on read, so we keep a fingerprint beside it to detect a change. */
const SECRET_FINGERPRINT = 'platform.clientSecretSha256';
const fingerprint = (s: string) => createHash('sha256').update(s).digest('hex');

class RealmApplier {
  readonly #api: AdminRest;
  readonly #files: RealmFiles;
  readonly #record: (c: Change) => void;
  readonly #realm: string;
  readonly #base: string;

  constructor(api: AdminRest, files: RealmFiles, record: (c: Change) => void) {
    this.#api = api;
    this.#files = files;
    this.#record = record;
    this.#realm = files.realm.realm;
    this.#base = `/${enc(this.#realm)}`;
  }

  #change(kind: string, name: string, action: Change['action']) {
    this.#record({ realm: this.#realm, kind, name, action });
  }

  async apply(): Promise<void> {
    await this.#applyRealm();
    await this.#applyRealmRoles();
    if (this.#files.userProfile) await this.#applyUserProfile(this.#files.userProfile);
    for (const [locale, texts] of Object.entries(this.#files.localization)) await this.#applyLocalization(locale, texts);
    // Before the identity providers, which name their first- and post-broker-login flows.
    for (const flow of this.#files.authenticationFlows) await this.#applyAuthenticationFlow(flow);
    await this.#applyFlowBindings();
    for (const action of this.#files.requiredActions) await this.#applyRequiredAction(action);
    for (const scope of this.#files.clientScopes) await this.#applyClientScope(scope);
    for (const client of this.#files.clients) await this.#applyClient(client);
    for (const idp of this.#files.identityProviders) await this.#applyIdentityProvider(idp);
    for (const org of this.#files.organizations) await this.#applyOrganization(org);
    for (const user of this.#files.users) await this.#applyUser(user);
  }

  async #applyRealm(): Promise<void> {
    const desired = omit(this.#files.realm, 'roles', ...FLOW_BINDINGS);
    const actual = await this.#api.get<Json>(this.#base);
    if (!actual) {
      await this.#api.request('POST', '', { ...desired });
      this.#change('realm', this.#realm, 'create');
    } else if (!isSubset(desired, actual)) {
      await this.#api.put(this.#base, desired);
      this.#change('realm', this.#realm, 'update');
    }
  }

  /** The realm's flow bindings (e.g. `browserFlow`), once the flows they name exist. */
  async #applyFlowBindings(): Promise<void> {
    const desired = Object.fromEntries(FLOW_BINDINGS.filter((k) => k in this.#files.realm).map((k) => [k, this.#files.realm[k]]));
    if (Object.keys(desired).length === 0) return;
    const actual = await this.#api.get<Json>(this.#base);
    if (!isSubset(desired, actual)) {
      await this.#api.put(this.#base, desired);
      this.#change('realm-flow-bindings', this.#realm, 'update');
    }
  }

  async #applyRealmRoles(): Promise<void> {
    for (const role of this.#files.realm.roles?.realm ?? []) {
      const name = String(role.name);
      const actual = await this.#api.get<Json>(`${this.#base}/roles/${enc(name)}`);
      if (!actual) {
        await this.#api.post(`${this.#base}/roles`, role);
        this.#change('realm-role', name, 'create');
      } else if (!isSubset(role, actual)) {
        await this.#api.put(`${this.#base}/roles/${enc(name)}`, { ...actual, ...role });
        this.#change('realm-role', name, 'update');
      }
    }
  }

  async #applyUserProfile(desired: Json): Promise<void> {
    const actual = await this.#api.get<Json>(`${this.#base}/users/profile`);
    if (!isSubset(desired, actual)) {
      await this.#api.put(`${this.#base}/users/profile`, desired);
      this.#change('user-profile', 'user-profile', 'update');
    }
  }

  /**
   * Realm localization texts of one locale: the keys in the file are created or updated in one write
   * (the import endpoint merges); keys only Keycloak has are left alone.
   */
  async #applyLocalization(locale: string, desired: Record<string, string>): Promise<void> {
    const path = `${this.#base}/localization/${enc(locale)}`;
    const actual = (await this.#api.get<Record<string, string>>(path)) ?? {};
    const changed = Object.entries(desired).filter(([key, text]) => actual[key] !== text);
    if (changed.length === 0) return;
    await this.#api.post(path, Object.fromEntries(changed));
    for (const [key] of changed) this.#change(`localization ${locale}`, key, key in actual ? 'update' : 'create');
  }

  /**
   * A required action Keycloak registers in every realm: its switches (enabled, default) and its
   * config. Config keys in the file are set; others Keycloak has are kept.
   */
  async #applyRequiredAction(file: RequiredActionFile): Promise<void> {
    const path = `${this.#base}/authentication/required-actions/${enc(file.alias)}`;
    const actual = await this.#api.get<Json>(path);
    if (!actual) throw new Error(`realm ${this.#realm}: Keycloak has no required action ${file.alias}`);
    const { config, ...switches } = omit(file as unknown as Json, 'alias') as Json & { config?: Record<string, string> };
    if (!isSubset(switches, actual)) {
      await this.#api.put(path, { ...omit(actual, 'config'), ...switches });
      this.#change('required-action', file.alias, 'update');
    }
    if (config) {
      const current = (await this.#api.get<{ config?: Record<string, string> }>(`${path}/config`))?.config ?? {};
      if (!isSubset(config, current)) {
        await this.#api.put(`${path}/config`, { config: { ...current, ...config } });
        this.#change('required-action-config', file.alias, 'update');
      }
    }
  }

  async #applyAuthenticationFlow(file: AuthenticationFlowFile): Promise<void> {
    const description = file.description ?? '';
    const actual = ((await this.#api.get<WithId[]>(`${this.#base}/authentication/flows`)) ?? []).find((f) => f.alias === file.alias);
    if (!actual) {
      await this.#api.post(`${this.#base}/authentication/flows`, { alias: file.alias, description, providerId: 'basic-flow', topLevel: true, builtIn: false });
      this.#change('authentication-flow', file.alias, 'create');
    } else if (actual.description !== description) {
      await this.#api.put(`${this.#base}/authentication/flows/${actual.id}`, { ...actual, description });
      this.#change('authentication-flow', file.alias, 'update');
    }
    await this.#syncExecutions(file.alias, file.executions);
  }

  /**
   * The executions of one flow (top level or subflow) follow the file, in order. Keycloak appends a
   * new execution after the last one, so from the first position that differs everything is removed
   * and created again; matching executions only get their requirement, config or subflow updated.
   */
  async #syncExecutions(flowAlias: string, desired: ExecutionFile[]): Promise<void> {
    const kind = `authentication-execution ${flowAlias}`;
    const path = `${this.#base}/authentication/flows/${enc(flowAlias)}/executions`;
    const children = async () => ((await this.#api.get<ExecutionInfo[]>(path)) ?? []).filter((e) => e.level === 0);
    const nameOf = (e: ExecutionFile) => ('flow' in e ? e.flow : e.authenticator);
    const actualName = (e: ExecutionInfo) => (e.authenticationFlow ? e.displayName : String(e.providerId));

    let current = await children();
    let same = 0;
    while (same < desired.length && same < current.length && nameOf(desired[same]!) === actualName(current[same]!)) same++;
    for (const extra of current.slice(same)) {
      await this.#api.delete(`${this.#base}/authentication/executions/${extra.id}`);
      this.#change(kind, actualName(extra), 'delete');
    }

    for (const [i, want] of desired.entries()) {
      const created = i >= same;
      if (created) {
        if ('flow' in want) {
          await this.#api.post(`${path}/flow`, { alias: want.flow, type: 'basic-flow', description: want.description ?? '' });
        } else {
          await this.#api.post(`${path}/execution`, { provider: want.authenticator });
        }
        this.#change(kind, nameOf(want), 'create');
        current = await children();
      }
      const actual = current[i];
      if (!actual) throw new Error(`${kind}: execution ${nameOf(want)} was not created`);
      // A new execution starts DISABLED: setting its requirement is part of creating it.
      const report = (what: string) => {
        if (!created) this.#change(kind, `${nameOf(want)} (${what})`, 'update');
      };

      if (actual.requirement !== want.requirement) {
        await this.#api.put(path, { ...actual, requirement: want.requirement });
        report('requirement');
      }
      // A separate write: Keycloak applies a subflow's description only when the requirement is unchanged.
      if ('flow' in want && (actual.description ?? '') !== (want.description ?? '')) {
        await this.#api.put(path, { ...actual, requirement: want.requirement, description: want.description ?? '' });
        report('description');
      }
      if ('flow' in want) {
        await this.#syncExecutions(want.flow, want.executions);
      } else if (want.config) {
        const config = actual.authenticationConfig
          ? await this.#api.get<Json>(`${this.#base}/authentication/config/${actual.authenticationConfig}`)
          : undefined;
        if (!config || !isSubset(want.config, config)) {
          // Replaces the execution's previous config, if any.
          await this.#api.post(`${this.#base}/authentication/executions/${actual.id}/config`, want.config);
          report('config');
        }
      }
    }
  }

  async #applyClientScope(file: Json): Promise<void> {
    const name = String(file.name);
    const desired = omit(file, 'protocolMappers');
    const find = async () => ((await this.#api.get<WithId[]>(`${this.#base}/client-scopes`)) ?? []).find((s) => s.name === name);
    let actual = await find();
    if (!actual) {
      await this.#api.post(`${this.#base}/client-scopes`, desired);
      this.#change('client-scope', name, 'create');
      actual = await find();
      if (!actual) throw new Error(`client scope ${name} was not created`);
    } else if (!isSubset(desired, actual)) {
      await this.#api.put(`${this.#base}/client-scopes/${actual.id}`, { ...actual, ...desired });
      this.#change('client-scope', name, 'update');
    }
    const scopePath = `${this.#base}/client-scopes/${actual.id}`;
    await this.#syncNamedList({
      kind: `client-scope-mapper ${name}`,
      desired: (file.protocolMappers as Json[] | undefined) ?? [],
      list: () => this.#api.get<WithId[]>(`${scopePath}/protocol-mappers/models`),
      create: (m) => this.#api.post(`${scopePath}/protocol-mappers/models`, m),
      update: (id, m) => this.#api.put(`${scopePath}/protocol-mappers/models/${id}`, { ...m, id }),
      remove: (id) => this.#api.delete(`${scopePath}/protocol-mappers/models/${id}`),
    });
  }

  /**
   * A client's default or optional client scopes as a complete list (Keycloak ignores these lists on a
   * client update). Scopes the BFF made at run time (`platform.managed-by`) stay: e.g. partner
   * attribution scopes on partner-user-tokens.
   */
  async #applyClientScopeLinks(clientId: string, id: string, kind: 'default' | 'optional', desired: string[]): Promise<void> {
    const path = `${this.#base}/clients/${id}/${kind}-client-scopes`;
    const all = (await this.#api.get<(WithId & { name: string; attributes?: Record<string, string> })[]>(`${this.#base}/client-scopes`)) ?? [];
    const current = (await this.#api.get<(WithId & { name: string })[]>(path)) ?? [];
    for (const name of desired.filter((n) => !current.some((c) => c.name === n))) {
      const scope = all.find((s) => s.name === name);
      if (!scope) throw new Error(`client ${clientId}: unknown client scope ${name}`);
      await this.#api.put(`${path}/${scope.id}`, undefined);
      this.#change(`client-${kind}-scope ${clientId}`, name, 'create');
    }
    for (const extra of current.filter((c) => !desired.includes(c.name))) {
      if (all.find((s) => s.id === extra.id)?.attributes?.['platform.managed-by']) continue;
      await this.#api.delete(`${path}/${extra.id}`);
      this.#change(`client-${kind}-scope ${clientId}`, extra.name, 'delete');
    }
  }

  async #applyClient(file: Json): Promise<void> {
    const clientId = String(file.clientId);
    const desired = omit(file, 'protocolMappers', 'serviceAccountClientRoles', 'defaultClientScopes', 'optionalClientScopes');
    let actual = (await this.#api.get<WithId[]>(`${this.#base}/clients?clientId=${enc(clientId)}`))?.[0];
    if (!actual) {
      await this.#api.post(`${this.#base}/clients`, desired);
      this.#change('client', clientId, 'create');
      actual = (await this.#api.get<WithId[]>(`${this.#base}/clients?clientId=${enc(clientId)}`))?.[0];
      if (!actual) throw new Error(`client ${clientId} was not created`);
    } else if (!isSubset(desired, actual)) {
      await this.#api.put(`${this.#base}/clients/${actual.id}`, { ...actual, ...desired });
      this.#change('client', clientId, 'update');
    }
    const clientPath = `${this.#base}/clients/${actual.id}`;
    await this.#syncNamedList({
      kind: `client-mapper ${clientId}`,
      desired: (file.protocolMappers as Json[] | undefined) ?? [],
      list: () => this.#api.get<WithId[]>(`${clientPath}/protocol-mappers/models`),
      create: (m) => this.#api.post(`${clientPath}/protocol-mappers/models`, m),
      update: (id, m) => this.#api.put(`${clientPath}/protocol-mappers/models/${id}`, { ...m, id }),
      remove: (id) => this.#api.delete(`${clientPath}/protocol-mappers/models/${id}`),
    });
    if (Array.isArray(file.defaultClientScopes)) await this.#applyClientScopeLinks(clientId, actual.id, 'default', file.defaultClientScopes as string[]);
    if (Array.isArray(file.optionalClientScopes)) await this.#applyClientScopeLinks(clientId, actual.id, 'optional', file.optionalClientScopes as string[]);
    if (actual.serviceAccountsEnabled || file.serviceAccountsEnabled) {
      await this.#applyServiceAccountRoles(clientId, actual.id, (file.serviceAccountClientRoles as Record<string, string[]>) ?? {});
    }
  }

  /** The service account's client roles are a complete list: missing ones added, others removed. */
  async #applyServiceAccountRoles(clientId: string, id: string, desired: Record<string, string[]>): Promise<void> {
    const sa = await this.#api.get<WithId>(`${this.#base}/clients/${id}/service-account-user`);
    if (!sa) throw new Error(`client ${clientId} has no service account user`);
    for (const [roleClientId, roleNames] of Object.entries(desired)) {
      const roleClient = (await this.#api.get<WithId[]>(`${this.#base}/clients?clientId=${enc(roleClientId)}`))?.[0];
      if (!roleClient) throw new Error(`client ${roleClientId} (roles for ${clientId}) not found`);
      const path = `${this.#base}/users/${sa.id}/role-mappings/clients/${roleClient.id}`;
      const current = (await this.#api.get<WithId[]>(path)) ?? [];
      const currentNames = new Set(current.map((r) => String(r.name)));
      const toAdd = roleNames.filter((n) => !currentNames.has(n));
      const toRemove = current.filter((r) => !roleNames.includes(String(r.name)));
      if (toAdd.length > 0) {
        const roles = await Promise.all(toAdd.map((n) => this.#api.get<WithId>(`${this.#base}/clients/${roleClient.id}/roles/${enc(n)}`)));
        if (roles.some((r) => !r)) throw new Error(`unknown ${roleClientId} role in ${toAdd.join(', ')}`);
        await this.#api.post(path, roles);
        this.#change(`service-account-roles ${clientId}`, toAdd.join(','), 'create');
      }
      if (toRemove.length > 0) {
        await this.#api.delete(path, toRemove);
        this.#change(`service-account-roles ${clientId}`, toRemove.map((r) => r.name).join(','), 'delete');
      }
    }
  }

  async #applyIdentityProvider(file: Json): Promise<void> {
    const alias = String(file.alias);
    const config = { ...((file.config as Json | undefined) ?? {}) };
    if (typeof config.clientSecret === 'string') config[SECRET_FINGERPRINT] = fingerprint(config.clientSecret);
    const desired = { ...omit(file, 'mappers'), config };
    const path = `${this.#base}/identity-provider/instances/${enc(alias)}`;
    const actual = await this.#api.get<Json>(path);
    if (!actual) {
      await this.#api.post(`${this.#base}/identity-provider/instances`, desired);
      this.#change('identity-provider', alias, 'create');
    } else {
      // The secret itself reads back masked: compare its fingerprint instead.
      const comparable = { ...desired, config: omit(config, 'clientSecret') };
      if (!isSubset(comparable, actual)) {
        await this.#api.put(path, { ...actual, ...desired, config: { ...((actual.config as Json) ?? {}), ...config } });
        this.#change('identity-provider', alias, 'update');
      }
    }
    await this.#syncNamedList({
      kind: `identity-provider-mapper ${alias}`,
      desired: ((file.mappers as Json[] | undefined) ?? []).map((m) => ({ ...m, identityProviderAlias: alias })),
      list: () => this.#api.get<WithId[]>(`${path}/mappers`),
      create: (m) => this.#api.post(`${path}/mappers`, m),
      update: (id, m) => this.#api.put(`${path}/mappers/${id}`, { ...m, id }),
      remove: (id) => this.#api.delete(`${path}/mappers/${id}`),
    });
  }

  async #applyOrganization(file: Json): Promise<void> {
    const alias = String(file.alias);
    const desired = omit(file, 'identityProviders');
    const find = () => this.#findOrganization(alias);
    let actual = await find();
    if (!actual) {
      await this.#api.post(`${this.#base}/organizations`, desired);
      this.#change('organization', alias, 'create');
      actual = await find();
      if (!actual) throw new Error(`organization ${alias} was not created`);
    } else if (!isSubset(desired, actual)) {
      await this.#api.put(`${this.#base}/organizations/${actual.id}`, { ...actual, ...desired });
      this.#change('organization', alias, 'update');
    }
    const orgPath = `${this.#base}/organizations/${actual.id}/identity-providers`;
    const wanted = (file.identityProviders as string[] | undefined) ?? [];
    const linked = ((await this.#api.get<Json[]>(orgPath)) ?? []).map((i) => String(i.alias));
    for (const idp of wanted.filter((a) => !linked.includes(a))) {
      await this.#api.request('POST', orgPath, idp);
      this.#change(`organization-idp ${alias}`, idp, 'create');
    }
    for (const idp of linked.filter((a) => !wanted.includes(a))) {
      await this.#api.delete(`${orgPath}/${enc(idp)}`);
      this.#change(`organization-idp ${alias}`, idp, 'delete');
    }
  }

  async #applyUser(file: UserFile): Promise<void> {
    const { password, organizations = [], realmRoles = [], ...desired } = file;
    const findUser = async () =>
      ((await this.#api.get<WithId[]>(`${this.#base}/users?username=${enc(file.username)}&exact=true&briefRepresentation=false`)) ?? [])[0];
    let actual = await findUser();
    if (!actual) {
      // The password is set once, at creation; later applies never reset a password a person changed.
      const credentials = password ? [{ type: 'password', value: password, temporary: false }] : [];
      await this.#api.post(`${this.#base}/users`, { ...desired, credentials });
      this.#change('user', file.username, 'create');
      actual = await findUser();
      if (!actual) throw new Error(`user ${file.username} was not created`);
    } else if (!isSubset(desired, actual)) {
      await this.#api.put(`${this.#base}/users/${actual.id}`, { ...actual, ...desired });
      this.#change('user', file.username, 'update');
    }
    const userPath = `${this.#base}/users/${actual.id}`;
    if (realmRoles.length > 0) {
      const current = new Set(((await this.#api.get<Json[]>(`${userPath}/role-mappings/realm`)) ?? []).map((r) => String(r.name)));
      const missing = realmRoles.filter((r) => !current.has(r));
      if (missing.length > 0) {
        const roles = await Promise.all(missing.map((n) => this.#api.get<Json>(`${this.#base}/roles/${enc(n)}`)));
        await this.#api.post(`${userPath}/role-mappings/realm`, roles);
        this.#change(`user-roles ${file.username}`, missing.join(','), 'create');
      }
    }
    if (organizations.length > 0) {
      const memberOf = new Set(
        ((await this.#api.get<Json[]>(`${this.#base}/organizations/members/${actual.id}/organizations`)) ?? []).map((o) => String(o.alias)),
      );
      for (const alias of organizations.filter((a) => !memberOf.has(a))) {
        const org = await this.#findOrganization(alias);
        if (!org) throw new Error(`user ${file.username}: organization ${alias} not found`);
        await this.#api.request('POST', `${this.#base}/organizations/${org.id}/members`, actual.id);
        this.#change(`user-organization ${file.username}`, alias, 'create');
      }
    }
  }

  /** Organizations are searched by name, not alias: list them and match the alias. */
  async #findOrganization(alias: string): Promise<WithId | undefined> {
    const all = (await this.#api.get<WithId[]>(`${this.#base}/organizations?first=0&max=1000&briefRepresentation=false`)) ?? [];
    return all.find((o) => o.alias === alias);
  }

  /** Nested lists (mappers) are managed completely: by name, created, updated or removed. */
  async #syncNamedList(opts: {
    kind: string;
    desired: Json[];
    list: () => Promise<WithId[] | undefined>;
    create: (item: Json) => Promise<unknown>;
    update: (id: string, item: Json) => Promise<unknown>;
    remove: (id: string) => Promise<unknown>;
  }): Promise<void> {
    const actual = (await opts.list()) ?? [];
    for (const item of opts.desired) {
      const match = actual.find((a) => a.name === item.name);
      if (!match) {
        await opts.create(item);
        this.#change(opts.kind, String(item.name), 'create');
      } else if (!isSubset(item, match)) {
        await opts.update(match.id, { ...match, ...item });
        this.#change(opts.kind, String(item.name), 'update');
      }
    }
    for (const extra of actual.filter((a) => !opts.desired.some((d) => d.name === a.name))) {
      await opts.remove(extra.id);
      this.#change(opts.kind, String(extra.name), 'delete');
    }
  }
}
