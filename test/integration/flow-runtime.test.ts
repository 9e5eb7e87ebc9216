import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { connectRedis } from '../../bff/src/adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from '../../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { RedisFlowStore } from '../../bff/src/adapters/redis/redis-flow-store.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import { FlowError, FlowRuntime, defineFlow, type FlowRuntimeDependencies } from '../../bff/src/kernel/flow/flow-runtime.ts';
import type { FlowStore, StoredFlow } from '../../bff/src/kernel/flow/flow-store.ts';
import { PostgresFlowStore } from '../../bff/src/kernel/flow/postgres-flow-store.ts';
import { migrateUp, pendingMigrations } from '../../bff/src/persistence/migrate.ts';
import { migrations } from '../../bff/src/persistence/migrations/index.ts';
import { createOrm, type Orm } from '../../bff/src/persistence/orm.ts';
import { ensureDatabase } from '../../bff/src/persistence/ensure-database.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';
import { testFlow, testFlowEncryption } from '../support/flow-test-machine.ts';

const execFileAsync = promisify(execFile);
const childScript = fileURLToPath(new URL('../support/flow-runtime-child.ts', import.meta.url));
const migrateCli = fileURLToPath(new URL('../../bff/src/persistence/migrate-cli.ts', import.meta.url));

let db: TestDatabase;
let orm: Orm;
const extraOrms: Orm[] = [];
const extraDbs: TestDatabase[] = [];
const keys = testKeyPrefix('flow-runtime');
let redis: Redis;
const extraRedis: Redis[] = [];

beforeAll(async () => {
  db = await createTestDatabase('flow_runtime');
  orm = await createOrm({ databaseUrl: db.url });
  await migrateUp(orm);
  redis = await connectRedis(redisUrl, { connectionName: 'test-flow-runtime' });
});

afterAll(async () => {
  await Promise.all(extraOrms.map((o) => o.close(true)));
  await orm?.close(true);
  await db?.drop();
  await Promise.all(extraDbs.map((d) => d.drop()));
  await keys.cleanup();
  for (const r of [redis, ...extraRedis]) r?.disconnect();
});

/** A second "BFF process" in this one: its own ORM instance (own pool, own metadata) and runtime. */
async function secondOrm(url = db.url): Promise<Orm> {
  const other = await createOrm({ databaseUrl: url });
  extraOrms.push(other);
  return other;
}

async function domainErrorOf(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

describe('migrations', () => {
  it('are idempotent: a second run applies nothing and nothing is pending', async () => {
    expect((await migrateUp(orm)).applied).toEqual([]);
    expect(await pendingMigrations(orm)).toEqual([]);
  });

  it('apply once when two processes migrate a fresh database at the same time', async () => {
    const fresh = await createTestDatabase('flow_migrate');
    extraDbs.push(fresh);
    const [a, b] = [await secondOrm(fresh.url), await secondOrm(fresh.url)];
    const runs = await Promise.all([migrateUp(a), migrateUp(b)]);
    expect(runs.flatMap((r) => r.applied)).toEqual(migrations.map((m) => m.name));
    const logged = await a.em.getConnection().execute('select name from mikro_orm_migrations');
    expect(logged).toHaveLength(migrations.length);
  });

  it('create the flow table with the specified columns', async () => {
    const columns = await orm.em.getConnection().execute<{ column_name: string; data_type: string; is_nullable: string }[]>(
      `select column_name, data_type, is_nullable from information_schema.columns
         where table_schema = 'public' and table_name = 'flow' order by ordinal_position`,
    );
    expect(columns.map((c) => [c.column_name, c.data_type])).toEqual([
      ['id', 'uuid'],
      ['kind', 'character varying'],
      ['state', 'character varying'],
      ['snapshot', 'jsonb'],
      ['machine_version', 'integer'],
      ['expires_at', 'timestamp with time zone'],
      ['created_at', 'timestamp with time zone'],
      ['updated_at', 'timestamp with time zone'],
      ['version', 'integer'],
    ]);
    expect(columns.every((c) => c.is_nullable === 'NO')).toBe(true);
  });

  it('match the entity metadata (no schema drift between migration and entity)', async () => {
    const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe('');
  });

  it('run from the CLI under plain Node (type stripping): creates the database, applies, then has nothing to do', async () => {
    const target = await createTestDatabase('flow_cli');
    await target.drop();
    extraDbs.push(target);
    const run = (...args: string[]) => execFileAsync(process.execPath, [migrateCli, ...args], { timeout: 20_000 });
    expect((await run('up', target.url)).stdout).toBe(`created database\n${migrations.map((m) => `applied ${m.name}\n`).join('')}`);
    expect((await run('up', target.url)).stdout).toBe('schema is up to date\n');
    expect((await run('pending', target.url)).stdout).toBe('');
    expect((await run('diff', target.url)).stdout).toBe('-- entities and migrated schema agree\n');
  });

  it('ensureDatabase creates a missing database once and is a no-op afterwards', async () => {
    const probe = await createTestDatabase('flow_ensure');
    await probe.drop();
    extraDbs.push(probe);
    expect(await ensureDatabase(probe.url)).toEqual({ created: true });
    expect(await ensureDatabase(probe.url)).toEqual({ created: false });
  });
});

describe('entity manager', () => {
  // Every store works in a fork of its own (no per-request context): the global one refuses any use
  // that would share an identity map between requests.
  it('refuses to be used without a fork', () => {
    expect(() => orm.em.getContext().getUnitOfWork()).toThrow(/global EntityManager/);
  });
});

/** A flow as its store holds it, read around the runtime (SQL, a Redis GET), its snapshot opened. */
interface RawFlow {
  state: string;
  version: number;
  machineVersion: number;
  expiresAt: Date;
  /** As stored: `{ sealed }`. */
  snapshot: Record<string, unknown>;
  /** The snapshot opened with the test key ring; null when it does not open there. */
  opened: Record<string, unknown> | null;
}

/** Each store the runtime's behaviour is checked against: the same tests run on both. */
interface StoreUnderTest {
  name: string;
  /** A store; `other`: on a connection of its own (a second BFF process in this one). */
  store(options?: { other?: boolean }): Promise<FlowStore>;
  /** The flow as stored, read around the runtime; undefined when there is none. */
  read(id: string, kind?: string): Promise<RawFlow | undefined>;
  /** Overwrites what is stored as the flow's snapshot, around the runtime (an attacker, an older version). */
  writeSnapshot(id: string, snapshot: Record<string, unknown>, kind?: string): Promise<void>;
  /** Arguments of test/support/flow-runtime-child.ts before the flow id. */
  childArgs: () => string[];
  /** A step holds the flow (a lock): a second step at the same time is refused before it runs anything. */
  locking: boolean;
}

function opened(id: string, kind: string, snapshot: Record<string, unknown>): Record<string, unknown> | null {
  if (typeof snapshot.sealed !== 'string') return snapshot;
  try {
    return JSON.parse(testFlowEncryption.open(snapshot.sealed, `flow:${id}:${kind}:snapshot`)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

const postgres: StoreUnderTest = {
  name: 'PostgreSQL',
  store: async (options = {}) => new PostgresFlowStore((options.other ? await secondOrm() : orm).em),
  async read(id) {
    const rows = await orm.em.getConnection().execute<Record<string, unknown>[]>('select * from flow where id = ?', [id]);
    const row = rows[0];
    if (row === undefined) return undefined;
    const snapshot = row.snapshot as Record<string, unknown>;
    return {
      state: row.state as string,
      version: row.version as number,
      machineVersion: row.machine_version as number,
      // MikroORM's connection hands timestamps back as text; compare instants, not formatting.
      expiresAt: new Date(row.expires_at as string),
      snapshot,
      opened: opened(id, row.kind as string, snapshot),
    };
  },
  async writeSnapshot(id, snapshot) {
    await orm.em.getConnection().execute('update flow set snapshot = ? where id = ?', [JSON.stringify(snapshot), id]);
  },
  childArgs: () => ['postgres', db.url],
  locking: false,
};

const redisRecordKey = (id: string, kind = 'test') => `${keys.prefix}flow:${kind}:${id}`;
const redisStore: StoreUnderTest = {
  name: 'Redis',
  async store(options = {}) {
    let connection = redis;
    if (options.other) {
      connection = await connectRedis(redisUrl, { connectionName: 'test-flow-runtime-other' });
      extraRedis.push(connection);
    }
    return new RedisFlowStore({ store: new RedisEphemeralStore({ redis: connection, keyPrefix: keys.prefix }) });
  },
  async read(id, kind = 'test') {
    const raw = await redis.get(redisRecordKey(id, kind));
    if (raw === null) return undefined;
    const record = JSON.parse(raw) as { state: string; version: number; machineVersion: number; expiresAt: number; snapshot: Record<string, unknown> };
    return { ...record, expiresAt: new Date(record.expiresAt), opened: opened(id, kind, record.snapshot) };
  },
  async writeSnapshot(id, snapshot, kind = 'test') {
    const key = redisRecordKey(id, kind);
    const record = JSON.parse((await redis.get(key))!) as Record<string, unknown>;
    await redis.set(key, JSON.stringify({ ...record, snapshot }), 'KEEPTTL');
  },
  childArgs: () => ['redis', redisUrl, keys.prefix],
  locking: true,
};

describe.each([postgres, redisStore])('FlowRuntime on $name', (under) => {
  const runtimeOn = async (options: Omit<FlowRuntimeDependencies, 'store' | 'encryption'> & { other?: boolean } = {}) => {
    const { other, ...rest } = options;
    return new FlowRuntime({ store: await under.store({ other }), encryption: testFlowEncryption, ...rest });
  };

  it('creates a flow, sends an event, and persists the rest state with a new version', async () => {
    const greeted: string[] = [];
    const flow = testFlow({ greet: async ({ name }) => (greeted.push(name), `hello ${name}`) });
    const runtime = await runtimeOn();

    const created = await runtime.create(flow, { name: 'Ada' });
    expect(created).toMatchObject({ kind: 'test', state: 'idle', version: 1 });
    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const inserted = await under.read(created.id);
    expect(inserted).toMatchObject({ state: 'idle', machineVersion: 1, version: 1 });
    expect(inserted?.expiresAt.getTime()).toBe(created.expiresAt.getTime());

    const sent = await runtime.send(flow, created.id, { type: 'GREET' });
    expect(greeted).toEqual(['Ada']);
    expect(sent.state).toBe('greeted');
    expect(sent.version).toBe(2);
    expect(sent.snapshot.context.greeting).toBe('hello Ada');
    expect(sent.snapshot.hasTag('rest')).toBe(true);

    const stored = await under.read(created.id);
    expect(stored).toMatchObject({ state: 'greeted', version: 2 });
    expect(stored?.opened).toMatchObject({ value: 'greeted', status: 'active', context: { greeting: 'hello Ada' } });

    const read = await runtime.get(flow, created.id);
    expect(read.state).toBe('greeted');
    expect(read.snapshot.matches('greeted')).toBe(true);
    expect(greeted).toHaveLength(1); // reading runs nothing
  });

  it("creates a flow under the caller's id", async () => {
    const runtime = await runtimeOn();
    const id = crypto.randomUUID();
    const flow = testFlow();
    expect((await runtime.create(flow, { name: 'Ada' }, { id })).id).toBe(id);
    expect(await under.read(id)).toMatchObject({ state: 'idle' });
    expect((await runtime.send(flow, id, { type: 'GREET' })).state).toBe('greeted');
  });

  it('refuses an expired flow with FLOW_EXPIRED and changes nothing', async () => {
    let now = new Date('2026-11-23T10:00:00Z');
    const greeted: string[] = [];
    const flow = testFlow({ greet: async ({ name }) => (greeted.push(name), 'hi') });
    const runtime = await runtimeOn({ now: () => now });
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const before = await under.read(id);

    now = new Date('2026-11-23T10:09:59.999Z');
    expect((await runtime.get(flow, id)).state).toBe('idle');
    now = new Date('2026-11-23T10:10:00Z'); // exactly expiresAt
    const error = await domainErrorOf(runtime.send(flow, id, { type: 'GREET' }));
    expect(error).toBeInstanceOf(FlowError);
    expect(error.code).toBe('FLOW_EXPIRED');
    expect(error.details).toMatchObject({ kind: 'test', flowId: id });
    expect((await domainErrorOf(runtime.get(flow, id))).code).toBe('FLOW_EXPIRED');

    expect(greeted).toEqual([]);
    expect(await under.read(id)).toEqual(before);
  });

  it('lets exactly one of two racing sends win; the other gets FLOW_CONFLICT', async () => {
    // The effect waits until both sends have started it, or one of them has been refused.
    let started = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const greet = async ({ name }: { name: string }) => {
      started += 1;
      if (started === 2) release();
      await gate;
      return `hello ${name}`;
    };
    const flow = testFlow({ greet });
    const runtimeA = await runtimeOn();
    const runtimeB = await runtimeOn({ other: true });
    const { id } = await runtimeA.create(flow, { name: 'Ada' });

    const sends = [runtimeA.send(flow, id, { type: 'GREET' }), runtimeB.send(flow, id, { type: 'GREET' })];
    for (const send of sends) send.catch(() => release());
    const results = await Promise.allSettled(sends);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    const loser = rejected[0]!.reason as DomainError;
    expect(loser).toBeInstanceOf(FlowError);
    expect(loser.code).toBe('FLOW_CONFLICT');
    // Optimistic (PostgreSQL): both ran the effect and the second save lost. Locking (Redis): the
    // second was refused before it ran anything.
    expect(started).toBe(under.locking ? 1 : 2);
    expect(await under.read(id)).toMatchObject({ state: 'greeted', version: 2 });
  });

  it('is continued by another connection and runtime (a second BFF process in this one)', async () => {
    const flow = testFlow();
    const first = await runtimeOn();
    const { id } = await first.create(flow, { name: 'Grace' });

    const second = await runtimeOn({ other: true });
    const greeted = await second.send(flow, id, { type: 'GREET' });
    expect(greeted).toMatchObject({ state: 'greeted', version: 2 });

    const back = await first.send(flow, id, { type: 'POKE' });
    expect(back.version).toBe(3);
    expect(back.snapshot.context).toMatchObject({ greeting: 'hello Grace', pokes: 1 });
  });

  it('is continued by a real second Node process: nothing lives in memory', async () => {
    const flow = testFlow();
    const runtime = await runtimeOn();
    const { id } = await runtime.create(flow, { name: 'Linus' });

    const { stdout } = await execFileAsync(process.execPath, [childScript, ...under.childArgs(), id, 'GREET'], { timeout: 20_000 });
    const child = JSON.parse(stdout.trim()) as { pid: number; state: string; version: number; context: { greeting: string } };
    expect(child.pid).not.toBe(process.pid);
    expect(child).toMatchObject({ state: 'greeted', version: 2 });
    expect(child.context.greeting).toBe(`hello Linus from pid ${child.pid}`);

    // And back in this process, from what the child stored.
    const finished = await runtime.send(flow, id, { type: 'FINISH' });
    expect(finished.snapshot.status).toBe('done');
    expect(finished.snapshot.output).toEqual({ greeting: `hello Linus from pid ${child.pid}` });
    expect(await under.read(id)).toMatchObject({ state: 'finished', version: 3 });
  });

  it('refuses a flow persisted by another machine version with FLOW_OUTDATED and changes nothing', async () => {
    const runtime = await runtimeOn();
    const { id } = await runtime.create(testFlow({}, 1), { name: 'Ada' });
    const before = await under.read(id);
    const error = await domainErrorOf(runtime.send(testFlow({}, 2), id, { type: 'GREET' }));
    expect(error.code).toBe('FLOW_OUTDATED');
    expect(await under.read(id)).toEqual(before);
  });

  it('re-runs a promise actor that was still running when its rest state was persisted (effects must be idempotent)', async () => {
    const notified: { name: string }[] = [];
    const flow = testFlow({
      // Never settles: the flow is persisted with the invocation still active.
      notify: (input) => (notified.push(input), new Promise<void>(() => undefined)),
    });
    const runtime = await runtimeOn();
    const { id } = await runtime.create(flow, { name: 'Ada' });

    const waiting = await runtime.send(flow, id, { type: 'BACKGROUND' });
    expect(waiting.state).toBe('background');
    expect(notified).toHaveLength(1);
    const stored = await under.read(id);
    const children = stored?.opened?.children as Record<string, { snapshot: { status: string } }>;
    expect(Object.values(children).map((c) => c.snapshot.status)).toEqual(['active']);

    // The next step restores the snapshot: XState starts the persisted, still-active promise again.
    const poked = await runtime.send(flow, id, { type: 'POKE' });
    expect(poked.snapshot.context.pokes).toBe(1);
    expect(notified).toEqual([{ name: 'Ada' }, { name: 'Ada' }]);

    // Reading restores without starting: no re-run.
    await runtime.get(flow, id);
    expect(notified).toHaveLength(2);
  });

  it('answers NOT_FOUND for unknown ids, malformed ids and flows of another kind', async () => {
    const runtime = await runtimeOn();
    const flow = testFlow();
    for (const id of ['7f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f', 'not-a-uuid', "' or 1=1 --", 'flow:*', '']) {
      const error = await domainErrorOf(runtime.send(flow, id, { type: 'GREET' }));
      expect(error).toBeInstanceOf(FlowError);
      expect(error.code).toBe('NOT_FOUND');
      expect((await domainErrorOf(runtime.get(flow, id))).code).toBe('NOT_FOUND');
    }
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const otherKind = { ...flow, kind: 'other' };
    expect((await domainErrorOf(runtime.send(otherKind, id, { type: 'GREET' }))).code).toBe('NOT_FOUND');
    expect((await runtime.send(flow, id, { type: 'GREET' })).state).toBe('greeted');
  });

  it('refuses an event the current state does not accept, without running effects or writing', async () => {
    const greeted: string[] = [];
    const flow = testFlow({ greet: async ({ name }) => (greeted.push(name), 'hi') });
    const runtime = await runtimeOn();
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const before = await under.read(id);
    const error = await domainErrorOf(runtime.send(flow, id, { type: 'FINISH' }));
    expect(error).toBeInstanceOf(FlowError);
    expect(error.code).toBe('CONFLICT');
    expect(error.details).toMatchObject({ state: 'idle', event: 'FINISH' });
    expect(greeted).toEqual([]);
    expect(await under.read(id)).toEqual(before);
    expect((await runtime.send(flow, id, { type: 'GREET' })).state).toBe('greeted'); // and it is not left held
  });

  it('answers later steps of a finished flow with its final view, unchanged', async () => {
    const flow = testFlow();
    const runtime = await runtimeOn();
    const { id } = await runtime.create(flow, { name: 'Ada' });
    await runtime.send(flow, id, { type: 'GREET' });
    const done = await runtime.send(flow, id, { type: 'FINISH' });
    expect(done).toMatchObject({ state: 'finished', version: 3 });
    const again = await runtime.send(flow, id, { type: 'FINISH' });
    expect(again).toMatchObject({ state: 'finished', version: 3 });
    expect(again.snapshot.output).toEqual({ greeting: 'hello Ada' });
    expect(await under.read(id)).toMatchObject({ version: 3 });
  });

  it('deletes a finished flow at once when its kind says so; later steps are NOT_FOUND', async () => {
    const flow = { ...testFlow(), whenDone: 'delete' as const };
    const runtime = await runtimeOn();
    const { id } = await runtime.create(flow, { name: 'Ada' });
    await runtime.send(flow, id, { type: 'GREET' });
    const done = await runtime.send(flow, id, { type: 'FINISH' });
    expect(done).toMatchObject({ state: 'finished', version: 3 });
    expect(done.snapshot.output).toEqual({ greeting: 'hello Ada' });
    expect(await under.read(id)).toBeUndefined();
    expect((await domainErrorOf(runtime.send(flow, id, { type: 'FINISH' }))).code).toBe('NOT_FOUND');
    expect((await domainErrorOf(runtime.get(flow, id))).code).toBe('NOT_FOUND');
  });

  it('stores nothing for a flow of such a kind that is done at creation; a first state at rest is stored as it is', async () => {
    const machine = setup({ types: { context: {} as { end: boolean }, input: {} as { end: boolean } } }).createMachine({
      context: ({ input }) => ({ end: input.end }),
      initial: 'deciding',
      states: {
        deciding: { always: [{ guard: ({ context }) => context.end, target: 'ended' }, { target: 'waiting' }] },
        waiting: { tags: 'rest' },
        ended: { type: 'final' },
      },
    });
    const flow = defineFlow({ kind: 'decide', machineVersion: 1, ttlSeconds: 60, machine, whenDone: 'delete' });
    const runtime = await runtimeOn();
    const ended = await runtime.create(flow, { end: true });
    expect(ended.snapshot.status).toBe('done');
    expect(ended.state).toBe('ended');
    expect(await under.read(ended.id, 'decide')).toBeUndefined();
    expect((await domainErrorOf(runtime.get(flow, ended.id))).code).toBe('NOT_FOUND');

    const waiting = await runtime.create(flow, { end: false });
    expect(await under.read(waiting.id, 'decide')).toMatchObject({ state: 'waiting', version: 1 });
    expect((await runtime.get(flow, waiting.id)).snapshot.matches('waiting')).toBe(true);
  });

  it('lets a step only look: nothing runs, nothing is written, and the flow is not left held', async () => {
    const greeted: string[] = [];
    const flow = testFlow({ greet: async ({ name }) => (greeted.push(name), 'hi') });
    const runtime = await runtimeOn();
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const before = await under.read(id);
    const seen: string[] = [];
    const looked = await runtime.step(flow, id, (current) => (seen.push(current.state), null));
    expect(seen).toEqual(['idle']);
    expect(looked).toMatchObject({ state: 'idle', version: 1 });
    expect(await under.read(id)).toEqual(before);
    expect(await runtime.step(flow, id, (current) => (current.snapshot.matches('idle') ? { event: { type: 'GREET' as const } } : null))).toMatchObject({
      state: 'greeted',
      version: 2,
    });
    expect(greeted).toEqual(['Ada']);
  });

  it("runs a step's beforeSave after the machine rests and before the save; its failure saves nothing", async () => {
    const flow = testFlow();
    const runtime = await runtimeOn();
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const before = await under.read(id);
    const seen: { state: string; stored: string | undefined }[] = [];
    const beforeSave = (fail: boolean) => async (snapshot: { value: unknown }) => {
      seen.push({ state: String(snapshot.value), stored: (await under.read(id))?.state });
      if (fail) throw new DomainError('UPSTREAM_UNAVAILABLE', 'audit down');
    };
    expect((await domainErrorOf(runtime.step(flow, id, () => ({ event: { type: 'GREET' as const }, beforeSave: beforeSave(true) })))).code).toBe(
      'UPSTREAM_UNAVAILABLE',
    );
    expect(await under.read(id)).toEqual(before);
    const greeted = await runtime.step(flow, id, () => ({ event: { type: 'GREET' as const }, beforeSave: beforeSave(false) }));
    expect(greeted).toMatchObject({ state: 'greeted', version: 2 });
    expect(seen).toEqual([
      { state: 'greeted', stored: 'idle' },
      { state: 'greeted', stored: 'idle' },
    ]);
  });

  it('leaves the flow untouched when an unhandled effect fails, so the step can be retried', async () => {
    let fail = true;
    const flow = testFlow({
      greet: async ({ name }) => {
        if (fail) throw new DomainError('UPSTREAM_UNAVAILABLE', 'upstream down');
        return `hello ${name}`;
      },
    });
    const runtime = await runtimeOn();
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const before = await under.read(id);

    const error = await domainErrorOf(runtime.send(flow, id, { type: 'GREET' }));
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error).not.toBeInstanceOf(FlowError); // the effect's own error, as it was thrown
    expect(await under.read(id)).toEqual(before);

    fail = false;
    expect(await runtime.send(flow, id, { type: 'GREET' })).toMatchObject({ state: 'greeted', version: 2 });
  });

  it('abandons a step that does not come to rest in time, without persisting', async () => {
    const flow = testFlow({ greet: () => new Promise<string>(() => undefined) });
    const runtime = await runtimeOn({ settleTimeoutMs: 100 });
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const before = await under.read(id);
    await expect(runtime.send(flow, id, { type: 'GREET' })).rejects.toThrow(/did not come to rest within 100 ms/);
    expect(await under.read(id)).toEqual(before);
    expect((await runtime.send(flow, id, { type: 'POKE' })).version).toBe(2);
  });

  it('stores the snapshot sealed (decision 0022): nothing of the context in clear, bound to its own flow', async () => {
    const runtime = await runtimeOn();
    const flow = testFlow();
    const a = await runtime.create(flow, { name: 'Zephyrine Quillfeather' });
    await runtime.send(flow, a.id, { type: 'GREET' });
    const b = await runtime.create(flow, { name: 'Other Person' });
    const stored = await under.read(a.id);
    expect(Object.keys(stored!.snapshot)).toEqual(['sealed']);
    expect(stored!.snapshot.sealed).toMatch(/^v1\.flowtest\.[A-Za-z0-9_-]+$/);
    const { opened: _opened, ...raw } = stored!;
    expect(JSON.stringify(raw)).not.toMatch(/Zephyrine|Quillfeather/);
    expect(stored!.opened).toMatchObject({ context: { name: 'Zephyrine Quillfeather', greeting: 'hello Zephyrine Quillfeather' } });

    // A's sealed snapshot copied into B's record does not open there, and B is left as it was.
    await under.writeSnapshot(b.id, stored!.snapshot);
    await expect(runtime.get(flow, b.id)).rejects.toThrow(/failed authentication/);
    await expect(runtime.send(flow, b.id, { type: 'POKE' })).rejects.toThrow(/failed authentication/);
    expect(await under.read(b.id)).toMatchObject({ version: 1, opened: null });
  });

  it('stores the snapshot as it is for a flow that seals nothing itself (sealSnapshot: false), and reads a sealed one', async () => {
    const runtime = await runtimeOn();
    const flow = { ...testFlow(), sealSnapshot: false };
    const { id } = await runtime.create(flow, { name: 'Ids Only' });
    await runtime.send(flow, id, { type: 'GREET' });
    const stored = await under.read(id);
    expect(stored!.snapshot).toMatchObject({ value: 'greeted', context: { name: 'Ids Only', greeting: 'hello Ids Only' } });
    expect(stored!.snapshot.sealed).toBeUndefined();
    // One sealed before the flow stopped sealing (or by another version) still opens.
    const sealed = await runtime.create(testFlow(), { name: 'Sealed' });
    expect((await runtime.send(flow, sealed.id, { type: 'POKE' })).snapshot.context).toMatchObject({ name: 'Sealed', pokes: 1 });
    expect((await under.read(sealed.id))!.snapshot).toMatchObject({ context: { name: 'Sealed', pokes: 1 } });
  });

  it('reads a snapshot stored in clear by an older version, and seals it at its next step', async () => {
    const runtime = await runtimeOn();
    const flow = testFlow();
    const { id } = await runtime.create(flow, { name: 'Legacy Person' });
    await under.writeSnapshot(id, (await under.read(id))!.opened!);
    expect((await under.read(id))!.snapshot).toMatchObject({ context: { name: 'Legacy Person' } });

    expect((await runtime.get(flow, id)).snapshot.context.name).toBe('Legacy Person');
    const poked = await runtime.send(flow, id, { type: 'POKE' });
    expect(poked.snapshot.context).toMatchObject({ name: 'Legacy Person', pokes: 1 });
    const stored = await under.read(id);
    expect(Object.keys(stored!.snapshot)).toEqual(['sealed']);
    expect(stored!.opened).toMatchObject({ context: { name: 'Legacy Person', pokes: 1 } });
  });

  it('refuses to persist a context that is not plain JSON (it would not come back the same)', async () => {
    // A tiny machine of its own: its context takes a Date, which JSON would turn into a string.
    const machine = setup({ types: { context: {} as { at: Date | null }, events: {} as { type: 'STAMP' } } }).createMachine({
      context: { at: null },
      initial: 'waiting',
      states: { waiting: { tags: 'rest', on: { STAMP: { actions: assign({ at: () => new Date() }) } } } },
    });
    const flow = defineFlow({ kind: 'stamp', machineVersion: 1, ttlSeconds: 60, machine });
    const runtime = await runtimeOn();
    const { id } = await runtime.create(flow, undefined);
    await expect(runtime.send(flow, id, { type: 'STAMP' })).rejects.toThrow(/not plain JSON at \$\.context\.at/);
    expect(await under.read(id, 'stamp')).toMatchObject({ version: 1 });
    expect((await runtime.get(flow, id)).version).toBe(1);
  });
});

describe('FlowRuntime on PostgreSQL only', () => {
  const runtimeOn = (now?: () => Date) => new FlowRuntime({ store: new PostgresFlowStore(orm.em), encryption: testFlowEncryption, ...(now ? { now } : {}) });

  it("stamps the row's creation and last step", async () => {
    const runtime = runtimeOn();
    const flow = testFlow();
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const [row] = await orm.em
      .getConnection()
      .execute<{ expires_at: string; created_at: string; updated_at: string }[]>('select * from flow where id = ?', [id]);
    expect(new Date(row!.expires_at).getTime() - new Date(row!.created_at).getTime()).toBe(600_000);
    expect(row!.updated_at).toEqual(row!.created_at);
    await runtime.send(flow, id, { type: 'GREET' });
    const [after] = await orm.em.getConnection().execute<{ created_at: string; updated_at: string }[]>('select * from flow where id = ?', [id]);
    expect(new Date(after!.updated_at).getTime()).toBeGreaterThanOrEqual(new Date(after!.created_at).getTime());
  });

  it('purges flows that expired before a given time', async () => {
    let now = new Date('2020-01-01T00:00:00Z');
    const runtime = runtimeOn(() => now);
    const flow = testFlow();
    const old = await runtime.create(flow, { name: 'old' }, { ttlSeconds: 60 });
    now = new Date('2020-01-01T00:30:00Z');
    const fresh = await runtime.create(flow, { name: 'fresh' }, { ttlSeconds: 3600 });
    expect(await runtime.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await postgres.read(old.id)).toBeUndefined();
    expect(await postgres.read(fresh.id)).toBeDefined();
  });
});

describe('FlowRuntime on Redis only', () => {
  const ephemeral = () => new RedisEphemeralStore({ redis, keyPrefix: keys.prefix });
  const lockKey = (id: string, kind = 'test') => `${keys.prefix}flow-lock:${kind}:${id}`;

  it('keeps each flow in one record that expires with it, and its lock only while a step runs', async () => {
    let inStep = 0;
    const flow = testFlow({ greet: async ({ name }) => ((inStep = await redis.exists(lockKey(id))), `hello ${name}`) });
    const runtime = new FlowRuntime({ store: new RedisFlowStore({ store: ephemeral() }), encryption: testFlowEncryption });
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const ttl = await redis.pttl(redisRecordKey(id));
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
    expect(await redis.keys(`${keys.prefix}*${id}*`)).toEqual([redisRecordKey(id)]);

    await runtime.send(flow, id, { type: 'GREET' });
    expect(inStep).toBe(1);
    expect(await redis.exists(lockKey(id))).toBe(0);
    expect(await runtime.purgeExpired()).toBe(0); // Redis expires them itself
  });

  it('uses the key names configured for a kind', async () => {
    const flow = testFlow();
    const store = new RedisFlowStore({ store: ephemeral(), keys: { test: { record: 'legacy:rec:', lock: 'legacy:lock:' } } });
    const runtime = new FlowRuntime({ store, encryption: testFlowEncryption });
    const { id } = await runtime.create(flow, { name: 'Ada' });
    expect(await redis.keys(`${keys.prefix}*${id}*`)).toEqual([`${keys.prefix}legacy:rec:${id}`]);
    expect(await store.take('test', id)).not.toBeNull();
    expect(await redis.exists(`${keys.prefix}legacy:lock:${id}`)).toBe(1);
    await store.delete('test', id);
    expect(await redis.keys(`${keys.prefix}*${id}*`)).toEqual([]);
  });

  it('keeps a record until its own expiry and refuses to write an expired one', async () => {
    const store = new RedisFlowStore({ store: ephemeral() });
    const now = Date.now();
    const flow: StoredFlow = {
      id: 't1',
      kind: 'test',
      state: 'idle',
      snapshot: { sealed: 'x' },
      machineVersion: 1,
      expiresAt: new Date(now + 60_000),
      version: 1,
    };
    await store.insert(flow, new Date(now));
    const ttl = await redis.pttl(redisRecordKey('t1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await store.take('test', 't1')).toEqual({ flow });
    expect(await store.save({ ...flow, version: 2 }, new Date(now + 60_000))).toBe('expired');
    expect(await redis.exists(lockKey('t1'))).toBe(0);
    expect(await store.load('test', 't1')).toEqual(flow);
  });

  it('lets one step at a time hold a flow, and drops record and lock together at the end', async () => {
    const store = new RedisFlowStore({ store: ephemeral() });
    const flow: StoredFlow = {
      id: 't2',
      kind: 'test',
      state: 'idle',
      snapshot: { sealed: 'x' },
      machineVersion: 1,
      expiresAt: new Date(Date.now() + 60_000),
      version: 1,
    };
    await store.insert(flow, new Date());
    const results = await Promise.all(Array.from({ length: 10 }, () => store.take('test', 't2')));
    expect(results.filter((r) => r !== null)).toEqual([{ flow }]);
    await store.release('test', 't2');
    expect(await store.take('test', 't2')).toEqual({ flow });
    await store.delete('test', 't2');
    expect(await redis.exists(redisRecordKey('t2'), lockKey('t2'))).toBe(0);
    expect(await store.take('test', 't2')).toEqual({ flow: null });
    await store.release('test', 't2');
  });

  it('refuses a second step while one holds the flow, before running anything; the lock dies with a crashed step', async () => {
    const greeted: string[] = [];
    const flow = testFlow({ greet: async ({ name }) => (greeted.push(name), 'hi') });
    const store = new RedisFlowStore({ store: ephemeral(), holdMs: 300 });
    const runtime = new FlowRuntime({ store, encryption: testFlowEncryption, settleTimeoutMs: 200 });
    const { id } = await runtime.create(flow, { name: 'Ada' });
    expect(await store.take('test', id)).not.toBeNull(); // a step whose process then dies
    const error = await domainErrorOf(runtime.send(flow, id, { type: 'GREET' }));
    expect(error).toBeInstanceOf(FlowError);
    expect(error.code).toBe('FLOW_CONFLICT');
    expect(greeted).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await runtime.send(flow, id, { type: 'GREET' })).state).toBe('greeted');
  });

  it('refuses a settle timeout the lock would not outlive', () => {
    const store = new RedisFlowStore({ store: ephemeral(), holdMs: 1_000 });
    expect(() => new FlowRuntime({ store, encryption: testFlowEncryption, settleTimeoutMs: 1_000 })).toThrow(/shorter than the store's hold/);
    expect(() => new FlowRuntime({ store, encryption: testFlowEncryption })).toThrow(/shorter than the store's hold/);
  });

  it('reads a record written before flows were kept by the runtime (no state, no version, snapshot in clear)', async () => {
    const flow = testFlow();
    const runtime = new FlowRuntime({ store: new RedisFlowStore({ store: ephemeral() }), encryption: testFlowEncryption });
    const { id } = await runtime.create(flow, { name: 'Old Record' });
    const { machineVersion, expiresAt, opened: snapshot } = (await redisStore.read(id))!;
    expect(snapshot).toMatchObject({ value: 'idle' });
    await redis.set(redisRecordKey(id), JSON.stringify({ machineVersion, expiresAt: expiresAt.getTime(), snapshot }), 'KEEPTTL');
    expect(await runtime.get(flow, id)).toMatchObject({ state: 'idle', version: 1 });
    expect((await runtime.send(flow, id, { type: 'GREET' })).snapshot.context.greeting).toBe('hello Old Record');
    expect(await redisStore.read(id)).toMatchObject({ state: 'greeted', version: 2, snapshot: { sealed: expect.any(String) } });
  });
});
