import { z } from 'zod';

/**
 * What a person's name (and other free text a request carries) may be, decided where the request
 * arrives, so nothing accepted there is refused by a later step (issue 14 §5: a NUL in a partner's
 * `firstName` was accepted, then Keycloak refused every consent). One definition for every API that
 * takes a name: the partner API, sign-up, user management.
 *
 * The later steps' rules, all of them checked here:
 * - Keycloak's `person-name-prohibited-characters` validator (firstName, lastName in
 *   realm-config/realms/platform/user-profile.json). Its Java pattern is
 *   `^[^<>&"\v$%!#?§;*~/\\|^=\[\]{}()\p{Cntrl}]+$`: in Java `\v` is vertical whitespace
 *   (\n \x0B \f \r \x85 \u2028 \u2029) and `\p{Cntrl}` is \x00-\x1F and \x7F.
 * - Keycloak's length validator (255) and the upstream core's PersonName (1-100 after trimming): 100.
 * - Usernames are generated from the name (username.ts): any name works there (a name with no ASCII
 *   transliteration becomes `user` + digits), so it adds no rule.
 * Besides, text that cannot be shown or stored faithfully: lone surrogates (PostgreSQL's jsonb refuses
 * them), control characters (Cc), private-use (Co) and unassigned (Cn) code points, line and paragraph
 * separators, and format characters (Cf: zero-width spaces, bidi overrides that make a name read as
 * another), except the zero-width (non-)joiner between two visible characters, which Persian and
 * Indic names, and emoji sequences, need.
 * Text is trimmed and NFC-normalised first; the checks apply to that form (NFC can turn an allowed
 * character into a prohibited one: U+037E GREEK QUESTION MARK becomes `;`).
 */
export const PERSON_NAME_MAX_LENGTH = 100;

/** Keycloak's prohibited characters for person names, as a JavaScript character class. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
export const KEYCLOAK_PERSON_NAME_PROHIBITED = /[<>&"$%!#?§;*~/\\|^=[\]{}()\x00-\x1f\x7f\x85\u2028\u2029]/;

const INVISIBLE_OR_UNASSIGNED = /[\p{Cc}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
const FORMAT = /\p{Cf}/gu;
const JOINERS = new Set(['\u200c', '\u200d']);
const VISIBLE = /[\p{L}\p{M}\p{N}\p{S}]/u;

export type TextProblem = 'required' | 'too_long' | 'invalid_characters';

/** Trimmed and NFC-normalised; `null` for text that is not well-formed UTF-16 (a lone surrogate). */
export function normaliseText(raw: string): string | null {
  return raw.isWellFormed() ? raw.normalize('NFC').trim() : null;
}

/** Why `text` (already normalised) is not acceptable free text, or null. */
export function freeTextProblem(text: string, maxLength: number): TextProblem | null {
  if (text === '') return 'required';
  if (text.length > maxLength) return 'too_long';
  if (INVISIBLE_OR_UNASSIGNED.test(text)) return 'invalid_characters';
  for (const match of text.matchAll(FORMAT)) {
    const char = match[0];
    const before = [...text.slice(0, match.index)].at(-1);
    const after = [...text.slice(match.index + char.length)][0];
    const joinsVisible = JOINERS.has(char) && before !== undefined && after !== undefined && VISIBLE.test(before) && VISIBLE.test(after);
    if (!joinsVisible) return 'invalid_characters';
  }
  return null;
}

/** Why `name` (already normalised) is not an acceptable person name, or null. */
export function personNameProblem(name: string): TextProblem | null {
  return freeTextProblem(name, PERSON_NAME_MAX_LENGTH) ?? (KEYCLOAK_PERSON_NAME_PROHIBITED.test(name) ? 'invalid_characters' : null);
}

const NAME_CHARACTERS_MESSAGE =
  'Contains a character a name cannot have: a control or invisible character, or one of < > & " $ % ! # ? § ; * ~ / \\ | ^ = [ ] { } ( )';

function textField(problemOf: (text: string) => TextProblem | null, messages: Record<TextProblem, string>) {
  return z.string().transform((raw, ctx) => {
    const text = normaliseText(raw);
    const problem = text === null ? 'invalid_characters' : problemOf(text);
    if (problem === null) return text!;
    // The message describes the rule, never the value.
    ctx.issues.push({ code: 'custom', input: raw, message: messages[problem], params: { reason: problem } });
    return z.NEVER;
  });
}

/**
 * A person name field: normalised (trimmed, NFC), 1-100 characters, nothing Keycloak's person-name
 * validator or the upstream core would refuse. Issues carry `params.reason` `required`, `too_long` or
 * `invalid_characters`, which both request parsers report as the field's reason.
 */
export function personName(opts: { required?: string } = {}) {
  return textField(personNameProblem, {
    required: opts.required ?? 'Enter a name',
    too_long: `At most ${PERSON_NAME_MAX_LENGTH} characters`,
    invalid_characters: NAME_CHARACTERS_MESSAGE,
  });
}

/** Free text that is not a name (an address line, a KBA answer): normalised, 1-`maxLength`, visible characters. */
export function freeText(maxLength: number) {
  return textField((text) => freeTextProblem(text, maxLength), {
    required: 'This field cannot be empty',
    too_long: `At most ${maxLength} characters`,
    invalid_characters: 'Contains a control or invisible character',
  });
}
