// Speed of a state member import (issue 18, decision 0035), end to end on this machine: a CSV of
// BENCH_ROWS (10,000) new members generated on disk (streamed), uploaded through the use case the
// API and the CLI share (streamed into PostgreSQL in batches), then worked on by the import worker
// until the import is done: every row an account in Keycloak and the upstream core (stateOnboard,
// unproven identifiers) and an invitation mail. Reported: rows/s of the whole import, and the
// process's peak RSS while it ran (the file is never held whole: RSS must not grow with the file).
// Baseline in the same run: BENCH_BASELINE_ROWS (1,000) other members made by calling
// AccountService.create and the invitation service directly with the same concurrency, no file, no
// queue: the import's rows/s as a ratio of it is the cost of the import machinery. Not a test: it
// prints numbers.
//
//   npm run bench:import                                   own stack (like npm test), removed after
//   E2E_STACK_FILE=.run/e2e-shared.json npm run bench:import   reuse a running test stack
// A third, cheap point: BENCH_UPLOAD_ROWS (100,000, the row limit) rows only received (streamed,
// checked, sealed and stored), not worked on, then deleted: the upload's rows/s and whether RSS
// stays flat for a file 100 times larger.
// Knobs: BENCH_ROWS, BENCH_BASELINE_ROWS, BENCH_UPLOAD_ROWS (0 skips a part), BENCH_CONCURRENCY (8).
import { randomInt, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { buildContainer } from '../bff/src/composition-root.ts';
import { loadConfig } from '../bff/src/config.ts';
import { createLogger } from '../bff/src/kernel/logger.ts';
import { migrateUp } from '../bff/src/persistence/migrate.ts';
import { createOrm } from '../bff/src/persistence/orm.ts';
import { bffEnv } from '../stack/stack.ts';
import { startE2EStack, type E2EStack } from '../test/setup/stack.ts';
import { testKeyPrefix } from '../test/support/redis.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const BASELINE_ROWS = Number(process.env.BENCH_BASELINE_ROWS ?? 1_000);
const UPLOAD_ROWS = Number(process.env.BENCH_UPLOAD_ROWS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const TENANT = 'state-demo';

let stack: E2EStack;
let teardown: () => Promise<void> = async () => undefined;
if (process.env.E2E_STACK_FILE) {
  stack = JSON.parse(readFileSync(process.env.E2E_STACK_FILE, 'utf8')) as E2EStack;
} else {
  ({ stack, teardown } = await startE2EStack());
}
const keys = testKeyPrefix(`bench-import-${randomUUID().slice(0, 8)}`);
const config = loadConfig({
  ...bffEnv(stack.settings, stack.upstreamUrl),
  NODE_ENV: 'test',
  REDIS_PREFIX: keys.prefix,
  UPSTREAM_OUTBOX_ENABLED: 'false',
  // The bench drives the worker itself (one process, CONCURRENCY rows at once), as the CLI does.
  MEMBER_IMPORT_ENABLED: 'false',
  MEMBER_IMPORT_CONCURRENCY: String(CONCURRENCY),
  MEMBER_IMPORT_BATCH_SIZE: String(Math.max(CONCURRENCY * 4, 50)),
});
const orm = await createOrm({ databaseUrl: config.databaseUrl });
await migrateUp(orm);
await orm.close();
const container = await buildContainer(config, { logger: createLogger({ level: 'warn' }) });
const dir = await mkdtemp(path.join(tmpdir(), 'bench-import-'));
const run = randomUUID().slice(0, 6);
const mobile = () => `+9197${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;

/** Peak RSS sampled every 100 ms while `fn` runs. */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; peakRssMb: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 100);
  const started = performance.now();
  try {
    const value = await fn();
    return { value, seconds: (performance.now() - started) / 1000, peakRssMb: Math.round(Math.max(peak, process.memoryUsage.rss()) / 1e6) };
  } finally {
    clearInterval(timer);
  }
}

/** A member file of `rows` rows written as a stream (half by e-mail, half by phone): its path and size. */
async function memberFile(name: string, rows: number, prefix: string): Promise<{ file: string; bytes: number }> {
  const file = path.join(dir, name);
  const out = createWriteStream(file);
  out.write('state_user_id,first_name,last_name,email,phone,user_type\n');
  for (let i = 0; i < rows; i++) {
    const line = i % 2 === 0 ? `${prefix}-${i},Bench,Member,${prefix}.${i}@example.org,,teacher\n` : `${prefix}-${i},Bench,Member,,${mobile()},other\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { file, bytes: (await stat(file)).size };
}

const admin = container.memberImportAdmin;
try {
  // 0. Receiving only: a file at the row limit streamed in and stored, then deleted unworked.
  if (UPLOAD_ROWS > 0) {
    const { file, bytes } = await memberFile('upload.csv', UPLOAD_ROWS, `U${run}`);
    const rssBefore = Math.round(process.memoryUsage.rss() / 1e6);
    const received = await measured(() => admin.upload({ tenant: TENANT, uploadedBy: 'bench', body: createReadStream(file), contentLength: bytes }));
    const conn = container.em.getConnection();
    await conn.execute('delete from member_import_row where import_id = ?', [received.value.id]);
    await conn.execute('delete from member_import where id = ?', [received.value.id]);
    console.log(
      `receive only: ${UPLOAD_ROWS} rows (${(bytes / 1e6).toFixed(1)} MB) streamed, checked, sealed and stored in ${received.seconds.toFixed(1)} s = ` +
        `${Math.round(UPLOAD_ROWS / received.seconds)} rows/s; RSS ${rssBefore} MB before, peak ${received.peakRssMb} MB (then deleted, never worked on)`,
    );
  }
  if (ROWS > 0 && BASELINE_ROWS > 0) {
    // 1. The file.
    const { file, bytes } = await memberFile('members.csv', ROWS, `B${run}`);
    console.log(
      `member file: ${ROWS} rows, ${(bytes / 1e6).toFixed(2)} MB; concurrency ${CONCURRENCY}; RSS before: ${Math.round(process.memoryUsage.rss() / 1e6)} MB`,
    );

    // 2. The import, end to end: upload (streamed, batched) and the worker until done.
    let uploadSeconds = 0;
    const imported = await measured(async () => {
      const t0 = performance.now();
      const view = await admin.upload({ tenant: TENANT, uploadedBy: 'bench', body: createReadStream(file), contentLength: bytes });
      uploadSeconds = (performance.now() - t0) / 1000;
      let last = Date.now();
      for (;;) {
        const worked = await admin.work(view.id);
        const now = await admin.get(TENANT, view.id);
        if (Date.now() - last > 10_000) {
          last = Date.now();
          console.log(`  ${now.counts.total - now.counts.pending}/${now.counts.total} rows`);
        }
        if (now.status === 'done') return now;
        if (worked === 0) await new Promise((r) => setTimeout(r, 200));
      }
    });
    const counts = imported.value.counts;
    const importRate = ROWS / imported.seconds;
    console.log(
      `import: ${ROWS} rows in ${imported.seconds.toFixed(1)} s (upload ${uploadSeconds.toFixed(1)} s) = ${importRate.toFixed(1)} rows/s; ` +
        `created ${counts.created}, matched ${counts.matched}, invited ${counts.invited}, refused ${counts.refused}; peak RSS ${imported.peakRssMb} MB`,
    );

    // 3. Baseline: the same work per row, called directly (no file, no queue), same concurrency.
    const baseline = await measured(async () => {
      let next = 0;
      const lane = async () => {
        while (next < BASELINE_ROWS) {
          const i = next++;
          const byEmail = i % 2 === 0;
          const email = `base.${run}.${i}@example.org`;
          const phone = mobile();
          const stateUserId = `BB${run}-${i}`;
          const created = await container.accounts.create(
            {
              firstName: 'Base',
              lastName: 'Member',
              ...(byEmail ? { email } : { phone }),
              emailVerified: false,
              phoneVerified: false,
              signUpType: 'onboard',
              tenant: TENANT,
              stateUserId,
              userType: byEmail ? 'teacher' : 'other',
            },
            { idempotencyKey: `bench:${stateUserId}` },
          );
          await container.invitations.create({
            tenant: TENANT,
            ...(byEmail ? { email } : { phone }),
            userId: created.userId,
            stateUserId,
            firstName: 'Base',
            invitedBy: 'bench',
            source: 'import',
          });
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    });
    const baselineRate = BASELINE_ROWS / baseline.seconds;
    console.log(
      `baseline: ${BASELINE_ROWS} rows through AccountService.create + invitation directly in ${baseline.seconds.toFixed(1)} s = ${baselineRate.toFixed(1)} rows/s`,
    );
    console.log(
      `ratio: the import runs at ${((importRate / baselineRate) * 100).toFixed(0)} % of the direct calls' rows/s; peak RSS during the import ${imported.peakRssMb} MB`,
    );
  }
} finally {
  await container.close();
  await keys.cleanup();
  await rm(dir, { recursive: true, force: true });
  await teardown();
}
