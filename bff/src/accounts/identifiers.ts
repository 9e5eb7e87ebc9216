import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

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

