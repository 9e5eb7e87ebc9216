/**
 * Migrations from the command line, for operators and the stack scripts:
 *
 *   node bff/src/persistence/migrate-cli.ts up <databaseUrl>       create the database if missing, apply pending migrations
 *   node bff/src/persistence/migrate-cli.ts pending <databaseUrl>  list migrations not applied yet (exit 1 if any)
 *   node bff/src/persistence/migrate-cli.ts diff <databaseUrl>     print the SQL the entities need beyond the
 *                                                                  migrated schema: the body of the next migration
 *
 * The URL is an argument rather than configuration so this tool reads nothing else.
 */
import { ensureDatabase } from './ensure-database.ts';
import { migrateUp, pendingMigrations } from './migrate.ts';
import { createOrm } from './orm.ts';

const [command, databaseUrl] = process.argv.slice(2);
const usage = 'usage: node bff/src/persistence/migrate-cli.ts <up|pending|diff> <databaseUrl>';

if (databaseUrl === undefined || !['up', 'pending', 'diff'].includes(command ?? '')) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}

if (command === 'up') {
  const { created } = await ensureDatabase(databaseUrl);
  if (created) process.stdout.write('created database\n');
}
const orm = await createOrm({ databaseUrl });
try {
  if (command === 'up') {
    const { applied } = await migrateUp(orm);
    process.stdout.write(applied.length === 0 ? 'schema is up to date\n' : applied.map((name) => `applied ${name}\n`).join(''));
  } else if (command === 'pending') {
    const pending = await pendingMigrations(orm);
    process.stdout.write(pending.map((name) => `${name}\n`).join(''));
    process.exitCode = pending.length === 0 ? 0 : 1;
  } else {
    const { up, down } = await orm.schema.getUpdateSchemaMigrationSQL({ wrap: false });
    process.stdout.write(up.trim() === '' ? '-- entities and migrated schema agree\n' : `-- up\n${up}\n-- down\n${down}\n`);
  }
} finally {
  await orm.close();
}
