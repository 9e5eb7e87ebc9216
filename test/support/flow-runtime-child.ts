/**
 * Run by `test/integration/flow-runtime.test.ts` as a separate Node process: opens its own ORM on the
 * given database and continues a flow another process started, proving the flow lives in the row and
 * not in anybody's memory. Prints the resulting view as one JSON line.
 *
 *   node test/support/flow-runtime-child.ts <databaseUrl> <flowId> <GREET|POKE|FINISH>
 */
import { createOrm } from '../../bff/src/persistence/orm.ts';
import { FlowRuntime } from '../../bff/src/kernel/flow/flow-runtime.ts';
import { testFlow, testFlowEncryption, type TestFlowEvent } from './flow-test-machine.ts';

const [databaseUrl, flowId, eventName] = process.argv.slice(2);
if (databaseUrl === undefined || flowId === undefined || eventName === undefined) {
  throw new Error('usage: flow-runtime-child.ts <databaseUrl> <flowId> <event>');
}
// Events are built here from a known list, never parsed from input.
const events: Record<string, TestFlowEvent> = { GREET: { type: 'GREET' }, POKE: { type: 'POKE' }, FINISH: { type: 'FINISH' } };
const event = events[eventName];
if (event === undefined) throw new Error(`unknown event ${eventName}`);

const orm = await createOrm({ databaseUrl });
try {
  const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
  const view = await runtime.send(testFlow({ greet: async ({ name }) => `hello ${name} from pid ${process.pid}` }), flowId, event);
  process.stdout.write(
    `${JSON.stringify({ pid: process.pid, state: view.state, version: view.version, context: view.snapshot.context })}\n`,
  );
} finally {
  await orm.close();
}
