/**
 * Members and the upstream outbox from the command line (`npm run members -- <command>`), with the
 * BFF's own configuration (the same environment variables): the same use cases as the admin API.
 *
 *   convert USER_ID                          prospective member -> active (idempotent)
 *   resync USER_ID                           queue the member's whole profile and status for the core
 *   outbox [--status pending|failed|delivered|skipped] [--user USER_ID] [--limit N]
 *   outbox-row ID | retry ID | skip ID
 *
 * Prints JSON. Exit 1 on a refusal (code and fields on stderr), 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { buildMemberAdmin } from '../../composition-root.ts';
import { fail, runAdminCommand } from '../../admin-cli.ts';

const USAGE = `usage: npm run members -- <command>
  convert USER_ID
  resync USER_ID
  outbox [--status pending|failed|delivered|skipped] [--user USER_ID] [--limit N]
  outbox-row ID | retry ID | skip ID`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { status: { type: 'string' }, user: { type: 'string' }, limit: { type: 'string' } },
});
const [command, id] = positionals;


const status = values.status;
if (status !== undefined && status !== 'pending' && status !== 'failed' && status !== 'delivered' && status !== 'skipped') fail(USAGE);
const limit = values.limit === undefined ? 100 : Number(values.limit);
if (!Number.isInteger(limit) || limit < 1 || limit > 500) fail('--limit must be a whole number from 1 to 500');
const idArg = () => id ?? fail(USAGE);

await runAdminCommand(buildMemberAdmin, async (admin) => {
  switch (command) {
    case 'convert':
      return admin.convert(idArg());
    case 'resync':
      return admin.resyncMember(idArg());
    case 'outbox':
      return admin.listOutbox({ ...(status ? { status } : {}), ...(values.user ? { userId: values.user } : {}), limit });
    case 'outbox-row':
      return admin.getOutboxRow(idArg());
    case 'retry':
      return admin.retryOutboxRow(idArg());
    case 'skip':
      return admin.skipOutboxRow(idArg());
    default:
      fail(USAGE);
  }
});
