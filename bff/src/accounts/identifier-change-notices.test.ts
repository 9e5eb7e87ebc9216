import { describe, expect, it } from 'vitest';
import { DomainError } from '../kernel/errors.ts';
import { createLogger } from '../kernel/logger.ts';
import type { EmailMessage, SmsMessage } from '../ports/messaging.ts';
import { IdentifierChangeNotices, identifierChangeMessage } from './identifier-change-notices.ts';

function notices(opts: { failing?: boolean } = {}) {
  const mails: EmailMessage[] = [];
  const sms: SmsMessage[] = [];
  const lines: string[] = [];
  const refuse = () => {
    throw new DomainError('DELIVERY_FAILED', 'down');
  };
  const n = new IdentifierChangeNotices({
    mailer: { send: async (m) => (opts.failing ? refuse() : void mails.push(m)) },
    sms: { send: async (m) => (opts.failing ? refuse() : void sms.push(m)) },
    directory: {
      getUser: async () => ({ id: 'u1', username: 'kiran', firstName: 'Kiran', emailVerified: true, enabled: true, attributes: { locale: ['hi'] } }),
    },
    logger: createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } }),
  });
  return { n, mails, sms, lines };
}

describe('IdentifierChangeNotices', () => {
  it("mails the previous address, naming the new one masked, in the account's language", async () => {
    const { n, mails } = notices();
    await n.tell({ userId: 'u1', firstName: 'Kiran' }, { kind: 'email', previous: 'kiran@example.com', current: 'someone.else@example.org' });
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ to: 'kiran@example.com', subject: 'The email address of your account was changed', language: 'en' });
    expect(mails[0]!.text).toContain('Hello Kiran,');
    expect(mails[0]!.text).toContain('s•••@example.org');
    expect(mails[0]!.text).not.toContain('someone.else');
    await n.tell({ userId: 'u1', locale: 'hi' }, { kind: 'email', previous: 'kiran@example.com', current: 'new@example.org' });
    expect(mails[1]!.subject).toBe('आपके खाते का ईमेल पता बदला गया');
  });

  it('texts the previous phone number of a change or a removal', async () => {
    const { n, sms } = notices();
    await n.tell({ userId: 'u1' }, { kind: 'phone', previous: '+919812345678', current: '+919800000001' });
    await n.tell({ userId: 'u1' }, { kind: 'phone', previous: '+919812345678', current: null });
    expect(sms.map((m) => m.to)).toEqual(['+919812345678', '+919812345678']);
    expect(sms[0]!.text).toContain('+91 ••••• •••01');
    expect(sms[1]!.text).toBe(identifierChangeMessage('en', undefined, { kind: 'phone', previous: 'x', current: null }).text);
  });

  it('never throws: the change is made; a notice that could not go out is an error line without the addresses', async () => {
    const { n, lines } = notices({ failing: true });
    await expect(n.tell({ userId: 'u1' }, { kind: 'email', previous: 'kiran@example.com', current: 'new@example.org' })).resolves.toBeUndefined();
    const logged = lines.join('\n');
    expect(logged).toContain('"level":"error"');
    expect(logged).toContain('"userId":"u1"');
    expect(logged).not.toContain('example');
  });

  it("a change confirmed in Keycloak is told in the account's own language", async () => {
    const { n, mails } = notices();
    await n.emailChangedInKeycloak({ userId: 'u1', previous: 'kiran@example.com', updated: 'new@example.org' });
    expect(mails[0]).toMatchObject({ to: 'kiran@example.com', language: 'hi' });
    expect(mails[0]!.text).toContain('नमस्ते Kiran,');
  });
});
