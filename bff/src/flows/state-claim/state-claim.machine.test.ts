import { createActor, fromPromise, waitFor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { maskIdentifier } from '../../accounts/identifiers.ts';
import { isAtRest } from '../../kernel/flow/index.ts';
import {
  STATE_CLAIM_MACHINE_VERSION,
  StepFailure,
  stateClaimMachine,
  type CodeInput,
  type Holder,
  type MigrationInput,
  type SealedIdentifier,
  type StateClaimEvent,
} from './state-claim.machine.ts';

const sealed = (value: string): SealedIdentifier => ({ sealed: `sealed(${value})`, masked: maskIdentifier({ kind: 'email', value }), kind: 'email' });
const identity = {
  identityProvider: 'state-demo',
  brokeredUserId: 'b-1',
  brokeredUsername: 'meera',
  firstName: 'Meera',
  lastName: 'Iyer',
  stateUserId: 'SD-1',
};

/**
 * The machine with recording fakes; `match` is the custodian account the server-side look-up finds,
 * `holders` what it finds for each look-up in turn instead (a member, elsewhere, closed).
 */
function run(
  opts: {
    identifier?: SealedIdentifier | null;
    match?: string | null;
    holders?: (Holder | null)[];
    migrated?: string;
    passwords?: ('valid' | 'invalid' | 'second-factor-required' | 'down')[];
    codeOk?: boolean;
    secondFactor?: boolean;
    proven?: boolean;
    /** What each new password gets, in turn (a StepFailure's code throws it). */
    newPasswords?: ('valid' | 'invalid' | 'password-policy' | 'password-reused')[];
    /** Each migration in turn fails (true) or succeeds. */
    migrationFails?: boolean[];
  } = {},
) {
  const holders = [...(opts.holders ?? [])];
  const calls: string[] = [];
  const migrations: MigrationInput[] = [];
  const sent: CodeInput[] = [];
  const passwords = [...(opts.passwords ?? [])];
  const newPasswords = [...(opts.newPasswords ?? [])];
  const migrationFails = [...(opts.migrationFails ?? [])];
  const machine = stateClaimMachine.provide({
    actors: {
      findMigratedAccount: fromPromise(async ({ input }) => {
        calls.push(`migrated? ${input.identity.brokeredUserId}`);
        return opts.migrated ? { userId: opts.migrated } : null;
      }),
      sendCode: fromPromise(async ({ input }) => {
        sent.push(input);
        calls.push(`send ${input.purpose} ${input.identifier.sealed} ${input.ip}`);
      }),
      verifyCode: fromPromise(async ({ input }) => {
        calls.push(`verify ${input.purpose} ${input.code}`);
        if (opts.codeOk === false) throw new StepFailure('code-invalid');
      }),
      findHolder: fromPromise(async ({ input }) => {
        calls.push(`lookup ${input.identifier.sealed}`);
        if (opts.holders) return holders.shift() ?? null;
        return opts.match ? { kind: 'account' as const, userId: opts.match, secondFactor: opts.secondFactor ?? false, proven: opts.proven ?? true } : null;
      }),
      checkPassword: fromPromise(async ({ input }) => {
        calls.push(`password ${input.userId ?? `member ${input.memberId}`} ${input.identifier.sealed}${input.otp ? ` otp ${input.otp}` : ''}`);
        const next = passwords.shift() ?? 'invalid';
        if (next === 'down') throw new Error('keycloak down');
        return next;
      }),
      setNewPassword: fromPromise(async ({ input }) => {
        calls.push(`new password ${input.userId} ${input.password}${input.otp ? ` otp ${input.otp}` : ''}`);
        const next = newPasswords.shift() ?? 'valid';
        if (next === 'password-policy' || next === 'password-reused') throw new StepFailure(next);
        return next;
      }),
      migrate: fromPromise(async ({ input }) => {
        migrations.push(input);
        if (migrationFails.shift()) throw new Error('upstream down');
        return {
          userId: input.decision === 'claim' ? (input.matchUserId ?? 'member-account') : 'new-user',
          created: input.decision === 'new',
          match: 'closed' as const,
        };
      }),
    },
  });
  const actor = createActor(machine, {
    input: {
      flowId: 'f-1',
      identity,
      loginSession: 'session-hash',
      returnUrl: 'http://kc/action',
      tenant: 'state-demo',
      identifier: opts.identifier === undefined ? sealed('meera@example.com') : opts.identifier,
    },
  });
  actor.start();
  const rest = () => waitFor(actor, isAtRest, { timeout: 1000 });
  const send = async (event: StateClaimEvent) => {
    actor.send(event);
    return rest();
  };
  return { actor, calls, migrations, sent, rest, send };
}

const IP = '127.0.0.1';

describe('state claim machine', () => {
  it('no match: decided "new" at once, no page; COMPLETE migrates without an account to strip', async () => {
    const { rest, send, migrations } = run({ match: null });
    const s = await rest();
    expect(s.value).toBe('decided');
    expect(s.context).toMatchObject({ decision: 'new', reason: 'no-match', matchUserId: null });
    expect(migrations).toEqual([]);
    const done = await send({ type: 'COMPLETE' });
    expect(done.status).toBe('done');
    expect(migrations).toEqual([expect.objectContaining({ flowId: 'f-1', decision: 'new', matchUserId: null })]);
  });

  it('claim: the account the look-up found is the one whose password is checked and that migrates, at once; COMPLETE only finishes', async () => {
    const { rest, send, calls, migrations } = run({ match: 'custodian-1', passwords: ['valid'] });
    expect((await rest()).value).toBe('askOwnership');
    expect((await send({ type: 'MINE' })).value).toBe('passwordEntry');
    const s = await send({ type: 'PASSWORD', password: 'secret', otp: null });
    expect(s.value).toBe('finished');
    expect(s.context).toMatchObject({ decision: 'claim', reason: 'claimed', passwordTries: 0, result: { userId: 'custodian-1', created: false } });
    expect(calls).toContain('password custodian-1 sealed(meera@example.com)');
    expect(migrations).toEqual([expect.objectContaining({ flowId: 'f-1', decision: 'claim', matchUserId: 'custodian-1' })]);
    expect((await send({ type: 'COMPLETE' })).status).toBe('done');
    expect(migrations).toHaveLength(1);
  });

  it('one retry: wrong then right claims; wrong twice asks to confirm a new account, and nothing migrates before CONFIRM', async () => {
    const retry = run({ match: 'c-1', passwords: ['invalid', 'valid'] });
    await retry.rest();
    await retry.send({ type: 'MINE' });
    const first = await retry.send({ type: 'PASSWORD', password: 'x', otp: null });
    expect(first.value).toBe('passwordEntry');
    expect(first.context).toMatchObject({ passwordTries: 1, error: 'password-wrong' });
    expect((await retry.send({ type: 'PASSWORD', password: 'y', otp: null })).context).toMatchObject({ decision: 'claim' });

    const twice = run({ match: 'c-1', passwords: ['invalid', 'invalid', 'valid'] });
    await twice.rest();
    await twice.send({ type: 'MINE' });
    await twice.send({ type: 'PASSWORD', password: 'x', otp: null });
    const s = await twice.send({ type: 'PASSWORD', password: 'y', otp: null });
    expect(s.value).toBe('confirmNew');
    expect(s.context).toMatchObject({ decision: null, reason: 'password-tries', passwordTries: 2, matchCloses: true });
    expect(s.can({ type: 'PASSWORD', password: 'z', otp: null })).toBe(false);
    // After two wrong passwords, going back offers only the recovery.
    expect(s.can({ type: 'BACK' })).toBe(false);
    expect(s.can({ type: 'FORGOT', ip: IP, language: 'en' })).toBe(true);
    expect(twice.migrations).toEqual([]);
    const confirmed = await twice.send({ type: 'CONFIRM', language: 'en' });
    expect(confirmed.value).toBe('finished');
    expect(confirmed.context).toMatchObject({ decision: 'new', reason: 'password-tries' });
    expect(twice.migrations).toEqual([expect.objectContaining({ decision: 'new', reason: 'password-tries', matchUserId: 'c-1' })]);
  });

  it('Keycloak down during the password check: not counted as a try', async () => {
    const { rest, send } = run({ match: 'c-1', passwords: ['down'] });
    await rest();
    await send({ type: 'MINE' });
    const s = await send({ type: 'PASSWORD', password: 'x', otp: null });
    expect(s.value).toBe('passwordEntry');
    expect(s.context).toMatchObject({ passwordTries: 0, error: 'unavailable' });
  });

  it('an account with an authenticator app: the page asks for its code; its code goes with the password to the check', async () => {
    const { rest, send, calls } = run({ match: 'c-2fa', secondFactor: true, passwords: ['valid'] });
    expect((await rest()).context.secondFactor).toBe(true);
    await send({ type: 'MINE' });
    const s = await send({ type: 'PASSWORD', password: 'secret', otp: '123456' });
    expect(s.context).toMatchObject({ decision: 'claim', passwordTries: 0 });
    expect(calls).toContain('password c-2fa sealed(meera@example.com) otp 123456');
  });

  it('a password without the code an account needs is not a try: the page asks for the code', async () => {
    // The app was set up after the look-up (secondFactor false), so only the check learns of it.
    const { rest, send } = run({ match: 'c-1', passwords: ['second-factor-required', 'second-factor-required', 'invalid', 'valid'] });
    await rest();
    await send({ type: 'MINE' });
    for (let i = 0; i < 2; i++) {
      const s = await send({ type: 'PASSWORD', password: 'secret', otp: null });
      expect(s.value).toBe('passwordEntry');
      expect(s.context).toMatchObject({ passwordTries: 0, secondFactor: true, error: 'code-required' });
    }
    expect((await send({ type: 'PASSWORD', password: 'secret', otp: '000000' })).context).toMatchObject({ passwordTries: 1, error: 'password-wrong' });
    expect((await send({ type: 'PASSWORD', password: 'secret', otp: '123456' })).context).toMatchObject({ decision: 'claim', passwordTries: 1 });
  });

  it('refute: a confirmation first, nothing migrated; BACK returns to the question, which still claims; CONFIRM makes the new account', async () => {
    const { rest, send, migrations } = run({ match: 'c-1', passwords: ['valid'] });
    await rest();
    const asked = await send({ type: 'NOT_MINE' });
    expect(asked.value).toBe('confirmNew');
    expect(asked.context).toMatchObject({ decision: null, reason: 'refuted', matchUserId: 'c-1', matchCloses: true });
    expect(asked.can({ type: 'FORGOT', ip: IP, language: 'en' })).toBe(false);
    const back = await send({ type: 'BACK' });
    expect(back.value).toBe('askOwnership');
    expect(back.context).toMatchObject({ decision: null, reason: null });
    await send({ type: 'MINE' });
    expect((await send({ type: 'PASSWORD', password: 'secret', otp: null })).context).toMatchObject({ decision: 'claim', reason: 'claimed' });
    expect(migrations).toEqual([expect.objectContaining({ decision: 'claim' })]);

    const refute = run({ match: 'c-1', proven: false });
    await refute.rest();
    await refute.send({ type: 'NOT_MINE' });
    const s = await refute.send({ type: 'CONFIRM', language: 'hi' });
    expect(s.value).toBe('finished');
    expect(s.context).toMatchObject({ decision: 'new', reason: 'refuted', matchCloses: false });
    // The new account speaks the language the person confirmed in.
    expect(refute.migrations).toEqual([expect.objectContaining({ decision: 'new', reason: 'refuted', matchUserId: 'c-1', language: 'hi' })]);
  });

  it('"not mine" from the password page asks to confirm as well', async () => {
    const { rest, send } = run({ match: 'c-1', passwords: ['invalid'] });
    await rest();
    await send({ type: 'MINE' });
    await send({ type: 'PASSWORD', password: 'x', otp: null });
    const s = await send({ type: 'NOT_MINE' });
    expect(s.value).toBe('confirmNew');
    expect(s.context).toMatchObject({ reason: 'refuted', passwordTries: 1 });
  });

  it('forgot password: a recovery code to the identifier (in the page language), then a new password, then the claim; the tries start over', async () => {
    const { rest, send, sent, calls, migrations } = run({ match: 'c-1', passwords: ['invalid', 'invalid'], codeOk: true });
    await rest();
    await send({ type: 'MINE' });
    await send({ type: 'PASSWORD', password: 'x', otp: null });
    await send({ type: 'PASSWORD', password: 'y', otp: null });
    const code = await send({ type: 'FORGOT', ip: IP, language: 'hi' });
    expect(code.value).toBe('recoveryCode');
    expect(sent).toEqual([{ identifier: sealed('meera@example.com'), purpose: 'recovery', ip: IP, language: 'hi' }]);
    // Back from the code after two wrong passwords: the confirmation again (no password try left).
    expect((await send({ type: 'BACK' })).value).toBe('confirmNew');
    await send({ type: 'FORGOT', ip: IP, language: 'en' });
    expect((await send({ type: 'RESEND', ip: IP, language: 'en' })).value).toBe('recoveryCode');
    expect(sent.map((s) => s.purpose)).toEqual(['recovery', 'recovery', 'recovery']);
    const chosen = await send({ type: 'CODE', code: '123456', ip: IP });
    expect(chosen.value).toBe('newPassword');
    expect(calls).toContain('verify recovery 123456');
    expect(migrations).toEqual([]);
    const s = await send({ type: 'NEW_PASSWORD', password: 'A-new-password-1', otp: null });
    expect(s.value).toBe('finished');
    expect(s.context).toMatchObject({ decision: 'claim', reason: 'recovered' });
    expect(calls).toContain('new password c-1 A-new-password-1');
    expect(migrations).toEqual([expect.objectContaining({ decision: 'claim', reason: 'recovered', matchUserId: 'c-1' })]);
  });

  it('recovery: a wrong code stays on the code page; a refused new password stays on its page; back goes to the password while tries remain', async () => {
    const wrong = run({ match: 'c-1', codeOk: false });
    await wrong.rest();
    await wrong.send({ type: 'MINE' });
    await wrong.send({ type: 'FORGOT', ip: IP, language: 'en' });
    const s = await wrong.send({ type: 'CODE', code: '000000', ip: IP });
    expect(s.value).toBe('recoveryCode');
    expect(s.context.error).toBe('code-invalid');
    expect((await wrong.send({ type: 'BACK' })).value).toBe('passwordEntry');

    const policy = run({ match: 'c-1', newPasswords: ['password-policy', 'password-reused', 'valid'] });
    await policy.rest();
    await policy.send({ type: 'MINE' });
    await policy.send({ type: 'FORGOT', ip: IP, language: 'en' });
    await policy.send({ type: 'CODE', code: '123456', ip: IP });
    expect((await policy.send({ type: 'NEW_PASSWORD', password: 'short', otp: null })).context).toMatchObject({ error: 'password-policy' });
    const reused = await policy.send({ type: 'NEW_PASSWORD', password: 'An-old-one-2024', otp: null });
    expect(reused.value).toBe('newPassword');
    expect(reused.context.error).toBe('password-reused');
    expect((await policy.send({ type: 'NEW_PASSWORD', password: 'A-new-password-1', otp: null })).value).toBe('finished');
  });

  it('recovery of an account with an authenticator app: a wrong app code keeps the new password and spends one try of the password page', async () => {
    const { rest, send, calls } = run({ match: 'c-2fa', secondFactor: true, newPasswords: ['invalid'], passwords: ['valid'] });
    await rest();
    await send({ type: 'MINE' });
    await send({ type: 'FORGOT', ip: IP, language: 'en' });
    await send({ type: 'CODE', code: '123456', ip: IP });
    const s = await send({ type: 'NEW_PASSWORD', password: 'A-new-password-1', otp: '000000' });
    expect(s.value).toBe('passwordEntry');
    expect(s.context).toMatchObject({ passwordTries: 1, error: 'recovered-code-wrong' });
    expect(calls).toContain('new password c-2fa A-new-password-1 otp 000000');
    expect((await send({ type: 'PASSWORD', password: 'A-new-password-1', otp: '123456' })).context).toMatchObject({ decision: 'claim', reason: 'claimed' });
  });

  it('recovery of an upstream-only member: the code claims it (no password to set here)', async () => {
    const { rest, send, migrations } = run({ holders: [{ kind: 'member', memberId: 'member-7' }] });
    await rest();
    await send({ type: 'MINE' });
    await send({ type: 'FORGOT', ip: IP, language: 'en' });
    const s = await send({ type: 'CODE', code: '123456', ip: IP });
    expect(s.value).toBe('finished');
    expect(s.context).toMatchObject({ decision: 'claim', reason: 'recovered' });
    expect(migrations).toEqual([expect.objectContaining({ decision: 'claim', reason: 'recovered', matchMemberId: 'member-7', matchUserId: null })]);
  });

  it('a migration that fails keeps the decision: "try again" retries it', async () => {
    const { rest, send, migrations } = run({ match: 'c-1', migrationFails: [true, false] });
    await rest();
    await send({ type: 'NOT_MINE' });
    const failed = await send({ type: 'CONFIRM', language: 'en' });
    expect(failed.value).toBe('notApplied');
    expect(failed.context).toMatchObject({ decision: 'new', reason: 'refuted', error: 'unavailable' });
    expect(failed.can({ type: 'COMPLETE' })).toBe(false);
    const s = await send({ type: 'RETRY' });
    expect(s.value).toBe('finished');
    expect(s.context.error).toBeNull();
    expect(migrations).toHaveLength(2);
  });

  it('no identifier from the IdP: OTP first (in the page language); a wrong code stays; the verified one is looked up', async () => {
    const wrong = run({ identifier: null, codeOk: false });
    expect((await wrong.rest()).value).toBe('needIdentifier');
    await wrong.send({ type: 'IDENTIFIER', identifier: sealed('a@b.example'), ip: IP, language: 'hi' });
    expect(wrong.sent).toEqual([{ identifier: sealed('a@b.example'), purpose: 'identifier', ip: IP, language: 'hi' }]);
    const s = await wrong.send({ type: 'CODE', code: '000000', ip: IP });
    expect(s.value).toBe('codeSent');
    expect(s.context.error).toBe('code-invalid');

    const ok = run({ identifier: null, match: 'c-2' });
    await ok.rest();
    await ok.send({ type: 'IDENTIFIER', identifier: sealed('a@b.example'), ip: IP, language: 'en' });
    const asked = await ok.send({ type: 'CODE', code: '123456', ip: IP });
    expect(asked.value).toBe('askOwnership');
    expect(asked.context.identifier?.masked).toBe('a•••@b.example');
    expect(ok.calls).toEqual(['migrated? b-1', 'send identifier sealed(a@b.example) 127.0.0.1', 'verify identifier 123456', 'lookup sealed(a@b.example)']);
  });

  it('an earlier flow of this state identity migrated already (Keycloak lost that login): decided "resume", no look-up', async () => {
    const { rest, send, calls, migrations } = run({ match: 'c-1', migrated: 'state-account-1' });
    const s = await rest();
    expect(s.value).toBe('decided');
    expect(s.context).toMatchObject({ decision: 'resume', reason: 'already-migrated', matchUserId: 'state-account-1' });
    expect(calls).toEqual(['migrated? b-1']);
    await send({ type: 'COMPLETE' });
    expect(migrations[0]).toMatchObject({ decision: 'resume', matchUserId: 'state-account-1' });
  });

  it("an active upstream-only member: asked the same way; its password is checked as the member's; the claim and the refute name the member, never an account", async () => {
    const member: Holder = { kind: 'member', memberId: 'member-7' };
    const claim = run({ holders: [member], passwords: ['invalid', 'valid'] });
    expect((await claim.rest()).value).toBe('askOwnership');
    await claim.send({ type: 'MINE' });
    expect((await claim.send({ type: 'PASSWORD', password: 'x', otp: null })).context).toMatchObject({ passwordTries: 1, error: 'password-wrong' });
    const s = await claim.send({ type: 'PASSWORD', password: 'y', otp: null });
    expect(s.context).toMatchObject({ decision: 'claim', reason: 'claimed', matchUserId: null, matchMemberId: 'member-7', secondFactor: false });
    expect(claim.calls).toContain('password member member-7 sealed(meera@example.com)');
    expect(claim.migrations[0]).toMatchObject({ decision: 'claim', matchUserId: null, matchMemberId: 'member-7' });

    const refute = run({ holders: [member] });
    await refute.rest();
    expect((await refute.send({ type: 'NOT_MINE' })).context).toMatchObject({ reason: 'refuted', matchMemberId: 'member-7', matchCloses: true });
    expect((await refute.send({ type: 'CONFIRM', language: 'en' })).context).toMatchObject({ decision: 'new', reason: 'refuted' });
  });

  it("held elsewhere (another tenant's account holds it proven): no claim; continue without it, or verify another one", async () => {
    const without = run({ holders: [{ kind: 'elsewhere' }] });
    const s = await without.rest();
    expect(s.value).toBe('heldElsewhere');
    expect(s.can({ type: 'MINE' })).toBe(false);
    expect(s.can({ type: 'PASSWORD', password: 'x', otp: null })).toBe(false);
    const done = await without.send({ type: 'CONTINUE', language: 'en' });
    expect(done.value).toBe('finished');
    expect(done.context).toMatchObject({ decision: 'new', reason: 'held-elsewhere', identifier: null, matchUserId: null, matchMemberId: null });
    expect(without.migrations[0]).toMatchObject({ decision: 'new', reason: 'held-elsewhere', identifier: null });

    const another = run({ holders: [{ kind: 'elsewhere' }, { kind: 'account', userId: 'c-9', secondFactor: false, proven: true }] });
    await another.rest();
    expect((await another.send({ type: 'CHANGE_IDENTIFIER' })).value).toBe('needIdentifier');
    await another.send({ type: 'IDENTIFIER', identifier: sealed('other@b.example'), ip: IP, language: 'en' });
    const asked = await another.send({ type: 'CODE', code: '123456', ip: IP });
    expect(asked.value).toBe('askOwnership');
    expect(asked.context).toMatchObject({ matchUserId: 'c-9', identifier: { masked: 'o•••@b.example' } });
  });

  it('only closed holders: the page says so; CONTINUE migrates "new" with the identifier (closed holders lose it)', async () => {
    const { rest, send, migrations } = run({ holders: [{ kind: 'closed' }] });
    const s = await rest();
    expect(s.value).toBe('closedHolder');
    expect(s.can({ type: 'COMPLETE' })).toBe(false);
    expect((await send({ type: 'CONTINUE', language: 'en' })).context).toMatchObject({
      decision: 'new',
      reason: 'closed-holder',
      matchUserId: null,
      identifier: { masked: 'm•••@example.com' },
    });
    expect(migrations[0]).toMatchObject({ reason: 'closed-holder', identifier: { sealed: 'sealed(meera@example.com)' } });
  });

  it('COMPLETE is accepted only once decided or migrated; the version says snapshots of the first machine restart', async () => {
    const { rest } = run({ match: 'c-1' });
    expect((await rest()).can({ type: 'COMPLETE' })).toBe(false);
    expect(STATE_CLAIM_MACHINE_VERSION).toBe(2);
  });
});
