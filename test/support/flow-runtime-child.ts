/**
 * Run by `test/integration/flow-runtime.test.ts` as a separate Node process: opens its own connection
 * to the store and continues a flow another process started, proving the flow lives in the store and
 * not in anybody's memory. Prints the resulting view as one JSON line.
 *
 *   node test/support/flow-runtime-child.ts postgres <databaseUrl> <flowId> <GREET|POKE|FINISH>
 *   node test/support/flow-runtime-child.ts redis <redisUrl> <keyPrefix> <flowId> <GREET|POKE|FINISH>
 */
import { connectRedis } from '../../bff/src/adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from '../../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { RedisFlowStore } from '../../bff/src/adapters/redis/redis-flow-store.ts';
import { FlowRuntime } from '../../bff/src/kernel/flow/flow-runtime.ts';
import type { FlowStore } from '../../bff/src/kernel/flow/flow-store.ts';
import { PostgresFlowStore } from '../../bff/src/kernel/flow/postgres-flow-store.ts';
import { createOrm } from '../../bff/src/persistence/orm.ts';
import { testFlow, testFlowEncryption, type TestFlowEvent } from './flow-test-machine.ts';

const args = process.argv.slice(2);
const [storeName] = args;
const [flowId, eventName] = args.slice(storeName === 'redis' ? 3 : 2);
if ((storeName !== 'postgres' && storeName !== 'redis') || flowId === undefined || eventName === undefined) {
  throw new Error('usage: flow-runtime-child.ts postgres <databaseUrl> | redis <redisUrl> <keyPrefix>, then <flowId> <event>');
}
// Events are built here from a known list, never parsed from input.
const events: Record<string, TestFlowEvent> = { GREET: { type: 'GREET' }, POKE: { type: 'POKE' }, FINISH: { type: 'FINISH' } };
const event = events[eventName];
if (event === undefined) throw new Error(`unknown event ${eventName}`);

let store: FlowStore;
let close: () => Promise<void>;
if (storeName === 'postgres') {
  const orm = await createOrm({ databaseUrl: args[1]! });
  store = new PostgresFlowStore(orm.em);
  close = () => orm.close();
} else {
  const redis = await connectRedis(args[1]!, { connectionName: 'test-flow-runtime-child' });
  store = new RedisFlowStore({ store: new RedisEphemeralStore({ redis, keyPrefix: args[2]! }) });
  close = async () => redis.disconnect();
}
try {
  const runtime = new FlowRuntime({ store, encryption: testFlowEncryption });
  const view = await runtime.send(testFlow({ greet: async ({ name }) => `hello ${name} from pid ${process.pid}` }), flowId, event);
  process.stdout.write(`${JSON.stringify({ pid: process.pid, state: view.state, version: view.version, context: view.snapshot.context })}\n`);
} finally {
  await close();
}
