import type { FieldIssue } from '../kernel/errors.ts';
import type { IdentityDirectory } from '../ports/identity-directory.ts';
import type { UpstreamCore } from '../ports/upstream-core.ts';

/**
 * What an account creation would refuse about the details a person chose, asked before anything is
 * sent or written, so a form can show every problem at once (sign-up's check, issue 17 §2). Never
 * about an e-mail address or a phone number: whether one has an account is told only to whoever
 * proved it (decision 0019). `AccountService.create` checks all of it again when it creates.
 */
export interface NewAccountChecksDeps {
  directory: Pick<IdentityDirectory, 'findUserByUsername'>;
  upstream: Pick<UpstreamCore, 'findUser' | 'findRootOrgByChannel' | 'getOrganisation'>;
}

/**
 * A username is taken when a Keycloak account or an upstream profile has it. (A creation abandoned
 * half-way also counts here; `create` would take it over.)
 */
export async function usernameIssue(deps: NewAccountChecksDeps, username: string): Promise<FieldIssue | null> {
  const [account, profile] = await Promise.all([deps.directory.findUserByUsername(username), deps.upstream.findUser({ username })]);
  return account || profile ? { field: 'username', reason: 'taken', message: 'This username is taken; choose another' } : null;
}

/** `channel` and `organisationId` as `create` checks them (same reasons: unknown, inactive, not_in_channel). */
export async function organisationIssues(
  deps: NewAccountChecksDeps,
  account: { channel?: string | undefined; organisationId?: string | undefined },
): Promise<FieldIssue[]> {
  const issues: FieldIssue[] = [];
  const root = account.channel === undefined ? null : await deps.upstream.findRootOrgByChannel(account.channel);
  if (account.channel !== undefined) {
    if (!root) issues.push({ field: 'channel', reason: 'unknown', message: 'No organisation has this channel' });
    else if (root.status !== 'active') issues.push({ field: 'channel', reason: 'inactive', message: 'The organisation of this channel is not active' });
  }
  if (account.organisationId !== undefined) {
    const found = await deps.upstream.getOrganisation(account.organisationId);
    if (!found) issues.push({ field: 'organisationId', reason: 'unknown', message: 'No such organisation' });
    else if (found.organisation.status !== 'active' || found.rootOrg.status !== 'active') {
      issues.push({ field: 'organisationId', reason: 'inactive', message: 'The organisation is not active' });
    } else if (root && root.status === 'active' && found.rootOrg.id !== root.id) {
      issues.push({ field: 'organisationId', reason: 'not_in_channel', message: 'The organisation does not belong to this channel' });
    }
  }
  return issues;
}
