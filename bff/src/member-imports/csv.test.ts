import { describe, expect, it } from 'vitest';
import { isDomainError } from '../kernel/errors.ts';
import { checkRow, parseHeader, RowDeduper } from './csv.ts';

const fieldsOf = (cells: string[]) => {
  try {
    parseHeader(cells);
  } catch (err) {
    if (isDomainError(err)) return { code: err.code, fields: err.fields.map((f) => `${f.field}:${f.reason}`) };
    throw err;
  }
  return null;
};

describe('parseHeader', () => {
  it('takes the columns in any order, case and spacing, with a byte order mark', () => {
    expect(parseHeader(['\uFEFF Email', 'FIRST_NAME', 'state_user_id ', 'phone', 'last_name', 'user_type'])).toEqual({
      email: 0,
      first_name: 1,
      state_user_id: 2,
      phone: 3,
      last_name: 4,
      user_type: 5,
    });
    expect(parseHeader(['state_user_id', 'first_name', 'phone'])).toEqual({ state_user_id: 0, first_name: 1, phone: 2 });
  });

  it('names every unknown, repeated and missing column at once', () => {
    expect(fieldsOf(['state_user_id', 'name', 'email', 'email', ''])).toEqual({
      code: 'VALIDATION_FAILED',
      fields: ['columns.name:unknown', 'columns.email:duplicate', 'columns.5:unknown', 'columns.first_name:required'],
    });
  });

  it('needs an email or a phone column', () => {
    expect(fieldsOf(['state_user_id', 'first_name'])?.fields).toEqual(['columns.email:required', 'columns.phone:required']);
  });
});

describe('checkRow', () => {
  const header = parseHeader(['state_user_id', 'first_name', 'last_name', 'email', 'phone', 'user_type']);
  const check = (cells: string[]) => checkRow(cells, header, 6, 'IN');

  it('normalises a good row: e-mail lower-cased, a national phone to E.164, the user type lower-cased, empty cells absent', () => {
    expect(check([' S-1 ', ' Asha ', '', 'Asha@Example.COM', '098765 43210', 'Teacher'])).toEqual({
      ok: true,
      member: { stateUserId: 'S-1', firstName: 'Asha', email: 'asha@example.com', phone: '+919876543210', userType: 'teacher' },
    });
    expect(check(['S-2', 'Ravi', 'Kumar', '', '+91 98765 43211', ''])).toEqual({
      ok: true,
      member: { stateUserId: 'S-2', firstName: 'Ravi', lastName: 'Kumar', phone: '+919876543211' },
    });
  });

  it.each([
    [['S-1', 'Asha', '', 'a@example.com', '', ''].slice(0, 5), 'wrong_column_count'],
    [['', 'Asha', '', 'a@example.com', '', ''], 'state_user_id_required'],
    [['S 1', 'Asha', '', 'a@example.com', '', ''], 'state_user_id_invalid'],
    [['x'.repeat(65), 'Asha', '', 'a@example.com', '', ''], 'state_user_id_invalid'],
    [['S-1', ' ', '', 'a@example.com', '', ''], 'first_name_required'],
    [['S-1', 'Asha<script>', '', 'a@example.com', '', ''], 'first_name_invalid'],
    [['S-1', 'Asha', 'K\u0000', 'a@example.com', '', ''], 'last_name_invalid'],
    [['S-1', 'Asha', '', '', '', ''], 'identifier_required'],
    [['S-1', 'Asha', '', 'not-an-email', '', ''], 'email_invalid'],
    [['S-1', 'Asha', '', '', '12345', ''], 'phone_invalid'],
    [['S-1', 'Asha', '', '', '+91 00000 00000', ''], 'phone_invalid'],
    [['S-1', 'Asha', '', 'a@example.com', '', 'Head teacher'], 'user_type_invalid'],
  ])('refuses %j: %s', (cells, reason) => {
    const checked = check(cells);
    expect(checked).toMatchObject({ ok: false, reason });
  });

  it('keeps what a refused row had, for the admin to see which one it was', () => {
    expect(check(['S-9', 'Asha', '', 'nope', '', ''])).toEqual({
      ok: false,
      reason: 'email_invalid',
      raw: { stateUserId: 'S-9', firstName: 'Asha', email: 'nope' },
    });
  });
});

describe('RowDeduper', () => {
  it('refuses a later row repeating a state user id, an e-mail or a phone; the first one stands', () => {
    const seen: string[] = [];
    const dedupe = new RowDeduper((kind, value) => {
      seen.push(kind);
      return `h(${kind}:${value})`;
    });
    expect(dedupe.check({ stateUserId: 'S-1', firstName: 'A', email: 'a@example.com', phone: '+919876543210' })).toBeNull();
    expect(dedupe.check({ stateUserId: 'S-1', firstName: 'B', email: 'b@example.com' })).toBe('duplicate_state_user_id');
    expect(dedupe.check({ stateUserId: 'S-2', firstName: 'B', email: 'a@example.com' })).toBe('duplicate_email');
    expect(dedupe.check({ stateUserId: 'S-3', firstName: 'B', phone: '+919876543210' })).toBe('duplicate_phone');
    // A refused row claims nothing: S-2 is still free.
    expect(dedupe.check({ stateUserId: 'S-2', firstName: 'B', email: 'b@example.com' })).toBeNull();
    expect(seen).toContain('state-user-id');
  });
});
