import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { isAtRest } from '../../kernel/flow/index.ts';
import {
  accountMergeMachine,
  MAX_PASSWORD_TRIES,
  MERGE_STEPS,
  type AccountMergeEvent,
  type MergePlan,
  type MergeStep,
  type PasswordCheck,
  type PasswordInput,
  type StepInput,
} from './account-merge.machine.ts';

const plan: MergePlan = {
  other: { username: 'other', firstName: 'O', lastName: null, upstreamUserId: null },
  current: { username: 'me', upstreamUserId: null },
  identifiers: [],
  links: [],
  partnerMappings: [],
  memberships: [],
  leavesCustodian: false,
};

/** The machine with fakes: `answers` the password checks in turn; `failAt` the step that fails once. */
function machine(opts: { answers?: PasswordCheck[]; failAt?: MergeStep } = {}) {
  const answers = [...(opts.answers ?? [{ outcome: 'valid', otherUserId: 'other-id' }])];
  const ran: MergeStep[] = [];
  let failed = false;
  const m = accountMergeMachine.provide({
    actors: {
      checkPassword: fromPromise<PasswordCheck, PasswordInput>(async () => answers.shift() ?? { outcome: 'invalid' }),
      plan: fromPromise<MergePlan, { userId: string; otherUserId: string }>(async () => plan),
      runStep: fromPromise<void, StepInput>(async ({ input }) => {
        ran.push(input.step);
        if (input.step === opts.failAt && !failed) {
          failed = true;
          throw Object.assign(new Error('down'), { code: 'IDENTITY_DIRECTORY_UNAVAILABLE' });
        }
      }),
    },
  });
  const actor = createActor(m, { input: { flowId: 'f', userId: 'me' } }).start();
  const send = async (event: AccountMergeEvent) => {
    actor.send(event);
    return waitFor(actor, (s) => isAtRest(s), { timeout: 2000 });
  };
  return { actor, send, ran };
}

const password = { type: 'PASSWORD', login: 'other', password: 'x', otp: null } as const;

describe('account merge machine', () => {
  it('proves, previews, confirms, runs every step once in order', async () => {
    const { send, ran } = machine();
    expect((await send(password)).value).toBe('preview');
    expect((await send({ type: 'CONFIRM' })).value).toBe('confirmed');
    expect(ran).toEqual([]); // nothing changes before the steps run
    const done = await send({ type: 'RESUME' });
    expect(done.value).toBe('merged');
    expect(ran).toEqual([...MERGE_STEPS]);
    expect(done.context.done).toEqual([...MERGE_STEPS]);
  });

  it('counts wrong passwords and locks after the last try', async () => {
    const { send } = machine({ answers: [{ outcome: 'invalid' }, { outcome: 'invalid' }, { outcome: 'invalid' }] });
    for (let i = 1; i < MAX_PASSWORD_TRIES; i++) {
      const s = await send(password);
      expect(s.value).toBe('proof');
      expect(s.context).toMatchObject({ error: 'password-wrong', passwordTries: i, otherUserId: null });
    }
    const last = await send(password);
    expect(last.value).toBe('locked');
    expect(last.status).toBe('done');
  });

  it('refuses the same account, one merged already and a missing app code without counting a try', async () => {
    const { send } = machine({ answers: [{ outcome: 'same-account' }, { outcome: 'already-merged' }, { outcome: 'second-factor-required' }] });
    expect((await send(password)).context).toMatchObject({ error: 'same-account', passwordTries: 0, otherUserId: null });
    expect((await send(password)).context).toMatchObject({ error: 'already-merged', passwordTries: 0 });
    expect((await send(password)).context).toMatchObject({ error: 'code-required', passwordTries: 0 });
  });

  it('takes no confirmation before the proof', () => {
    const { actor } = machine();
    expect(actor.getSnapshot().can({ type: 'CONFIRM' })).toBe(false);
    expect(actor.getSnapshot().can({ type: 'RESUME' })).toBe(false);
  });

  it('stops at a failing step and resumes from it: every step done once, the failed one tried twice', async () => {
    const { send, ran } = machine({ failAt: 'close' });
    await send(password);
    await send({ type: 'CONFIRM' });
    const stopped = await send({ type: 'RESUME' });
    expect(stopped.value).toBe('interrupted');
    expect(stopped.context).toMatchObject({ failedStep: 'close', failure: 'IDENTITY_DIRECTORY_UNAVAILABLE' });
    expect(stopped.context.done).toEqual(MERGE_STEPS.slice(0, MERGE_STEPS.indexOf('close')));
    const done = await send({ type: 'RESUME' });
    expect(done.value).toBe('merged');
    expect(ran.filter((s) => s === 'close')).toHaveLength(2);
    for (const step of MERGE_STEPS.filter((s) => s !== 'close')) expect(ran.filter((s) => s === step)).toHaveLength(1);
  });

  it('cancels from the preview: nothing runs', async () => {
    const { send, ran } = machine();
    await send(password);
    const s = await send({ type: 'CANCEL' });
    expect(s.value).toBe('cancelled');
    expect(ran).toEqual([]);
  });
});
