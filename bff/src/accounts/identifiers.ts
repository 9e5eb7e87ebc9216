import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';

/**
 * The one home of identifiers: what one is, how e-mails and phones are read, normalised and masked,
 * and the request fields that take them. They are written down one way everywhere (Keycloak, the
 * upstream core, OTP keys, proofs): one spelling per identifier, so "A@Example.com " and
 * "a@example.com" are the same account and the same OTP rate-limit bucket.
 */

/** An e-mail address or a phone number, normalised (`normaliseEmail`, E.164). */
export type Identifier = { kind: 'email'; value: string } | { kind: 'phone'; value: string };

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

/** A typed e-mail address, normalised; null when it is not one. */
export function parseEmail(raw: string): string | null {
  const email = normaliseEmail(raw);
  return isEmail(email) ? email : null;
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
  return (
    at <= 64 &&
    value
      .slice(at + 1)
      .split('.')
      .every((label) => label.length <= 63 && !label.endsWith('-'))
  );
}

const E164 = /^\+[1-9]\d{6,14}$/;

export function isE164(value: string): boolean {
  return E164.test(value);
}

/** A country (ISO 3166 alpha-2) with a phone numbering plan: what the default country must be (config `DEFAULT_PHONE_COUNTRY`). */
export function isPhoneCountry(code: string): boolean {
  return isSupportedCountry(code);
}

/**
 * A phone number as typed (national "98765 43210", "098765-43210" or international "+91 ...") to
 * E.164, using `defaultCountry` (ISO 3166 alpha-2) when the number has no country code. `null` when it
 * is not a valid number (validated against the numbering plan, not only the length).
 */
export function parsePhone(raw: string, defaultCountry: string): string | null {
  const parsed = parsePhoneNumberFromString(raw.trim(), defaultCountry.toUpperCase() as CountryCode);
  if (!parsed?.isValid()) return null;
  return parsed.number;
}

/** An E.164 number (`+` and digits only, as typed) that is valid in its country's numbering plan, in canonical form; else null. */
export function parseE164(raw: string): string | null {
  const value = raw.trim();
  if (!isE164(value)) return null;
  const parsed = parsePhoneNumberFromString(value);
  return parsed?.isValid() ? parsed.number : null;
}

/**
 * The one way a phone number is shown to a person (issue 17 §7): libphonenumber's international
 * format, "+91 98765 43210". Anything that is not a valid E.164 number is shown as it is.
 */
export function displayPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  return parsed?.isValid() ? parsed.formatInternational() : e164;
}

/**
 * `a•••@example.com`, `+91 ••••• •••01`: enough for the owner to recognise, not to learn it. A phone
 * keeps the one display format (displayPhone): its country code and last two digits, the other digits hidden.
 */
export function maskIdentifier(identifier: Identifier): string {
  if (identifier.kind === 'email') {
    const [local = '', domain = ''] = identifier.value.split('@');
    return `${local.slice(0, 1)}•••@${domain}`;
  }
  const shown = displayPhone(identifier.value);
  const space = shown.indexOf(' ');
  const head = space > 0 ? shown.slice(0, space) : shown.slice(0, 3);
  let keep = 2;
  const rest = [...shown.slice(head.length)]
    .reverse()
    .map((c) => (/\d/.test(c) && keep-- <= 0 ? '•' : c))
    .reverse()
    .join('');
  return head + rest;
}

/** One typed string that is an e-mail (it has an `@`) or a phone number, normalised; null when it is neither. */
export function parseIdentifier(raw: string, defaultCountry: string): Identifier | null {
  if (raw.includes('@')) {
    const email = parseEmail(raw);
    return email ? { kind: 'email', value: email } : null;
  }
  const e164 = parsePhone(raw, defaultCountry);
  return e164 ? { kind: 'phone', value: e164 } : null;
}

/** A body's `email` and `phone` when it takes exactly one of them: both or neither is a 400 naming both. */
export function exactlyOneIdentifier(body: { email?: string | undefined; phone?: string | undefined }, ctx: z.RefinementCtx): void {
  if (body.email !== undefined && body.phone !== undefined) {
    for (const path of ['email', 'phone']) {
      ctx.addIssue({ code: 'custom', path: [path], message: 'Give an email address or a phone number, not both', params: { reason: 'one_of' } });
    }
  } else if (body.email === undefined && body.phone === undefined) {
    for (const path of ['email', 'phone']) {
      ctx.addIssue({ code: 'custom', path: [path], message: 'Give an email address or a phone number', params: { reason: 'required' } });
    }
  }
}

/** The one identifier of a body that passed `exactlyOneIdentifier`. */
export function identifierOf(body: { email?: string | undefined; phone?: string | undefined }): Identifier {
  if (body.email !== undefined) return { kind: 'email', value: body.email };
  if (body.phone !== undefined) return { kind: 'phone', value: body.phone };
  throw new Error('identifierOf: neither email nor phone (schema not applied?)');
}

// ---- The request fields (zod) that take identifiers. Too long is `too_long` everywhere (checked
// before anything else); any other malformed value `invalid_format`, with a message in the API's voice.

const invalidFormat = { params: { reason: 'invalid_format' } };

/**
 * An e-mail a person types to be sent a code, to register or to sign in with: normalised and checked
 * loosely (`isEmail`): the code or the confirmation link proves the mailbox.
 */
export function emailField() {
  return z
    .string()
    .max(254, { error: 'At most 254 characters' })
    .transform(normaliseEmail)
    .refine(isEmail, { error: 'Enter a valid email address', ...invalidFormat });
}

/** A phone number as a person types it (national or international), to E.164 with `defaultCountry` (config `DEFAULT_PHONE_COUNTRY`). */
export function phoneField(defaultCountry: string) {
  return z
    .string()
    .max(32, { error: 'At most 32 characters' })
    .transform((raw) => parsePhone(raw, defaultCountry))
    .refine((v): v is string => v !== null, { error: 'Enter a valid phone number', ...invalidFormat });
}

/** A body's optional `email` and `phone`, of which it takes exactly one (with `exactlyOneIdentifier`): sign-up and its codes. */
export function identifierFields(defaultCountry: string) {
  return { email: emailField().optional(), phone: phoneField(defaultCountry).optional() };
}

/**
 * Either, in one string (`parseIdentifier`), as the state claim's page asks for it. A string that is
 * neither an e-mail nor a phone number is `invalid_format`, as a bad `email` or `phone` field is.
 */
export function emailOrPhoneField(defaultCountry: string) {
  return z
    .string()
    .trim()
    .min(1)
    .max(320)
    .transform((raw, ctx) => {
      const identifier = parseIdentifier(raw, defaultCountry);
      if (identifier) return identifier;
      ctx.issues.push({ code: 'custom', input: raw, message: 'Not a valid email address or phone number', ...invalidFormat });
      return z.NEVER;
    });
}

/**
 * An e-mail taken without proof (the partner API's contact address): normalised and checked strictly
 * (`isStrictEmail`), so that every later step (Keycloak, the upstream core) accepts it.
 */
export function strictEmailField() {
  return z
    .string()
    .max(254, { error: 'At most 254 characters' })
    .transform(normaliseEmail)
    .refine(isStrictEmail, { message: 'expected an email address (at most 64 characters before the @, 254 in all)', ...invalidFormat });
}

/** A phone number taken without proof (the partner API): E.164 as sent, no national forms (`parseE164`), canonical. */
export function e164PhoneField() {
  return z
    .string()
    .max(32, { error: 'At most 32 characters' })
    .transform((raw, ctx) => {
      const phone = parseE164(raw);
      if (phone !== null) return phone;
      ctx.issues.push({ code: 'custom', input: raw, message: 'expected a valid E.164 phone number, e.g. +14155550100', ...invalidFormat });
      return z.NEVER;
    });
}
