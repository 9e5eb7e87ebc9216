import { createHash } from 'node:crypto';
import { bindSeal, type BoundSeal } from '../../kernel/crypto/bound-seal.ts';
import type { FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import { keyedHash } from '../../kernel/crypto/keyed-hash.ts';
import { DomainError } from '../../kernel/errors.ts';
import { ttlSeconds, type EphemeralStore } from '../../ports/ephemeral-store.ts';

/** What a replay answers: the first response, exactly. */
export interface StoredResponse {
  status: number;
  body: Record<string, unknown>;
}

type Entry = { fingerprint: string; state: 'pending' } | { fingerprint: string; state: 'done'; response: string };

/**
 * `Idempotency-Key` of `POST /api/auth/v1`, per partner client: the same key and body get the first
 * answer again (the response is kept sealed: it holds an authToken); the same key with another body
 * is IDEMPOTENCY_KEY_REUSED; a key whose first request is still running is a CONFLICT. Only successes
 * are kept: after an error the key is free, so a retry can succeed. The body (the person's PII) is kept
 * only as a keyed hash to compare the next one with (decision 0022).
 */
export class IdempotencyKeys {
  readonly #store: EphemeralStore;
  /** The first answer, bound to its key. */
  readonly #responses: BoundSeal<StoredResponse, [id: string]>;
  readonly #ttlSeconds: number;
  readonly #hashKey: string;

  constructor(deps: { store: EphemeralStore; encryption: FieldEncryption; ttlSeconds: number; hashKey: string }) {
    this.#store = deps.store;
    this.#responses = bindSeal<StoredResponse, [id: string]>(deps.encryption, 'json', (id) => `partner-idempotency:${id}`);
    this.#ttlSeconds = deps.ttlSeconds;
    this.#hashKey = deps.hashKey;
  }

  async run(clientId: string, key: string, body: unknown, handle: () => Promise<StoredResponse>): Promise<StoredResponse> {
    const id = createHash('sha256').update(`${clientId}\u0000${key}`).digest('hex');
    const storeKey = `partner:idempotency:${id}`;
    const fingerprint = keyedHash(this.#hashKey, 'partner-request', canonicalJson(body));
    const ttl = ttlSeconds(this.#ttlSeconds);
    if (!(await this.#store.setIfAbsent(storeKey, JSON.stringify({ fingerprint, state: 'pending' } satisfies Entry), ttl))) {
      const raw = await this.#store.get(storeKey);
      // Released (failed) or expired between our two reads: run as a new request.
      if (raw === null) return this.run(clientId, key, body, handle);
      const entry = JSON.parse(raw) as Entry;
      if (entry.fingerprint !== fingerprint) {
        throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with another request body', {
          fields: [{ field: 'Idempotency-Key', reason: 'reused', message: 'Use a new key for a different request' }],
        });
      }
      if (entry.state === 'pending') throw new DomainError('CONFLICT', 'A request with this Idempotency-Key is still running; retry shortly');
      return this.#responses.open(entry.response, id);
    }
    let response: StoredResponse;
    try {
      response = await handle();
    } catch (err) {
      await this.#store.delete(storeKey);
      throw err;
    }
    const sealed = this.#responses.seal(response, id);
    await this.#store.set(storeKey, JSON.stringify({ fingerprint, state: 'done', response: sealed } satisfies Entry), ttl);
    return response;
  }
}

/** JSON with object keys sorted at every depth: the same body in any key order has one fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
