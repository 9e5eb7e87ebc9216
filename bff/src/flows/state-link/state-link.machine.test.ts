import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { REST_TAG } from '../../kernel/flow/index.ts';
import { type ApplyInput, type LookupResult, type SessionTarget, StepFailure, stateLinkMachine, type StateLinkInput } from './state-link.machine.ts';

const input: StateLinkInput = {
  flowId: 'f1',
  tenant: 'state-demo',
  identityProvider: 'state-demo',
  stateUserId: 'SD-1',
  name: 'Uma Sharma',
  phone: '+919812345678',
  language: 'hi',
};
const target = { clientId: 'portal', tabId: 'tab1' };

function run(found: LookupResult, opts: { identityProvider?: string | null; apply?: (i: ApplyInput) => Promise<{ userId: string }> } = {}) {
  const calls: string[] = [];
  const machine = stateLinkMachine.provide({
    actors: {
      lookup: fromPromise(async () => found),
      sendCode: fromPromise(async ({ input: i }: { input: { phone: string; language: 'en' | 'hi'; ip: string } }) => {
        calls.push(`send:${i.phone}:${i.language}:${i.ip}`);
      }),
      verifyAndApply: fromPromise(async ({ input: i }: { input: ApplyInput }) => {
        calls.push(`apply:${i.mode}:${i.code}`);
        return opts.apply ? opts.apply(i) : { userId: i.userId ?? 'new-user' };
      }),
      signIn: fromPromise(async ({ input: i }: { input: { userId: string; target: SessionTarget } }) => {
        calls.push(`sign-in:${i.userId}:${i.target.tabId}`);
        return { continueUrl: `https://kc/continue?for=${i.userId}` };
      }),
    },
  });
  const actor = createActor(machine, { input: { ...input, ...(opts.identityProvider !== undefined ? { identityProvider: opts.identityProvider } : {}) } });
  actor.start();
  const rest = () => waitFor(actor, (s) => s.hasTag(REST_TAG));
  return { actor, calls, rest };
}

describe('state-link machine', () => {
  it("found and verified: waits for Keycloak's session, then a ticket for that tab; no code", async () => {
    const { actor, calls, rest } = run({ kind: 'signed-in', userId: 'u1' });
    expect((await rest()).value).toBe('ready');
    actor.send({ type: 'ARRIVE', target, ip: '10.0.0.1' });
    const done = await rest();
    expect(done.value).toBe('done');
    expect(done.context).toMatchObject({ continueUrl: 'https://kc/continue?for=u1', outcome: 'signed-in' });
    expect(calls).toEqual(['sign-in:u1:tab1']);
  });

  it("nobody: a code in the link's language, a wrong code stays with its error, the right one creates and signs in", async () => {
    let tries = 0;
    const { actor, calls, rest } = run(
      { kind: 'new' },
      {
        apply: async () => {
          tries++;
          if (tries === 1) throw new StepFailure('code-invalid');
          return { userId: 'created' };
        },
      },
    );
    expect((await rest()).value).toBe('needsCode');
    actor.send({ type: 'ARRIVE', target, ip: '10.0.0.1' });
    expect((await rest()).value).toBe('codeSent');
    actor.send({ type: 'CODE', code: '000000', ip: '10.0.0.1' });
    const wrong = await rest();
    expect(wrong.value).toBe('codeSent');
    expect(wrong.context.error).toBe('code-invalid');
    actor.send({ type: 'CODE', code: '123456', ip: '10.0.0.1' });
    const done = await rest();
    expect(done.value).toBe('done');
    expect(done.context.outcome).toBe('created');
    expect(calls).toEqual(['send:+919812345678:hi:10.0.0.1', 'apply:new:000000', 'apply:new:123456', 'sign-in:created:tab1']);
  });

  it('found unverified: the code verifies the phone of that account (its id from the look-up, never from an event)', async () => {
    const { actor, calls, rest } = run({ kind: 'verify-phone', userId: 'u2' });
    await rest();
    actor.send({ type: 'ARRIVE', target, ip: 'ip' });
    await rest();
    actor.send({ type: 'CODE', code: '123456', ip: 'ip' });
    const done = await rest();
    expect(done.context).toMatchObject({ userId: 'u2', outcome: 'phone-verified' });
    expect(calls).toContain('apply:verify-phone:123456');
  });

  it('refusals end the flow; a custodian match without a state IdP to send it through is refused too', async () => {
    const closed = run({ kind: 'refused', refusal: 'closed' });
    expect((await closed.rest()).context.refusal).toBe('closed');
    const claim = run({ kind: 'claim' });
    expect((await claim.rest()).value).toBe('claim');
    const noIdp = run({ kind: 'claim' }, { identityProvider: null });
    const s = await noIdp.rest();
    expect(s.value).toBe('refused');
    expect(s.context.refusal).toBe('no-claim');
  });

  it("a CODE before Keycloak's session is not taken (nothing runs)", async () => {
    const { actor, calls, rest } = run({ kind: 'new' });
    await rest();
    actor.send({ type: 'CODE', code: '123456', ip: 'ip' });
    expect(actor.getSnapshot().value).toBe('needsCode');
    expect(calls).toEqual([]);
  });
});
