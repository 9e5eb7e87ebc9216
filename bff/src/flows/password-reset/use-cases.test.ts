import { describe, expect, it } from 'vitest';
import { DomainError } from '../../kernel/errors.ts';
import { createLogger } from '../../kernel/logger.ts';
import type { KeyedCode, KeyedSendRequest } from '../../otp/otp-service.ts';
import type { DirectoryUser } from '../../ports/identity-directory.ts';
import type { SmsMessage } from '../../ports/messaging.ts';
import { type PasswordResetDeps, recoveryPhone, sendResetCode, subjectOf, verifyResetCode } from './use-cases.ts';

const PHONE = '+919812345678';

const account = (over: Partial<DirectoryUser> = {}, attributes: Record<string, string[]> = {}): DirectoryUser => ({
  id: 'user-1',
  username: 'asha_1234',
  emailVerified: false,
  enabled: true,
  attributes: { phone: [PHONE], phoneVerified: ['true'], ...attributes },
  ...over,
});

/** One Keycloak user and a code service that remembers what it was asked (the real one: test/integration/otp-keyed-codes.test.ts). */
function world(user: DirectoryUser | null) {
  const sent: SmsMessage[] = [];
  const asked: KeyedSendRequest[] = [];
  const checked: (KeyedCode & { code: string })[] = [];
  let issued: { binding: string; code: string } | null = null;
  const deps: PasswordResetDeps = {
    directory: { getUser: async (id) => (user && id === user.id ? user : null) },
    codes: {
      sendKeyed: async (req) => {
        asked.push(req);
        issued = { binding: req.binding, code: req.deliver ? '042917' : 'never' };
        await req.deliver?.('042917', 10);
        return { expiresInSeconds: 600, resendAfterSeconds: 60 };
      },
      verifyKeyed: async (req) => {
        checked.push(req);
        return issued && issued.binding === req.binding && issued.code === req.code ? { verified: true } : { verified: false, attemptsLeft: 4 };
      },
    },
    sms: { send: async (m) => void sent.push(m) },
    defaultPhoneCountry: 'IN',
    logger: createLogger({ level: 'silent' }),
  };
  return { deps, sent, asked, checked };
}

const IP = '203.0.113.7';

describe('subjectOf: what the limits count', () => {
  it('reads a phone as E.164, an e-mail lower-case, anything else as a username', () => {
    expect(subjectOf(' 98123 45678 ', 'IN')).toBe(`phone:${PHONE}`);
    expect(subjectOf('+91 98123-45678', 'IN')).toBe(`phone:${PHONE}`);
    expect(subjectOf('Asha@Example.com', 'IN')).toBe('email:asha@example.com');
    expect(subjectOf('Asha_1234', 'IN')).toBe('username:asha_1234');
  });
});

describe('recoveryPhone: only a proven phone of an enabled account', () => {
  it.each([
    ['proven, typed as that number', account(), `phone:${PHONE}`, PHONE],
    ['proven, username typed', account(), 'username:asha_1234', PHONE],
    ['not proven', account({}, { phoneVerified: ['false'] }), `phone:${PHONE}`, null],
    ['no phoneVerified at all', account({}, { phoneVerified: [] }), `phone:${PHONE}`, null],
    ['disabled account', account({ enabled: false }), `phone:${PHONE}`, null],
    ['another number typed', account(), 'phone:+919800000000', null],
    ['an e-mail typed (gets the link, never a code)', account(), 'email:asha@example.com', null],
    ['no account', null, `phone:${PHONE}`, null],
  ])('%s', (_what, user, subject, expected) => {
    expect(recoveryPhone(user, subject)).toBe(expected);
  });
});

describe('sendResetCode', () => {
  it("sends the code to the account's proven phone, in the page's language, bound to the account and its phone", async () => {
    const w = world(account());
    expect(await sendResetCode(w.deps, { login: '98123 45678', userId: 'user-1', language: 'hi', ip: IP })).toEqual({
      expiresInSeconds: 600,
      resendAfterSeconds: 60,
    });
    expect(w.sent).toEqual([{ to: PHONE, text: expect.stringContaining('042917') }]);
    expect(w.sent[0]!.text).toContain('पासवर्ड');
    expect(w.asked[0]).toMatchObject({ purpose: 'password-reset', subject: `phone:${PHONE}`, binding: `user-1:${PHONE}`, ip: IP });
  });

  it('English for a language we do not have', async () => {
    const w = world(account());
    await sendResetCode(w.deps, { login: PHONE, userId: 'user-1', language: 'fr', ip: IP });
    expect(w.sent[0]!.text).toMatch(/^042917 is your Identity Platform code to reset your password/);
  });

  it.each([
    ['no account', null, undefined],
    ['an unproven phone', account({}, { phoneVerified: ['false'] }), 'user-1'],
    ['a disabled account', account({ enabled: false }), 'user-1'],
    ['an account id Keycloak does not have', account(), 'user-2'],
  ])('%s: the same answer, counted the same, nothing sent', async (_what, user, userId) => {
    const w = world(user);
    expect(await sendResetCode(w.deps, { login: '98123 45678', userId, language: 'en', ip: IP })).toEqual({ expiresInSeconds: 600, resendAfterSeconds: 60 });
    expect(w.sent).toEqual([]);
    expect(w.asked).toEqual([expect.objectContaining({ subject: `phone:${PHONE}`, deliver: null, binding: '' })]);
  });
});

describe('verifyResetCode', () => {
  it('verified for the code sent to this account', async () => {
    const w = world(account());
    await sendResetCode(w.deps, { login: PHONE, userId: 'user-1', ip: IP });
    expect(await verifyResetCode(w.deps, { login: PHONE, userId: 'user-1', code: '042917', ip: IP })).toEqual({ outcome: 'verified' });
  });

  it('a wrong code: VALIDATION_FAILED on code with the tries left', async () => {
    const w = world(account());
    await sendResetCode(w.deps, { login: PHONE, userId: 'user-1', ip: IP });
    const err = await verifyResetCode(w.deps, { login: PHONE, userId: 'user-1', code: '111111', ip: IP }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'code', reason: 'invalid' }], details: { attemptsLeft: 4 } });
  });

  it('refused when the phone stopped being proven after the code was sent', async () => {
    const user = account();
    const w = world(user);
    await sendResetCode(w.deps, { login: PHONE, userId: 'user-1', ip: IP });
    user.attributes.phoneVerified = ['false'];
    await expect(verifyResetCode(w.deps, { login: PHONE, userId: 'user-1', code: '042917', ip: IP })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('never verified without an account, whatever the code', async () => {
    const w = world(null);
    await sendResetCode(w.deps, { login: PHONE, ip: IP });
    await expect(verifyResetCode(w.deps, { login: PHONE, code: '042917', ip: IP })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
