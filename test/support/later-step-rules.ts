import { readFileSync } from 'node:fs';

/**
 * Independent oracles for what the steps after a request accept (issue 14 §5): Keycloak's user-profile
 * validators, ported from Keycloak 26's Java source and applied as realm-config declares them, so a
 * validator added to the realm without a matching rule in the BFF fails the property tests. Each port
 * may be stricter than Keycloak (sound: an accepted value that passes it passes Keycloak), never looser.
 */
type Validations = Record<string, Record<string, unknown>>;
interface ProfileAttribute {
  name: string;
  validations?: Validations;
}

const profile = JSON.parse(readFileSync(new URL('../../realm-config/realms/platform/user-profile.json', import.meta.url), 'utf8')) as {
  attributes: ProfileAttribute[];
};

export function hasProfileAttribute(name: string): boolean {
  return profile.attributes.some((a) => a.name === name);
}

/** Java's String.trim(): strips code units up to U+0020 only. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: Java trims exactly U+0000..U+0020
const javaTrim = (value: string) => value.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '');

// PersonNameProhibitedCharactersValidator: Pattern.compile("^[^<>&\"\\v$%!#?§;*~/\\\\|^=\\[\\]{}()\\p{Cntrl}]+$").
// Java's \v is [\n\x0B\f\r\x85\u2028\u2029]; \p{Cntrl} (without UNICODE_CHARACTER_CLASS) is [\x00-\x1F\x7F].
const PERSON_NAME_PROHIBITED = new Set([...'<>&"$%!#?§;*~/\\|^=[]{}()', '\n', '\x0b', '\f', '\r', '\x85', '\u2028', '\u2029']);
const personNameAllowed = (value: string) => value.length > 0 && [...value].every((c) => !PERSON_NAME_PROHIBITED.has(c) && !(c <= '\x1f' || c === '\x7f'));

// UsernameProhibitedCharactersValidator: "^[^<>&\"'\\s\\v\\h$%!#?§,;:*~/\\\\|^=\\[\\]{}()`\\p{Cntrl}]+$" (\h: horizontal whitespace).
const USERNAME_PROHIBITED = new Set([...'<>&"\'$%!#?§,;:*~/\\|^=[]{}()`', ...' \t\n\x0b\f\r\x85\u2028\u2029\u00a0\u1680\u180e\u202f\u205f\u3000']);
const usernameAllowed = (value: string) =>
  value.length > 0 && [...value].every((c) => !USERNAME_PROHIBITED.has(c) && !(c <= '\x1f' || c === '\x7f') && !(c >= '\u2000' && c <= '\u200a'));

// EmailValidationUtil (unquoted local parts only: stricter than Keycloak, which also takes quoted ones).
const LOCAL_ATOM = "[a-z0-9!#$%&'*+/=?^_`{|}~\\u0080-\\uFFFF-]";
const LOCAL_PART = new RegExp(`^${LOCAL_ATOM}+(?:\\.${LOCAL_ATOM}+)*$`, 'i');
// DOMAIN_LABEL "(?:X-*)*X+" joined by dots, X = DOMAIN_CHARS_WITHOUT_DASH: the same language as
// X(?:[X-]*X)? (a label starts and ends with X), written without nested quantifiers.
const X = "[a-z\\u0080-\\uFFFF0-9!#$%&'*+/=?^`{|}~]";
const DOMAIN_LABEL = new RegExp(`^${X}(?:(?:${X}|-)*${X})?$`, 'i');
function keycloakEmail(value: string): boolean {
  const at = value.lastIndexOf('@');
  if (at < 0) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return false;
  if (domain.endsWith('.') || domain.length > 255) return false;
  const labels = domain.split('.');
  // IDN.toASCII refuses empty and over-long labels; a non-ASCII label would need its punycode length.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range, control characters included
  return labels.every((l) => /^[\x00-\x7f]*$/.test(l) && l.length >= 1 && l.length <= 63 && DOMAIN_LABEL.test(l));
}

function check(validator: string, config: Record<string, unknown>, value: string): boolean {
  switch (validator) {
    case 'length': {
      const v = config['trim-disabled'] === true ? value : javaTrim(value);
      return (config.min === undefined || v.length >= Number(config.min)) && (config.max === undefined || v.length <= Number(config.max));
    }
    case 'person-name-prohibited-characters':
      return personNameAllowed(value);
    case 'username-prohibited-characters':
      return usernameAllowed(value);
    case 'up-username-not-idn-homograph':
      // Stricter than Keycloak's check of mixed scripts: ASCII only.
      return /^[\x21-\x7e]+$/.test(value);
    case 'email':
      return keycloakEmail(value);
    case 'pattern':
      return new RegExp(String(config.pattern)).test(value);
    case 'options':
      return (config.options as string[]).includes(value);
    default:
      throw new Error(`no oracle for Keycloak validator ${validator}: port it to test/support/later-step-rules.ts`);
  }
}

/** The names of the validators of attribute `name` that refuse `value` (empty: Keycloak accepts it). */
export function keycloakRefusals(name: string, value: string): string[] {
  const attribute = profile.attributes.find((a) => a.name === name);
  if (!attribute) throw new Error(`no attribute ${name} in the realm's user profile`);
  // Keycloak skips the validators of an empty value (AbstractSimpleValidator); required is separate.
  if (value === '') return [];
  return Object.entries(attribute.validations ?? {})
    .filter(([validator, config]) => !check(validator, config, value))
    .map(([validator]) => validator);
}
