/**
 * Partners' OAuth clients in the identity provider (Keycloak clients of the platform realm): client
 * credentials only, with the BFF as audience, so their access tokens are the partner API's server
 * tokens. Errors: CONFLICT (a client with that id exists and is not a partner client), NOT_FOUND,
 * IDENTITY_DIRECTORY_UNAVAILABLE, IDENTITY_DIRECTORY_FAILED.
 */
export interface PartnerClients {
  /**
   * Creates the client, or adopts an existing partner client of that id (a retry after a crash, or
   * the demo partner from realm-config). `secret` is returned only when this call created the client.
   */
  ensure(input: { clientId: string; name: string }): Promise<{ created: boolean; secret?: string }>;
  /** A new secret; the old one stops working at once. */
  rotateSecret(clientId: string): Promise<string>;
  setEnabled(clientId: string, enabled: boolean): Promise<void>;
}
