import { createHmac, randomInt, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError } from '../kernel/errors.ts';
import { languageOf, type Language } from '../kernel/languages.ts';
import { safeError, type Logger } from '../kernel/logger.ts';
import type { DirectoryUser, IdentityDirectory } from '../ports/identity-directory.ts';
import type { Mailer, SmsGateway } from '../ports/messaging.ts';
import type { UpstreamCore } from '../ports/upstream-core.ts';
import { IdentifierTakeoverSchema, type IdentifierTakeoverRecord } from './identifier-takeover.entity.ts';
import { maskIdentifier, type Identifier } from './identifiers.ts';

/**
 * The mechanics of identifier precedence (decision 0021) for PlatformAccountService, which decides
 * WHEN an account loses an identifier; this file says HOW: one operation per identifier at a time
 * (a lease in PostgreSQL), and the takeover itself: audit row, upstream profile, Keycloak account
 * (identifier removed, kept in `retiredIdentifiers`), a message to the account's other verified
 * identifier. Every step is idempotent and a takeover left half-way is finished by the next
 * operation on the same identifier.
 */
export interface IdentifierTakeoversDeps {
  em: EntityManager;
  directory: Pick<IdentityDirectory, 'getUser' | 'updateUser'>;
  upstream: Pick<UpstreamCore, 'getUser' | 'getUserByExternalId' | 'updateProfile'>;
  /** HMAC key of the identifier hashes in the audit and the locks. */
  hashKey: string;
  /** Where the account that lost an identifier is told; without it nobody is (the CLI). */
  messages?: { mailer: Mailer; sms: SmsGateway } | undefined;
  logger: Logger;
  /** How long one operation may hold an identifier. Default 60 s (as an account creation's lease). */
  leaseMs?: number | undefined;
  /** How long an operation waits for another one on the same identifier. Default 20 s. */
  waitMs?: number | undefined;
}

/** What proved the identifier: recorded in the audit. */
export type ProvenBy =
  | 'sign-up'
  | 'profile-change'
  | 'state-claim'
  | 'identity-provider'
  | 'registration'
  | 'partner'
  | 'migration'
  | 'invitation'
  | 'state-onboarding';

/** How `user` holds `identifier`: proven (verified), unproven, or not at all. */
export function holding(user: DirectoryUser, identifier: Identifier): 'verified' | 'unverified' | 'none' {
  if (identifier.kind === 'email') {
    if (user.email !== identifier.value) return 'none';
    return user.emailVerified ? 'verified' : 'unverified';
  }
  if (user.attributes.phone?.[0] !== identifier.value) return 'none';
  return user.attributes.phoneVerified?.[0] === 'true' ? 'verified' : 'unverified';
}

export class IdentifierTakeovers {
  readonly #deps: IdentifierTakeoversDeps;
  readonly #leaseMs: number;
  readonly #waitMs: number;

  constructor(deps: IdentifierTakeoversDeps) {
    this.#deps = deps;
    this.#leaseMs = deps.leaseMs ?? 60_000;
    this.#waitMs = deps.waitMs ?? 20_000;
  }

  hash(identifier: Identifier): string {
    return createHmac('sha256', this.#deps.hashKey).update(`identifier\0${identifier.kind}:${identifier.value}`).digest('hex');
  }

  // ------------------------------------------------------------------------------------------ locks

  /**
   * Runs `fn` while this operation alone works on these identifiers (every BFF process), so "who
   * holds it" cannot change between the check and the write: a register racing a proven sign-up
   * runs before or after it, never in between. Taken in a fixed order (no deadlock between two
   * operations on the same two identifiers). Waits for another holder; after `waitMs`, CONFLICT.
   */
  async withLocks<T>(identifiers: Identifier[], fn: () => Promise<T>): Promise<T> {
    const hashes = [...new Set(identifiers.map((i) => this.hash(i)))].sort();
    const owner = randomUUID();
    const held: string[] = [];
    try {
      for (const hash of hashes) {
        await this.#acquire(hash, owner);
        held.push(hash);
      }
      return await fn();
    } finally {
      for (const hash of held) {
        await this.#deps.em
          .getConnection()
          .execute('delete from identifier_lock where identifier_hash = ? and owner = ?', [hash, owner], 'run')
          // Its lease ends it anyway.
          .catch((err: unknown) => this.#deps.logger.warn({ err: safeError(err) }, 'identifier lock not released; its lease will end it'));
      }
    }
  }

  async #acquire(hash: string, owner: string): Promise<void> {
    const deadline = Date.now() + this.#waitMs;
    for (;;) {
      // Insert, or take over a lease that ran out (the database's clock decides, the same for every process).
      const rows = await this.#deps.em.getConnection().execute<{ owner: string }[]>(
        `insert into identifier_lock (identifier_hash, owner, lease_until)
           values (?, ?, clock_timestamp() + make_interval(secs => ?))
         on conflict (identifier_hash) do update set owner = excluded.owner, lease_until = excluded.lease_until
           where identifier_lock.lease_until < clock_timestamp()
         returning owner`,
        [hash, owner, this.#leaseMs / 1000],
        'all',
      );
      if (rows[0]?.owner === owner) return;
      if (Date.now() >= deadline) {
        throw new DomainError('CONFLICT', 'Another request is changing an account with this email address or phone number; try again shortly', {
          details: { reason: 'identifier_busy', retryAfterSeconds: 2 },
        });
      }
      await sleep(50 + randomInt(100));
    }
  }

  // -------------------------------------------------------------------------------------- takeovers

  /** Takeovers of `identifier` that an earlier operation started and did not finish. */
  async pending(identifier: Identifier): Promise<IdentifierTakeoverRecord[]> {
    return this.#deps.em.fork().find(IdentifierTakeoverSchema, { identifierHash: this.hash(identifier), status: 'pending' }, { orderBy: { at: 'asc' } });
  }

  /**
   * `loser` holds `identifier` unproven and `provenBy` proved it: records the takeover, then takes
   * it (`finish`). Call with the identifier's lock held. Resumes the row of an earlier attempt.
   */
  async take(loser: DirectoryUser, identifier: Identifier, provenBy: ProvenBy, winnerUserId: string | null): Promise<void> {
    const em = this.#deps.em.fork();
    const hash = this.hash(identifier);
    let row = await em.findOne(IdentifierTakeoverSchema, { identifierHash: hash, loserUserId: loser.id, status: 'pending' });
    if (!row) {
      row = {
        id: randomUUID(),
        at: new Date(),
        doneAt: null,
        status: 'pending',
        operation: provenBy,
        kind: identifier.kind,
        identifierHash: hash,
        identifierMasked: maskIdentifier(identifier),
        loserUserId: loser.id,
        winnerUserId,
        notifiedVia: null,
      };
      await em.insert(IdentifierTakeoverSchema, row);
    } else if (winnerUserId && !row.winnerUserId) {
      await em.nativeUpdate(IdentifierTakeoverSchema, { id: row.id }, { winnerUserId });
    }
    await this.finish(row, identifier);
  }

  /**
   * `winnerUserId` got `identifiers`: the takeovers of them finished since `since` (with the lock
   * held since then, so by this operation, also those an earlier attempt of it had left pending)
   * name it as the winner.
   */
  async settleWinner(identifiers: Identifier[], winnerUserId: string, since: Date): Promise<void> {
    if (identifiers.length === 0) return;
    await this.#deps.em
      .fork()
      .nativeUpdate(
        IdentifierTakeoverSchema,
        { identifierHash: { $in: identifiers.map((i) => this.hash(i)) }, status: 'done', doneAt: { $gte: since } },
        { winnerUserId },
      );
  }

  /**
   * Finishes a takeover, whatever step it stopped at: the upstream profile first (if Keycloak then
   * fails, the retry finds the account still holding it and does both), then the Keycloak account,
   * then the message. An account that proved the identifier meanwhile keeps it (`superseded`).
   */
  async finish(row: IdentifierTakeoverRecord, identifier: Identifier): Promise<void> {
    const { directory, upstream } = this.#deps;
    const em = this.#deps.em.fork();
    const user = await directory.getUser(row.loserUserId);
    const held = user ? holding(user, identifier) : 'none';
    if (held === 'verified') {
      await em.nativeUpdate(IdentifierTakeoverSchema, { id: row.id }, { status: 'superseded', doneAt: new Date() });
      return;
    }
    const retired = `${identifier.kind}:${identifier.value}`;
    const history = user?.attributes.retiredIdentifiers ?? [];
    if (user && held === 'unverified') {
      const upstreamUserId = user.attributes.upstreamUserId?.[0];
      const profile = upstreamUserId ? await upstream.getUser(upstreamUserId) : await upstream.getUserByExternalId(user.id);
      if (profile && profile.status !== 'deleted' && profile[identifier.kind] === identifier.value) {
        await upstream.updateProfile(profile.id, { [identifier.kind]: null });
      }
      await directory.updateUser(user.id, {
        ...(identifier.kind === 'email' ? { email: null, emailVerified: false } : {}),
        attributes: {
          retiredIdentifiers: history.includes(retired) ? history : [...history, retired],
          ...(identifier.kind === 'phone' ? { phone: [], phoneVerified: [] } : {}),
        },
      });
    }
    // Told only when it was this takeover that took it (not when the account dropped it itself).
    const tookIt = user !== null && (held === 'unverified' || history.includes(retired));
    const notifiedVia = tookIt ? await this.#tell(user, identifier) : 'none';
    await em.nativeUpdate(IdentifierTakeoverSchema, { id: row.id }, { status: 'done', doneAt: new Date(), notifiedVia });
  }

  /**
   * The account's other verified identifier is told what it lost (masked). An account with none has
   * no address anyone proved to be its own: telling the lost one would tell its new owner instead.
   * A message that cannot be delivered does not undo the takeover (logged, recorded as `failed`).
   */
  async #tell(user: DirectoryUser, lost: Identifier): Promise<'email' | 'sms' | 'none' | 'failed'> {
    const messages = this.#deps.messages;
    if (!messages) return 'none';
    const language = languageOf(user.attributes.locale?.[0]);
    const text = LOST_TEXTS[language];
    const masked = maskIdentifier(lost);
    try {
      if (lost.kind === 'email' && user.attributes.phone?.[0] && user.attributes.phoneVerified?.[0] === 'true') {
        await messages.sms.send({ to: user.attributes.phone[0], text: text.sms(masked) });
        return 'sms';
      }
      if (lost.kind === 'phone' && user.email && user.emailVerified) {
        await messages.mailer.send({ to: user.email, subject: text.subject, text: text.mail(masked), language });
        return 'email';
      }
      return 'none';
    } catch (err) {
      this.#deps.logger.warn({ err: safeError(err), userId: user.id }, 'identifier takeover: the account that lost it could not be told');
      return 'failed';
    }
  }
}

const LOST_TEXTS = {
  en: {
    subject: 'A phone number was removed from your account',
    mail: (masked: string) =>
      `The phone number ${masked} was removed from your Identity Platform account. It had never been confirmed on your account, and its owner has now proved with a one-time code that it is theirs.\n\nNothing else about your account changed. If the number is yours, add it again from your profile: you will be asked for a code sent to it.\n`,
    sms: (masked: string) =>
      `Identity Platform: the email address ${masked} was removed from your account. It had never been confirmed there and its owner has proved it is theirs. Nothing else changed.`,
  },
  hi: {
    subject: 'आपके खाते से एक फ़ोन नंबर हटाया गया',
    mail: (masked: string) =>
      `फ़ोन नंबर ${masked} आपके पहचान प्लेटफ़ॉर्म खाते से हटा दिया गया है। आपके खाते पर इसकी कभी पुष्टि नहीं हुई थी, और इसके स्वामी ने अब एक बार के कोड से सिद्ध किया है कि यह उनका है।\n\nआपके खाते में और कुछ नहीं बदला। यदि यह नंबर आपका है, तो इसे अपनी प्रोफ़ाइल से फिर से जोड़ें: इस पर भेजा गया कोड माँगा जाएगा।\n`,
    sms: (masked: string) =>
      `पहचान प्लेटफ़ॉर्म: ईमेल पता ${masked} आपके खाते से हटा दिया गया है। वहाँ इसकी कभी पुष्टि नहीं हुई थी और इसके स्वामी ने सिद्ध किया है कि यह उनका है। और कुछ नहीं बदला।`,
  },
} as const satisfies Record<Language, unknown>;
