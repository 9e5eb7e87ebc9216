import { assign, fromPromise, setup } from 'xstate';
import { FieldEncryption } from '../../bff/src/kernel/crypto/field-encryption.ts';
import { defineFlow } from '../../bff/src/kernel/flow/flow-runtime.ts';

/** The key ring the runtime tests seal snapshots with; the child process uses the same one. */
export const testFlowEncryption = new FieldEncryption({ keys: new Map([['flowtest', Buffer.alloc(32, 7)]]), activeKeyId: 'flowtest' });

/**
 * A tiny flow for the runtime's tests, shared by the test file and the child process that continues
 * a flow from another Node process. Pure: its two effects are placeholders the tests `.provide()`.
 *
 *   idle(rest) --GREET--> greeting (invokes greet) --done--> greeted(rest) --FINISH--> finished(final)
 *        \--BACKGROUND--> background(rest, invokes notify; its result is not waited for)
 *   POKE counts in every rest state.
 */
export interface TestFlowContext {
  name: string;
  greeting: string | null;
  pokes: number;
}

export type TestFlowEvent = { type: 'GREET' } | { type: 'POKE' } | { type: 'FINISH' } | { type: 'BACKGROUND' };

export const testFlowMachine = setup({
  types: {
    context: {} as TestFlowContext,
    input: {} as { name: string },
    events: {} as TestFlowEvent,
  },
  actors: {
    greet: fromPromise<string, { name: string }>(() => Promise.reject(new Error('greet not provided'))),
    notify: fromPromise<void, { name: string }>(() => Promise.reject(new Error('notify not provided'))),
  },
  actions: {
    poke: assign({ pokes: ({ context }) => context.pokes + 1 }),
  },
}).createMachine({
  id: 'test-flow',
  output: ({ context }) => ({ greeting: context.greeting }),
  context: ({ input }) => ({ name: input.name, greeting: null, pokes: 0 }),
  initial: 'idle',
  states: {
    idle: {
      tags: 'rest',
      on: { GREET: 'greeting', BACKGROUND: 'background', POKE: { actions: 'poke' } },
    },
    greeting: {
      invoke: {
        src: 'greet',
        input: ({ context }) => ({ name: context.name }),
        onDone: { target: 'greeted', actions: assign({ greeting: ({ event }) => event.output }) },
      },
    },
    greeted: {
      tags: 'rest',
      on: { FINISH: 'finished', POKE: { actions: 'poke' } },
    },
    // A rest state that runs an effect in the background: persisted while the effect is running.
    background: {
      tags: 'rest',
      invoke: { src: 'notify', input: ({ context }) => ({ name: context.name }), onDone: 'idle' },
      on: { POKE: { actions: 'poke' } },
    },
    finished: { type: 'final' },
  },
});

/** The machine with effects that behave, as a composition root would provide them. */
export function testFlow(
  effects: {
    greet?: (input: { name: string }) => Promise<string>;
    notify?: (input: { name: string }) => Promise<void>;
  } = {},
  machineVersion = 1,
) {
  return defineFlow({
    kind: 'test',
    machineVersion,
    ttlSeconds: 600,
    machine: testFlowMachine.provide({
      actors: {
        greet: fromPromise(({ input }: { input: { name: string } }) => (effects.greet ?? (async ({ name }) => `hello ${name}`))(input)),
        notify: fromPromise(({ input }: { input: { name: string } }) => (effects.notify ?? (() => new Promise<void>(() => undefined)))(input)),
      },
    }),
  });
}
