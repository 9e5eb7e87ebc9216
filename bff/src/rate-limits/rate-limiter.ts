import { createHmac } from 'node:crypto';
import { DomainError } from '../kernel/errors.ts';
import { limitedNetworkOf } from '../kernel/ip-ranges.ts';
import { ttlSeconds, type EphemeralStore } from '../ports/ephemeral-store.ts';

/**
 * Per-IP and per-identifier limits of the routes that check credentials or send messages (issue 15
 * §2, decision 0019), counted in the ephemeral store (Redis) so every BFF process shares them.
 *
 * A limit is a fixed-window counter (`EphemeralStore.increment`, the primitive the OTP and KBA limits
 * use): the first use opens a window of `windowSeconds`; a use that brings the count over `max` is
 * refused with RATE_LIMITED and the seconds left in the window (the 429's Retry-After). Keys hold no
 * address or identifier in clear, only an HMAC of it:
 *
 *   limit:{name}:{HMAC(subject)}    uses (or failures) in this window    windowSeconds
 *
 * The subject is the client's IP (`ip`; IPv6 counted per /64), the identifier the request names
 * (`identifier`, e.g. an e-mail address), or the pair (`identifier-and-ip`). A pair limit throttles a
 * guesser at one identifier from one network without locking the identifier for everybody else.
 */
export interface Limit {
  /** Names the counter (lower-case, `-`): `login-failures-ip`. */
  name: string;
  per: 'ip' | 'identifier' | 'identifier-and-ip';
  max: number;
  windowSeconds: number;
  /** The 429's detail. */
  message: string;
}

/** Which outcomes of an `attempt` are failures that count. */
export interface FailureTest<T> {
  error?: (err: unknown) => boolean;
  result?: (value: T) => boolean;
}

/** Who a request counts against. `identifier` is needed by `identifier` and `identifier-and-ip` limits. */
export interface Requester {
  ip: string;
  identifier?: string;
}

export class RateLimiter {
  readonly #store: Pick<EphemeralStore, 'increment' | 'decrement'>;
  readonly #hashKey: string;

  constructor(deps: { store: Pick<EphemeralStore, 'increment' | 'decrement'>; hashKey: string }) {
    this.#store = deps.store;
    this.#hashKey = deps.hashKey;
  }

  /**
   * Counts this request against every limit (refused requests count too: they are requests) and
   * throws RATE_LIMITED when any is over, with the longest wait among those that are.
   */
  async take(who: Requester, ...limits: Limit[]): Promise<void> {
    const { over } = await this.#count(who, limits);
    if (over) throw over;
  }

  /**
   * For limits on failures (wrong passwords, bad links): counts the attempt as a failure before it is
   * made, so concurrent guesses cannot slip past the limit together, runs it, and takes the count back
   * unless it failed in a way that counts (`failed.error` for a thrown error, `failed.result` for an
   * answer that is a failure). A refused attempt is not made and not counted. A right password
   * therefore never uses anything up.
   */
  async attempt<T>(who: Requester, limits: Limit[], run: () => Promise<T>, failed: FailureTest<T>): Promise<T> {
    const { keys, over } = await this.#count(who, limits);
    if (over) {
      await this.#refund(keys);
      throw over;
    }
    let result: T;
    try {
      result = await run();
    } catch (err) {
      if (!failed.error?.(err)) await this.#refund(keys);
      throw err;
    }
    if (!failed.result?.(result)) await this.#refund(keys);
    return result;
  }

  async #count(who: Requester, limits: Limit[]): Promise<{ keys: string[]; over: DomainError | null }> {
    const keys = limits.map((limit) => this.#key(limit, who));
    const counters = await Promise.all(limits.map((limit, i) => this.#store.increment(keys[i]!, ttlSeconds(limit.windowSeconds))));
    let over: { limit: Limit; ms: number } | null = null;
    for (const [i, counter] of counters.entries()) {
      const limit = limits[i]!;
      if (counter.count > limit.max && (over === null || counter.ttlMillis > over.ms)) over = { limit, ms: counter.ttlMillis };
    }
    return { keys, over: over ? rateLimited(over.limit, over.ms) : null };
  }

  async #refund(keys: string[]): Promise<void> {
    await Promise.all(keys.map((key) => this.#store.decrement(key)));
  }

  #key(limit: Limit, who: Requester): string {
    const ip = () => limitedNetworkOf(who.ip);
    const identifier = () => {
      if (who.identifier === undefined) throw new Error(`rate limit ${limit.name} needs the request's identifier`);
      return who.identifier;
    };
    const subject = limit.per === 'ip' ? ip() : limit.per === 'identifier' ? identifier() : `${identifier()}\0${ip()}`;
    const digest = createHmac('sha256', this.#hashKey).update(`limit\0${limit.name}\0${subject}`).digest('base64url');
    return `limit:${limit.name}:${digest}`;
  }
}

function rateLimited(limit: Limit, remainingMs: number): DomainError {
  return new DomainError('RATE_LIMITED', limit.message, {
    details: { retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)), limit: limit.name },
  });
}

/**
 * Refused passwords per client IP, one budget for every password check a browser or API client can
 * make through the BFF (API login, the state claim's password step).
 */
export function passwordFailuresPerIp(maxPerHour: number): Limit {
  return {
    name: 'password-failures-ip',
    per: 'ip',
    max: maxPerHour,
    windowSeconds: 3600,
    message: 'Too many wrong passwords from this network; try again later',
  };
}

/** Failures that count against password and token limits: the credentials were refused (401). */
export const refusedCredential: FailureTest<unknown> = { error: (err) => err instanceof DomainError && err.code === 'UNAUTHENTICATED' };
