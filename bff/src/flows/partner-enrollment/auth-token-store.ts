import { createHash, randomBytes } from 'node:crypto';
import type { Snapshot } from 'xstate';
import { ttlMillis, type EphemeralStore } from '../../ports/ephemeral-store.ts';

/**
 * authTokens live in the ephemeral store (Redis), keyed by the SHA-256 of the token: the token itself
 * is never stored. The record is the flow: the machine's persisted snapshot (PII sealed inside it)
 * with the machine version and the expiry; it expires with the token, which drops the PII with it.
 */
export interface AuthTokenRecord {
  machineVersion: number;
  /** Epoch milliseconds; fixed at creation, never extended. */
  expiresAt: number;
  snapshot: Snapshot<unknown>;
}

const recordKey = (tokenId: string) => `partner:auth:${tokenId}`;
const lockKey = (tokenId: string) => `partner:auth-lock:${tokenId}`;
/** Longer than any step (Keycloak and upstream calls have their own shorter timeouts). */
const LOCK_TTL = ttlMillis(30_000);

/** 256 random bits, base64url (43 characters). */
export const newAuthToken = (): string => randomBytes(32).toString('base64url');
export const tokenIdOf = (authToken: string): string => createHash('sha256').update(authToken).digest('hex');

export class AuthTokenStore {
  readonly #store: EphemeralStore;
  readonly #now: () => number;

  constructor(deps: { store: EphemeralStore; now?: () => number }) {
    this.#store = deps.store;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Takes the token's lock (one step at a time per token) and reads its record, in one round trip:
   * `null` when another request holds the lock; `record` null when the token is unknown or expired.
   */
  async lockAndLoad(tokenId: string): Promise<{ record: AuthTokenRecord | null } | null> {
    const locked = await this.#store.lockAndGet(lockKey(tokenId), '1', LOCK_TTL, recordKey(tokenId));
    if (locked === null) return null;
    if (locked.value === null) return { record: null };
    const record = JSON.parse(locked.value) as AuthTokenRecord;
    // Redis expires it too; this covers the last milliseconds and clock skew between processes.
    return { record: record.expiresAt > this.#now() ? record : null };
  }

  /** Writes the record until its own expiry; false when that has passed already. */
  async save(tokenId: string, record: AuthTokenRecord): Promise<boolean> {
    const left = record.expiresAt - this.#now();
    if (left <= 0) return false;
    await this.#store.set(recordKey(tokenId), JSON.stringify(record), ttlMillis(left));
    return true;
  }

  /** The flow is over: the record and its lock go together. */
  async deleteAndUnlock(tokenId: string): Promise<void> {
    await this.#store.delete(recordKey(tokenId), lockKey(tokenId));
  }

  async unlock(tokenId: string): Promise<void> {
    await this.#store.delete(lockKey(tokenId));
  }
}
