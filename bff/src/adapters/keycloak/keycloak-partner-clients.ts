import type KcAdminClient from '@keycloak/keycloak-admin-client';
import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import { DomainError } from '../../kernel/errors.ts';
import type { PartnerClients } from '../../ports/partner-clients.ts';
import { KeycloakAdminApi } from './admin-api.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';

/** Marks clients made for partners (realm-config's partner-demo-bank carries it too). */
const PARTNER_ATTRIBUTE = 'platform.partner';

/**
 * PartnerClients on Keycloak's Admin API as the BFF's service account (`manage-clients`, see
 * realm-config/realms/platform/clients/bff.json). The shape is the one of
 * realm-config/realms/platform/clients/partner-demo-bank.json.
 */
export class KeycloakPartnerClients implements PartnerClients {
  readonly #api: KeycloakAdminApi;
  readonly #audience: string;

  constructor(opts: { keycloakUrl: string; realm: string; tokens: ServiceAccountTokens; audience: string }) {
    this.#api = new KeycloakAdminApi(opts);
    this.#audience = opts.audience;
  }

  #call<T>(what: string, fn: (admin: KcAdminClient) => Promise<T>): Promise<T> {
    return this.#api.call(what, fn);
  }

  async #find(clientId: string): Promise<ClientRepresentation | undefined> {
    const found = await this.#call('findPartnerClient', (a) => a.clients.find({ clientId, first: 0, max: 1 }));
    return found.find((c) => c.clientId === clientId);
  }

  async #partner(clientId: string): Promise<ClientRepresentation & { id: string }> {
    const client = await this.#find(clientId);
    if (!client?.id) throw new DomainError('NOT_FOUND', 'No such partner client');
    if (client.attributes?.[PARTNER_ATTRIBUTE] !== 'true') throw new DomainError('CONFLICT', 'This client is not a partner client');
    return client as ClientRepresentation & { id: string };
  }

  async ensure(input: { clientId: string; name: string }): Promise<{ created: boolean; secret?: string }> {
    const existing = await this.#find(input.clientId);
    if (existing) {
      if (existing.attributes?.[PARTNER_ATTRIBUTE] !== 'true') {
        throw new DomainError('CONFLICT', 'A client with this id exists and is not a partner client', {
          fields: [{ field: 'clientId', reason: 'taken', message: 'This client id is taken' }],
        });
      }
      return { created: false };
    }
    try {
      await this.#call('createPartnerClient', (a) =>
        a.clients.create({
          clientId: input.clientId,
          name: input.name,
          enabled: true,
          protocol: 'openid-connect',
          publicClient: false,
          clientAuthenticatorType: 'client-secret',
          standardFlowEnabled: false,
          implicitFlowEnabled: false,
          directAccessGrantsEnabled: false,
          serviceAccountsEnabled: true,
          // Least privilege (docs/tokens.md): no role in scope, no profile/email/roles scopes; the server
          // token carries the partner's id (`azp`, `client_id`) and the audience `bff`, nothing else.
          fullScopeAllowed: false,
          defaultClientScopes: ['basic', 'service_account'],
          optionalClientScopes: [],
          attributes: { 'access.token.lifespan': '300', [PARTNER_ATTRIBUTE]: 'true' },
          protocolMappers: [
            {
              name: 'audience-bff',
              protocol: 'openid-connect',
              protocolMapper: 'oidc-audience-mapper',
              config: {
                'included.client.audience': this.#audience,
                'access.token.claim': 'true',
                'id.token.claim': 'false',
                'introspection.token.claim': 'true',
              },
            },
          ],
        }),
      );
    } catch (err) {
      // Created meanwhile by a concurrent registration: adopt it like any existing partner client.
      if (err instanceof DomainError && err.code === 'ACCOUNT_EXISTS') return this.ensure(input);
      throw err;
    }
    const created = await this.#partner(input.clientId);
    const secret = await this.#call('readPartnerSecret', (a) => a.clients.getClientSecret({ id: created.id }));
    return { created: true, ...(secret.value ? { secret: secret.value } : {}) };
  }

  async rotateSecret(clientId: string): Promise<string> {
    const { id } = await this.#partner(clientId);
    const secret = await this.#call('rotatePartnerSecret', (a) => a.clients.generateNewClientSecret({ id }));
    if (!secret.value) throw new DomainError('IDENTITY_DIRECTORY_FAILED', 'Keycloak returned no secret');
    return secret.value;
  }

  async setEnabled(clientId: string, enabled: boolean): Promise<void> {
    const client = await this.#partner(clientId);
    if (client.enabled === enabled) return;
    await this.#call('setPartnerClientEnabled', (a) => a.clients.update({ id: client.id }, { ...client, enabled }));
  }
}
