import { AdminRest } from '../../stack/realm/admin-rest.ts';
import type { E2EStack } from '../setup/stack.ts';

/** The test stack's master-realm admin, for assertions on what Keycloak holds. */
export function adminFor(stack: E2EStack): AdminRest {
  return new AdminRest({ keycloakUrl: stack.keycloakUrl, username: stack.settings.keycloakAdminUser, password: stack.settings.keycloakAdminPassword });
}
