import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';

/**
 * How identifiers are written down everywhere (Keycloak, the upstream core, OTP keys, proofs): one
 * spelling per identifier, so "A@Example.com " and "a@example.com" are the same account and the same
 * OTP rate-limit bucket.
 */

/** Trimmed and lower-cased as a whole (providers treat the local part case-insensitively in practice). */
export function normaliseEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

// Deliberately loose: one @, something on both sides, a dot in the domain, no spaces. Whether the
// mailbox exists is what the OTP proves.
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;

export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

/**
 * An address every later step accepts, for APIs that take an e-mail without proving it (the partner
 * API): zod's e-mail syntax (ASCII; the upstream core's rule) and what Keycloak's EmailValidator adds
 * to it: a local part of at most 64 characters, domain labels of at most 63 (IDN.toASCII) that do not
 * end with `-`.
 */
const ZOD_EMAIL = z.email();
export function isStrictEmail(value: string): boolean {
  if (value.length > 254 || !ZOD_EMAIL.safeParse(value).success) return false;
  const at = value.lastIndexOf('@');
  return at <= 64 && value.slice(at + 1).split('.').every((label) => label.length <= 63 && !label.endsWith('-'));
}

const E164 = /^\+[1-9]\d{6,14}$/;

export function isE164(value: string): boolean {
  return E164.test(value);
}

/**
 * A phone number as typed (national "98765 43210", "098765-43210" or international "+91 ...") to
 * E.164, using `defaultCountry` (ISO 3166 alpha-2) when the number has no country code. `null` when it
 * is not a valid number (validated against the numbering plan, not only the length).
 */
export function parsePhone(raw: string, defaultCountry: string): string | null {
  const parsed = parsePhoneNumberFromString(raw.trim(), defaultCountry.toUpperCase() as CountryCode);
  if (!parsed || !parsed.isValid()) return null;
  return parsed.number;
}

/** An E.164 number (`+` and digits only, as typed) that is valid in its country's numbering plan, in canonical form; else null. */
export function parseE164(raw: string): string | null {
  const value = raw.trim();
  if (!isE164(value)) return null;
  const parsed = parsePhoneNumberFromString(value);
  return parsed?.isValid() ? parsed.number : null;
}

/** `a•••@example.com`, `+91••••••••01`: enough for the owner to recognise, not to learn it. */
export function maskIdentifier(identifier: { kind: 'email' | 'phone'; value: string }): string {
  if (identifier.kind === 'email') {
    const [local = '', domain = ''] = identifier.value.split('@');
    return `${local.slice(0, 1)}•••@${domain}`;
  }
  const v = identifier.value;
  return `${v.slice(0, 3)}${'•'.repeat(Math.max(0, v.length - 5))}${v.slice(-2)}`;
}
