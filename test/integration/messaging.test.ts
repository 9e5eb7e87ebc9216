import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpMailer } from '../../bff/src/adapters/mail/smtp-mailer.ts';
import { HttpSmsGateway } from '../../bff/src/adapters/sms/http-sms-gateway.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import { startInbox, type Inbox } from '../../stack/inbox.ts';
import { freePort } from '../support/ports.ts';

/** The mail and SMS adapters against the dev inbox's real SMTP server and SMS sink. */
let inbox: Inbox;

beforeAll(async () => {
  inbox = await startInbox({ smtpPort: 0, httpPort: 0, smsToken: 'sms-test-token' });
});

afterAll(async () => {
  await inbox?.close();
});

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    if (e instanceof DomainError) return { code: e.code, message: e.message, details: e.details };
    throw e;
  }
  throw new Error('expected a failure');
}

describe('SmtpMailer', () => {
  it('delivers over SMTP, in UTF-8', async () => {
    const mailer = new SmtpMailer({ host: '127.0.0.1', port: inbox.smtpPort, from: 'Platform <no-reply@platform.test>' });
    await mailer.send({ to: 'mailer.test@example.com', subject: 'आपका कोड', text: 'कोड 123456 है।', language: 'hi' });
    mailer.close();
    expect(inbox.mails.find((m) => m.to.includes('mailer.test@example.com'))).toMatchObject({
      from: 'no-reply@platform.test',
      subject: 'आपका कोड',
      text: expect.stringContaining('कोड 123456 है।'),
    });
  });

  it('reports an unreachable server as DELIVERY_FAILED without the recipient or content', async () => {
    const mailer = new SmtpMailer({ host: '127.0.0.1', port: await freePort(), from: 'no-reply@platform.test', timeoutMs: 1000 });
    const failed = await failure(mailer.send({ to: 'secret.person@example.com', subject: 's', text: 'code 654321' }));
    expect(failed).toMatchObject({ code: 'DELIVERY_FAILED', details: { channel: 'email' } });
    expect(JSON.stringify(failed)).not.toMatch(/secret\.person|654321/);
    mailer.close();
  });
});

describe('HttpSmsGateway', () => {
  it('posts {to, text} as JSON with the bearer token', async () => {
    const gateway = new HttpSmsGateway({ url: `${inbox.httpUrl}/sms`, token: 'sms-test-token' });
    await gateway.send({ to: '+919800011111', text: '123456 is your code' });
    expect(inbox.sms.filter((m) => m.to === '+919800011111').map((m) => m.text)).toEqual(['123456 is your code']);
  });

  it('reports a refusal (wrong token) and an unreachable gateway as DELIVERY_FAILED, naming neither number nor text', async () => {
    const refused = await failure(new HttpSmsGateway({ url: `${inbox.httpUrl}/sms`, token: 'wrong' }).send({ to: '+919800022222', text: '111111' }));
    expect(refused).toMatchObject({ code: 'DELIVERY_FAILED', details: { channel: 'sms', reason: 'status 401' } });
    const down = await failure(new HttpSmsGateway({ url: `http://127.0.0.1:${await freePort()}/sms` }).send({ to: '+919800022222', text: '111111' }));
    expect(down).toMatchObject({ code: 'DELIVERY_FAILED', details: { channel: 'sms', reason: 'network error' } });
    expect(JSON.stringify([refused, down])).not.toMatch(/9800022222|111111/);
    expect(inbox.sms.some((m) => m.to === '+919800022222')).toBe(false);
  });
});
