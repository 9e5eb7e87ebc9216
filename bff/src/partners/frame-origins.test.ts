import { describe, expect, it } from 'vitest';
import { checkFrameOrigin, uniqueOrigins } from './frame-origins.ts';

const strict = { allowHttp: false };

describe('checkFrameOrigin', () => {
  it.each([
    ['https://bank.example', 'https://bank.example'],
    ['https://bank.example/', 'https://bank.example'],
    ['HTTPS://Bank.EXAMPLE', 'https://bank.example'],
    ['https://bank.example:443', 'https://bank.example'],
    ['https://bank.example:8443', 'https://bank.example:8443'],
    ['https://web.eu.bank-1.example', 'https://web.eu.bank-1.example'],
    ['https://bänk.example', 'https://xn--bnk-qla.example'],
    ['https://203.0.113.7', 'https://203.0.113.7'],
    ['https://[2001:db8::1]:8443', 'https://[2001:db8::1]:8443'],
    ['http://localhost:3100', 'http://localhost:3100'],
    ['http://127.0.0.1:3100', 'http://127.0.0.1:3100'],
    ['http://[::1]:3100', 'http://[::1]:3100'],
    ['http://localhost:80', 'http://localhost'],
  ])('accepts %s as %s', (raw, origin) => {
    expect(checkFrameOrigin(raw, strict)).toEqual({ origin });
  });

  it.each([
    ['a path', 'https://bank.example/app'],
    ['two slashes', 'https://bank.example//'],
    ['a query', 'https://bank.example?x=1'],
    ['an empty query', 'https://bank.example/?'],
    ['a fragment', 'https://bank.example#top'],
    ['user info', 'https://user@bank.example'],
    ['a wildcard host', 'https://*.bank.example'],
    ['a wildcard port', 'https://bank.example:*'],
    ['a bare wildcard', '*'],
    ['another scheme', 'ftp://bank.example'],
    ['javascript:', 'javascript:alert(1)'],
    ['data:', 'data:text/html,x'],
    ['a scheme-only source', 'https:'],
    ['no scheme', 'bank.example'],
    ['a protocol-relative origin', '//bank.example'],
    ["the keyword 'self'", "'self'"],
    ["the keyword 'none'", "'none'"],
    ['the null origin', 'null'],
    ['whitespace inside', 'https://bank.example https://evil.example'],
    ['a semicolon (another CSP directive)', 'https://bank.example;script-src *'],
    ['a comma (another policy)', 'https://bank.example,https://evil.example'],
    ['leading whitespace', ' https://bank.example'],
    ['a trailing dot', 'https://bank.example.'],
    ['an underscore', 'https://bank_1.example'],
    ['an empty label', 'https://bank..example'],
    ['a port out of range', 'https://bank.example:70000'],
    ['a backslash', 'https://bank.example\\'],
    ['an empty string', ''],
    ['an overlong host', `https://${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(20)}.example`],
  ])('refuses %s', (_, raw) => {
    expect(checkFrameOrigin(raw, strict)).toMatchObject({ reason: 'invalid_format' });
  });

  it('refuses plain http for any host but this machine, unless the deployment allows it', () => {
    for (const raw of ['http://bank.example', 'http://192.168.1.20:3100', 'http://localhost.bank.example', 'http://127.0.0.2']) {
      expect(checkFrameOrigin(raw, strict)).toMatchObject({ reason: 'insecure_scheme' });
      expect(checkFrameOrigin(raw, { allowHttp: true })).toEqual({ origin: new URL(raw).origin });
    }
  });
});

describe('uniqueOrigins', () => {
  it('drops repeats, keeping the first place of each', () => {
    expect(uniqueOrigins(['https://b.example', 'https://a.example', 'https://b.example'])).toEqual(['https://b.example', 'https://a.example']);
  });
});
