import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordIssue } from './password-rules.ts';

const realm = JSON.parse(readFileSync(new URL('../../../realm-config/realms/platform/realm.json', import.meta.url), 'utf8')) as { passwordPolicy: string };

describe('password rules checked before an account exists', () => {
  it("are the realm policy's length and notEmail rules", () => {
    const rules = realm.passwordPolicy.split(/\s+and\s+/);
    expect(rules).toContain(`length(${PASSWORD_MIN_LENGTH})`);
    expect(rules).toContain(`maxLength(${PASSWORD_MAX_LENGTH})`);
    expect(rules).toContain('notEmail');
  });

  it('refuses a short or long password and the email itself (any case); takes the rest', () => {
    expect(passwordIssue('123456789', 'a@example.com')).toMatchObject({ field: 'password', reason: 'policy' });
    expect(passwordIssue('x'.repeat(129), 'a@example.com')).toMatchObject({ reason: 'policy' });
    expect(passwordIssue('Asha.Verma@Example.com', 'asha.verma@example.com')).toMatchObject({ reason: 'policy' });
    expect(passwordIssue('1234567890', 'a@example.com')).toBeNull();
    expect(passwordIssue('x'.repeat(128), undefined)).toBeNull();
  });
});
