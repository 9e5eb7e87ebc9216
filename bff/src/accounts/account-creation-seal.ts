import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { bindSeal, type BoundSeal } from '../kernel/crypto/bound-seal.ts';
import type { FieldEncryption } from '../kernel/crypto/field-encryption.ts';
import { keyedHash } from '../kernel/crypto/keyed-hash.ts';

/**
 * What an `account_creation` row keeps of the person (decision 0022). The row outlives the creation
 * (it is the idempotency record of the create), so:
 *
 * - `username` (generated from the name, or chosen) is sealed with FieldEncryption bound to the row's
 *   key hash: it must be read back (to find a Keycloak user whose create landed, to answer a replay).
 * - `fingerprint` (is a retry the same request?) is a keyed hash of the request without the password:
 *   it is only compared.
 *
 * Rows written before that hold the username in clear; migration `Migration20261209100000_pii_at_rest`
 * marks them `legacy:<username>` and `resealStale` (a retention-sweep task) seals them; until then they
 * read as they are. Their fingerprints stay plain SHA-256, which still match (`fingerprintMatches`).
 */
export const LEGACY_USERNAME_PREFIX = 'legacy:';

export class AccountCreationSeal {
  readonly #encryption: FieldEncryption;
  /** The username, bound to its row's key hash. */
  readonly #usernames: BoundSeal<string, [keyHash: string]>;
  readonly #hashKey: string;

  constructor(deps: { encryption: FieldEncryption; hashKey: string }) {
    this.#encryption = deps.encryption;
    this.#usernames = bindSeal<[keyHash: string]>(deps.encryption, 'text', (keyHash) => `account-creation:${keyHash}:username`);
    this.#hashKey = deps.hashKey;
  }

  sealUsername(keyHash: string, username: string): string {
    return this.#usernames.seal(username, keyHash);
  }

  openUsername(keyHash: string, stored: string): string {
    if (stored.startsWith(LEGACY_USERNAME_PREFIX)) return stored.slice(LEGACY_USERNAME_PREFIX.length);
    return this.#usernames.open(stored, keyHash);
  }

  /** `request`: the normalised request without the password, serialised in a fixed key order. */
  fingerprint(request: string): string {
    return keyedHash(this.#hashKey, 'account-creation-request', request);
  }

  fingerprintMatches(stored: string, request: string): boolean {
    return stored === this.fingerprint(request) || stored === createHash('sha256').update(request).digest('hex');
  }

  /**
   * Re-seals up to `limit` usernames not sealed with the active key: left in clear by an older version
   * (`legacy:`), or sealed with a key being rotated out (the rows live as long as their account, so
   * the old key could otherwise never leave the ring). Returns how many it re-sealed. Safe with several
   * processes at once: a row is rewritten only while it still holds the value read. A row that does
   * not open (its key already gone from the ring) is left as it is.
   */
  async resealStale(em: EntityManager, limit = 500): Promise<number> {
    const connection = em.fork().getConnection();
    const rows = await connection.execute<{ key_hash: string; username: string }[]>(
      `select key_hash, username from account_creation where username not like ? limit ?`,
      [`v1.${this.#encryption.activeKeyId}.%`, limit],
    );
    let resealed = 0;
    for (const row of rows) {
      let username: string;
      try {
        username = this.openUsername(row.key_hash, row.username);
      } catch {
        continue;
      }
      const res = await connection.execute(
        `update account_creation set username = ? where key_hash = ? and username = ?`,
        [this.sealUsername(row.key_hash, username), row.key_hash, row.username],
        'run',
      );
      resealed += res.affectedRows;
    }
    return resealed;
  }
}
