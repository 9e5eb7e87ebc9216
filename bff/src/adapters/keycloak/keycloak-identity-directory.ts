import type KcAdminClient from '@keycloak/keycloak-admin-client';
import type UserRepresentation from '@keycloak/keycloak-admin-client/lib/defs/userRepresentation.js';
import { DomainError } from '../../kernel/errors.ts';
import type {
  AttributeOptions,
  DirectoryOrganization,
  DirectoryTenant,
  KeycloakOrganizationInvitation,
  DirectoryUser,
  FederatedIdentity,
  IdentityDirectory,
  NewDirectoryUser,
  UserListFilter,
} from '../../ports/identity-directory.ts';
import { KeycloakAdminApi } from './admin-api.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';

/**
 * IdentityDirectory on Keycloak's Admin API, as the BFF's service account (only the
 * realm-management roles declared in realm-config/realms/platform/clients/bff.json).
 */
export class KeycloakIdentityDirectory implements IdentityDirectory {
  readonly #api: KeycloakAdminApi;
  readonly #orgIds = new Map<string, string>();

  constructor(opts: { keycloakUrl: string; realm: string; tokens: ServiceAccountTokens }) {
    this.#api = new KeycloakAdminApi(opts);
  }

  #call<T>(what: string, fn: (admin: KcAdminClient) => Promise<T>): Promise<T> {
    return this.#api.call(what, fn);
  }

  async ping(): Promise<void> {
    await this.#call('ping', (a) => a.users.count());
  }

  async getUser(id: string): Promise<DirectoryUser | null> {
    const user = await this.#call('getUser', (a) => a.users.findOne({ id, userProfileMetadata: false }));
    return user ? toDirectoryUser(user) : null;
  }

  async findUserByUsername(username: string): Promise<DirectoryUser | null> {
    const users = await this.#call('findUserByUsername', (a) => a.users.find({ username, exact: true, briefRepresentation: false }));
    const user = users.find((u) => u.username === username.toLowerCase());
    return user ? toDirectoryUser(user) : null;
  }

  async findUsersByEmail(email: string): Promise<DirectoryUser[]> {
    const users = await this.#call('findUsersByEmail', (a) => a.users.find({ email, exact: true, briefRepresentation: false }));
    return users.map(toDirectoryUser);
  }

  async findUsersByAttribute(name: string, value: string): Promise<DirectoryUser[]> {
    const users = await this.#call('findUsersByAttribute', (a) => a.users.find({ q: `${name}:${value}`, exact: true, briefRepresentation: false }));
    // `q` matching is not guaranteed exact across versions: filter ourselves.
    return users.map(toDirectoryUser).filter((u) => u.attributes[name]?.includes(value));
  }

  async createUser(user: NewDirectoryUser): Promise<{ id: string }> {
    const { id } = await this.#call('createUser', (a) =>
      a.users.create({
        username: user.username,
        email: user.email,
        emailVerified: user.emailVerified ?? false,
        firstName: user.firstName,
        lastName: user.lastName,
        enabled: user.enabled ?? true,
        attributes: user.attributes ?? {},
        // Keycloak's UsersResource.createUser stores the credentials in the same transaction as the
        // user and rolls both back on PasswordPolicyNotMetException (400 {error: invalidPassword...}).
        ...(user.password === undefined ? {} : { credentials: [{ type: 'password', value: user.password, temporary: false }] }),
      }),
    );
    return { id };
  }

  async updateUser(id: string, changes: Partial<Omit<NewDirectoryUser, 'username' | 'password' | 'email'>> & { email?: string | null }): Promise<void> {
    await this.#call('updateUser', async (a) => {
      const current = await a.users.findOne({ id });
      if (!current) throw new DomainError('NOT_FOUND', 'No such account');
      const { email, ...rest } = changes;
      // Keycloak's update validates the whole user profile, so names, e-mail and attributes go back as read.
      // Required actions, emailVerified and enabled are left out (absent, Keycloak keeps them): sending back
      // what was read would undo a change made meanwhile (a required action just completed, an account an
      // admin just disabled re-enabled by a roles write).
      const { username, firstName, lastName, email: currentEmail } = current;
      // JSON null is how the Admin API removes an e-mail address (an empty string is refused as invalid).
      const next = {
        username,
        firstName,
        lastName,
        email: currentEmail,
        ...rest,
        ...(email === undefined ? {} : { email: email as string }),
        attributes: { ...(current.attributes ?? {}), ...(changes.attributes ?? {}) },
      };
      await a.users.update({ id }, next);
    });
  }

  async passwordPolicy(): Promise<string> {
    // GET /admin/realms/{realm} (view-realm); Keycloak has no endpoint that checks a password without a user.
    const realm = await this.#call('passwordPolicy', (a) => a.realms.findOne({ realm: a.realmName }));
    return realm?.passwordPolicy ?? '';
  }

  async attributeOptions(name: string): Promise<AttributeOptions | null> {
    // GET /admin/realms/{realm}/users/profile (view-realm): the realm's user profile configuration.
    const config = await this.#call('attributeOptions', (a) => a.users.getProfile({ realm: a.realmName }));
    const attribute = config.attributes?.find((at) => at.name === name);
    const options = (attribute?.validations?.options as { options?: unknown } | undefined)?.options;
    if (!Array.isArray(options)) return null;
    const labels = (attribute?.annotations?.inputOptionLabels ?? {}) as Record<string, unknown>;
    return {
      options: options.map(String),
      labels: Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === 'string')),
    };
  }

  async localizationTexts(language: string): Promise<Record<string, string>> {
    // GET /admin/realms/{realm}/localization/{locale} (view-realm): the realm's texts, not the theme's.
    return this.#call('localizationTexts', (a) => a.realms.getRealmLocalizationTexts({ realm: a.realmName, selectedLocale: language }));
  }

  async setPassword(id: string, password: string): Promise<void> {
    await this.#call('setPassword', (a) => a.users.resetPassword({ id, credential: { type: 'password', value: password, temporary: false } }));
    // Set only after the person proved the account (a code to its identifier, an invitation link): the
    // wrong passwords that sent them to recovery must not keep the new one locked out (Keycloak's
    // temporary brute-force lockout, e.g. two failures within quickLoginCheckMilliSeconds).
    await this.#call('clearLoginFailures', (a) => a.attackDetection.del({ id }));
  }

  async deleteUser(id: string): Promise<void> {
    await this.#call('deleteUser', (a) => a.users.del({ id }));
  }

  async addToOrganization(userId: string, organizationAlias: string): Promise<void> {
    const orgId = await this.#organizationId(organizationAlias);
    try {
      await this.#call('addToOrganization', (a) => a.organizations.addMember({ orgId, userId }));
    } catch (err) {
      // Already a member: the goal is reached, which keeps this call idempotent.
      if (err instanceof DomainError && err.code === 'ACCOUNT_EXISTS') return;
      // Two concurrent adds: Keycloak refuses the loser with a 400 although the member is in.
      if (err instanceof DomainError && err.code === 'VALIDATION_FAILED' && (await this.organizationsOf(userId)).some((o) => o.id === orgId)) return;
      throw err;
    }
  }

  async removeFromOrganization(userId: string, organizationAlias: string): Promise<void> {
    const orgId = await this.#organizationId(organizationAlias);
    try {
      await this.#call('removeFromOrganization', (a) => a.organizations.delMember({ orgId, userId }));
    } catch (err) {
      if (err instanceof DomainError && err.code === 'NOT_FOUND') return;
      throw err;
    }
  }

  async organizationsOf(userId: string): Promise<DirectoryOrganization[]> {
    const orgs = await this.#call('organizationsOf', (a) => a.organizations.memberOrganizations({ userId }));
    return orgs.map((o) => ({ id: String(o.id), alias: String(o.alias), name: String(o.name) }));
  }

  async findOrganization(alias: string): Promise<DirectoryTenant | null> {
    let id: string;
    try {
      id = await this.#organizationId(alias);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
    const org = await this.#call('findOrganization', (a) => a.organizations.findOne({ id }, { catchNotFound: true }));
    if (!org) {
      this.#orgIds.delete(alias);
      return null;
    }
    return { id, alias, name: String(org.name ?? alias), attributes: (org.attributes ?? {}) as Record<string, string[]> };
  }

  async organizationInvitations(alias: string): Promise<KeycloakOrganizationInvitation[]> {
    const orgId = await this.#organizationId(alias);
    const found = await this.#call('organizationInvitations', (a) => a.organizations.listInvitations({ orgId, first: 0, max: 1000 }, { catchNotFound: true }));
    const at = (ms: number | undefined) => (typeof ms === 'number' ? new Date(ms < 1e12 ? ms * 1000 : ms).toISOString() : null);
    return (found ?? []).map((i) => ({
      id: String(i.id),
      email: String(i.email ?? ''),
      status: String(i.status).toUpperCase() === 'EXPIRED' ? 'expired' : 'pending',
      sentAt: at(i.sentDate),
      expiresAt: at(i.expiresAt),
    }));
  }

  async listUsers(filter: UserListFilter, page: { first: number; max: number }): Promise<{ users: DirectoryUser[]; total: number }> {
    // Keycloak ignores email/firstName/lastName when `search` is given, and lists service accounts
    // when it is not: every filter goes into `search`, whose space-separated words must all match
    // one of username, email, first or last name (a prefix; `*x*` for "contains"). `/count` takes
    // the same query, so the total costs one indexed count.
    const words = [...(filter.name?.split(/\s+/).filter(Boolean) ?? []), ...(filter.email ? [`*${filter.email}*`] : [])];
    const query: { search: string; enabled?: boolean } = { search: words.length > 0 ? words.join(' ') : '*' };
    if (filter.enabled !== undefined) query.enabled = filter.enabled;
    const [users, total] = await Promise.all([
      this.#call('listUsers', (a) => a.users.find({ ...query, first: page.first, max: page.max, briefRepresentation: false })),
      this.#call('countUsers', (a) => a.users.count(query)),
    ]);
    return { users: users.map(toDirectoryUser), total };
  }

  async federatedIdentitiesOf(userId: string): Promise<FederatedIdentity[]> {
    const links = await this.#call('federatedIdentitiesOf', (a) => a.users.listFederatedIdentities({ id: userId }));
    return links.map((l) => ({ provider: String(l.identityProvider), userId: String(l.userId), username: String(l.userName) }));
  }

  async linkFederatedIdentity(userId: string, identity: FederatedIdentity): Promise<void> {
    try {
      await this.#call('linkFederatedIdentity', (a) =>
        a.users.addToFederatedIdentity({
          id: userId,
          federatedIdentityId: identity.provider,
          federatedIdentity: { identityProvider: identity.provider, userId: identity.userId, userName: identity.username },
        }),
      );
    } catch (err) {
      // 409: linked to that provider already (or the subject to another account): done when it is this very link.
      if (err instanceof DomainError && err.code === 'ACCOUNT_EXISTS') {
        const links = await this.federatedIdentitiesOf(userId);
        if (links.some((l) => l.provider === identity.provider && l.userId === identity.userId)) return;
      }
      throw err;
    }
  }

  async unlinkFederatedIdentity(userId: string, provider: string): Promise<void> {
    try {
      await this.#call('unlinkFederatedIdentity', (a) => a.users.delFromFederatedIdentity({ id: userId, federatedIdentityId: provider }));
    } catch (err) {
      if (err instanceof DomainError && err.code === 'NOT_FOUND') return;
      throw err;
    }
  }

  async credentialTypes(userId: string): Promise<string[]> {
    const credentials = await this.#call('credentialTypes', (a) => a.users.getCredentials({ id: userId }));
    return credentials.map((c) => String(c.type));
  }

  async #organizationId(alias: string): Promise<string> {
    const cached = this.#orgIds.get(alias);
    if (cached) return cached;
    const orgs = await this.#call('findOrganization', (a) => a.organizations.find({ first: 0, max: 1000 }));
    const org = orgs.find((o) => o.alias === alias);
    if (!org?.id) throw new DomainError('NOT_FOUND', `No organization ${alias}`);
    this.#orgIds.set(alias, org.id);
    return org.id;
  }
}

function toDirectoryUser(u: UserRepresentation): DirectoryUser {
  return {
    id: String(u.id),
    username: String(u.username),
    ...(u.email ? { email: u.email } : {}),
    emailVerified: Boolean(u.emailVerified),
    ...(u.firstName ? { firstName: u.firstName } : {}),
    ...(u.lastName ? { lastName: u.lastName } : {}),
    enabled: u.enabled !== false,
    attributes: (u.attributes ?? {}) as Record<string, string[]>,
    ...(u.createdTimestamp ? { createdAt: new Date(u.createdTimestamp) } : {}),
  };
}
