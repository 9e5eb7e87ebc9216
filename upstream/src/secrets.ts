import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password and KBA-answer hashing. Format: `scrypt$N$r$p$salt$hash` (salt and hash base64url), so the
 * cost can be raised later without invalidating stored hashes.
 *
 * N=2^14 keeps the reference server and its tests quick; a production core would use at least
 * N=2^17 (OWASP) and raise `maxmem` accordingly.
 */
const DEFAULT_COST = { N: 2 ** 14, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function scryptAsync(secret: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret.normalize('NFKC'), salt, KEY_LENGTH, { ...cost, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scryptAsync(secret, salt, DEFAULT_COST);
  const { N, r, p } = DEFAULT_COST;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Constant-time check of `secret` against a stored hash. A malformed hash never matches. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0)) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length === 0 || expected.length !== KEY_LENGTH) return false;
  const actual = await scryptAsync(secret, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same time as a real check, for logins that match no user or a user without password,
 * so that response time does not tell which logins exist.
 */
export async function burnVerification(secret: string): Promise<false> {
  dummyHash ??= hashSecret(randomBytes(16).toString('hex'));
  await verifySecret(secret, await dummyHash);
  return false;
}

/**
 * KBA answers are compared after normalisation, so "  New   Delhi " matches "new delhi": Unicode NFKC,
 * trimmed, inner whitespace collapsed to one space, lower-case.
 */
export function normaliseKbaAnswer(answer: string): string {
  return answer.normalize('NFKC').trim().replace(/\s+/gu, ' ').toLowerCase();
}

export type LoginKind = { kind: 'email'; email: string } | { kind: 'phone'; phone: string } | { kind: 'username'; username: string };

/** Reads a login as an email (contains `@`), a phone (starts with `+`) or else a username. */
export function classifyLogin(login: string): LoginKind {
  const value = login.trim();
  if (value.includes('@')) return { kind: 'email', email: value.toLowerCase() };
  if (value.startsWith('+')) return { kind: 'phone', phone: value };
  return { kind: 'username', username: value.toLowerCase() };
}

/** Compares two strings in time independent of where they differ (hashing first equalises lengths). */
export function constantTimeEquals(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
