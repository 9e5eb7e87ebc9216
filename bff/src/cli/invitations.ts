/**
 * Invitations from the command line, part of `npm run members` (members.ts hands these commands here):
 * the same service and body schema as the admin API (`/api/admin/v1/tenants/{tenant}/invitations`).
 *
 *   invite --tenant T (--email E | --phone P) [--role R] [--locale en|hi]   201-like answer, or the reused one
 *   invitations --tenant T [--status pending|accepted|revoked|expired]
 *   invitation ID --tenant T | resend ID --tenant T | revoke ID --tenant T
 */
import { createInvitationBody, INVITATION_STATUSES } from '../admin/invitations/schemas.ts';
import type { Config } from '../config.ts';
import { parseInput } from '../http/validation.ts';
import type { InvitationService, InvitationStatus } from '../invitations/invitation-service.ts';
import { runAdminCommand, usageError } from './run.ts';

export const INVITATION_USAGE = `  invite --tenant TENANT (--email EMAIL | --phone PHONE) [--role ROLE] [--locale en|hi]
  invitations --tenant TENANT [--status pending|accepted|revoked|expired]
  invitation ID --tenant TENANT | resend ID --tenant TENANT | revoke ID --tenant TENANT`;

export const INVITATION_COMMANDS = ['invite', 'invitations', 'invitation', 'resend', 'revoke'];

export const INVITATION_OPTIONS = {
  email: { type: 'string' },
  phone: { type: 'string' },
  role: { type: 'string' },
  locale: { type: 'string' },
} as const;

export async function runInvitationCommand(
  usage: string,
  command: string,
  id: string | undefined,
  values: {
    tenant?: string | undefined;
    status?: string | undefined;
    email?: string | undefined;
    phone?: string | undefined;
    role?: string | undefined;
    locale?: string | undefined;
  },
): Promise<void> {
  const tenant = values.tenant ?? usageError(usage, `${command} needs --tenant`);
  const status = values.status;
  if (status !== undefined && !(INVITATION_STATUSES as readonly string[]).includes(status))
    usageError(usage, '--status must be pending, accepted, revoked or expired');
  const idArg = () => id ?? usageError(usage, `${command} needs an id`);
  await runAdminCommand(
    async (config: Config) => (await import('../composition-root.ts')).buildInvitationAdmin(config),
    (): ((admin: InvitationService) => Promise<unknown>) => {
      switch (command) {
        case 'invite': {
          const body = parseInput(createInvitationBody, {
            ...(values.email !== undefined ? { email: values.email } : {}),
            ...(values.phone !== undefined ? { phone: values.phone } : {}),
            ...(values.role !== undefined ? { role: values.role } : {}),
            ...(values.locale !== undefined ? { locale: values.locale } : {}),
          });
          return async (admin) => {
            const { invitation, reused } = await admin.create({ ...body, tenant, invitedBy: 'cli', source: 'admin' });
            return { ...invitation, reused };
          };
        }
        case 'invitations':
          return (admin) => admin.list(tenant, status ? { status: status as InvitationStatus } : {});
        case 'invitation': {
          const invitationId = idArg();
          return (admin) => admin.get(tenant, invitationId);
        }
        case 'resend': {
          const invitationId = idArg();
          return (admin) => admin.resend(tenant, invitationId);
        }
        default: {
          const invitationId = idArg();
          return (admin) => admin.revoke(tenant, invitationId);
        }
      }
    },
  );
}
