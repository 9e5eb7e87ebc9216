import { DomainError } from '../kernel/errors.ts';
import type { DirectoryUser, IdentityDirectory } from '../ports/identity-directory.ts';

/**
 * The account a verified access token names, as Keycloak holds it now. Access tokens are checked
 * locally and live for minutes after an admin disabled or deleted their account (issue 15 §5): every
 * route that acts for a person or an admin reads the account, and one that is gone or disabled counts
 * as signed out (401), whatever the token says.
 */
export async function activeAccount(directory: Pick<IdentityDirectory, 'getUser'>, userId: string): Promise<DirectoryUser> {
  const user = await directory.getUser(userId);
  if (!user?.enabled) throw new DomainError('UNAUTHENTICATED', 'This account no longer exists or is disabled');
  return user;
}
