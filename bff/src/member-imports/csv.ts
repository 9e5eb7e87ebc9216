import { isStrictEmail, normaliseEmail, parsePhone } from '../accounts/identifiers.ts';
import { normaliseText, personNameProblem } from '../accounts/person-name.ts';
import { DomainError, type FieldIssue } from '../kernel/errors.ts';

/**
 * What a member file is (decision 0035): a header row naming the columns, then one member a row.
 * Pure functions: the header check (the whole file is refused on a bad header, nothing stored) and
 * the row check (a bad row is refused with a reason code, the others go on). Duplicates across rows
 * are found by `RowDeduper`, which remembers only keyed hashes of what it has seen.
 */

export const REQUIRED_COLUMNS = ['state_user_id', 'first_name'] as const;
export const IDENTIFIER_COLUMNS = ['email', 'phone'] as const;
export const OPTIONAL_COLUMNS = ['last_name', 'user_type'] as const;
const KNOWN = new Set<string>([...REQUIRED_COLUMNS, ...IDENTIFIER_COLUMNS, ...OPTIONAL_COLUMNS]);

export type Column = (typeof REQUIRED_COLUMNS)[number] | (typeof IDENTIFIER_COLUMNS)[number] | (typeof OPTIONAL_COLUMNS)[number];

/** Column name -> its index in a row. */
export type Header = Partial<Record<Column, number>>;

/**
 * The header row, checked: names are trimmed and lower-cased; unknown, repeated and missing columns
 * are VALIDATION_FAILED naming each (`columns.<name>`), so the admin fixes the file once.
 */
export function parseHeader(cells: string[]): Header {
  const issues: FieldIssue[] = [];
  const header: Header = {};
  cells.forEach((raw, index) => {
    const name = raw
      .replace(/^\uFEFF/, '')
      .trim()
      .toLowerCase();
    if (!KNOWN.has(name)) {
      issues.push({ field: `columns.${name || index + 1}`, reason: 'unknown', message: `Unknown column "${name}"; the columns are ${[...KNOWN].join(', ')}` });
    } else if (header[name as Column] !== undefined) {
      issues.push({ field: `columns.${name}`, reason: 'duplicate', message: `The column "${name}" appears twice` });
    } else {
      header[name as Column] = index;
    }
  });
  for (const name of REQUIRED_COLUMNS) {
    if (header[name] === undefined) issues.push({ field: `columns.${name}`, reason: 'required', message: `The column "${name}" is required` });
  }
  if (header.email === undefined && header.phone === undefined) {
    for (const name of IDENTIFIER_COLUMNS) {
      issues.push({ field: `columns.${name}`, reason: 'required', message: 'The file needs an "email" column, a "phone" column or both' });
    }
  }
  if (issues.length > 0) throw new DomainError('VALIDATION_FAILED', 'The header row of the file is not right', { fields: issues });
  return header;
}

/** A member as the file gives it, normalised (e-mail lower-cased, phone E.164, user type lower-case). */
export interface MemberRow {
  stateUserId: string;
  firstName: string;
  lastName?: string;
  email?: string;
  phone?: string;
  userType?: string;
}

/** Why a row is refused; stable codes an admin's tooling can count on (README, decision 0035). */
export type RefusalReason =
  | 'wrong_column_count'
  | 'state_user_id_required'
  | 'state_user_id_invalid'
  | 'first_name_required'
  | 'first_name_invalid'
  | 'last_name_invalid'
  | 'identifier_required'
  | 'email_invalid'
  | 'phone_invalid'
  | 'user_type_invalid'
  | 'duplicate_state_user_id'
  | 'duplicate_email'
  | 'duplicate_phone'
  // Found while processing (worker.ts):
  | 'state_user_id_mismatch'
  | 'identifier_in_other_tenant'
  | 'identifiers_on_different_accounts'
  | 'account_refused';

export type RowCheck = { ok: true; member: MemberRow } | { ok: false; reason: RefusalReason; raw: Partial<MemberRow> };

/** The user profile's `stateUserId` holds at most 64 characters; printable, no spaces inside. */
const STATE_USER_ID = /^[\p{L}\p{N}._:@/+-]{1,64}$/u;
const USER_TYPE = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * One data row checked on its own (duplicates are `RowDeduper`'s). Empty cells are absent. The
 * e-mail is held to the strict syntax every later step accepts (it is unproven, as a partner's is),
 * the phone parsed with the default country. The user type is only shaped here: the realm's user
 * profile holds the list (a value it does not know is refused when the account is created).
 */
export function checkRow(cells: string[], header: Header, width: number, defaultCountry: string): RowCheck {
  const cell = (column: Column) => {
    const index = header[column];
    const value = index === undefined ? undefined : normaliseText(cells[index] ?? '');
    return value === null ? '\u0000' : value || undefined;
  };
  const raw: Partial<MemberRow> = {};
  for (const [column, key] of COLUMN_KEYS) {
    const value = cell(column);
    if (value !== undefined) raw[key] = value.slice(0, 320);
  }
  const refuse = (reason: RefusalReason): RowCheck => ({ ok: false, reason, raw });
  if (cells.length !== width) return refuse('wrong_column_count');

  const stateUserId = raw.stateUserId;
  if (stateUserId === undefined) return refuse('state_user_id_required');
  if (!STATE_USER_ID.test(stateUserId)) return refuse('state_user_id_invalid');
  if (raw.firstName === undefined) return refuse('first_name_required');
  if (personNameProblem(raw.firstName) !== null) return refuse('first_name_invalid');
  if (raw.lastName !== undefined && personNameProblem(raw.lastName) !== null) return refuse('last_name_invalid');
  if (raw.email === undefined && raw.phone === undefined) return refuse('identifier_required');
  const member: MemberRow = { stateUserId, firstName: raw.firstName, ...(raw.lastName ? { lastName: raw.lastName } : {}) };
  if (raw.email !== undefined) {
    const email = normaliseEmail(raw.email);
    if (!isStrictEmail(email)) return refuse('email_invalid');
    member.email = email;
  }
  if (raw.phone !== undefined) {
    const phone = raw.phone.length <= 32 ? parsePhone(raw.phone, defaultCountry) : null;
    if (!phone) return refuse('phone_invalid');
    member.phone = phone;
  }
  if (raw.userType !== undefined) {
    const userType = raw.userType.toLowerCase();
    if (!USER_TYPE.test(userType)) return refuse('user_type_invalid');
    member.userType = userType;
  }
  return { ok: true, member };
}

const COLUMN_KEYS: [Column, keyof MemberRow][] = [
  ['state_user_id', 'stateUserId'],
  ['first_name', 'firstName'],
  ['last_name', 'lastName'],
  ['email', 'email'],
  ['phone', 'phone'],
  ['user_type', 'userType'],
];

/**
 * Finds a state user id, e-mail or phone that an earlier row of the same file already had: the later
 * row is refused (the first one wins). Remembers keyed hashes (`hash`), never the values.
 */
export class RowDeduper {
  readonly #seen = new Set<string>();
  readonly #hash: (kind: string, value: string) => string;

  constructor(hash: (kind: string, value: string) => string) {
    this.#hash = hash;
  }

  /** The duplicate reason, or null (and the row's values are remembered). */
  check(member: MemberRow): RefusalReason | null {
    const keys: [RefusalReason, string][] = [['duplicate_state_user_id', this.#hash('state-user-id', member.stateUserId)]];
    if (member.email) keys.push(['duplicate_email', this.#hash('email', member.email)]);
    if (member.phone) keys.push(['duplicate_phone', this.#hash('phone', member.phone)]);
    for (const [reason, key] of keys) if (this.#seen.has(key)) return reason;
    for (const [, key] of keys) this.#seen.add(key);
    return null;
  }
}
