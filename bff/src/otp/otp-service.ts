import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Identifier } from '../accounts/identifiers.ts';
import { DomainError } from '../kernel/errors.ts';
import { limitedNetworkOf } from '../kernel/ip-ranges.ts';
import { DEFAULT_LANGUAGE, type Language } from '../kernel/languages.ts';
import { ttlSeconds, type EphemeralStore } from '../ports/ephemeral-store.ts';
import type { Mailer, SmsGateway } from '../ports/messaging.ts';
import { codeEmail, codeSms } from './messages.ts';
import type { OtpPurpose, VerificationProofs } from './verification-proofs.ts';

/**
 * One-time codes to an email address or phone, and the proofs they are exchanged for.
 *
 * Stored in the ephemeral store (Redis), every key with a TTL, nothing in clear: keys carry an HMAC
 * of the identifier (phone numbers are few enough to enumerate, so a plain hash would not hide them),
 * the code is kept as an HMAC bound to purpose and identifier, a proof as the SHA-256 of its value.
 *
 *   otp:code:{purpose}:{id}      HMAC of the current code              OTP_TTL_SECONDS
 *   otp:fail:{purpose}:{id}      attempts at the current window        OTP_FAILURE_WINDOW_SECONDS
 *   otp:cool:{purpose}:{id}      resend cooldown marker                OTP_RESEND_COOLDOWN_SECONDS
 *   otp:sent:h|d:{purpose}:{id}  codes sent this hour / day            1 h / 24 h
 *   otp:ip:send|verify:{ip}      requests of one client IP this hour   1 h   (IPv6: per /64)
 *   otp:proof:{sha256(proof)}    {identifier HMAC, purpose}            OTP_PROOF_TTL_SECONDS
 *
 * Attempts are counted before the comparison (so concurrent guesses cannot exceed the limit) and per
 * identifier, not per code: a new code does not give new tries. A success clears the count.
 *
 * Keyed codes (`sendKeyed`, `verifyKeyed`; password recovery by SMS, decision 0028) follow the same
 * rules and keys, with `{id}` the HMAC of the subject the limits count (the login a person typed)
 * instead of the destination, a code bound to a `binding` as well (the account and its phone), and no
 * proof: the caller acts on the answer itself. With no destination, nothing is sent but everything is
 * counted alike and the stored code can never match, so neither the answer nor the limits tell.
 */
export interface OtpSettings {
  /** HMAC key (OTP_HASH_KEY). */
  hashKey: string;
  ttlSeconds: number;
  maxAttempts: number;
  failureWindowSeconds: number;
  /** 0: no cooldown. */
  resendCooldownSeconds: number;
  perIdentifierPerHour: number;
  perIdentifierPerDay: number;
  sendsPerIpPerHour: number;
  verifiesPerIpPerHour: number;
  proofTtlSeconds: number;
}

export interface OtpServiceDeps {
  store: EphemeralStore;
  mailer: Mailer;
  sms: SmsGateway;
  settings: OtpSettings;
  /** A whole number in [0, n) from a CSPRNG; injectable so tests can make codes with leading zeros. */
  random?: (n: number) => number;
}

export interface SendRequest {
  identifier: Identifier;
  purpose: OtpPurpose;
  /** The client's IP, for the per-IP limit. */
  ip: string;
  language?: Language;
}

export interface SendResult {
  expiresInSeconds: number;
  /** When another code may be asked for. */
  resendAfterSeconds: number;
}

export interface VerifyRequest {
  identifier: Identifier;
  purpose: OtpPurpose;
  code: string;
  ip: string;
}

export interface VerifyResult {
  proof: string;
  expiresInSeconds: number;
}

/** A code counted per `subject` rather than per destination (decision 0028). */
export interface KeyedCode {
  /** Names the code's keys with the subject: never one of `OtpPurpose`, so a keyed code never meets an identifier's. */
  purpose: string;
  /** What the limits count, normalised by the caller (e.g. `phone:+9198…`, `username:asha`). */
  subject: string;
  /** Also bound into the code: it is right only while this is the same (e.g. the account id and its phone). */
  binding: string;
  /** The client's IP, for the per-IP limit. */
  ip: string;
}

export interface KeyedSendRequest extends KeyedCode {
  /** Sends the code; null: nothing is sent and the stored code can never match. */
  deliver: ((code: string, minutes: number) => Promise<void>) | null;
}

/** `retryAfterSeconds` with the last allowed wrong try: no new code until the failure window ends. */
export type KeyedVerifyResult = { verified: true } | { verified: false; attemptsLeft: number; retryAfterSeconds?: number };

const HOUR = 3600;
const DAY = 24 * HOUR;
export const CODE_PATTERN = /^\d{6}$/;

export class OtpService implements VerificationProofs {
  readonly #store: EphemeralStore;
  readonly #mailer: Mailer;
  readonly #sms: SmsGateway;
  readonly #s: OtpSettings;
  readonly #random: (n: number) => number;

  constructor(deps: OtpServiceDeps) {
    this.#store = deps.store;
    this.#mailer = deps.mailer;
    this.#sms = deps.sms;
    this.#s = deps.settings;
    this.#random = deps.random ?? randomInt;
  }

  /**
   * Sends a fresh code (replacing any earlier one). The answer is the same whether or not an account
   * uses the identifier: this service never looks. Delivery failure: DELIVERY_FAILED, and the code
   * is withdrawn (nobody saw it, nobody may use it) and the cooldown lifted.
   */
  async send(req: SendRequest): Promise<SendResult> {
    return this.#issue(
      `${req.purpose}:${this.#idOf(req.identifier)}`,
      (code) => this.#codeHash(req.purpose, req.identifier, code),
      (code) => this.#deliver(req, code),
      req.ip,
    );
  }

  /**
   * A keyed code (decision 0028): the same limits, cooldown and attempts as `send`, counted for
   * `subject`; delivered by `deliver`, or, without one, stored as a value no code matches.
   */
  async sendKeyed(req: KeyedSendRequest): Promise<SendResult> {
    const deliver = req.deliver;
    const minutes = Math.round(this.#s.ttlSeconds / 60);
    return this.#issue(this.#keyedScope(req), (code) => this.#keyedHash(req, code), deliver ? (code) => deliver(code, minutes) : null, req.ip);
  }

  async #issue(scope: string, hashOf: (code: string) => string, deliver: ((code: string) => Promise<void>) | null, ip: string): Promise<SendResult> {
    await this.#limit(
      `otp:ip:send:${this.#hmac('ip', limitedNetworkOf(ip))}`,
      this.#s.sendsPerIpPerHour,
      HOUR,
      'Too many codes were asked for from this network; try again later',
      'network',
    );
    const cooldownKey = `otp:cool:${scope}`;
    if (this.#s.resendCooldownSeconds > 0 && !(await this.#store.setIfAbsent(cooldownKey, '1', ttlSeconds(this.#s.resendCooldownSeconds)))) {
      throw rateLimited('Wait before asking for another code', await this.#store.remainingTtl(cooldownKey), 'cooldown');
    }
    const failKey = `otp:fail:${scope}`;
    if (Number(await this.#store.get(failKey)) >= this.#s.maxAttempts) {
      throw rateLimited('Too many wrong codes; try again later', await this.#store.remainingTtl(failKey), 'wrong_codes');
    }
    await this.#limit(`otp:sent:h:${scope}`, this.#s.perIdentifierPerHour, HOUR, 'Too many codes were sent to this address this hour', 'codes_sent');
    await this.#limit(`otp:sent:d:${scope}`, this.#s.perIdentifierPerDay, DAY, 'Too many codes were sent to this address today', 'codes_sent');

    const code = String(this.#random(1_000_000)).padStart(6, '0');
    const codeKey = `otp:code:${scope}`;
    // Without a destination: an HMAC of 256 random bits, which no six digits hash to.
    const stored = deliver ? hashOf(code) : this.#hmac('decoy', randomBytes(32).toString('base64url'));
    await this.#store.set(codeKey, stored, ttlSeconds(this.#s.ttlSeconds));
    try {
      await deliver?.(code);
    } catch (err) {
      await this.#store.deleteIfEquals(codeKey, stored);
      if (this.#s.resendCooldownSeconds > 0) await this.#store.delete(cooldownKey);
      throw err;
    }
    return { expiresInSeconds: this.#s.ttlSeconds, resendAfterSeconds: this.#s.resendCooldownSeconds };
  }

  /**
   * Exchanges the right code for a proof. A wrong, expired, used or unknown code gets one answer
   * (VALIDATION_FAILED on `code`); once the attempts are used up, RATE_LIMITED until the window ends.
   */
  async verify(req: VerifyRequest): Promise<VerifyResult> {
    const checked = await this.#check(`${req.purpose}:${this.#idOf(req.identifier)}`, this.#codeHash(req.purpose, req.identifier, req.code), req.code, req.ip);
    if (!checked.verified) throw wrongCode();
    const proof = randomBytes(32).toString('base64url');
    const binding = this.#binding(req.identifier, req.purpose);
    await this.#store.set(proofKey(proof), binding, ttlSeconds(this.#s.proofTtlSeconds));
    return { proof, expiresInSeconds: this.#s.proofTtlSeconds };
  }

  /**
   * A keyed code's check (decision 0028): the same attempts and limits as `verify`; a wrong, expired,
   * used or never-sent code answers `verified: false` with the tries left for the subject (0: this
   * code is dead, ask for a new one); used up: RATE_LIMITED until the window ends. No proof.
   */
  async verifyKeyed(req: KeyedCode & { code: string }): Promise<KeyedVerifyResult> {
    return this.#check(this.#keyedScope(req), this.#keyedHash(req, req.code), req.code, req.ip);
  }

  /**
   * Counts one attempt at the code of `scope` and compares. Single use: of concurrent right answers,
   * only the one that deletes the code is verified.
   */
  async #check(scope: string, expected: string, code: string, ip: string): Promise<KeyedVerifyResult> {
    await this.#limit(
      `otp:ip:verify:${this.#hmac('ip', limitedNetworkOf(ip))}`,
      this.#s.verifiesPerIpPerHour,
      HOUR,
      'Too many code checks from this network; try again later',
      'network',
    );
    const codeKey = `otp:code:${scope}`;
    const failKey = `otp:fail:${scope}`;
    const before = Number(await this.#store.get(failKey));
    if (before >= this.#s.maxAttempts) {
      throw rateLimited('Too many wrong codes; ask for a new code later', await this.#store.remainingTtl(failKey), 'wrong_codes');
    }
    const stored = await this.#store.get(codeKey);
    if (stored === null || !CODE_PATTERN.test(code)) return { verified: false, attemptsLeft: stored === null ? 0 : this.#s.maxAttempts - before };
    const attempt = await this.#store.increment(failKey, ttlSeconds(this.#s.failureWindowSeconds));
    if (attempt.count > this.#s.maxAttempts) {
      await this.#store.deleteIfEquals(codeKey, stored);
      throw rateLimited('Too many wrong codes; ask for a new code later', attempt.ttlMillis, 'wrong_codes');
    }
    if (!equal(stored, expected)) {
      // The last allowed try failed: the code dies now rather than at the next attempt.
      if (attempt.count >= this.#s.maxAttempts) {
        await this.#store.deleteIfEquals(codeKey, stored);
        return { verified: false, attemptsLeft: 0, retryAfterSeconds: Math.max(1, Math.ceil(attempt.ttlMillis / 1000)) };
      }
      return { verified: false, attemptsLeft: this.#s.maxAttempts - attempt.count };
    }
    if (!(await this.#store.deleteIfEquals(codeKey, stored))) return { verified: false, attemptsLeft: this.#s.maxAttempts - attempt.count };
    await this.#store.delete(failKey);
    return { verified: true };
  }

  async consume(proof: string, identifier: Identifier, purpose: OtpPurpose, field: string): Promise<void> {
    const binding = await this.#checked(proof, identifier, purpose, field);
    if (!(await this.#store.deleteIfEquals(proofKey(proof), binding))) throw badProof(field);
  }

  async check(proof: string, identifier: Identifier, purpose: OtpPurpose, field: string): Promise<void> {
    await this.#checked(proof, identifier, purpose, field);
  }

  async #checked(proof: string, identifier: Identifier, purpose: OtpPurpose, field: string): Promise<string> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(proof)) throw badProof(field);
    const binding = await this.#store.get(proofKey(proof));
    if (binding === null || !equal(binding, this.#binding(identifier, purpose))) throw badProof(field);
    return binding;
  }

  async #deliver(req: SendRequest, code: string): Promise<void> {
    const language = req.language ?? DEFAULT_LANGUAGE;
    const minutes = Math.round(this.#s.ttlSeconds / 60);
    if (req.identifier.kind === 'email') {
      await this.#mailer.send({ to: req.identifier.value, ...codeEmail(req.purpose, language, code, minutes), language });
    } else {
      await this.#sms.send({ to: req.identifier.value, text: codeSms(req.purpose, language, code, minutes) });
    }
  }

  /** Fixed-window counter; over `max`: RATE_LIMITED with the time left in the window. */
  async #limit(key: string, max: number, windowSeconds: number, message: string, reason: RateLimitReason): Promise<void> {
    const counter = await this.#store.increment(key, ttlSeconds(windowSeconds));
    if (counter.count > max) throw rateLimited(message, counter.ttlMillis, reason);
  }

  #keyedScope(req: KeyedCode): string {
    return `${req.purpose}:${this.#hmac('id', `subject:${req.subject}`)}`;
  }

  #keyedHash(req: KeyedCode, code: string): string {
    return this.#hmac('code', `${req.purpose}:subject:${req.subject}\0${req.binding}:${code}`);
  }

  #idOf(identifier: Identifier): string {
    return this.#hmac('id', `${identifier.kind}:${identifier.value}`);
  }

  #codeHash(purpose: OtpPurpose, identifier: Identifier, code: string): string {
    return this.#hmac('code', `${purpose}:${identifier.kind}:${identifier.value}:${code}`);
  }

  #binding(identifier: Identifier, purpose: OtpPurpose): string {
    return this.#hmac('proof', `${purpose}:${identifier.kind}:${identifier.value}`);
  }

  /** Domain-separated HMAC-SHA256, base64url. */
  #hmac(domain: string, value: string): string {
    return createHmac('sha256', this.#s.hashKey).update(`${domain}\0${value}`).digest('base64url');
  }
}

const proofKey = (proof: string) => `otp:proof:${createHash('sha256').update(proof).digest('base64url')}`;

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Which limit a RATE_LIMITED names (`reason` of the 429, for pages to say the right thing): `cooldown`
 * (a code was sent to this identifier moments ago: it is still valid), `wrong_codes`, `codes_sent`
 * (this hour's or day's codes to the identifier), `network` (the client IP's requests).
 */
export type RateLimitReason = 'cooldown' | 'wrong_codes' | 'codes_sent' | 'network';

function rateLimited(message: string, remainingMs: number | null, reason: RateLimitReason): DomainError {
  return new DomainError('RATE_LIMITED', message, { details: { retryAfterSeconds: Math.max(1, Math.ceil((remainingMs ?? 1000) / 1000)), reason } });
}

/** One answer for wrong, expired, used and never-sent codes. */
function wrongCode(): DomainError {
  return new DomainError('VALIDATION_FAILED', 'The code is wrong or has expired', {
    fields: [{ field: 'code', reason: 'invalid', message: 'The code is wrong or has expired; check it or ask for a new one' }],
  });
}

function badProof(field: string): DomainError {
  return new DomainError('VALIDATION_FAILED', 'The verification is not valid for this identifier, or has expired or been used', {
    fields: [{ field, reason: 'proof_invalid', message: 'Verify the email address or phone number again' }],
  });
}
