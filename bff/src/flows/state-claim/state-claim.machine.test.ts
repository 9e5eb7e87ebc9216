import { createActor, fromPromise, waitFor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { maskIdentifier } from '../../accounts/identifiers.ts';
import { isAtRest } from '../../kernel/flow/index.ts';
import { StepFailure, stateClaimMachine, type Holder, type MigrationInput, type SealedIdentifier, type StateClaimEvent } from './state-claim.machine.ts';

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
  } = {},
) {
  const holders = [...(opts.holders ?? [])];
  const calls: string[] = [];
  const migrations: MigrationInput[] = [];
  const passwords = [...(opts.passwords ?? [])];
  const machine = stateClaimMachine.provide({
    actors: {
      findMigratedAccount: fromPromise(async ({ input }) => {
        calls.push(`migrated? ${input.identity.brokeredUserId}`);
        return opts.migrated ? { userId: opts.migrated } : null;
      }),
      sendCode: fromPromise(async ({ input }) => void calls.push(`send ${input.identifier.sealed} ${input.ip}`)),
      verifyCode: fromPromise(async ({ input }) => {
        calls.push(`verify ${input.code}`);
        if (opts.codeOk === false) throw new StepFailure('code-invalid');
      }),
      findHolder: fromPromise(async ({ input }) => {
        calls.push(`lookup ${input.identifier.sealed}`);
        if (opts.holders) return holders.shift() ?? null;
        return opts.match ? { kind: 'account' as const, userId: opts.match, secondFactor: opts.secondFactor ?? false } : null;
      }),
      checkPassword: fromPromise(async ({ input }) => {
        calls.push(`password ${input.userId ?? `member ${input.memberId}`} ${input.identifier.sealed}${input.otp ? ` otp ${input.otp}` : ''}`);
        const next = passwords.shift() ?? 'invalid';
        if (next === 'down') throw new Error('keycloak down');
        return next;
      }),
      migrate: fromPromise(async ({ input }) => {
        migrations.push(input);
        return { userId: input.decision === 'claim' ? input.matchUserId! : 'new-user', created: input.decision === 'new' };
      }),
    },
  });
  const actor = createActor(machine, {
    input: {
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
  return { actor, calls, migrations, rest, send };
}

describe('state claim machine', () => {
  it('no match: decided "new" at once; COMPLETE migrates without an account to strip', async () => {
    const { rest, send, migrations } = run({ match: null });
    const s = await rest();
    expect(s.value).toBe('decided');
    expect(s.context).toMatchObject({ decision: 'new', reason: 'no-match', matchUserId: null });
    const done = await send({ type: 'COMPLETE', flowId: 'f-1' });
    expect(done.status).toBe('done');
    expect(migrations).toEqual([expect.objectContaining({ flowId: 'f-1', decision: 'new', matchUserId: null })]);
  });

  it('claim: the account the look-up found is the one whose password is checked and that migrates', async () => {
    const { rest, send, calls, migrations } = run({ match: 'custodian-1', passwords: ['valid'] });
    expect((await rest()).value).toBe('askOwnership');
    expect((await send({ type: 'MINE' })).value).toBe('passwordEntry');
    const s = await send({ type: 'PASSWORD', password: 'secret', otp: null });
    expect(s.context).toMatchObject({ decision: 'claim', reason: 'claimed', passwordTries: 0 });
    await send({ type: 'COMPLETE', flowId: 'f-1' });
    expect(calls).toContain('password custodian-1 sealed(meera@example.com)');
    expect(migrations[0]).toMatchObject({ decision: 'claim', matchUserId: 'custodian-1' });
  });

  it('one retry: wrong then right claims; wrong twice decides "new" (password-tries)', async () => {
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
    expect(s.value).toBe('decided');
    expect(s.context).toMatchObject({ decision: 'new', reason: 'password-tries', passwordTries: 2 });
    expect(s.can({ type: 'PASSWORD', password: 'z', otp: null })).toBe(false);
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

  it('refute: decided "new" with the matched account to strip', async () => {
    const { rest, send } = run({ match: 'c-1' });
    await rest();
    expect((await send({ type: 'NOT_MINE' })).context).toMatchObject({ decision: 'new', reason: 'refuted', matchUserId: 'c-1' });
  });

  it('no identifier from the IdP: OTP first; a wrong code stays; the verified one is looked up', async () => {
    const wrong = run({ identifier: null, codeOk: false });
    expect((await wrong.rest()).value).toBe('needIdentifier');
    await wrong.send({ type: 'IDENTIFIER', identifier: sealed('a@b.example'), ip: '127.0.0.1' });
    const s = await wrong.send({ type: 'CODE', code: '000000', ip: '127.0.0.1' });
    expect(s.value).toBe('codeSent');
    expect(s.context.error).toBe('code-invalid');

    const ok = run({ identifier: null, match: 'c-2' });
    await ok.rest();
    await ok.send({ type: 'IDENTIFIER', identifier: sealed('a@b.example'), ip: '127.0.0.1' });
    const asked = await ok.send({ type: 'CODE', code: '123456', ip: '127.0.0.1' });
    expect(asked.value).toBe('askOwnership');
    expect(asked.context.identifier?.masked).toBe('a•••@b.example');
    expect(ok.calls).toEqual(['migrated? b-1', 'send sealed(a@b.example) 127.0.0.1', 'verify 123456', 'lookup sealed(a@b.example)']);
  });

  it('an earlier flow of this state identity migrated already (Keycloak lost that login): decided "resume", no look-up', async () => {
    const { rest, send, calls, migrations } = run({ match: 'c-1', migrated: 'state-account-1' });
    const s = await rest();
    expect(s.value).toBe('decided');
    expect(s.context).toMatchObject({ decision: 'resume', reason: 'already-migrated', matchUserId: 'state-account-1' });
    expect(calls).toEqual(['migrated? b-1']);
    await send({ type: 'COMPLETE', flowId: 'f-9' });
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
    await claim.send({ type: 'COMPLETE', flowId: 'f-1' });
    expect(claim.calls).toContain('password member member-7 sealed(meera@example.com)');
    expect(claim.migrations[0]).toMatchObject({ decision: 'claim', matchUserId: null, matchMemberId: 'member-7' });

    const refute = run({ holders: [member] });
    await refute.rest();
    expect((await refute.send({ type: 'NOT_MINE' })).context).toMatchObject({ decision: 'new', reason: 'refuted', matchMemberId: 'member-7' });
  });

  it("held elsewhere (another tenant's account holds it proven): no claim; continue without it, or verify another one", async () => {
    const without = run({ holders: [{ kind: 'elsewhere' }] });
    const s = await without.rest();
    expect(s.value).toBe('heldElsewhere');
    expect(s.can({ type: 'MINE' })).toBe(false);
    expect(s.can({ type: 'PASSWORD', password: 'x', otp: null })).toBe(false);
    const decided = await without.send({ type: 'CONTINUE' });
    expect(decided.context).toMatchObject({ decision: 'new', reason: 'held-elsewhere', identifier: null, matchUserId: null, matchMemberId: null });
    await without.send({ type: 'COMPLETE', flowId: 'f-2' });
    expect(without.migrations[0]).toMatchObject({ decision: 'new', reason: 'held-elsewhere', identifier: null });

    const another = run({ holders: [{ kind: 'elsewhere' }, { kind: 'account', userId: 'c-9', secondFactor: false }] });
    await another.rest();
    expect((await another.send({ type: 'CHANGE_IDENTIFIER' })).value).toBe('needIdentifier');
    await another.send({ type: 'IDENTIFIER', identifier: sealed('other@b.example'), ip: '127.0.0.1' });
    const asked = await another.send({ type: 'CODE', code: '123456', ip: '127.0.0.1' });
    expect(asked.value).toBe('askOwnership');
    expect(asked.context).toMatchObject({ matchUserId: 'c-9', identifier: { masked: 'o•••@b.example' } });
  });

  it('only closed holders: the page says so; CONTINUE decides "new" with the identifier (closed holders lose it at the migration)', async () => {
    const { rest, send, migrations } = run({ holders: [{ kind: 'closed' }] });
    const s = await rest();
    expect(s.value).toBe('closedHolder');
    expect(s.can({ type: 'COMPLETE', flowId: 'f' })).toBe(false);
    expect((await send({ type: 'CONTINUE' })).context).toMatchObject({
      decision: 'new',
      reason: 'closed-holder',
      matchUserId: null,
      identifier: { masked: 'm•••@example.com' },
    });
    await send({ type: 'COMPLETE', flowId: 'f-3' });
    expect(migrations[0]).toMatchObject({ reason: 'closed-holder', identifier: { sealed: 'sealed(meera@example.com)' } });
  });

  it('COMPLETE is accepted only once decided', async () => {
    const { rest } = run({ match: 'c-1' });
    expect((await rest()).can({ type: 'COMPLETE', flowId: 'f' })).toBe(false);
  });
});
