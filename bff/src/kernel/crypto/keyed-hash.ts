import { createHmac } from 'node:crypto';

/**
 * A keyed hash (HMAC-SHA256, base64url) for values that are only ever compared or used as a key,
 * never read back: Redis keys per address, "same request again?" fingerprints, "used by whom?" memos
 * (decision 0022). Keyed, because e-mail addresses can be guessed and phone numbers enumerated: a plain
 * SHA-256 of them is as good as the value to whoever holds the store. `domain` separates uses, so a
 * hash made for one purpose never matches another's.
 */
export function keyedHash(key: string, domain: string, value: string): string {
  return createHmac('sha256', key).update(`${domain}\u0000${value}`).digest('base64url');
}
