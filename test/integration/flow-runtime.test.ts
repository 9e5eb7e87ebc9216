import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import { FlowRuntime } from '../../bff/src/kernel/flow/flow-runtime.ts';
import { migrateUp, pendingMigrations } from '../../bff/src/persistence/migrate.ts';
import { migrations } from '../../bff/src/persistence/migrations/index.ts';
import { createOrm, type Orm } from '../../bff/src/persistence/orm.ts';
import { ensureDatabase } from '../../bff/src/persistence/ensure-database.ts';
import { defineFlow } from '../../bff/src/kernel/flow/flow-runtime.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { testFlow, testFlowEncryption } from '../support/flow-test-machine.ts';

const execFileAsync = promisify(execFile);
const childScript = fileURLToPath(new URL('../support/flow-runtime-child.ts', import.meta.url));
const migrateCli = fileURLToPath(new URL('../../bff/src/persistence/migrate-cli.ts', import.meta.url));

let db: TestDatabase;
let orm: Orm;
const extraOrms: Orm[] = [];
const extraDbs: TestDatabase[] = [];

beforeAll(async () => {
  db = await createTestDatabase('flow_runtime');
  orm = await createOrm({ databaseUrl: db.url });
  await migrateUp(orm);
});

afterAll(async () => {
  await Promise.all(extraOrms.map((o) => o.close(true)));
  await orm?.close(true);
  await db?.drop();
  await Promise.all(extraDbs.map((d) => d.drop()));
});

/** A second "BFF process" in this one: its own ORM instance (own pool, own metadata) and runtime. */
async function secondOrm(url = db.url): Promise<Orm> {
  const other = await createOrm({ databaseUrl: url });
  extraOrms.push(other);
  return other;
}

interface RawRow {
  id: string;
  kind: string;
  state: string;
  /** The column as stored: `{ sealed }`. */
  snapshot: Record<string, unknown>;
  /** The snapshot opened with the test key ring. */
  opened: Record<string, unknown>;
  machine_version: number;
  expires_at: Date;
  created_at: Date;
  updated_at: Date;
  version: number;
}

/** Reads the row with plain SQL, bypassing the runtime and the entity mapping. */
async function readRow(id: string): Promise<RawRow | undefined> {
  const rows = await orm.em.getConnection().execute<Record<string, unknown>[]>('select * from flow where id = ?', [id]);
  const row = rows[0];
  if (row === undefined) return undefined;
  // MikroORM's connection hands timestamps back as text; compare instants, not formatting.
  const date = (v: unknown) => new Date(v as string);
  const snapshot = row.snapshot as { sealed?: string };
  return {
    ...(row as unknown as RawRow),
    opened: typeof snapshot.sealed === 'string' ? (JSON.parse(testFlowEncryption.open(snapshot.sealed, `flow:${id}:${String(row.kind)}:snapshot`)) as Record<string, unknown>) : snapshot,
    expires_at: date(row.expires_at),
    created_at: date(row.created_at),
    updated_at: date(row.updated_at),
  };
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
    const columns = await orm.em
      .getConnection()
      .execute<{ column_name: string; data_type: string; is_nullable: string }[]>(
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

describe('FlowRuntime', () => {
  it('creates a flow, sends an event, and persists the rest state with a new version', async () => {
    const greeted: string[] = [];
    const flow = testFlow({ greet: async ({ name }) => (greeted.push(name), `hello ${name}`) });
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });

    const created = await runtime.create(flow, { name: 'Ada' });
    expect(created).toMatchObject({ kind: 'test', state: 'idle', version: 1 });
    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const inserted = await readRow(created.id);
    expect(inserted).toMatchObject({ kind: 'test', state: 'idle', machine_version: 1, version: 1 });
    expect(inserted?.expires_at.getTime()).toBe(created.expiresAt.getTime());
    expect(inserted!.expires_at.getTime() - inserted!.created_at.getTime()).toBe(600_000);

    const sent = await runtime.send(flow, created.id, { type: 'GREET' });
    expect(greeted).toEqual(['Ada']);
    expect(sent.state).toBe('greeted');
    expect(sent.version).toBe(2);
    expect(sent.snapshot.context.greeting).toBe('hello Ada');
    expect(sent.snapshot.hasTag('rest')).toBe(true);

    const row = await readRow(created.id);
    expect(row).toMatchObject({ state: 'greeted', version: 2 });
    expect(row?.opened).toMatchObject({ value: 'greeted', status: 'active', context: { greeting: 'hello Ada' } });
    expect(row!.updated_at.getTime()).toBeGreaterThanOrEqual(row!.created_at.getTime());

    const read = await runtime.get(flow, created.id);
    expect(read.state).toBe('greeted');
    expect(read.snapshot.matches('greeted')).toBe(true);
    expect(greeted).toHaveLength(1); // reading runs nothing
  });

  it('refuses an expired flow with FLOW_EXPIRED and changes nothing', async () => {
    let now = new Date('2026-11-23T10:00:00Z');
    const greeted: string[] = [];
    const flow = testFlow({ greet: async ({ name }) => (greeted.push(name), 'hi') });
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption, now: () => now });
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const before = await readRow(id);

    now = new Date('2026-11-23T10:09:59.999Z');
    expect((await runtime.get(flow, id)).state).toBe('idle');
    now = new Date('2026-11-23T10:10:00Z'); // exactly expiresAt
    const error = await domainErrorOf(runtime.send(flow, id, { type: 'GREET' }));
    expect(error.code).toBe('FLOW_EXPIRED');
    expect(error.details).toMatchObject({ kind: 'test', flowId: id });
    expect((await domainErrorOf(runtime.get(flow, id))).code).toBe('FLOW_EXPIRED');

    expect(greeted).toEqual([]);
    expect(await readRow(id)).toEqual(before);
  });

  it('lets exactly one of two racing sends win; the other gets FLOW_CONFLICT', async () => {
    // Both effects wait until both have started, so both sends loaded version 1 before either persists.
    let started = 0;
    let releaseBoth!: () => void;
    const bothStarted = new Promise<void>((resolve) => (releaseBoth = resolve));
    const greet = async ({ name }: { name: string }) => {
      started += 1;
      if (started === 2) releaseBoth();
      await bothStarted;
      return `hello ${name}`;
    };
    const flow = testFlow({ greet });
    const runtimeA = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const runtimeB = new FlowRuntime({ em: (await secondOrm()).em, encryption: testFlowEncryption });
    const { id } = await runtimeA.create(flow, { name: 'Ada' });

    const results = await Promise.allSettled([runtimeA.send(flow, id, { type: 'GREET' }), runtimeB.send(flow, id, { type: 'GREET' })]);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(started).toBe(2);
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toBeInstanceOf(DomainError);
    expect((rejected[0]?.reason as DomainError).code).toBe('FLOW_CONFLICT');
    expect(await readRow(id)).toMatchObject({ state: 'greeted', version: 2 });
  });

  it('is continued by another ORM instance and runtime (a second BFF process in this one)', async () => {
    const flow = testFlow();
    const first = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const { id } = await first.create(flow, { name: 'Grace' });

    const other = await secondOrm();
    const second = new FlowRuntime({ em: other.em, encryption: testFlowEncryption });
    const greeted = await second.send(flow, id, { type: 'GREET' });
    expect(greeted).toMatchObject({ state: 'greeted', version: 2 });

    const back = await first.send(flow, id, { type: 'POKE' });
    expect(back.version).toBe(3);
    expect(back.snapshot.context).toMatchObject({ greeting: 'hello Grace', pokes: 1 });
  });

  it('is continued by a real second Node process: nothing lives in memory', async () => {
    const flow = testFlow();
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const { id } = await runtime.create(flow, { name: 'Linus' });

    const { stdout } = await execFileAsync(process.execPath, [childScript, db.url, id, 'GREET'], { timeout: 20_000 });
    const child = JSON.parse(stdout.trim()) as { pid: number; state: string; version: number; context: { greeting: string } };
    expect(child.pid).not.toBe(process.pid);
    expect(child).toMatchObject({ state: 'greeted', version: 2 });
    expect(child.context.greeting).toBe(`hello Linus from pid ${child.pid}`);

    // And back in this process, from the row the child wrote.
    const finished = await runtime.send(flow, id, { type: 'FINISH' });
    expect(finished.snapshot.status).toBe('done');
    expect(finished.snapshot.output).toEqual({ greeting: `hello Linus from pid ${child.pid}` });
    expect(await readRow(id)).toMatchObject({ state: 'finished', version: 3 });
  });

  it('refuses a flow persisted by another machine version with FLOW_OUTDATED and changes nothing', async () => {
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const { id } = await runtime.create(testFlow({}, 1), { name: 'Ada' });
    const before = await readRow(id);
    const error = await domainErrorOf(runtime.send(testFlow({}, 2), id, { type: 'GREET' }));
    expect(error.code).toBe('FLOW_OUTDATED');
    expect(await readRow(id)).toEqual(before);
  });

  it('re-runs a promise actor that was still running when its rest state was persisted (effects must be idempotent)', async () => {
    const notified: { name: string }[] = [];
    const flow = testFlow({
      // Never settles: the flow is persisted with the invocation still active.
      notify: (input) => (notified.push(input), new Promise<void>(() => undefined)),
    });
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const { id } = await runtime.create(flow, { name: 'Ada' });

    const waiting = await runtime.send(flow, id, { type: 'BACKGROUND' });
    expect(waiting.state).toBe('background');
    expect(notified).toHaveLength(1);
    const row = await readRow(id);
    const children = row?.opened.children as Record<string, { snapshot: { status: string } }>;
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
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const flow = testFlow();
    for (const id of ['7f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f', 'not-a-uuid', "' or 1=1 --"]) {
      expect((await domainErrorOf(runtime.send(flow, id, { type: 'GREET' }))).code).toBe('NOT_FOUND');
    }
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const otherKind = { ...flow, kind: 'other' };
    expect((await domainErrorOf(runtime.send(otherKind, id, { type: 'GREET' }))).code).toBe('NOT_FOUND');
  });

  it('refuses an event the current state does not accept, without running effects or writing', async () => {
    const greeted: string[] = [];
    const flow = testFlow({ greet: async ({ name }) => (greeted.push(name), 'hi') });
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const before = await readRow(id);
    const error = await domainErrorOf(runtime.send(flow, id, { type: 'FINISH' }));
    expect(error.code).toBe('CONFLICT');
    expect(error.details).toMatchObject({ state: 'idle', event: 'FINISH' });
    expect(greeted).toEqual([]);
    expect(await readRow(id)).toEqual(before);
  });

  it('answers later steps of a finished flow with its final view, unchanged', async () => {
    const flow = testFlow();
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const { id } = await runtime.create(flow, { name: 'Ada' });
    await runtime.send(flow, id, { type: 'GREET' });
    const done = await runtime.send(flow, id, { type: 'FINISH' });
    expect(done).toMatchObject({ state: 'finished', version: 3 });
    const again = await runtime.send(flow, id, { type: 'FINISH' });
    expect(again).toMatchObject({ state: 'finished', version: 3 });
    expect(again.snapshot.output).toEqual({ greeting: 'hello Ada' });
    expect(await readRow(id)).toMatchObject({ version: 3 });
  });

  it('leaves the flow untouched when an unhandled effect fails, so the step can be retried', async () => {
    let fail = true;
    const flow = testFlow({
      greet: async ({ name }) => {
        if (fail) throw new DomainError('UPSTREAM_UNAVAILABLE', 'upstream down');
        return `hello ${name}`;
      },
    });
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const before = await readRow(id);

    expect((await domainErrorOf(runtime.send(flow, id, { type: 'GREET' }))).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(await readRow(id)).toEqual(before);

    fail = false;
    expect(await runtime.send(flow, id, { type: 'GREET' })).toMatchObject({ state: 'greeted', version: 2 });
  });

  it('abandons a step that does not come to rest in time, without persisting', async () => {
    const flow = testFlow({ greet: () => new Promise<string>(() => undefined) });
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption, settleTimeoutMs: 100 });
    const { id } = await runtime.create(flow, { name: 'Ada' });
    const before = await readRow(id);
    await expect(runtime.send(flow, id, { type: 'GREET' })).rejects.toThrow(/did not come to rest within 100 ms/);
    expect(await readRow(id)).toEqual(before);
  });

  it('purges flows that expired before a given time', async () => {
    let now = new Date('2020-01-01T00:00:00Z');
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption, now: () => now });
    const flow = testFlow();
    const old = await runtime.create(flow, { name: 'old' }, { ttlSeconds: 60 });
    now = new Date('2020-01-01T00:30:00Z');
    const fresh = await runtime.create(flow, { name: 'fresh' }, { ttlSeconds: 3600 });
    expect(await runtime.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await readRow(old.id)).toBeUndefined();
    expect(await readRow(fresh.id)).toBeDefined();
  });

  it('stores the snapshot sealed (decision 0022): nothing of the context in clear, bound to its own row', async () => {
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const flow = testFlow();
    const a = await runtime.create(flow, { name: 'Zephyrine Quillfeather' });
    await runtime.send(flow, a.id, { type: 'GREET' });
    const b = await runtime.create(flow, { name: 'Other Person' });
    const row = await readRow(a.id);
    expect(Object.keys(row!.snapshot)).toEqual(['sealed']);
    expect(row!.snapshot.sealed).toMatch(/^v1\.flowtest\.[A-Za-z0-9_-]+$/);
    const { opened: _opened, ...stored } = row!;
    expect(JSON.stringify(stored)).not.toMatch(/Zephyrine|Quillfeather/);
    expect(row!.opened).toMatchObject({ context: { name: 'Zephyrine Quillfeather', greeting: 'hello Zephyrine Quillfeather' } });

    // A's sealed snapshot copied into B's row does not open there, and B is left as it was.
    await orm.em.getConnection().execute('update flow set snapshot = ? where id = ?', [JSON.stringify(row!.snapshot), b.id]);
    await expect(runtime.get(flow, b.id)).rejects.toThrow(/failed authentication/);
    await expect(runtime.send(flow, b.id, { type: 'POKE' })).rejects.toThrow(/failed authentication/);
    expect(await orm.em.getConnection().execute('select version from flow where id = ?', [b.id])).toEqual([{ version: 1 }]);
  });

  it('reads a snapshot stored in clear by an older version, and seals it at its next step', async () => {
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const flow = testFlow();
    const { id } = await runtime.create(flow, { name: 'Legacy Person' });
    await orm.em.getConnection().execute('update flow set snapshot = ? where id = ?', [JSON.stringify((await readRow(id))!.opened), id]);
    expect((await readRow(id))!.snapshot).toMatchObject({ context: { name: 'Legacy Person' } });

    expect((await runtime.get(flow, id)).snapshot.context.name).toBe('Legacy Person');
    const poked = await runtime.send(flow, id, { type: 'POKE' });
    expect(poked.snapshot.context).toMatchObject({ name: 'Legacy Person', pokes: 1 });
    const row = await readRow(id);
    expect(Object.keys(row!.snapshot)).toEqual(['sealed']);
    expect(row!.opened).toMatchObject({ context: { name: 'Legacy Person', pokes: 1 } });
  });

  it('refuses to persist a context that is not plain JSON (it would not come back the same)', async () => {
    // A tiny machine of its own: its context takes a Date, which jsonb would turn into a string.
    const machine = setup({ types: { context: {} as { at: Date | null }, events: {} as { type: 'STAMP' } } }).createMachine({
      context: { at: null },
      initial: 'waiting',
      states: { waiting: { tags: 'rest', on: { STAMP: { actions: assign({ at: () => new Date() }) } } } },
    });
    const flow = defineFlow({ kind: 'stamp', machineVersion: 1, ttlSeconds: 60, machine });
    const runtime = new FlowRuntime({ em: orm.em, encryption: testFlowEncryption });
    const { id } = await runtime.create(flow, undefined);
    await expect(runtime.send(flow, id, { type: 'STAMP' })).rejects.toThrow(/not plain JSON at \$\.context\.at/);
    expect(await readRow(id)).toMatchObject({ version: 1 });
  });
});
