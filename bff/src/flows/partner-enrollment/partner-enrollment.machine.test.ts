import { createActor, fromPromise, waitFor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { isAtRest } from '../../kernel/flow/index.ts';
import { partnerEnrollmentMachine, type EnrollmentSettings, type PartnerEnrollmentEvent } from './partner-enrollment.machine.ts';

/** The machine with recording fakes for its effects. */
function run(
  settings: EnrollmentSettings,
  opts: { userId?: string | null; kba?: 'found' | 'not_found' | ('found' | 'not_found')[]; verdicts?: ('passed' | 'failed')[]; kbaMaxStarts?: number } = {},
) {
  const calls: string[] = [];
  const verdicts = [...(opts.verdicts ?? [])];
  // One answer per start (the last one repeats); each found start gets a verification id of its own.
  const lookups = Array.isArray(opts.kba) ? [...opts.kba] : [opts.kba ?? 'found'];
  let verifications = 0;
  const machine = partnerEnrollmentMachine.provide({
    actors: {
      enroll: fromPromise(async ({ input }) => {
        calls.push(`enroll ${input.subject.dbpUserId} ${input.pii}`);
        return 'user-1';
      }),
      issueUserToken: fromPromise(async ({ input }) => {
        calls.push(`issue ${input.userId}`);
        return { accessToken: 'token-for-' + input.userId, expiresAt: '2030-01-01T00:00:00.000Z' };
      }),
      startKba: fromPromise(async ({ input }) => {
        calls.push(`startKba ${input.pii}`);
        const found = (lookups.length > 1 ? lookups.shift() : lookups[0]) === 'found';
        return found ? { verificationId: `v${++verifications}`, questions: [{ id: 'q1', text: 'Which street?' }] } : null;
      }),
      checkKba: fromPromise(async ({ input }) => {
        calls.push(`checkKba ${input.verificationId} ${input.answers.map((a) => a.answer).join(',')}`);
        return verdicts.shift() ?? 'failed';
      }),
    },
  });
  const actor = createActor(machine, {
    input: {
      tokenId: 't1',
      subject: { appKey: 'app', dbpUserId: 'dbp-1', clientId: 'bank' },
      settings,
      userId: opts.userId ?? null,
      pii: 'sealed-pii',
      kbaMaxAttempts: 3,
      kbaMaxStarts: opts.kbaMaxStarts ?? 3,
    },
  });
  actor.start();
  const rest = () => waitFor(actor, isAtRest, { timeout: 1000 });
  const send = async (event: PartnerEnrollmentEvent) => {
    actor.send(event);
    return rest();
  };
  return { actor, calls, rest, send };
}

const settings = (autoEnroll: boolean, trustAuth: boolean, kbaBypass: boolean): EnrollmentSettings => ({ autoEnroll, trustAuth, kbaBypass });

describe('partner enrollment machine: SPEC Flow 3, row by row', () => {
  it.each([settings(false, false, false), settings(true, true, true), settings(true, false, true), settings(true, false, false)])(
    'enrolled user, any settings (%o): rests in enrolled; EXCHANGE issues a userToken and ends',
    async (s) => {
      const { rest, send, calls } = run(s, { userId: 'user-9' });
      expect((await rest()).value).toBe('enrolled');
      expect((await rest()).can({ type: 'CONSENT' })).toBe(false);
      const done = await send({ type: 'EXCHANGE' });
      expect(done.value).toBe('done');
      expect(done.status).toBe('done');
      expect(done.context.userToken?.accessToken).toBe('token-for-user-9');
      expect(calls).toEqual(['issue user-9']);
    },
  );

  it('autoEnroll off: awaits the standard enrollment (no user made), no consent possible', async () => {
    const { rest, calls } = run(settings(false, true, true));
    const s = await rest();
    expect(s.value).toBe('awaitingEnrollment');
    expect(s.can({ type: 'CONSENT' })).toBe(false);
    expect(s.can({ type: 'EXCHANGE' })).toBe(false);
    expect(calls).toEqual([]);
  });

  it('autoEnroll + trustAuth: creates and maps the user at once, then rests enrolled', async () => {
    const { rest, send, calls } = run(settings(true, true, false));
    const s = await rest();
    expect(s.value).toBe('enrolled');
    expect(s.context.userId).toBe('user-1');
    expect(calls).toEqual(['enroll dbp-1 sealed-pii']);
    expect(s.can({ type: 'CONSENT' })).toBe(false);
    expect((await send({ type: 'EXCHANGE' })).context.userToken?.accessToken).toBe('token-for-user-1');
  });

  it('autoEnroll + kbaBypass without trustAuth: awaits consent; CONSENT creates, maps and issues', async () => {
    const { rest, send, calls } = run(settings(true, false, true));
    const s = await rest();
    expect(s.value).toBe('awaitingConsent');
    expect(s.can({ type: 'EXCHANGE' })).toBe(false);
    expect(calls).toEqual([]);
    const done = await send({ type: 'CONSENT' });
    expect(done.value).toBe('done');
    expect(done.context.userToken?.accessToken).toBe('token-for-user-1');
    expect(calls).toEqual(['enroll dbp-1 sealed-pii', 'issue user-1']);
  });

  it('autoEnroll without trustAuth or kbaBypass: conflict, nothing done', async () => {
    const { rest, calls } = run(settings(true, false, false));
    const s = await rest();
    expect(s.value).toBe('conflict');
    expect(s.status).toBe('done');
    expect(calls).toEqual([]);
  });
});

describe('partner enrollment machine: standard enrollment with KBA', () => {
  it('questions for the confirmed PII; right answers enroll with that PII and issue', async () => {
    const { send, calls } = run(settings(false, false, false), { verdicts: ['passed'] });
    const asked = await send({ type: 'START_KBA', pii: 'confirmed-pii' });
    expect(asked.value).toBe('awaitingKbaAnswers');
    expect(asked.context.kba?.questions).toEqual([{ id: 'q1', text: 'Which street?' }]);
    const done = await send({ type: 'ANSWER_KBA', answers: [{ questionId: 'q1', answer: 'Main' }] });
    expect(done.value).toBe('done');
    expect(calls).toEqual(['startKba confirmed-pii', 'checkKba v1 Main', 'enroll dbp-1 confirmed-pii', 'issue user-1']);
  });

  it('an identity the core cannot verify goes back to the form with a problem', async () => {
    const { send } = run(settings(false, false, false), { kba: 'not_found' });
    const s = await send({ type: 'START_KBA', pii: 'confirmed-pii' });
    expect(s.value).toBe('awaitingEnrollment');
    expect(s.context.problem).toBe('identity_not_verifiable');
  });

  it('wrong answers count down; the last wrong set locks the token without enrolling', async () => {
    const { send, calls } = run(settings(false, false, false), { verdicts: ['failed', 'failed', 'failed'] });
    await send({ type: 'START_KBA', pii: 'p' });
    const answer: PartnerEnrollmentEvent = { type: 'ANSWER_KBA', answers: [{ questionId: 'q1', answer: 'x' }] };
    let s = await send(answer);
    expect([s.value, s.context.kbaAttemptsLeft, s.context.problem]).toEqual(['awaitingKbaAnswers', 2, 'kba_failed']);
    s = await send(answer);
    expect([s.value, s.context.kbaAttemptsLeft]).toEqual(['awaitingKbaAnswers', 1]);
    s = await send(answer);
    expect([s.value, s.status, s.context.kbaAttemptsLeft]).toEqual(['kbaLocked', 'done', 0]);
    expect(calls.filter((c) => c.startsWith('enroll'))).toEqual([]);
  });

  it('a right answer after a wrong one still enrolls', async () => {
    const { send } = run(settings(false, false, false), { verdicts: ['failed', 'passed'] });
    await send({ type: 'START_KBA', pii: 'p' });
    await send({ type: 'ANSWER_KBA', answers: [{ questionId: 'q1', answer: 'x' }] });
    const done = await send({ type: 'ANSWER_KBA', answers: [{ questionId: 'q1', answer: 'y' }] });
    expect(done.value).toBe('done');
  });
});

describe('partner enrollment machine: KBA starts (issue 14 §3)', () => {
  it('each start is counted when it is taken; once none are left START_KBA is not possible and nothing is asked', async () => {
    const { send, calls } = run(settings(false, false, false), { kba: 'not_found', kbaMaxStarts: 2 });
    let s = await send({ type: 'START_KBA', pii: 'p1' });
    expect([s.value, s.context.kbaStartsLeft]).toEqual(['awaitingEnrollment', 1]);
    s = await send({ type: 'START_KBA', pii: 'p2' });
    expect([s.value, s.context.kbaStartsLeft]).toEqual(['awaitingEnrollment', 0]);
    expect(s.can({ type: 'START_KBA', pii: 'p3' })).toBe(false);
    s = await send({ type: 'START_KBA', pii: 'p3' });
    expect([s.value, s.context.pii, s.context.kbaStartsLeft]).toEqual(['awaitingEnrollment', 'p2', 0]);
    expect(calls).toEqual(['startKba p1', 'startKba p2']);
  });

  it('questions also use a start; with none left the started verification can still be answered', async () => {
    const { send, calls } = run(settings(false, false, false), { kbaMaxStarts: 1, verdicts: ['passed'] });
    const asked = await send({ type: 'START_KBA', pii: 'p1' });
    expect([asked.value, asked.context.kbaStartsLeft]).toEqual(['awaitingKbaAnswers', 0]);
    expect(asked.can({ type: 'START_KBA', pii: 'p2' })).toBe(false);
    const done = await send({ type: 'ANSWER_KBA', answers: [{ questionId: 'q1', answer: 'Main' }] });
    expect(done.value).toBe('done');
    expect(calls).toEqual(['startKba p1', 'checkKba v1 Main', 'enroll dbp-1 p1', 'issue user-1']);
  });

  it('answers go to the verification started last; a new start drops the one before', async () => {
    const { send, calls } = run(settings(false, false, false), { kba: ['found', 'found', 'not_found'], verdicts: ['failed'] });
    expect((await send({ type: 'START_KBA', pii: 'p1' })).context.kba?.verificationId).toBe('v1');
    expect((await send({ type: 'START_KBA', pii: 'p2' })).context.kba?.verificationId).toBe('v2');
    const answered = await send({ type: 'ANSWER_KBA', answers: [{ questionId: 'q1', answer: 'x' }] });
    expect(answered.value).toBe('awaitingKbaAnswers');
    // A start that finds nobody leaves nothing to answer, not the questions from before.
    const lost = await send({ type: 'START_KBA', pii: 'p3' });
    expect([lost.value, lost.context.kba, lost.context.problem]).toEqual(['awaitingEnrollment', null, 'identity_not_verifiable']);
    expect(lost.can({ type: 'ANSWER_KBA', answers: [{ questionId: 'q1', answer: 'x' }] })).toBe(false);
    expect(calls).toEqual(['startKba p1', 'startKba p2', 'checkKba v2 x', 'startKba p3']);
  });

  it('a new start keeps the wrong answers counted: tries are per token, not per verification', async () => {
    const { send } = run(settings(false, false, false), { verdicts: ['failed'] });
    await send({ type: 'START_KBA', pii: 'p1' });
    await send({ type: 'ANSWER_KBA', answers: [{ questionId: 'q1', answer: 'x' }] });
    const again = await send({ type: 'START_KBA', pii: 'p2' });
    expect([again.context.kbaAttemptsLeft, again.context.kbaStartsLeft]).toEqual([2, 1]);
  });
});
