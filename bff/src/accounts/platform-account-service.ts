import { createHash } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError, isDomainError, type FieldIssue } from '../kernel/errors.ts';
import { safeError, type Logger } from '../kernel/logger.ts';
import { withAdvisoryLock } from '../persistence/advisory-lock.ts';
import type { DirectoryUser, IdentityDirectory, NewDirectoryUser } from '../ports/identity-directory.ts';
import type { Mailer, SmsGateway } from '../ports/messaging.ts';
import type { Organisation, ProfileChanges, UpstreamCore } from '../ports/upstream-core.ts';
import type { FieldEncryption } from '../kernel/crypto/field-encryption.ts';
import { AccountCreationSchema, type AccountCreationRecord } from './account-creation.entity.ts';
import { AccountCreationSeal } from './account-creation-seal.ts';
import type { AccountChanges, AccountService, ContactCandidates, CreatedAccount, NewAccount, SignUpType } from './account-service.ts';
import { holding, IdentifierTakeovers, type ProvenBy } from './identifier-takeovers.ts';
import { isE164, isEmail, normaliseEmail, type Identifier } from './identifiers.ts';
import { CUSTODIAN_TENANT } from './tenants.ts';
import { generateUsername, USERNAME_PATTERN, usernameDigits } from './username.ts';

/**
 * AccountService over Keycloak (IdentityDirectory), the upstream core and the BFF's PostgreSQL.
 *
 * create, in this order (the whole of it holding the lock of its e-mail/phone, decision 0021):
 *  1. validate: the input, channel/organisation in the upstream core, username/email/phone free in
 *     Keycloak and in the upstream core (contact candidates are not identifiers: never checked, never
 *     sent upstream); a proven identifier is also "free" when accounts hold it only unproven.
 *     Nothing is written before this passes.
 *  2. a row in `account_creation` (idempotency key, username chosen, lease).
 *  3. the Keycloak user, DISABLED, with its password in the same Admin API call (the realm policy is
 *     checked inside Keycloak's transaction: a rejected password leaves no user). An identifier held
 *     unproven elsewhere is left off, then taken from its holder (identifier-takeovers.ts) and set.
 *  4. the upstream profile (externalId = Keycloak id; idempotent), PUBLIC memberships (idempotent).
 *  5. the Keycloak organization (tenant) membership, then `upstreamUserId` and enabled = true.
 * Every step after 2 is idempotent, so resuming means running them again. A definitive refusal
 * (identifier taken upstream, organisation now inactive) undoes what was written (compensation:
 * upstream profile soft-deleted, Keycloak user deleted) and the error is reported. A dependency
 * failure also tries to compensate; when even that cannot be done (the upstream core is down), the
 * row stays `in_progress` and the Keycloak user stays disabled: a retry with the same key completes
 * the account, and a later creation for the same identifier takes the abandoned one over and undoes
 * it first. The caller never sees an enabled account that is missing a step.
 */
export interface PlatformAccountServiceDeps {
  directory: IdentityDirectory;
  upstream: UpstreamCore;
  /** Root entity manager; every operation works in a fork of its own. */
  em: EntityManager;
  logger: Logger;
  /** Keycloak organization of new accounts when the caller names none. Default `custodian`. */
  defaultTenant?: string;
  /** Drops what other parts of the BFF keep about a deleted account (partner mappings); idempotent. */
  forgetUser?: (userId: string) => Promise<void>;
  /** How long one request may work on a creation before another may take it. Default 60 s. */
  leaseMs?: number;
  now?: () => Date;
  /** Digits of generated usernames: whole number in [0, n). Default: CSPRNG. */
  random?: (n: number) => number;
  /** HMAC key of identifier hashes (takeover audit, identifier locks). */
  identifierHashKey: string;
  /** Seals the username `account_creation` keeps (decision 0022). */
  encryption: FieldEncryption;
  /** How an account that lost an identifier is told (decision 0021); absent: nobody is told. */
  messages?: { mailer: Mailer; sms: SmsGateway };
  /** How long an operation waits for another one on the same identifier. Default 20 s. */
  identifierWaitMs?: number;
}

/** The `signUpType` attribute values of the realm's user profile. */
const SIGN_UP_TYPE_ATTRIBUTE: Record<SignUpType, string> = {
  self: 'selfSignUp',
  api: 'apiRegistration',
  google: 'google',
  state: 'stateLogin',
  partner: 'partner',
  migrated: 'upstreamMigration',
  invitation: 'invitation',
  onboard: 'stateOnboard',
};

/** What proved an identifier, for the takeover audit, by the kind of account being made. */
const PROVEN_BY: Record<SignUpType, ProvenBy> = {
  self: 'sign-up',
  api: 'registration',
  google: 'identity-provider',
  state: 'state-claim',
  partner: 'partner',
  migrated: 'migration',
  invitation: 'invitation',
  onboard: 'state-onboarding',
};

const PUBLIC_ROLE = 'PUBLIC';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const USERNAME_ATTEMPTS = 10;
/** Tolerated clock difference between the BFF and Keycloak when recognising our own user. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** A NewAccount with its tenant decided. */
type Account = NewAccount & { tenant: string };

export class PlatformAccountService implements AccountService {
  readonly #directory: IdentityDirectory;
  readonly #upstream: UpstreamCore;
  readonly #em: EntityManager;
  readonly #logger: Logger;
  readonly #defaultTenant: string;
  readonly #forgetUser: (userId: string) => Promise<void>;
  readonly #leaseMs: number;
  readonly #now: () => Date;
  readonly #random: ((n: number) => number) | undefined;
  readonly #takeovers: IdentifierTakeovers;
  readonly #seal: AccountCreationSeal;

  constructor(deps: PlatformAccountServiceDeps) {
    this.#directory = deps.directory;
    this.#upstream = deps.upstream;
    this.#em = deps.em;
    this.#logger = deps.logger;
    this.#defaultTenant = deps.defaultTenant ?? CUSTODIAN_TENANT;
    this.#forgetUser = deps.forgetUser ?? (async () => undefined);
    this.#leaseMs = deps.leaseMs ?? 60_000;
    this.#now = deps.now ?? (() => new Date());
    this.#random = deps.random;
    this.#seal = new AccountCreationSeal({ encryption: deps.encryption, hashKey: deps.identifierHashKey });
    this.#takeovers = new IdentifierTakeovers({
      em: deps.em,
      directory: deps.directory,
      upstream: deps.upstream,
      hashKey: deps.identifierHashKey,
      messages: deps.messages,
      logger: deps.logger,
      leaseMs: this.#leaseMs,
      waitMs: deps.identifierWaitMs,
    });
  }

  // ------------------------------------------------------------------------------------------ create

  async create(input: NewAccount, opts: { idempotencyKey: string }): Promise<CreatedAccount> {
    const account = normalise(input, this.#defaultTenant);
    // Who holds the identifier cannot change between the check and the write (decision 0021).
    return this.#takeovers.withLocks(identifiersOf(account), () => this.#create(account, opts));
  }

  async #create(account: Account, opts: { idempotencyKey: string }): Promise<CreatedAccount> {
    const lockedAt = this.#now();
    const keyHash = sha256(opts.idempotencyKey);
    const request = requestOf(account);
    const fingerprint = this.#seal.fingerprint(request);
    const existing = await this.#find(keyHash);
    // A compensated attempt left nothing behind: the key may be used again, also with corrected details.
    if (existing && !this.#seal.fingerprintMatches(existing.fingerprint, request) && existing.status !== 'compensated') {
      throw new DomainError('CONFLICT', 'This idempotency key was used for a different request', {
        details: { reason: 'idempotency_key_reused' },
      });
    }
    if (existing?.status === 'completed') return completedAccount(existing, false);

    let record: AccountCreationRecord;
    let orgIds: string[] | undefined;
    let contested: Identifier[] | undefined;
    const resumed = existing?.status === 'in_progress';
    if (resumed) {
      record = await this.#lease(keyHash);
    } else {
      orgIds = await this.#resolveOrganisations(account);
      contested = await this.#checkFree(account);
      const username = account.username ?? (await this.#freeUsername(account));
      record = await this.#start(keyHash, fingerprint, username, existing !== null);
    }
    try {
      const since = resumed && record.startedAt < lockedAt ? record.startedAt : lockedAt;
      return completedAccount(await this.#run(record, account, orgIds, contested, since), !resumed);
    } finally {
      await this.#em.fork().nativeUpdate(AccountCreationSchema, { keyHash }, { leaseUntil: null });
    }
  }

  /**
   * Steps 3-5 (see the class comment); compensates when they fail. `contested`: the identifiers the
   * check found held unproven by other accounts (undefined when resuming: worked out again).
   */
  async #run(
    record: AccountCreationRecord,
    account: Account,
    orgIds: string[] | undefined,
    contested: Identifier[] | undefined,
    since: Date,
  ): Promise<AccountCreationRecord> {
    let directoryCreateRefused = false;
    try {
      const resolved = orgIds ?? (await this.#resolveOrganisations(account));
      let userId = record.userId ?? (await this.#adopt(record));
      let missing: Identifier[];
      if (!userId) {
        // Resumed before the Keycloak user existed: someone may hold the identifier unproven by now.
        missing = contested ?? (await this.#checkIdentifiers(account));
        try {
          userId = await this.#createDirectoryUser(record, account, missing);
        } catch (err) {
          // A refusal means Keycloak created nothing: there is nothing to find and undo.
          directoryCreateRefused = isDefinitive(err);
          throw err;
        }
      } else {
        // Resumed: an identifier left off at step 3 may still be missing.
        missing = await this.#missingIdentifiers(userId, account);
      }
      if (missing.length > 0) await this.#takeIdentifiers(userId, account, missing);
      const { user: profile } = await this.#upstream.createUser({
        externalId: userId,
        firstName: account.firstName,
        lastName: account.lastName ?? null,
        username: record.username,
        email: account.email ?? null,
        phone: account.phone ?? null,
      });
      await this.#update(record, { upstreamUserId: profile.id });
      for (const orgId of resolved) await this.#upstream.addMembership(profile.id, orgId, [PUBLIC_ROLE]);
      await this.#directory.addToOrganization(userId, account.tenant);
      await this.#directory.updateUser(userId, { enabled: true, attributes: { upstreamUserId: [profile.id] } });
      // The audit names this account as the one that got them (also for takeovers an attempt before left pending).
      await this.#takeovers.settleWinner(
        identifiersOf(account).filter((i) => isProven(account, i)),
        userId,
        since,
      );
      await this.#update(record, { status: 'completed' });
      return record;
    } catch (err) {
      const reported = translateUpstreamRefusal(err);
      try {
        await this.#compensate(record, { adopt: !directoryCreateRefused });
      } catch (compensationError) {
        // Left in progress: a retry with the same key resumes, or a later creation takes it over.
        this.#logger.warn({ err: safeError(compensationError), step: 'compensate' }, 'account creation left in progress');
      }
      throw reported;
    }
  }

  /**
   * Keycloak user, disabled, password and attributes included; a generated username that was taken
   * meanwhile is replaced. `leaveOff`: identifiers another account still holds (taken afterwards).
   */
  async #createDirectoryUser(record: AccountCreationRecord, account: Account, leaveOff: Identifier[]): Promise<string> {
    const identifiers = identifiersOf(account).filter((i) => !leaveOff.some((l) => l.kind === i.kind));
    const { email, emailVerified, attributes } = identifierFields(account, identifiers);
    for (let attempt = 1; ; attempt++) {
      try {
        const { id } = await this.#directory.createUser({
          username: record.username,
          firstName: account.firstName,
          ...(account.lastName ? { lastName: account.lastName } : {}),
          ...(email ? { email, emailVerified: emailVerified ?? false } : {}),
          enabled: false,
          attributes: {
            signUpType: [SIGN_UP_TYPE_ATTRIBUTE[account.signUpType]],
            ...attributes,
            ...candidateAttributes(account.contactCandidates),
            ...(account.locale ? { locale: [account.locale] } : {}),
            ...(account.userType ? { userType: [account.userType] } : {}),
            ...(account.stateUserId ? { stateUserId: [account.stateUserId] } : {}),
          },
          ...(account.password === undefined ? {} : { password: account.password }),
        });
        await this.#update(record, { userId: id });
        return id;
      } catch (err) {
        const usernameTaken = isDomainError(err) && err.code === 'ACCOUNT_EXISTS' && err.fields.some((f) => f.field === 'username');
        if (!usernameTaken || account.username !== undefined || attempt >= USERNAME_ATTEMPTS) throw err;
        await this.#update(record, { username: await this.#freeUsername(account) });
      }
    }
  }

  /**
   * The Keycloak user of this creation when its create landed but its id was never recorded (the
   * process died, or the answer was lost): our username, disabled, not linked yet, made after the
   * attempt started.
   */
  async #adopt(record: AccountCreationRecord): Promise<string | null> {
    const user = await this.#directory.findUserByUsername(record.username);
    if (!user || user.enabled || user.attributes.upstreamUserId?.length) return null;
    if ((user.createdAt?.getTime() ?? 0) < record.startedAt.getTime() - CLOCK_SKEW_MS) return null;
    await this.#update(record, { userId: user.id });
    return user.id;
  }

  /** Undoes what this creation wrote: upstream profile soft-deleted (frees its identifiers), Keycloak user deleted. */
  async #compensate(record: AccountCreationRecord, opts: { adopt: boolean }): Promise<void> {
    const userId = record.userId ?? (opts.adopt ? await this.#adopt(record) : null);
    if (userId) {
      const profile = record.upstreamUserId ? await this.#upstream.getUser(record.upstreamUserId) : await this.#upstream.getUserByExternalId(userId);
      if (profile && profile.status !== 'deleted') await this.#upstream.deleteUser(profile.id);
      await ignoreNotFound(this.#directory.deleteUser(userId));
    }
    await this.#update(record, { status: 'compensated', userId: null, upstreamUserId: null });
  }

  /** A new row, or a compensated one started again; leased to this request. */
  async #start(keyHash: string, fingerprint: string, username: string, restart: boolean): Promise<AccountCreationRecord> {
    const now = this.#now();
    const fields = {
      fingerprint,
      status: 'in_progress',
      username: this.#seal.sealUsername(keyHash, username),
      userId: null,
      upstreamUserId: null,
      leaseUntil: this.#leaseEnd(),
      startedAt: now,
      updatedAt: now,
    };
    const em = this.#em.fork();
    if (restart) {
      const updated = await em.nativeUpdate(AccountCreationSchema, { keyHash, status: 'compensated', ...leaseFree(now) }, fields);
      if (updated !== 1) throw inProgress();
    } else {
      try {
        await em.insert(AccountCreationSchema, { keyHash, ...fields });
      } catch (err) {
        if (err instanceof UniqueConstraintViolationException) throw inProgress();
        throw err;
      }
    }
    return this.#load(keyHash);
  }

  async #lease(keyHash: string): Promise<AccountCreationRecord> {
    const now = this.#now();
    const updated = await this.#em
      .fork()
      .nativeUpdate(AccountCreationSchema, { keyHash, status: 'in_progress', ...leaseFree(now) }, { leaseUntil: this.#leaseEnd(), updatedAt: now });
    if (updated !== 1) throw inProgress();
    return this.#load(keyHash);
  }

  async #load(keyHash: string): Promise<AccountCreationRecord> {
    return this.#opened(await this.#em.fork().findOneOrFail(AccountCreationSchema, { keyHash }));
  }

  async #find(keyHash: string): Promise<AccountCreationRecord | null> {
    const row = await this.#em.fork().findOne(AccountCreationSchema, { keyHash });
    return row && this.#opened(row);
  }

  /** The row with its username opened: the steps work on the clear value, only the row holds it sealed. */
  #opened(row: AccountCreationRecord): AccountCreationRecord {
    return { ...row, username: this.#seal.openUsername(row.keyHash, row.username) };
  }

  /** Writes `changes` to the row and to the in-memory copy the steps read. */
  async #update(
    record: AccountCreationRecord,
    changes: Partial<Pick<AccountCreationRecord, 'status' | 'username' | 'userId' | 'upstreamUserId'>>,
  ): Promise<void> {
    const updatedAt = this.#now();
    const stored = changes.username === undefined ? changes : { ...changes, username: this.#seal.sealUsername(record.keyHash, changes.username) };
    await this.#em.fork().nativeUpdate(AccountCreationSchema, { keyHash: record.keyHash }, { ...stored, updatedAt });
    Object.assign(record, changes, { updatedAt });
  }

  #leaseEnd(): Date {
    return new Date(this.#now().getTime() + this.#leaseMs);
  }

  // -------------------------------------------------------------------------------------- validation

  /** The upstream organisations the account joins with role PUBLIC (root first). */
  async #resolveOrganisations(account: Account): Promise<string[]> {
    const issues: FieldIssue[] = [];
    let root: Organisation | null = null;
    if (account.channel !== undefined) {
      root = await this.#upstream.findRootOrgByChannel(account.channel);
      if (!root) issues.push({ field: 'channel', reason: 'unknown', message: 'No organisation has this channel' });
      else if (root.status !== 'active') issues.push({ field: 'channel', reason: 'inactive', message: 'The organisation of this channel is not active' });
    }
    const ids = root && issues.length === 0 ? [root.id] : [];
    if (account.organisationId !== undefined) {
      const found = await this.#upstream.getOrganisation(account.organisationId);
      if (!found) {
        issues.push({ field: 'organisationId', reason: 'unknown', message: 'No such organisation' });
      } else if (found.organisation.status !== 'active' || found.rootOrg.status !== 'active') {
        issues.push({ field: 'organisationId', reason: 'inactive', message: 'The organisation is not active' });
      } else if (root && found.rootOrg.id !== root.id) {
        issues.push({ field: 'organisationId', reason: 'not_in_channel', message: 'The organisation does not belong to this channel' });
      } else {
        ids.push(found.rootOrg.id, found.organisation.id);
      }
    }
    if (issues.length > 0) throw new DomainError('VALIDATION_FAILED', 'The organisation details are not valid', { fields: issues });
    return [...new Set(ids)];
  }

  /**
   * Username, email and phone must be free in Keycloak and in the upstream core; a proven email or
   * phone is free too when accounts hold it only unproven: those are returned (contested).
   */
  async #checkFree(account: Account): Promise<Identifier[]> {
    const taken: FieldIssue[] = [];
    const { username } = account;
    if (username !== undefined) {
      const holders = new Set([(await this.#directory.findUserByUsername(username))?.id].filter((id) => id !== undefined));
      const profile = await this.#upstream.findUser({ username });
      // An upstream-only member (no externalId) holds it for good: they sign in with their core password.
      let free = !(profile && profile.externalId === null);
      if (profile?.externalId) holders.add(profile.externalId);
      for (const holder of holders) free = (await this.#takeOverAbandoned(holder)) && free;
      if (!free) taken.push(takenIssue('username'));
    }
    const contested: Identifier[] = [];
    try {
      contested.push(...(await this.#checkIdentifiers(account)));
    } catch (err) {
      if (!(isDomainError(err) && err.code === 'ACCOUNT_EXISTS')) throw err;
      taken.push(...err.fields);
    }
    if (taken.length > 0) throw new DomainError('ACCOUNT_EXISTS', 'An account with these details already exists', { fields: taken });
    return contested;
  }

  /** The email/phone part of `#checkFree`: ACCOUNT_EXISTS naming the taken ones, else the contested ones. */
  async #checkIdentifiers(account: Account): Promise<Identifier[]> {
    const taken: FieldIssue[] = [];
    const contested: Identifier[] = [];
    for (const identifier of identifiersOf(account)) {
      const { free, unproven } = await this.#holders(identifier, { proven: isProven(account, identifier) });
      if (!free) taken.push(takenIssue(identifier.kind));
      else if (unproven.length > 0) contested.push(identifier);
    }
    if (taken.length > 0) throw new DomainError('ACCOUNT_EXISTS', 'An account with these details already exists', { fields: taken });
    return contested;
  }

  /**
   * THE RULE (decision 0021): who holds `identifier` (besides `except`), and whether the operation
   * may have it. Not free: an upstream-only member, an account holding it proven, a creation in
   * progress, an account holding it unproven when the claim is unproven too, an upstream profile
   * whose account does not hold it. Free: nobody, or (for a proven claim) only accounts holding it
   * unproven, returned as `unproven`: they lose it. Abandoned creations are undone on the way, and
   * a takeover an earlier operation left half-way is finished first.
   */
  async #holders(identifier: Identifier, opts: { proven: boolean; except?: string }): Promise<{ free: boolean; unproven: DirectoryUser[] }> {
    for (const row of await this.#takeovers.pending(identifier)) await this.#takeovers.finish(row, identifier);
    const found =
      identifier.kind === 'email'
        ? await this.#directory.findUsersByEmail(identifier.value)
        : await this.#directory.findUsersByAttribute('phone', identifier.value);
    const holders = new Map<string, DirectoryUser | null>(found.filter((u) => u.id !== opts.except).map((u) => [u.id, u]));
    const profile = await this.#upstream.findUser(identifier.kind === 'email' ? { email: identifier.value } : { phone: identifier.value });
    // An upstream-only member (no externalId) holds it for good: they sign in with their core password.
    let free = !(profile && profile.externalId === null);
    if (profile?.externalId && profile.externalId !== opts.except && !holders.has(profile.externalId)) holders.set(profile.externalId, null);
    const unproven: DirectoryUser[] = [];
    for (const [id, user] of holders) {
      if (await this.#takeOverAbandoned(id)) continue;
      const holder = user ?? (UUID.test(id) ? await this.#directory.getUser(id) : null);
      if (opts.proven && holder && holding(holder, identifier) === 'unverified') unproven.push(holder);
      else free = false;
    }
    return { free, unproven: free ? unproven : [] };
  }

  /** The account's identifiers that its Keycloak user does not have yet (left off at step 3). */
  async #missingIdentifiers(userId: string, account: Account): Promise<Identifier[]> {
    const identifiers = identifiersOf(account);
    if (identifiers.length === 0) return [];
    const user = await this.#directory.getUser(userId);
    if (!user) return [];
    return identifiers.filter((i) => holding(user, i) === 'none');
  }

  /** Takes `identifiers` from the accounts holding them unproven, then puts them on `userId`. */
  async #takeIdentifiers(userId: string, account: Account, identifiers: Identifier[]): Promise<void> {
    for (const identifier of identifiers) {
      const { free, unproven } = await this.#holders(identifier, { proven: isProven(account, identifier), except: userId });
      if (!free) throw new DomainError('ACCOUNT_EXISTS', 'An account with these details already exists', { fields: [takenIssue(identifier.kind)] });
      for (const loser of unproven) await this.#takeovers.take(loser, identifier, PROVEN_BY[account.signUpType], userId);
    }
    const { email, emailVerified, attributes } = identifierFields(account, identifiers);
    await this.#directory.updateUser(userId, {
      ...(email ? { email, emailVerified: emailVerified ?? false } : {}),
      ...(attributes.phone ? { attributes } : {}),
    });
  }

  /**
   * When `userId` belongs to a creation that failed half-way and nobody is working on (a disabled
   * Keycloak user holding the identifier), undoes it so the identifier can be used again.
   */
  async #takeOverAbandoned(userId: string): Promise<boolean> {
    if (!UUID.test(userId)) return false;
    const abandoned = await this.#em.fork().findOne(AccountCreationSchema, { userId, status: 'in_progress' });
    if (!abandoned) return false;
    let record: AccountCreationRecord;
    try {
      record = await this.#lease(abandoned.keyHash);
    } catch {
      return false;
    }
    try {
      await this.#compensate(record, { adopt: false });
      return true;
    } finally {
      await this.#em.fork().nativeUpdate(AccountCreationSchema, { keyHash: record.keyHash }, { leaseUntil: null });
    }
  }

  async #freeUsername(account: Account): Promise<string> {
    const name = [account.firstName, account.lastName].filter(Boolean).join(' ');
    for (let attempt = 0; attempt < USERNAME_ATTEMPTS; attempt++) {
      const candidate = generateUsername(name, this.#random, usernameDigits(attempt));
      if ((await this.#directory.findUserByUsername(candidate)) === null && (await this.#upstream.findUser({ username: candidate })) === null) {
        return candidate;
      }
    }
    throw new DomainError('CONFLICT', 'No free username could be generated from this name; choose a username', {
      fields: [{ field: 'username', reason: 'required', message: 'Choose a username' }],
    });
  }

  // ------------------------------------------------------------------------------ ensureProvisioned

  async ensureProvisioned(userId: string, opts: { signUpType: SignUpType; tenant?: string }): Promise<{ upstreamUserId: string; created: boolean }> {
    // One at a time per user, across BFF processes: two tabs of a first login would otherwise both read
    // "not linked" and both append their link and sign-up type to the user's attributes.
    return withAdvisoryLock(this.#em, `provision:${userId}`, () => this.#provision(userId, opts));
  }

  async #provision(userId: string, opts: { signUpType: SignUpType; tenant?: string }): Promise<{ upstreamUserId: string; created: boolean }> {
    const user = await this.#directory.getUser(userId);
    if (!user) throw new DomainError('NOT_FOUND', 'No such account');
    const linked = user.attributes.upstreamUserId?.[0];
    let upstreamUserId: string;
    let created = false;
    if (linked) {
      upstreamUserId = linked;
    } else {
      const existing = await this.#upstream.getUserByExternalId(userId);
      const profile =
        existing ??
        (
          await this.#upstream
            .createUser({
              externalId: userId,
              firstName: user.firstName ?? user.username,
              lastName: user.lastName ?? null,
              username: user.username,
              email: user.email ?? null,
              phone: user.attributes.phone?.[0] ?? null,
            })
            .then((result) => {
              created = result.created;
              return result;
            })
            .catch((err: unknown) => {
              throw translateUpstreamRefusal(err);
            })
        ).user;
      upstreamUserId = profile.id;
    }
    await this.#directory.addToOrganization(userId, opts.tenant ?? this.#defaultTenant);
    if (!linked || !user.attributes.signUpType?.length) {
      await this.#directory.updateUser(userId, {
        attributes: {
          upstreamUserId: [upstreamUserId],
          ...(user.attributes.signUpType?.length ? {} : { signUpType: [SIGN_UP_TYPE_ATTRIBUTE[opts.signUpType]] }),
        },
      });
    }
    return { upstreamUserId, created };
  }

  // --------------------------------------------------------------------- identifiers of an account

  async updateProfile(userId: string, changes: AccountChanges, opts: { prove: () => Promise<void> }): Promise<void> {
    const identifiers: Identifier[] = [
      ...(changes.email !== undefined ? [{ kind: 'email' as const, value: normaliseEmail(changes.email) }] : []),
      ...(changes.phone ? [{ kind: 'phone' as const, value: changes.phone }] : []),
    ];
    await this.#takeovers.withLocks(identifiers, async () => {
      const lockedAt = this.#now();
      const user = await this.#directory.getUser(userId);
      if (!user) throw new DomainError('NOT_FOUND', 'No such account');
      const taken: FieldIssue[] = [];
      const losers: [DirectoryUser, Identifier][] = [];
      for (const identifier of identifiers) {
        const { free, unproven } = await this.#holders(identifier, { proven: true, except: userId });
        if (!free) taken.push({ field: identifier.kind, reason: 'taken', message: `This ${identifier.kind} is already in use` });
        for (const loser of unproven) losers.push([loser, identifier]);
      }
      if (taken.length > 0)
        throw new DomainError('ACCOUNT_EXISTS', `This ${taken.map((f) => f.field).join(' and ')} belongs to another account`, { fields: taken });
      // The proofs are spent only on a change that can happen, and an unproven holder loses nothing to a bad proof.
      await opts.prove();
      for (const [loser, identifier] of losers) await this.#takeovers.take(loser, identifier, 'profile-change', userId);
      await this.#applyProfile(user, changes, identifiers);
      await this.#takeovers.settleWinner(identifiers, userId, lockedAt);
    });
  }

  /** Upstream profile first (nothing changed while the core is down), then Keycloak; a Keycloak failure puts the profile back. */
  async #applyProfile(user: DirectoryUser, changes: AccountChanges, identifiers: Identifier[]): Promise<void> {
    const directory: Parameters<IdentityDirectory['updateUser']>[1] = {};
    const upstream: ProfileChanges = {};
    const previous: ProfileChanges = {};
    if (changes.firstName !== undefined) {
      directory.firstName = upstream.firstName = changes.firstName;
      if (user.firstName) previous.firstName = user.firstName;
    }
    if (changes.lastName !== undefined) {
      // Keycloak clears a profile attribute given as an empty string.
      directory.lastName = changes.lastName ?? '';
      upstream.lastName = changes.lastName;
      previous.lastName = user.lastName ?? null;
    }
    const email = identifiers.find((i) => i.kind === 'email');
    if (email) {
      directory.email = upstream.email = email.value;
      directory.emailVerified = true;
      previous.email = user.email ?? null;
    }
    if (changes.locale !== undefined) directory.attributes = { locale: [changes.locale] };
    if (changes.userType !== undefined) directory.attributes = { ...directory.attributes, userType: [changes.userType] };
    if (changes.phone !== undefined) {
      directory.attributes = {
        ...directory.attributes,
        ...(changes.phone === null ? { phone: [], phoneVerified: [] } : { phone: [changes.phone], phoneVerified: ['true'] }),
      };
      upstream.phone = changes.phone;
      previous.phone = user.attributes.phone?.[0] ?? null;
    }
    // Nothing for the core (a language change alone): it is not asked, so it being down changes nothing.
    const upstreamUserId = Object.keys(upstream).length > 0 ? user.attributes.upstreamUserId?.[0] : undefined;
    if (upstreamUserId) {
      await this.#upstream.updateProfile(upstreamUserId, upstream).catch((err: unknown) => {
        throw translateUpstreamRefusal(err);
      });
    }
    try {
      await this.#directory.updateUser(user.id, directory);
    } catch (err) {
      if (upstreamUserId) {
        await this.#upstream.updateProfile(upstreamUserId, previous).catch((undo: unknown) => {
          this.#logger.error({ err: safeError(undo), userId: user.id }, 'profile change: upstream profile not restored after the Keycloak update failed');
        });
      }
      throw err;
    }
  }

  async confirmEmail(userId: string, email: string): Promise<boolean> {
    const identifier: Identifier = { kind: 'email', value: normaliseEmail(email) };
    // Under the address's lock: a takeover cannot strip it between this read and the write below
    // (which would otherwise write the address back with the rest of the account).
    return this.#takeovers.withLocks([identifier], async () => {
      const user = await this.#directory.getUser(userId);
      const held = user ? holding(user, identifier) : 'none';
      if (held === 'none') return false;
      if (held === 'unverified') await this.#directory.updateUser(userId, { emailVerified: true });
      return true;
    });
  }

  async yieldToProven(identifier: Identifier, opts: { provenBy: 'identity-provider' }): Promise<void> {
    const normalised: Identifier = identifier.kind === 'email' ? { kind: 'email', value: normaliseEmail(identifier.value) } : identifier;
    await this.#takeovers.withLocks([normalised], async () => {
      const { free, unproven } = await this.#holders(normalised, { proven: true });
      if (!free) return;
      for (const loser of unproven) await this.#takeovers.take(loser, normalised, opts.provenBy, null);
    });
  }

  // ----------------------------------------------------------------------------------------- delete

  async delete(userId: string): Promise<void> {
    const user = await this.#directory.getUser(userId);
    // Upstream first: if the Keycloak delete then fails, a retry still finds the profile (also by
    // externalId once the Keycloak user is gone) and finishes.
    const upstreamUserId = user?.attributes.upstreamUserId?.[0];
    const profile = upstreamUserId ? await this.#upstream.getUser(upstreamUserId) : await this.#upstream.getUserByExternalId(userId);
    if (profile?.status === 'active') await this.#upstream.deactivateUser(profile.id);
    if (user) await ignoreNotFound(this.#directory.deleteUser(userId));
    // Last: a retry after a failure here finds the other steps done.
    await this.forgetDeleted(userId);
  }

  async forgetDeleted(userId: string): Promise<void> {
    // The account's creation keys end with it, as if they had expired: the same key (e.g. a partner's
    // enrollment of the same DBP user) creates a new account instead of answering with the deleted one.
    await this.#em.fork().nativeDelete(AccountCreationSchema, { userId });
    // A partner must not be told "enrolled" for a user who is gone.
    await this.#forgetUser(userId);
  }
}

// --------------------------------------------------------------------------------------------- helpers

function normalise(input: NewAccount, defaultTenant: string): Account {
  const issues: FieldIssue[] = [];
  const firstName = input.firstName.trim();
  if (firstName === '') issues.push({ field: 'firstName', reason: 'required', message: 'Enter a first name' });
  else if (firstName.length > 255) issues.push({ field: 'firstName', reason: 'too_long', message: 'At most 255 characters' });
  const lastName = input.lastName?.trim() || undefined;
  const username = input.username?.trim().toLowerCase();
  if (username !== undefined && !USERNAME_PATTERN.test(username)) {
    issues.push({ field: 'username', reason: 'invalid_format', message: '3 or more of a-z, 0-9, ".", "_", "-", "@", starting with a letter or digit' });
  }
  const email = input.email === undefined ? undefined : normaliseEmail(input.email);
  if (email !== undefined && !isEmail(email)) issues.push({ field: 'email', reason: 'invalid_format', message: 'Enter a valid email address' });
  if (input.phone !== undefined && !isE164(input.phone))
    issues.push({ field: 'phone', reason: 'invalid_format', message: 'Enter the phone number in international format' });
  const channel = input.channel?.trim() || undefined;
  const organisationId = input.organisationId?.trim() || undefined;
  const candidateEmail = input.contactCandidates?.email === undefined ? undefined : normaliseEmail(input.contactCandidates.email);
  const candidatePhone = input.contactCandidates?.phone;
  if (candidateEmail !== undefined && !isEmail(candidateEmail)) {
    issues.push({ field: 'contactCandidates.email', reason: 'invalid_format', message: 'Enter a valid email address' });
  }
  if (candidatePhone !== undefined && !isE164(candidatePhone)) {
    issues.push({ field: 'contactCandidates.phone', reason: 'invalid_format', message: 'Enter the phone number in international format' });
  }
  if (issues.length > 0) throw new DomainError('VALIDATION_FAILED', 'The account details are not valid', { fields: issues });
  return {
    firstName,
    ...(lastName ? { lastName } : {}),
    ...(username ? { username } : {}),
    ...(email ? { email } : {}),
    ...(input.phone ? { phone: input.phone } : {}),
    emailVerified: email !== undefined && input.emailVerified,
    phoneVerified: input.phone !== undefined && input.phoneVerified,
    ...(input.password === undefined ? {} : { password: input.password }),
    ...(channel ? { channel } : {}),
    ...(organisationId ? { organisationId } : {}),
    signUpType: input.signUpType,
    ...(input.locale ? { locale: input.locale } : {}),
    ...(input.userType ? { userType: input.userType } : {}),
    ...(input.stateUserId ? { stateUserId: input.stateUserId } : {}),
    tenant: input.tenant ?? defaultTenant,
    // Built in a fixed key order: the fingerprint serialises it as it is.
    ...(candidateEmail || candidatePhone
      ? { contactCandidates: { ...(candidateEmail ? { email: candidateEmail } : {}), ...(candidatePhone ? { phone: candidatePhone } : {}) } }
      : {}),
  };
}

/** The account's email and phone (its identifiers; contact candidates are not). */
function identifiersOf(account: Pick<NewAccount, 'email' | 'phone'>): Identifier[] {
  return [
    ...(account.email ? [{ kind: 'email' as const, value: account.email }] : []),
    ...(account.phone ? [{ kind: 'phone' as const, value: account.phone }] : []),
  ];
}

const isProven = (account: Account, identifier: Identifier): boolean => (identifier.kind === 'email' ? account.emailVerified : account.phoneVerified);

/** `identifiers` of the account as Keycloak user fields (phone and phoneVerified are attributes). */
function identifierFields(
  account: Account,
  identifiers: Identifier[],
): Pick<NewDirectoryUser, 'email' | 'emailVerified'> & { attributes: Record<string, string[]> } {
  const email = identifiers.find((i) => i.kind === 'email');
  const phone = identifiers.find((i) => i.kind === 'phone');
  return {
    ...(email ? { email: email.value, emailVerified: account.emailVerified } : {}),
    attributes: phone ? { phone: [phone.value], phoneVerified: [String(account.phoneVerified)] } : {},
  };
}

const takenIssue = (field: string): FieldIssue => ({ field, reason: 'taken', message: `An account with this ${field} already exists` });

/** Contact candidates as the user-profile attributes that hold them (admin-only, no uniqueness; decision 0016). */
function candidateAttributes(candidates: ContactCandidates | undefined): Record<string, string[]> {
  return {
    ...(candidates?.email ? { partnerContactEmail: [candidates.email] } : {}),
    ...(candidates?.phone ? { partnerContactPhone: [candidates.phone] } : {}),
  };
}

/** The request as its fingerprint covers it: everything but the password (which must not be stored, not even hashed quickly). */
function requestOf(account: Account): string {
  const { password: _password, ...rest } = account;
  return JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

function completedAccount(record: AccountCreationRecord, created: boolean): CreatedAccount {
  if (!record.userId || !record.upstreamUserId) throw new Error('account creation completed without ids');
  return { userId: record.userId, username: record.username, upstreamUserId: record.upstreamUserId, created };
}

const leaseFree = (now: Date) => ({ $or: [{ leaseUntil: null }, { leaseUntil: { $lt: now } }] });

const inProgress = () =>
  new DomainError('CONFLICT', 'This account is being created by another request; try again shortly', {
    details: { reason: 'creation_in_progress', retryAfterSeconds: 2 },
  });

/** Refusals that no retry will change: undo and report. Anything else may be a passing outage. */
function isDefinitive(err: unknown): boolean {
  return isDomainError(err) && ['VALIDATION_FAILED', 'ACCOUNT_EXISTS', 'CONFLICT', 'NOT_FOUND'].includes(err.code);
}

/** The upstream core's refusals in the words of this service. */
function translateUpstreamRefusal(err: unknown): unknown {
  if (!isDomainError(err) || err.code !== 'CONFLICT') return err;
  switch (err.details.upstreamCode) {
    case 'IDENTIFIER_TAKEN':
      return new DomainError('ACCOUNT_EXISTS', 'An account with these details already exists', {
        fields: err.fields.map((f) => ({ field: f.field, reason: 'taken', message: `An account with this ${f.field} already exists` })),
      });
    case 'ORGANISATION_INACTIVE':
      return new DomainError('VALIDATION_FAILED', 'The organisation is not active', {
        fields: [{ field: 'organisationId', reason: 'inactive', message: 'The organisation is not active' }],
      });
    default:
      return err;
  }
}

async function ignoreNotFound(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(isDomainError(err) && err.code === 'NOT_FOUND')) throw err;
  }
}
