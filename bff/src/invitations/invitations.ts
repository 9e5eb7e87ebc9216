import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccountService } from '../accounts/account-service.ts';
import { maskIdentifier, normaliseEmail, isStrictEmail, parsePhone, type Identifier } from '../accounts/identifiers.ts';
import { bindSeal } from '../kernel/crypto/bound-seal.ts';
import type { FieldEncryption } from '../kernel/crypto/field-encryption.ts';
import { keyedHash } from '../kernel/crypto/keyed-hash.ts';
import { DomainError, isDomainError, type FieldIssue } from '../kernel/errors.ts';
import { LANGUAGES, languageOf, type Language } from '../kernel/languages.ts';
import type { Logger } from '../kernel/logger.ts';
import type { DirectoryTenant, IdentityDirectory, KeycloakOrganizationInvitation } from '../ports/identity-directory.ts';
import type { Mailer, SmsGateway } from '../ports/messaging.ts';
import type { UpstreamCore } from '../ports/upstream-core.ts';
import type { InvitationKind, InvitationService, InvitationStatus, InvitationView, NewInvitation } from './invitation-service.ts';
import { invitationEmail, invitationSms } from './messages.ts';

/** An upstream role name, as the core's `Role` schema has it. */
export const ROLE_PATTERN = /^[A-Z][A-Z0-9_]{1,63}$/;
/** The link's token: 32 random bytes, base64url. Anything else is not looked up. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** How long one accept may hold a link before another may try (a crashed process lets go). */
const LEASE_MS = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Why a link does not lead to an invitation; the pages say each with a way forward. Unknown and expired look alike to a caller. */
export type LinkProblem = 'unknown' | 'expired' | 'revoked' | 'used';

/** What the accept pages show and need of the invitation behind a link. */
export interface InvitationLink {
  id: string;
  tenant: string;
  /** The tenant's name in each language (organization attribute `displayName_<lang>`, else its name). */
  tenantNames: Record<Language, string>;
  kind: InvitationKind;
  identifier: string;
  /** As the pages show it: `a•••@example.com`, `+91 ••••• •••01`. */
  masked: string;
  firstName: string | null;
  lastName: string | null;
  /** An account made for the person beforehand (member import): accepting gives it its password. */
  userId: string | null;
  locale: Language;
}

export interface NewPerson {
  firstName: string;
  lastName?: string;
  password: string;
  username?: string;
}

/** The accept side of invitations (flows/invitation/). */
export interface InvitationAcceptance {
  /** The invitation behind a link; NOT_FOUND with `details.reason` a LinkProblem. */
  open(token: string): Promise<InvitationLink>;
  /** What a link leads to, also once it is used, revoked or expired (the done and dead-link pages); `link` null for an unknown one. */
  describe(token: string): Promise<{ problem: LinkProblem | null; link: InvitationLink | null }>;
  /** Creates the account (or completes the imported one), in the tenant, the identifier proven by the link. */
  acceptAsNew(token: string, person: NewPerson): Promise<{ userId: string; username: string }>;
  /**
   * An existing account joins the tenant: the person signed in on Keycloak's page (the portal) and the
   * caller checked their access token. An account that does not hold the invited identifier verified:
   * FORBIDDEN `details.reason` `wrong_account`, `details.invited` the masked identifier.
   */
  acceptAsSignedIn(token: string, userId: string): Promise<{ userId: string }>;
}

export interface InvitationsDeps {
  em: EntityManager;
  encryption: FieldEncryption;
  hashKey: string;
  directory: Pick<IdentityDirectory, 'findOrganization' | 'getUser' | 'addToOrganization' | 'setPassword' | 'updateUser' | 'organizationInvitations'>;
  accounts: Pick<AccountService, 'create' | 'ensureProvisioned'>;
  upstream: Pick<UpstreamCore, 'findRootOrgByChannel' | 'addMembership'>;
  mailer: Mailer;
  sms: SmsGateway;
  logger: Logger;
  settings: { ttlHours: number; publicUrl: string; defaultPhoneCountry: string };
  now?: () => Date;
}

interface Row {
  id: string;
  tenant: string;
  kind: InvitationKind;
  identifier_sealed: string;
  identifier_hash: string;
  role: string | null;
  user_id: string | null;
  state_user_id: string | null;
  names_sealed: string | null;
  locale: string;
  status: 'pending' | 'accepted' | 'revoked';
  source: 'admin' | 'import';
  token_hash: string;
  expires_at: Date | string;
  lease_until: Date | string | null;
  created_by: string;
  accepted_user_id: string | null;
  accepted_at: Date | string | null;
  send_count: number;
  created_at: Date | string;
  updated_at: Date | string;
}

interface Names {
  firstName?: string;
  lastName?: string;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

/**
 * Invitations in PostgreSQL (table `invitation`), their mails and SMS, and their acceptance across
 * Keycloak (the tenant's organization, the account) and the upstream core (the role in the tenant's
 * root organisation, whose channel is the tenant's alias).
 */
export class Invitations implements InvitationService, InvitationAcceptance {
  readonly #d: InvitationsDeps;
  readonly #now: () => Date;
  readonly #identifierSeal;
  readonly #namesSeal;

  constructor(deps: InvitationsDeps) {
    this.#d = deps;
    this.#now = deps.now ?? (() => new Date());
    this.#identifierSeal = bindSeal<[id: string]>(deps.encryption, 'text', (id) => `invitation:${id}:identifier`);
    this.#namesSeal = bindSeal<Names, [id: string]>(deps.encryption, 'json', (id) => `invitation:${id}:names`);
  }

  // ------------------------------------------------------------------------------------------ admin

  async create(input: NewInvitation): Promise<{ invitation: InvitationView; reused: boolean }> {
    const identifier = this.#identifierOf(input);
    const tenant = await this.#tenant(input.tenant);
    const hash = this.#identifierHash(identifier);
    const locale = languageOf(input.locale);
    const existing = await this.#rows('select * from invitation where tenant = ? and identifier_hash = ? and status = ?', [tenant.alias, hash, 'pending']);
    if (existing[0]) {
      // Reused: a fresh link (the old one stops working), the expiry extended, sent again.
      const row = await this.#reissue(existing[0], tenant);
      return { invitation: this.#view(row), reused: true };
    }
    const id = randomUUID();
    const token = newToken();
    const now = this.#now();
    const names: Names = { ...(input.firstName ? { firstName: input.firstName } : {}), ...(input.lastName ? { lastName: input.lastName } : {}) };
    const inserted = await this.#rows(
      `insert into invitation (id, tenant, kind, identifier_sealed, identifier_hash, role, user_id, state_user_id, names_sealed, locale, status,
         source, token_hash, expires_at, created_by, send_count, created_at, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, 1, ?, ?)
       on conflict do nothing returning *`,
      [
        id,
        tenant.alias,
        identifier.kind,
        this.#identifierSeal.seal(identifier.value, id),
        hash,
        input.role ?? null,
        input.userId ?? null,
        input.stateUserId ?? null,
        Object.keys(names).length ? this.#namesSeal.seal(names, id) : null,
        locale,
        input.source,
        this.#tokenHash(token),
        this.#expiry(now),
        input.invitedBy,
        now,
        now,
      ],
    );
    const row = inserted[0];
    if (!row) {
      // A concurrent create of the same tenant and identifier won: reuse its invitation.
      return this.create(input);
    }
    try {
      await this.#send(row, identifier, tenant, token);
    } catch (err) {
      // Nobody got the link: no invitation is left behind for a message that never went out.
      await this.#d.em.fork().execute('delete from invitation where id = ?', [id], 'run');
      throw err;
    }
    return { invitation: this.#view(row), reused: false };
  }

  async list(tenant: string, filter: { status?: InvitationStatus } = {}): Promise<InvitationView[]> {
    const t = await this.#tenant(tenant);
    const now = this.#now();
    const [clause, params]: [string, unknown[]] =
      filter.status === 'expired'
        ? [`and status = 'pending' and expires_at <= ?`, [now]]
        : filter.status === 'pending'
          ? [`and status = 'pending' and expires_at > ?`, [now]]
          : filter.status
            ? ['and status = ?', [filter.status]]
            : ['', []];
    const rows = await this.#rows(`select * from invitation where tenant = ? ${clause} order by created_at desc limit 1000`, [t.alias, ...params]);
    return rows.map((r) => this.#view(r));
  }

  /**
   * Invitations made with Keycloak's own "Invite member" (admin console), read-only: listed so that an
   * admin sees them, though their links lead to Keycloak's pages (decision 0034). Accepted ones are
   * members, not invitations, there; revoked ones are deleted.
   */
  async consoleInvitations(tenant: string, filter: { status?: InvitationStatus } = {}): Promise<KeycloakOrganizationInvitation[]> {
    const t = await this.#tenant(tenant);
    if (filter.status === 'accepted' || filter.status === 'revoked') return [];
    const all = await this.#d.directory.organizationInvitations(t.alias);
    return filter.status ? all.filter((i) => i.status === filter.status) : all;
  }

  async get(tenant: string, id: string): Promise<InvitationView> {
    return this.#view(await this.#row(tenant, id));
  }

  async resend(tenant: string, id: string): Promise<InvitationView> {
    const row = await this.#row(tenant, id);
    if (row.status !== 'pending') throw notPending(row.status);
    return this.#view(await this.#reissue(row, await this.#tenant(tenant)));
  }

  async revoke(tenant: string, id: string): Promise<InvitationView> {
    const row = await this.#row(tenant, id);
    if (row.status === 'revoked') return this.#view(row);
    if (row.status === 'accepted') throw notPending(row.status);
    const [revoked] = await this.#rows(`update invitation set status = 'revoked', updated_at = ? where id = ? and status = 'pending' returning *`, [
      this.#now(),
      id,
    ]);
    // Accepted meanwhile: say so.
    if (!revoked) return this.revoke(tenant, id);
    return this.#view(revoked);
  }

  // ----------------------------------------------------------------------------------------- accept

  async open(token: string): Promise<InvitationLink> {
    const { problem, link } = await this.describe(token);
    if (problem || !link) throw linkProblem(problem ?? 'unknown');
    return link;
  }

  async describe(token: string): Promise<{ problem: LinkProblem | null; link: InvitationLink | null }> {
    const row = await this.#byToken(token);
    return { problem: this.#problemOf(row), link: row ? await this.#link(row) : null };
  }

  async acceptAsNew(token: string, person: NewPerson): Promise<{ userId: string; username: string }> {
    return this.#accepting(token, async (row, link) => {
      let userId: string;
      let username: string;
      if (link.userId) {
        ({ userId, username } = await this.#completeImported(link, person));
      } else {
        const created = await this.#d.accounts.create(
          {
            firstName: person.firstName,
            ...(person.lastName ? { lastName: person.lastName } : {}),
            ...(person.username ? { username: person.username } : {}),
            ...(link.kind === 'email' ? { email: link.identifier } : { phone: link.identifier }),
            // The link reached this address or number: it is proven (no second code).
            emailVerified: link.kind === 'email',
            phoneVerified: link.kind === 'phone',
            password: person.password,
            channel: link.tenant,
            signUpType: 'invitation',
            ...(row.state_user_id ? { stateUserId: row.state_user_id } : {}),
            locale: link.locale,
            tenant: link.tenant,
          },
          { idempotencyKey: `invitation:${row.id}` },
        );
        userId = created.userId;
        username = created.username;
        await this.#grantRole(row, created.upstreamUserId);
      }
      return { userId, result: { userId, username } };
    });
  }

  async acceptAsSignedIn(token: string, sub: string): Promise<{ userId: string }> {
    return this.#accepting(token, async (row, link) => {
      const user = await this.#d.directory.getUser(sub);
      if (!user) throw new DomainError('UNAUTHENTICATED', 'The account is gone');
      const holds =
        link.kind === 'email'
          ? user.email === link.identifier && user.emailVerified
          : user.attributes.phone?.[0] === link.identifier && user.attributes.phoneVerified?.[0] === 'true';
      if (!holds) {
        throw new DomainError('FORBIDDEN', 'This invitation is for another email address or mobile number', {
          details: { reason: 'wrong_account', invited: link.masked },
        });
      }
      await this.#d.directory.addToOrganization(sub, link.tenant);
      const upstreamUserId = user.attributes.upstreamUserId?.[0];
      // A prospective member (no upstream account) stays one: the tenant membership is Keycloak's.
      if (upstreamUserId) await this.#grantRole(row, upstreamUserId);
      return { userId: sub, result: { userId: sub } };
    });
  }

  // ---------------------------------------------------------------------------------------- helpers

  /**
   * Runs `work` holding the link's lease (one accept at a time; a second, also concurrent, finds it
   * held or used), then marks the invitation accepted. A failure lets the lease go: the link stays good.
   */
  async #accepting<T>(token: string, work: (row: Row, link: InvitationLink) => Promise<{ userId: string; result: T }>): Promise<T> {
    if (!TOKEN_PATTERN.test(token)) throw linkProblem('unknown');
    const now = this.#now();
    const [row] = await this.#rows(
      `update invitation set lease_until = ? where token_hash = ? and status = 'pending' and expires_at > ? and (lease_until is null or lease_until < ?) returning *`,
      [new Date(now.getTime() + LEASE_MS), this.#tokenHash(token), now, now],
    );
    if (!row) {
      const current = await this.#byToken(token);
      throw linkProblem(this.#problemOf(current) ?? 'used');
    }
    let done: { userId: string; result: T };
    try {
      done = await work(row, await this.#link(row));
    } catch (err) {
      await this.#d.em.fork().execute('update invitation set lease_until = null where id = ?', [row.id], 'run');
      throw err;
    }
    await this.#d.em
      .fork()
      .execute(`update invitation set status = 'accepted', accepted_user_id = ?, accepted_at = ?, lease_until = null, updated_at = ? where id = ?`, [
        done.userId,
        this.#now(),
        this.#now(),
        row.id,
      ]);
    this.#d.logger.info({ invitationId: row.id, tenant: row.tenant, userId: done.userId }, 'invitation accepted');
    return done.result;
  }

  /** A member import's account: its password, names and the invited identifier proven; then active and in the tenant. */
  async #completeImported(link: InvitationLink, person: NewPerson): Promise<{ userId: string; username: string }> {
    const userId = link.userId!;
    const user = await this.#d.directory.getUser(userId);
    if (!user) throw linkProblem('unknown');
    await this.#d.directory.setPassword(userId, person.password);
    await this.#d.directory.updateUser(userId, {
      firstName: person.firstName,
      ...(person.lastName ? { lastName: person.lastName } : {}),
      enabled: true,
      ...(link.kind === 'email' && user.email === link.identifier ? { emailVerified: true } : {}),
      ...(link.kind === 'phone' && user.attributes.phone?.[0] === link.identifier ? { attributes: { ...user.attributes, phoneVerified: ['true'] } } : {}),
    });
    await this.#d.directory.addToOrganization(userId, link.tenant);
    const { upstreamUserId } = await this.#d.accounts.ensureProvisioned(userId, { signUpType: 'onboard', tenant: link.tenant });
    const [row] = await this.#rows('select * from invitation where id = ?', [link.id]);
    if (row) await this.#grantRole(row, upstreamUserId);
    return { userId, username: user.username };
  }

  /** The invited role in the tenant's upstream root organisation (channel = tenant alias); none named: nothing to do. */
  async #grantRole(row: Row, upstreamUserId: string): Promise<void> {
    if (!row.role) return;
    const root = await this.#d.upstream.findRootOrgByChannel(row.tenant);
    if (!root) {
      this.#d.logger.warn({ invitationId: row.id, tenant: row.tenant }, 'invitation role not given: the tenant has no upstream root organisation');
      return;
    }
    await this.#d.upstream.addMembership(upstreamUserId, root.id, row.role === 'PUBLIC' ? ['PUBLIC'] : ['PUBLIC', row.role]);
  }

  async #reissue(row: Row, tenant: DirectoryTenant): Promise<Row> {
    const token = newToken();
    const now = this.#now();
    const [updated] = await this.#rows(
      `update invitation set token_hash = ?, expires_at = ?, send_count = send_count + 1, updated_at = ? where id = ? and status = 'pending' returning *`,
      [this.#tokenHash(token), this.#expiry(now), now, row.id],
    );
    if (!updated) throw notPending('accepted');
    await this.#send(updated, { kind: updated.kind, value: this.#identifierSeal.open(updated.identifier_sealed, updated.id) } as Identifier, tenant, token);
    return updated;
  }

  async #send(row: Row, identifier: Identifier, tenant: DirectoryTenant, token: string): Promise<void> {
    const lang = languageOf(row.locale);
    const link = `${this.#d.settings.publicUrl.replace(/\/$/, '')}/invitations/${token}?lang=${lang}`;
    const name = tenantName(tenant, lang);
    if (identifier.kind === 'email') {
      const mail = invitationEmail(lang, name, link, this.#d.settings.ttlHours);
      await this.#d.mailer.send({ to: identifier.value, subject: mail.subject, text: mail.text, language: lang });
    } else {
      await this.#d.sms.send({ to: identifier.value, text: invitationSms(lang, name, link, this.#d.settings.ttlHours) });
    }
  }

  #identifierOf(input: NewInvitation): Identifier {
    const issues: FieldIssue[] = [];
    let identifier: Identifier | undefined;
    if ((input.email === undefined) === (input.phone === undefined)) {
      issues.push({ field: 'email', reason: 'exactly_one', message: 'Give exactly one of email and phone' });
    } else if (input.email !== undefined) {
      const email = normaliseEmail(input.email);
      if (isStrictEmail(email)) identifier = { kind: 'email', value: email };
      else issues.push({ field: 'email', reason: 'invalid_format', message: 'Enter a valid email address' });
    } else {
      const phone = parsePhone(input.phone!, this.#d.settings.defaultPhoneCountry);
      if (phone) identifier = { kind: 'phone', value: phone };
      else issues.push({ field: 'phone', reason: 'invalid_format', message: 'Enter a valid phone number' });
    }
    if (input.role !== undefined && !ROLE_PATTERN.test(input.role)) {
      issues.push({ field: 'role', reason: 'invalid_format', message: 'A role is upper case letters, digits and _ (e.g. TEACHER)' });
    }
    if (input.userId !== undefined && !UUID.test(input.userId)) issues.push({ field: 'userId', reason: 'invalid_format', message: 'Not an account id' });
    if (issues.length > 0 || !identifier) throw new DomainError('VALIDATION_FAILED', 'The invitation is not valid', { fields: issues });
    return identifier;
  }

  async #tenant(alias: string): Promise<DirectoryTenant> {
    const tenant = /^[a-z0-9][a-z0-9._-]{0,99}$/i.test(alias) ? await this.#d.directory.findOrganization(alias) : null;
    if (!tenant) throw new DomainError('NOT_FOUND', 'No such tenant');
    return tenant;
  }

  async #row(tenant: string, id: string): Promise<Row> {
    const t = await this.#tenant(tenant);
    const [row] = UUID.test(id) ? await this.#rows('select * from invitation where id = ? and tenant = ?', [id, t.alias]) : [];
    if (!row) throw new DomainError('NOT_FOUND', 'No such invitation');
    return row;
  }

  async #byToken(token: string): Promise<Row | undefined> {
    if (!TOKEN_PATTERN.test(token)) return undefined;
    const [row] = await this.#rows('select * from invitation where token_hash = ?', [this.#tokenHash(token)]);
    return row;
  }

  #problemOf(row: Row | undefined): LinkProblem | null {
    if (!row) return 'unknown';
    if (row.status === 'accepted') return 'used';
    if (row.status === 'revoked') return 'revoked';
    if (new Date(row.expires_at) <= this.#now()) return 'expired';
    return null;
  }

  async #link(row: Row): Promise<InvitationLink> {
    const tenant = await this.#tenant(row.tenant);
    const value = this.#identifierSeal.open(row.identifier_sealed, row.id);
    const names = row.names_sealed ? this.#namesSeal.open(row.names_sealed, row.id) : {};
    const locale = languageOf(row.locale);
    return {
      id: row.id,
      tenant: row.tenant,
      tenantNames: Object.fromEntries(LANGUAGES.map((l) => [l, tenantName(tenant, l)])) as Record<Language, string>,
      kind: row.kind,
      identifier: value,
      masked: maskIdentifier({ kind: row.kind, value } as Identifier),
      firstName: names.firstName ?? null,
      lastName: names.lastName ?? null,
      userId: row.user_id,
      locale,
    };
  }

  #view(r: Row): InvitationView {
    const expired = r.status === 'pending' && new Date(r.expires_at) <= this.#now();
    return {
      id: r.id,
      tenant: r.tenant,
      kind: r.kind,
      identifier: this.#identifierSeal.open(r.identifier_sealed, r.id),
      role: r.role,
      userId: r.user_id,
      stateUserId: r.state_user_id,
      status: expired ? 'expired' : r.status,
      source: r.source,
      createdBy: r.created_by,
      acceptedUserId: r.accepted_user_id,
      sendCount: r.send_count,
      expiresAt: iso(r.expires_at)!,
      createdAt: iso(r.created_at)!,
      updatedAt: iso(r.updated_at)!,
      acceptedAt: iso(r.accepted_at),
    };
  }

  #rows(sql: string, params: unknown[]): Promise<Row[]> {
    return this.#d.em.fork().execute<Row[]>(sql, params, 'all');
  }

  #expiry(now: Date): Date {
    return new Date(now.getTime() + this.#d.settings.ttlHours * 3600_000);
  }

  #identifierHash(identifier: Identifier): string {
    return keyedHash(this.#d.hashKey, 'invitation-identifier', `${identifier.kind}:${identifier.value}`);
  }

  #tokenHash(token: string): string {
    return keyedHash(this.#d.hashKey, 'invitation-token', token);
  }
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The tenant's name in `lang`: the organization attribute `displayName_<lang>` when set, else its name. */
export function tenantName(tenant: DirectoryTenant, lang: Language): string {
  return tenant.attributes[`displayName_${lang}`]?.[0] ?? tenant.name;
}

function linkProblem(reason: LinkProblem): DomainError {
  // Unknown and expired links answer alike: nobody learns that a link once existed.
  return new DomainError('NOT_FOUND', 'This invitation link is not valid', { details: { reason: reason === 'expired' ? 'unknown' : reason } });
}

function notPending(status: string): DomainError {
  return new DomainError('CONFLICT', `Only a pending invitation can be changed; this one is ${status}`, {
    fields: [{ field: 'status', reason: 'not_pending', message: `The invitation is ${status}` }],
  });
}

export const isLinkProblem = (err: unknown): boolean => isDomainError(err) && err.code === 'NOT_FOUND' && typeof err.details.reason === 'string';
