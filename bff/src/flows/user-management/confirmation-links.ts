import { createHash, randomBytes } from 'node:crypto';
import { bindSeal, type BoundSeal } from '../../kernel/crypto/bound-seal.ts';
import type { FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import { keyedHash } from '../../kernel/crypto/keyed-hash.ts';
import { DomainError } from '../../kernel/errors.ts';
import { DEFAULT_LANGUAGE, type Language } from '../../kernel/languages.ts';
import { ttlMillis, ttlSeconds, type EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { Mailer } from '../../ports/messaging.ts';
import { confirmationMail } from './messages.ts';

export interface ConfirmationSettings {
  /** Base URL of the BFF as people reach it; the link points at its GET /api/v1/auth/confirm. */
  publicUrl: string;
  ttlSeconds: number;
  /** Least time between two mails to one address; 0 for none. */
  cooldownSeconds: number;
  mailsPerHour: number;
  requestsPerIpPerHour: number;
}

export interface PendingConfirmation {
  userId: string;
  /** The address the link was sent to: confirming it is only valid while the account still has it. */
  email: string;
}

/**
 * The stored link. `sealedEmail`: the address sealed (FieldEncryption) bound to the link and the
 * account, so it opens only for this link of this account. `email` in clear: a link written before
 * decision 0022, read until it expires (24 hours at most); nothing writes it any more.
 */
type StoredLink = { userId: string; expiresAt: number } & ({ sealedEmail: string } | { email: string });

const KEY = 'user-management:';
const HOUR = ttlSeconds(3600);
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const linkKey = (token: string) => `${KEY}confirm:${sha256(token)}`;
const issuedKey = (userId: string) => `${KEY}confirm-issued:${userId}`;

export const invalidLink = () =>
  new DomainError('VALIDATION_FAILED', 'This confirmation link is not valid: it was used, it expired, or it is not ours', {
    fields: [{ field: 'query.token', reason: 'invalid_or_expired', message: 'Ask for a new link with POST /api/v1/auth/send' }],
  });

const rateLimited = (ms: number) =>
  new DomainError('RATE_LIMITED', 'Too many confirmation mails; try again later', { details: { retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) } });

/**
 * Email-confirmation links: a random 256-bit token in the link, only its SHA-256 in Redis (a leaked
 * store does not confirm anybody), expiring on its own, single use. Resends are throttled per address
 * (cooldown and hourly cap) and per client IP, the same way whether the address has an account or not.
 * Nothing in Redis names the address (decision 0022): the link's record holds it sealed, the throttle
 * keys an HMAC of it (and of the IP).
 */
export class ConfirmationLinks {
  readonly #store: EphemeralStore;
  readonly #mailer: Mailer;
  readonly #settings: ConfirmationSettings;
  /** The address, bound to its link and account. */
  readonly #emails: BoundSeal<string, [key: string, userId: string]>;
  readonly #hashKey: string;

  constructor(deps: { store: EphemeralStore; mailer: Mailer; settings: ConfirmationSettings; encryption: FieldEncryption; hashKey: string }) {
    this.#store = deps.store;
    this.#mailer = deps.mailer;
    this.#settings = deps.settings;
    this.#emails = bindSeal<[key: string, userId: string]>(deps.encryption, 'text', (key, userId) => `confirmation-link:${key}:${userId}:email`);
    this.#hashKey = deps.hashKey;
  }

  #cooldownKey(email: string): string {
    return `${KEY}confirm-cooldown:${keyedHash(this.#hashKey, 'confirmation-email', email)}`;
  }

  /** Stores a new link and mails it; a link whose mail failed is removed (DELIVERY_FAILED is rethrown). */
  async issue(to: { userId: string; email: string; firstName?: string; language?: Language }): Promise<void> {
    const token = randomBytes(32).toString('base64url');
    const key = linkKey(token);
    const ttl = ttlSeconds(this.#settings.ttlSeconds);
    const stored: StoredLink = { userId: to.userId, sealedEmail: this.#emails.seal(to.email, key, to.userId), expiresAt: Date.now() + ttl };
    await this.#store.set(key, JSON.stringify(stored), ttl);
    const link = new URL('/api/v1/auth/confirm', this.#settings.publicUrl);
    link.searchParams.set('token', token);
    const language = to.language ?? DEFAULT_LANGUAGE;
    try {
      await this.#mailer.send({
        to: to.email,
        ...confirmationMail(language, { firstName: to.firstName, link: link.toString(), ttlSeconds: this.#settings.ttlSeconds }),
        language,
      });
    } catch (err) {
      await this.#store.delete(key);
      throw err;
    }
    await this.#store.set(issuedKey(to.userId), '1', ttl);
    if (this.#settings.cooldownSeconds > 0) await this.#store.set(this.#cooldownKey(to.email), '1', ttlSeconds(this.#settings.cooldownSeconds));
  }

  /** Whether a link went out for this account within the link lifetime (a registration retry must not mail again). */
  async wasIssued(userId: string): Promise<boolean> {
    return (await this.#store.get(issuedKey(userId))) !== null;
  }

  /**
   * Admits one resend request or throws RATE_LIMITED with the wait. Counts per IP first, then the
   * address's cooldown (set here too, so unknown addresses are throttled exactly like known ones),
   * then its hourly cap.
   */
  async admitResend(email: string, ip: string): Promise<void> {
    const perIp = await this.#store.increment(`${KEY}resend-ip:${keyedHash(this.#hashKey, 'confirmation-ip', ip)}`, HOUR);
    if (perIp.count > this.#settings.requestsPerIpPerHour) throw rateLimited(perIp.ttlMillis);
    if (this.#settings.cooldownSeconds > 0) {
      const cooldown = ttlSeconds(this.#settings.cooldownSeconds);
      if (!(await this.#store.setIfAbsent(this.#cooldownKey(email), '1', cooldown))) {
        throw rateLimited((await this.#store.remainingTtl(this.#cooldownKey(email))) ?? cooldown);
      }
    }
    const perEmail = await this.#store.increment(`${KEY}resend-email:${keyedHash(this.#hashKey, 'confirmation-email', email)}`, HOUR);
    if (perEmail.count > this.#settings.mailsPerHour) throw rateLimited(perEmail.ttlMillis);
  }

  /**
   * Takes the link (atomically: of two clicks, one gets it) and runs `confirm` with it. When `confirm`
   * fails for any reason but a VALIDATION_FAILED of its own (a dependency was down), the link is put
   * back for the rest of its life so the person can simply try again.
   */
  async redeem(token: string, confirm: (pending: PendingConfirmation) => Promise<void>): Promise<void> {
    const key = linkKey(token);
    const raw = await this.#store.getAndDelete(key);
    if (raw === null) throw invalidLink();
    const stored = JSON.parse(raw) as StoredLink;
    // A record that does not open (altered, or moved from another link) confirms nobody.
    let email: string;
    try {
      email = 'sealedEmail' in stored ? this.#emails.open(stored.sealedEmail, key, stored.userId) : stored.email;
    } catch {
      throw invalidLink();
    }
    try {
      await confirm({ userId: stored.userId, email });
    } catch (err) {
      const left = stored.expiresAt - Date.now();
      if (!(err instanceof DomainError && err.code === 'VALIDATION_FAILED') && left >= 1) await this.#store.set(key, raw, ttlMillis(Math.floor(left)));
      throw err;
    }
  }
}
