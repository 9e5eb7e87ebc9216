import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePasswordPolicy, passwordPolicyIssues, RealmPasswordPolicy } from './password-policy.ts';

const realm = JSON.parse(readFileSync(new URL('../../../realm-config/realms/platform/realm.json', import.meta.url), 'utf8')) as { passwordPolicy: string };
const reasons = (policy: string, password: string, account: { username?: string; email?: string } = {}) =>
  passwordPolicyIssues(parsePasswordPolicy(policy), password, account).map((i) => i.reason);

describe('the password policy checked before an account exists', () => {
  it("reads the realm's policy: the rules it can check, the others left to Keycloak", () => {
    expect(parsePasswordPolicy(realm.passwordPolicy)).toEqual({ minLength: 10, maxLength: 128, notUsername: true, notEmail: true, notContainsUsername: true });
    expect(
      parsePasswordPolicy(
        'length and digits(2) and upperCase and lowerCase(3) and specialChars and maxLength and hashIterations(27500) and passwordHistory(3)',
      ),
    ).toEqual({
      minLength: 8,
      digits: 2,
      upperCase: 1,
      lowerCase: 3,
      specialChars: 1,
      maxLength: 64,
    });
    expect(parsePasswordPolicy('')).toEqual({});
  });

  it('tells every rule a password breaks at once', () => {
    const policy = 'length(10) and digits(1) and upperCase(1) and lowerCase(1) and specialChars(1)';
    expect(reasons(policy, 'short')).toEqual(['too_short', 'needs_digits', 'needs_upper_case', 'needs_special_chars']);
    expect(reasons(policy, 'Long-enough-1')).toEqual([]);
    expect(reasons('maxLength(12)', 'x'.repeat(13))).toEqual(['too_long']);
  });

  it('counts like Keycloak (Java): UTF-16 units, Unicode letters and digits, anything else special', () => {
    // An emoji is two UTF-16 units, neither a letter nor a digit: two special characters.
    expect(reasons('length(11)', 'abcdefghi😀')).toEqual([]);
    expect(reasons('specialChars(2)', 'abc😀')).toEqual([]);
    expect(reasons('digits(2)', 'abc१२')).toEqual([]);
    expect(reasons('upperCase(1) and specialChars(1)', 'ÄbcकखगΩ')).toEqual(['needs_special_chars']);
  });

  it('compares the username and e-mail ignoring case; a password containing the username is refused', () => {
    const policy = realm.passwordPolicy;
    expect(reasons(policy, 'Asha_Verma1', { username: 'asha_verma1' })).toEqual(['is_username']);
    expect(reasons(policy, 'my-ASHA_verma-pass', { username: 'asha_verma' })).toEqual(['contains_username']);
    expect(reasons(policy, 'Asha@Example.com', { email: 'asha@example.com' })).toEqual(['is_email']);
    expect(reasons(policy, 'Correct-Horse-42', { username: 'asha', email: 'asha@example.com' })).toEqual([]);
    // Unknown username (one will be generated): not checked here, Keycloak checks it at creation.
    expect(reasons(policy, 'asha_verma1234')).toEqual([]);
  });

  it('checks a regexPattern JavaScript can read', () => {
    expect(reasons('regexPattern([a-z0-9]+)', 'abc123')).toEqual([]);
    expect(reasons('regexPattern([a-z0-9]+)', 'abc-123')).toEqual(['invalid_format']);
  });
});

describe('RealmPasswordPolicy', () => {
  it('reads once per cache period, and keeps the last policy while Keycloak cannot be read', async () => {
    let now = 0;
    let reads = 0;
    let fail = false;
    const source = new RealmPasswordPolicy({
      read: async () => {
        reads++;
        if (fail) throw new Error('down');
        return reads === 1 ? 'length(10)' : 'length(12)';
      },
      cacheMs: 1000,
      now: () => now,
    });
    expect(await Promise.all([source.current(), source.current()])).toEqual([{ minLength: 10 }, { minLength: 10 }]);
    expect(reads).toBe(1);
    now = 1500;
    expect(await source.current()).toEqual({ minLength: 12 });
    now = 3000;
    fail = true;
    expect(await source.current()).toEqual({ minLength: 12 });
    const cold = new RealmPasswordPolicy({ read: async () => Promise.reject(new Error('down')) });
    await expect(cold.current()).rejects.toThrow('down');
  });
});
