import { DomainError } from '../../kernel/errors.ts';
import type { KeycloakAdminApi } from './admin-api.ts';

/**
 * Partner attribution on userTokens. Keycloak's JWT authorization grant copies nothing from the
 * assertion into the token, so the partner a userToken was issued for is recorded by a client scope
 * per partner: `partner-client.<clientId>`, an optional scope of the userToken client whose one mapper
 * writes `act.client_id` (RFC 8693's actor). The BFF requests it with `scope=` on every grant and
 * refuses a token without the claim. Made at run time (first userToken of a partner), marked
 * `platform.managed-by` so that the realm applier leaves it alone. docs/tokens.md.
 */
export const attributionScope = (partnerClientId: string) => `partner-client.${partnerClientId}`;

export const MANAGED_BY_ATTRIBUTE = 'platform.managed-by';

/** Creates the partner's attribution scope and makes it an optional scope of `userTokenClientId` (idempotent). */
export async function ensureAttributionScope(api: KeycloakAdminApi, userTokenClientId: string, partnerClientId: string): Promise<void> {
  const name = attributionScope(partnerClientId);
  let scope = await api.call('findAttributionScope', (a) => a.clientScopes.findOneByName({ name }));
  if (!scope?.id) {
    try {
      await api.call('createAttributionScope', (a) =>
        a.clientScopes.create({
          name,
          description: `Records partner ${partnerClientId} as the actor (act.client_id) of its userTokens`,
          protocol: 'openid-connect',
          attributes: { 'include.in.token.scope': 'false', 'display.on.consent.screen': 'false', [MANAGED_BY_ATTRIBUTE]: 'bff' },
          protocolMappers: [
            {
              name: 'actor-partner-client',
              protocol: 'openid-connect',
              protocolMapper: 'oidc-hardcoded-claim-mapper',
              config: {
                'claim.name': 'act.client_id',
                'claim.value': partnerClientId,
                'jsonType.label': 'String',
                'access.token.claim': 'true',
                'introspection.token.claim': 'true',
                'id.token.claim': 'false',
                'userinfo.token.claim': 'false',
              },
            },
          ],
        }),
      );
    } catch (err) {
      // Made meanwhile by another BFF process: use it.
      if (!(err instanceof DomainError && err.code === 'ACCOUNT_EXISTS')) throw err;
    }
    scope = await api.call('findAttributionScope', (a) => a.clientScopes.findOneByName({ name }));
    if (!scope?.id) throw new DomainError('IDENTITY_DIRECTORY_FAILED', 'The partner attribution scope was not created');
  }
  const client = (await api.call('findUserTokenClient', (a) => a.clients.find({ clientId: userTokenClientId, first: 0, max: 1 }))).find(
    (c) => c.clientId === userTokenClientId,
  );
  if (!client?.id) throw new DomainError('IDENTITY_DIRECTORY_FAILED', 'The userToken client is missing');
  const scopeId = scope.id;
  await api.call('addAttributionScope', (a) => a.clients.addOptionalClientScope({ id: client.id!, clientScopeId: scopeId }));
}
