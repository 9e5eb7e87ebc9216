/**
 * Members and the upstream outbox from the command line (`npm run members -- <command>`), with the
 * BFF's own configuration (the same environment variables): the same use cases as the admin API.
 *
 *   convert USER_ID                          prospective member -> active (idempotent)
 *   resync USER_ID                           queue the member's whole profile and status for the core
 *   outbox [--status pending|failed|delivered|skipped] [--user USER_ID] [--limit N]
 *   outbox-row ID | retry ID | skip ID
 *   import FILE --tenant TENANT               a state's member file (CSV): progress, then the summary (decision 0035)
 *   import-status ID --tenant TENANT [--result pending|created|matched|refused] [--limit N] [--cursor C]
 *   invite | invitations | invitation | resend | revoke   invitations into a tenant (cli/invitations.ts, decision 0034)
 *
 * Prints JSON on stdout. `--help` prints the usage (exit 0); a wrong command or option prints it on
 * stderr (exit 2); a refusal exits 1 with its code and fields on stderr (run.ts).
 */
import type { MemberAdmin } from '../admin/members/use-cases.ts';
import type { Config } from '../config.ts';
import { INVITATION_COMMANDS, INVITATION_OPTIONS, INVITATION_USAGE, runInvitationCommand } from './invitations.ts';
import { parseCommandLine, runAdminCommand, usageError } from './run.ts';

const USAGE = `usage: npm run members -- <command>   (help: --help)
  convert USER_ID
  resync USER_ID
  outbox [--status pending|failed|delivered|skipped] [--user USER_ID] [--limit N]
  outbox-row ID | retry ID | skip ID
  import FILE --tenant TENANT
  import-status ID --tenant TENANT [--result pending|created|matched|refused] [--limit N] [--cursor C]
${INVITATION_USAGE}`;

const COMMANDS = ['convert', 'resync', 'outbox', 'outbox-row', 'retry', 'skip', 'import', 'import-status', ...INVITATION_COMMANDS];

const { command, args, values } = parseCommandLine(USAGE, {
  status: { type: 'string' },
  user: { type: 'string' },
  limit: { type: 'string' },
  tenant: { type: 'string' },
  result: { type: 'string' },
  cursor: { type: 'string' },
  ...INVITATION_OPTIONS,
});
if (!COMMANDS.includes(command)) usageError(USAGE, `unknown command "${command}"`);
const [id] = args;

if (INVITATION_COMMANDS.includes(command)) {
  await runInvitationCommand(USAGE, command, id, values);
  process.exit();
}

const status = values.status;
if (status !== undefined && status !== 'pending' && status !== 'failed' && status !== 'delivered' && status !== 'skipped')
  usageError(USAGE, `--status must be pending, failed, delivered or skipped`);
const limit = values.limit === undefined ? 100 : Number(values.limit);
if (!Number.isInteger(limit) || limit < 1 || limit > 500) usageError(USAGE, '--limit must be a whole number from 1 to 500');
const idArg = () => id ?? usageError(USAGE, `${command} needs an id`);

// Member imports stream a file and show progress: not one JSON answer, so not runAdminCommand's shape.
if (command === 'import' || command === 'import-status') {
  const tenant = values.tenant ?? usageError(USAGE, `${command} needs --tenant`);
  const arg = id ?? usageError(USAGE, command === 'import' ? 'import needs a FILE' : 'import-status needs an id');
  const result = values.result;
  if (result !== undefined && !['pending', 'created', 'matched', 'refused'].includes(result))
    usageError(USAGE, '--result must be pending, created, matched or refused');
  const { runImportStatus, runMemberImport } = await import('./member-import.ts');
  const build = async (config: Config) => (await import('../composition-root.ts')).buildMemberImportAdmin(config);
  if (command === 'import') await runMemberImport(arg, tenant, build);
  else
    await runImportStatus(
      arg,
      tenant,
      { limit, ...(result ? { result: result as 'pending' | 'created' | 'matched' | 'refused' } : {}), ...(values.cursor ? { cursor: values.cursor } : {}) },
      build,
    );
  // Done: the admin commands below are not this one.
  process.exit();
}

// Every argument is read and checked before the configuration is (`plan` answers what to run), and
// the composition root is loaded only then: `--help` and usage errors answer at once.
await runAdminCommand(
  async (config) => (await import('../composition-root.ts')).buildMemberAdmin(config),
  (): ((admin: MemberAdmin) => Promise<unknown>) => {
    switch (command) {
      case 'outbox':
        return (admin) => admin.listOutbox({ ...(status ? { status } : {}), ...(values.user ? { userId: values.user } : {}), limit });
      case 'convert':
      case 'resync':
      case 'outbox-row':
      case 'retry':
      case 'skip': {
        const id = idArg();
        const run = {
          convert: (admin: MemberAdmin) => admin.convert(id),
          resync: (admin: MemberAdmin) => admin.resyncMember(id),
          'outbox-row': (admin: MemberAdmin) => admin.getOutboxRow(id),
          retry: (admin: MemberAdmin) => admin.retryOutboxRow(id),
          skip: (admin: MemberAdmin) => admin.skipOutboxRow(id),
        };
        return run[command];
      }
      default:
        usageError(USAGE);
    }
  },
);
