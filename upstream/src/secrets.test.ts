import { describe, expect, it } from 'vitest';
import { burnVerification, classifyLogin, constantTimeEquals, hashSecret, normaliseKbaAnswer, verifySecret } from './secrets.ts';

describe('hashSecret / verifySecret', () => {
  it('stores a salted scrypt hash that verifies only the same secret', async () => {
    const a = await hashSecret('Member#2026');
    const b = await hashSecret('Member#2026');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b); // per-hash salt
    expect(a).not.toContain('Member');
    expect(await verifySecret('Member#2026', a)).toBe(true);
    expect(await verifySecret('Member#2026', b)).toBe(true);
    expect(await verifySecret('member#2026', a)).toBe(false);
    expect(await verifySecret('', a)).toBe(false);
  });

  it('never matches a malformed stored hash', async () => {
    const good = await hashSecret('x');
    for (const bad of ['', 'plain', good.replace('scrypt', 'bcrypt'), good.slice(0, -4), 'scrypt$0$8$1$c2FsdA$aGFzaA']) {
      expect(await verifySecret('x', bad)).toBe(false);
    }
  });

  it('burnVerification always fails', async () => {
    expect(await burnVerification('anything')).toBe(false);
  });
});

describe('normaliseKbaAnswer', () => {
  it('ignores case, outer and repeated inner whitespace, and Unicode compatibility forms', () => {
    expect(normaliseKbaAnswer('  New   DELHI\t')).toBe('new delhi');
    expect(normaliseKbaAnswer('Ｐｕｎｅ')).toBe('pune'); // full-width letters
    expect(normaliseKbaAnswer('Kendriya Vidyalaya')).not.toBe(normaliseKbaAnswer('Kendriya Vidyalay'));
  });
});

describe('classifyLogin', () => {
  it('reads emails, E.164 phones and usernames', () => {
    expect(classifyLogin(' Asha.Verma@Example.com ')).toEqual({ kind: 'email', email: 'asha.verma@example.com' });
    expect(classifyLogin('+919876543210')).toEqual({ kind: 'phone', phone: '+919876543210' });
    expect(classifyLogin('Asha.Verma')).toEqual({ kind: 'username', username: 'asha.verma' });
  });
});

describe('constantTimeEquals', () => {
  it('compares strings of any length', () => {
    expect(constantTimeEquals('abc', 'abc')).toBe(true);
    expect(constantTimeEquals('abc', 'abcd')).toBe(false);
    expect(constantTimeEquals('', 'x')).toBe(false);
  });
});
