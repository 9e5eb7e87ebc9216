/**
 * The custodian tenant: the Keycloak organization (realm-config/realms/platform/organizations/
 * custodian.json) of everyone who signs up themselves, arrives by Google or is migrated from the
 * upstream core, and of every account created without a tenant of its own. State tenants come with
 * their identity providers (config `STATE_CLAIM_TENANTS`).
 */
export const CUSTODIAN_TENANT = 'custodian';
