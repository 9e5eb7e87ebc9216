import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, quoteIdentifier } from './database-url.ts';

describe('parseDatabaseUrl', () => {
  it('finds the database and points the maintenance URL at postgres, keeping credentials and options', () => {
    const t = parseDatabaseUrl('postgres://bff:s3cret@db.example:6543/identity_bff?sslmode=require');
    expect(t.database).toBe('identity_bff');
    const m = new URL(t.maintenanceUrl);
    expect(m.pathname).toBe('/postgres');
    expect(m.username).toBe('bff');
    expect(m.password).toBe('s3cret');
    expect(m.host).toBe('db.example:6543');
    expect(m.searchParams.get('sslmode')).toBe('require');
  });
  it('accepts postgresql:// too', () => {
    expect(parseDatabaseUrl('postgresql://127.0.0.1/x').database).toBe('x');
  });
  it('refuses URLs without a database, other schemes and unsafe names', () => {
    expect(() => parseDatabaseUrl('postgres://127.0.0.1:5432')).toThrow(/no database/);
    expect(() => parseDatabaseUrl('postgres://127.0.0.1:5432/')).toThrow(/no database/);
    expect(() => parseDatabaseUrl('mysql://127.0.0.1/x')).toThrow(/postgres/);
    expect(() => parseDatabaseUrl('not a url')).toThrow(/valid URL/);
    expect(() => parseDatabaseUrl('postgres://127.0.0.1/a%22%3B%20drop')).toThrow(/must match/);
  });
});

describe('quoteIdentifier', () => {
  it('quotes and doubles embedded quotes', () => {
    expect(quoteIdentifier('bff')).toBe('"bff"');
    expect(quoteIdentifier('a"b')).toBe('"a""b"');
  });
});
